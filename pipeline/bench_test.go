package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

// BenchmarkLoad compiles the example catalog's policy bundle (20 policies,
// their unit tests and helpers).
func BenchmarkLoad(b *testing.B) {
	cat := exampleWith(b, nil)
	for b.Loop() {
		if _, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate evaluates every policy over one rendered web service
// in prod (target: p50 under 1 ms); BenchmarkEvaluateReplay the same
// input again, which the engine replays (a daemon round that finds the
// same render).
func BenchmarkEvaluate(b *testing.B)       { benchEvaluate(b, -1) }
func BenchmarkEvaluateReplay(b *testing.B) { benchEvaluate(b, 0) }

func benchEvaluate(b *testing.B, memoPairs int) {
	cat := exampleWith(b, nil)
	e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config, MemoPairs: memoPairs})
	if err != nil {
		b.Fatal(err)
	}
	svc, _ := cat.Service("payments/checkout")
	res, err := render.New(cat, render.Options{}).Render(svc, "prod")
	if err != nil {
		b.Fatal(err)
	}
	in := policy.Input{Service: svc, Environment: "prod", Namespace: res.Namespace, Objects: res.Objects, ObjectsHash: res.ObjectsHash()}
	ctx := context.Background()
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		if r := e.Evaluate(ctx, in); r.Status != policy.StatusPass {
			b.Fatalf("%+v", r)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkCheck1000 is pave check of 1000 synthetic services in both
// environments; BenchmarkCheck10000 of 10,000 (issue 15: under 60 s and
// 1.5 GiB on 2 cores). See benchCheck for what they report.
func BenchmarkCheck1000(b *testing.B)  { benchCheck(b, 1000) }
func BenchmarkCheck10000(b *testing.B) { benchCheck(b, 10000) }

// benchCheck measures, each in a process of its own so that its peak RSS
// is its own, what pave check does with a catalog of n synthetic services
// (load the catalog and the policies, render and evaluate every service
// in both environments on all cores, print the text report), and its
// floor: loading the same catalog and rendering every pair, nothing
// else. It reports both times (wall, from loading the catalog to the
// end; and the process's CPU time, setup included, which a busy machine
// disturbs less), both peak RSS and the ratio of the check's time to the
// floor's.
func benchCheck(b *testing.B, n int) {
	for b.Loop() {
		check := benchChild(b, "check", n)
		floor := benchChild(b, "render", n)
		b.ReportMetric(check.Seconds, "s/check")
		b.ReportMetric(float64(check.MaxRSS)/(1<<20), "MiB-check")
		b.ReportMetric(floor.Seconds, "s/render")
		b.ReportMetric(float64(floor.MaxRSS)/(1<<20), "MiB-render")
		b.ReportMetric(check.CPU, "cpu-s/check")
		b.ReportMetric(floor.CPU, "cpu-s/render")
		b.ReportMetric(check.Seconds/floor.Seconds, "check/render")
	}
}

// benchChildEnv, when set ("check:1000", "render:1000"), makes the test
// binary one measured job of benchCheck instead of running tests.
const benchChildEnv = "PAVE_BENCH_CHILD"

// benchProfileEnv names a file the jobs write their CPU profiles to
// (FILE.check, FILE.render), and their allocation profiles
// (FILE.check.allocs …).
const benchProfileEnv = "PAVE_BENCH_CPUPROFILE"

func TestMain(m *testing.M) {
	if job := os.Getenv(benchChildEnv); job != "" {
		if err := runBenchJob(job, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// jobResult is what a job measured: its time, from loading the catalog
// to the end, and the peak RSS of its process (set by the parent).
type jobResult struct {
	Seconds float64 `json:"seconds"`
	Pairs   int     `json:"pairs"`
	// MaxRSS (bytes) and CPU (seconds, user and system) are the
	// process's, set by the parent.
	MaxRSS int64   `json:"-"`
	CPU    float64 `json:"-"`
}

// benchChild runs one job in a child process.
func benchChild(b *testing.B, job string, n int) jobResult {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	// The collector pave check runs with (cmd/pave's batchGC); GOGC or
	// GOMEMLIMIT set for the benchmark win.
	cmd.Env = append(append([]string{"GOGC=400", "GOMEMLIMIT=1280MiB"}, os.Environ()...), fmt.Sprintf("%s=%s:%d", benchChildEnv, job, n))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s of %d services: %v\n%s", job, n, err, stderr.String())
	}
	var res jobResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		b.Fatalf("%s of %d services: %v\n%s", job, n, err, stdout.String())
	}
	if res.Pairs != 2*n+2*8 {
		b.Fatalf("%s of %d services: %d pairs", job, n, res.Pairs)
	}
	res.MaxRSS = maxRSS(cmd.ProcessState)
	res.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return res
}

// runBenchJob is one job of benchCheck, in this process.
func runBenchJob(job string, out io.Writer) error {
	kind, count, _ := strings.Cut(job, ":")
	n, err := strconv.Atoi(count)
	if err != nil {
		return fmt.Errorf("%s: %w", benchChildEnv, err)
	}
	fsys := fstest.MapFS{}
	if err := copyFS(fsys, os.DirFS(exampleCatalog)); err != nil {
		return err
	}
	for name, data := range syntheticServices(n) {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	runtime.GC()
	if file := os.Getenv(benchProfileEnv); file != "" {
		// A CPU profile of the job (go test's -cpuprofile sees only the
		// parent).
		f, err := os.Create(file + "." + kind)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		defer func() {
			if f, err := os.Create(file + "." + kind + ".allocs"); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	start := time.Now()
	cat, err := catalog.Load(fsys)
	if err != nil {
		return err
	}
	if len(cat.Errors) > 0 {
		return cat.Errors
	}
	res := jobResult{}
	switch kind {
	case "check":
		e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
		if err != nil {
			return err
		}
		// As cmd/pave/check.go runs it.
		rep := report.FromRun(pipeline.New(cat, render.New(cat, render.Options{NoCache: true}), e).Run(context.Background(), pipeline.Options{DropRendered: true}))
		if err := (report.Text{}).Format(io.Discard, rep); err != nil {
			return err
		}
		if rep.Failed() {
			var errs []string
			for _, r := range rep.Results {
				for _, e := range r.Errors {
					if len(errs) < 5 {
						errs = append(errs, e.Message)
					}
				}
			}
			return fmt.Errorf("check failed: %+v\n%s", rep.Summary(), strings.Join(errs, "\n"))
		}
		for _, r := range rep.Results {
			if r.Environment != "" {
				res.Pairs++
			}
		}
	case "render":
		renderer := render.New(cat, render.Options{NoCache: true})
		envs := cat.Config.EnvironmentNames()
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for _, svc := range cat.Services {
			for _, env := range envs {
				g.Go(func() error {
					_, err := renderer.Render(svc, env)
					return err
				})
			}
		}
		if err := g.Wait(); err != nil {
			return err
		}
		res.Pairs = len(cat.Services) * len(envs)
	default:
		return fmt.Errorf("%s: unknown job %q", benchChildEnv, kind)
	}
	res.Seconds = time.Since(start).Seconds()
	return json.NewEncoder(out).Encode(res)
}

// syntheticServices are n web services over three teams, each with an
// image, env, a secret, per-environment replicas and size and, in the
// teams with domains, an ingress host.
func syntheticServices(n int) map[string][]byte {
	files := map[string][]byte{}
	teams := []string{"payments", "storefront", "data"}
	for i := range n {
		team := teams[i%len(teams)]
		name := fmt.Sprintf("svc-%04d", i)
		// A host in the team's domains (pave.yaml); data has none.
		ingress := map[string]string{
			"payments":   fmt.Sprintf("  ingress: {host: %s.checkout.example.com}\n", name),
			"storefront": fmt.Sprintf("  ingress: {host: %s.shop.example.com}\n", name),
		}[team]
		files[fmt.Sprintf("services/%s/%s/service.yaml", team, name)] = fmt.Appendf(nil, `apiVersion: pave.dev/v1alpha1
kind: Service
metadata: {name: %[1]s, team: %[2]s}
spec:
  template: web-service
  image: registry.example.com/%[2]s/%[1]s:1.0.%[3]d
  port: 8080
  replicas: 2
  env: {LOG_LEVEL: info}
  secretEnv:
    DB_PASSWORD: {secret: %[1]s-db, key: password}
%[4]s  environments:
    staging: {replicas: 1}
    prod: {replicas: 3, size: medium}
`, name, team, i, ingress)
	}
	return files
}
