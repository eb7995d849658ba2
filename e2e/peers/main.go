// Command peers runs the tools a platform team would use instead of pave
// side by side with pave, on the same synthetic catalog, in the same run, on
// fresh local clusters (e2e/localcluster), and prints one table: case, pave,
// peer, ratio (peer / pave: above 1, pave is faster).
//
//   - pipeline: the script a team would otherwise write — `helm template`
//     of the golden-path chart per service with a values file, `conftest
//     test` of the catalog's policies per service, then `kubectl apply
//     --server-side` of everything — against `pave check` + `pave apply`.
//   - flux: Flux's source-controller and kustomize-controller as local
//     processes, reading a git repository served over HTTP on loopback (git
//     http-backend) that holds what `pave render` writes for each service,
//     with one Kustomization per service (or per team), spec.wait false and
//     true — against `pave serve` on the same catalog, with
//     --wait-timeout 0 and with health waits: first sync, a one-service
//     commit, a template change across every service.
//
// It is not part of `make test`: `make bench-peers` runs it (see
// docs/development.md). The tools come from `bash e2e/tools/build.sh peers`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	services     int
	fluxServices int
	cases        string
	work         string
	keep         bool
	workers      int
	concurrency  int
	qps          int
	burst        int
	timeout      time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.services, "services", 1000, "services in the catalog (web-services, 2 replicas each, one environment)")
	flag.IntVar(&o.fluxServices, "flux-services", 0, "services in the Flux cases (0: -services)")
	flag.StringVar(&o.cases, "cases", "pipeline,flux", "comma-separated: pipeline, flux (per service, no wait and wait), flux-team (one Kustomization per team)")
	flag.StringVar(&o.work, "work", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder (logs, rendered files, cluster logs)")
	flag.IntVar(&o.workers, "pipeline-workers", 2, "services the scripted pipeline renders and checks at once (xargs -P)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "pave serve --concurrency and kustomize-controller --concurrent")
	flag.IntVar(&o.qps, "qps", 500, "pave serve --qps and the Flux controllers' --kube-api-qps")
	flag.IntVar(&o.burst, "burst", 1000, "pave serve --burst and the Flux controllers' --kube-api-burst")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Minute, "longest wait for one step")
	flag.Parse()
	if o.fluxServices == 0 {
		o.fluxServices = o.services
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// row is one line of the table.
type row struct {
	name       string
	pave, peer time.Duration
	peerName   string
}

func run(ctx context.Context, o options) error {
	env, err := newEnv(ctx, o)
	if err != nil {
		return err
	}
	defer env.close()
	var rows []row
	report := func(r ...row) {
		for _, x := range r {
			logf("%-44s pave %-10s %s %-10s ratio %.2f", x.name, secs(x.pave), x.peerName, secs(x.peer), ratio(x))
		}
		rows = append(rows, r...)
	}
	began := time.Now()
	for c := range strings.SplitSeq(o.cases, ",") {
		var r []row
		switch strings.TrimSpace(c) {
		case "pipeline":
			r, err = env.pipelineCase(ctx)
		case "flux":
			r, err = env.fluxCase(ctx, perService)
		case "flux-team":
			r, err = env.fluxCase(ctx, perTeam)
		case "":
			continue
		default:
			err = fmt.Errorf("unknown case %q (pipeline, flux, flux-team)", c)
		}
		report(r...)
		if err != nil {
			printTable(rows)
			return err
		}
	}
	printTable(rows)
	logf("done in %s", time.Since(began).Round(time.Second))
	return nil
}

func printTable(rows []row) {
	if len(rows) == 0 {
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "case\tpave\tpeer\tpeer time\tratio (peer/pave)")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.2f\n", r.name, secs(r.pave), r.peerName, secs(r.peer), ratio(r))
	}
	w.Flush()
}

func ratio(r row) float64 {
	if r.pave <= 0 {
		return 0
	}
	return r.peer.Seconds() / r.pave.Seconds()
}

func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// mustAbs is filepath.Abs for paths known to resolve.
func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}
