package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pave-dev/pave/e2e/localcluster"
)

// env is what every case shares: the work folder, the binaries and the
// repository root.
type env struct {
	o     options
	root  string // repository root
	work  string
	pave  string // the pave binary, built for this run
	tools tools
	bins  localcluster.Binaries
	temp  bool
	// paveServeTimes are pave serve's figures of the flux case, by health,
	// reused by the flux-team case in the same run.
	paveServeTimes map[bool]stageTimes
}

// tools are the peers' binaries, built by `bash e2e/tools/build.sh peers`.
type tools struct {
	helm, conftest, kubectl        string
	sourceController, kustomizeCtl string
	fluxCRDs                       string // folder of the Flux CRDs
	helmVersion, conftestVersion   string
	fluxVersion, kubernetesVersion string
}

func newEnv(ctx context.Context, o options) (*env, error) {
	root, err := localcluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	bins, err := localcluster.FindBinaries()
	if err != nil {
		return nil, err
	}
	e := &env{o: o, root: root, bins: bins}
	needFlux := strings.Contains(o.cases, "flux")
	if e.tools, err = findTools(root, needFlux); err != nil {
		return nil, err
	}
	if o.work == "" {
		if e.work, err = os.MkdirTemp("", "pave-peers-"); err != nil {
			return nil, err
		}
		e.temp = !o.keep
	} else {
		e.work = mustAbs(o.work)
		if err := os.MkdirAll(e.work, 0o755); err != nil {
			return nil, err
		}
	}
	logf("work folder %s", e.work)
	e.pave = filepath.Join(e.work, "bin", "pave")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.pave, "./cmd/pave")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		e.close()
		return nil, fmt.Errorf("build pave: %w", err)
	}
	logf("tools: helm %s, conftest %s, kubectl %s, Flux source-controller and kustomize-controller %s",
		e.tools.helmVersion, e.tools.conftestVersion, e.tools.kubernetesVersion, e.tools.fluxVersion)
	return e, nil
}

func (e *env) close() {
	if e.temp {
		os.RemoveAll(e.work)
	}
}

// findTools looks for the peers' binaries in the tools cache, the newest
// version of each when several were built.
func findTools(root string, flux bool) (tools, error) {
	bin := filepath.Join(root, ".cache", "bin")
	if dir := os.Getenv(localcluster.EnvToolsCache); dir != "" {
		bin = dir
	}
	var t tools
	var missing []string
	find := func(dirPrefix, name string) (path, version string) {
		matches, _ := filepath.Glob(filepath.Join(bin, dirPrefix+"*", name))
		sort.Strings(matches)
		if len(matches) == 0 {
			missing = append(missing, filepath.Join(bin, dirPrefix+"VERSION", name))
			return "", ""
		}
		p := matches[len(matches)-1]
		return p, strings.TrimPrefix(filepath.Base(filepath.Dir(p)), dirPrefix)
	}
	t.helm, t.helmVersion = find("helm-", "helm")
	t.conftest, t.conftestVersion = find("conftest-", "conftest")
	t.kubectl, t.kubernetesVersion = find("k8s-", "kubectl")
	if flux {
		t.sourceController, t.fluxVersion = find("flux-", "source-controller")
		t.kustomizeCtl, _ = find("flux-", "kustomize-controller")
		if t.sourceController != "" {
			t.fluxCRDs = filepath.Join(filepath.Dir(t.sourceController), "crd")
		}
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("peer tools not built (missing %s); build them with:\n\tcd %s && %s=%s bash e2e/tools/build.sh peers",
			strings.Join(missing, ", "), root, localcluster.EnvToolsCache, bin)
	}
	return t, nil
}

// cluster starts a fresh local cluster named "staging" (the catalog's one
// environment) in the work folder; stop it when the case is done.
func (e *env) cluster(ctx context.Context, label string) (*localcluster.Cluster, error) {
	start := time.Now()
	c, err := localcluster.Start(ctx, localcluster.Options{Name: "staging", Dir: filepath.Join(e.work, "clusters", label), Binaries: e.bins})
	if err != nil {
		return nil, err
	}
	logf("cluster %s ready in %s", label, time.Since(start).Round(100*time.Millisecond))
	return c, nil
}

// run runs a program, its output to a log file in the work folder, and
// returns how long it took.
func (e *env) run(ctx context.Context, log string, dir string, name string, args ...string) (time.Duration, error) {
	f, err := os.OpenFile(filepath.Join(e.work, log), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fmt.Fprintf(f, "$ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%s %s: %w (output in %s)", filepath.Base(name), strings.Join(args, " "), err, filepath.Join(e.work, log))
	}
	return d, nil
}

// output runs a program and returns its standard output.
func output(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

var errTimeout = errors.New("timed out")

// waitFor polls cond every interval until it holds, the timeout passes or
// ctx ends.
func waitFor(ctx context.Context, timeout, interval time.Duration, what string, cond func() (bool, string, error)) (time.Duration, error) {
	start := time.Now()
	last := ""
	for {
		ok, state, err := cond()
		if err != nil {
			return time.Since(start), fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return time.Since(start), nil
		}
		if state != last {
			logf("  %s: %s", what, state)
			last = state
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("%s: %w after %s; last state: %s", what, errTimeout, timeout, last)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(interval):
		}
	}
}
