package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/pave-dev/pave/e2e/localcluster"
)

// mapping is how the catalog maps to Flux Kustomizations.
type mapping int

const (
	perService mapping = iota // one Kustomization per service
	perTeam                   // one Kustomization per team
)

func (m mapping) String() string {
	if m == perTeam {
		return "team"
	}
	return "service"
}

const fluxNamespace = "flux-system"

var (
	gitRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizations  = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// stageTimes are one tool's three figures in one mode.
type stageTimes struct{ first, one, template time.Duration }

// fluxCase runs pave serve and Flux on the same catalog, each on a fresh
// cluster, without and with health waits: first sync, a one-service
// commit (pave: the signed webhook; Flux: the GitRepository's
// reconcile.fluxcd.io/requestedAt annotation, which is what Flux's own
// webhook Receiver sets), and a template change across every service.
// What Flux applies is what `pave render` writes for each service,
// rendered before the clock starts and committed to a git repository
// served by git http-backend on loopback; so both apply the same objects.
func (e *env) fluxCase(ctx context.Context, m mapping) ([]row, error) {
	n := e.o.fluxServices
	dir := filepath.Join(e.work, "flux-"+m.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logf("flux (one Kustomization per %s): %d services", m, n)
	trees, ids, err := e.renderTrees(ctx, filepath.Join(dir, "renders"), n, m)
	if err != nil {
		return nil, err
	}
	srv, gitURL, err := serveGit(dir)
	if err != nil {
		return nil, err
	}
	defer srv.Close()

	var rows []row
	for _, health := range []bool{false, true} {
		mode := "no health"
		if health {
			mode = "health"
		}
		label := fmt.Sprintf("%s-%s", m, strings.ReplaceAll(mode, " ", "-"))
		var p stageTimes
		if prev, ok := e.paveServeTimes[health]; ok && m == perTeam {
			p = prev // pave's figures do not depend on Flux's mapping
		} else {
			if p, err = e.measurePaveServe(ctx, filepath.Join(dir, "pave-"+label), n, health); err != nil {
				return rows, err
			}
			if e.paveServeTimes == nil {
				e.paveServeTimes = map[bool]stageTimes{}
			}
			e.paveServeTimes[health] = p
		}
		f, err := e.measureFlux(ctx, filepath.Join(dir, "flux-"+label), gitURL, label, trees, ids, m, health)
		if err != nil {
			return rows, err
		}
		peer := "Flux, Kustomization per " + m.String()
		rows = append(rows,
			row{name: fmt.Sprintf("first sync, %d services, %s", n, mode), pave: p.first, peer: f.first, peerName: peer},
			row{name: fmt.Sprintf("one-service commit, %s", mode), pave: p.one, peer: f.one, peerName: peer},
			row{name: fmt.Sprintf("template change, %d services, %s", n, mode), pave: p.template, peer: f.template, peerName: peer},
		)
	}
	return rows, nil
}

// renderTrees writes what `pave render` makes of the catalog in its three
// states (as written; one service's image changed; and the template
// change on top) into dir/0, dir/1, dir/2, one folder per service:
// staging/<team>/<name>/manifests.yaml. For one Kustomization per team,
// the team's Namespace, which every service's render holds, is written
// once, to staging/<team>/namespace.yaml (kustomize refuses an object
// twice in one build).
func (e *env) renderTrees(ctx context.Context, dir string, n int, m mapping) ([3]string, []string, error) {
	var trees [3]string
	cat, err := e.writeCatalog(filepath.Join(dir, "catalog"), n)
	if err != nil {
		return trees, nil, err
	}
	for i := range trees {
		switch i {
		case 1:
			err = cat.oneServiceChange()
		case 2:
			err = cat.templateChange()
		}
		if err != nil {
			return trees, nil, err
		}
		out := filepath.Join(dir, fmt.Sprint(i))
		flat := out + ".flat"
		if _, err := e.run(ctx, "pave-render.log", cat.dir, e.pave, "render", "--catalog", cat.dir, "--env", environment, "--output-dir", flat); err != nil {
			return trees, nil, err
		}
		for _, id := range cat.ids {
			team, name, _ := strings.Cut(id, "/")
			data, err := os.ReadFile(filepath.Join(flat, environment, team, name+".yaml"))
			if err != nil {
				return trees, nil, err
			}
			p := filepath.Join(out, environment, team, name, "manifests.yaml")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return trees, nil, err
			}
			if m == perTeam {
				var ns []byte
				if ns, data, err = splitNamespace(data); err != nil {
					return trees, nil, fmt.Errorf("%s: %w", id, err)
				}
				if err := os.WriteFile(filepath.Join(out, environment, team, "namespace.yaml"), ns, 0o644); err != nil {
					return trees, nil, err
				}
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return trees, nil, err
			}
		}
		os.RemoveAll(flat)
		trees[i] = out
	}
	return trees, cat.ids, nil
}

// splitNamespace takes the Namespace document out of a render.
func splitNamespace(stream []byte) (ns, rest []byte, err error) {
	docs := strings.Split(string(stream), "---\n")
	var kept []string
	for _, d := range docs {
		if strings.TrimSpace(d) == "" {
			continue
		}
		if strings.Contains(d, "\nkind: Namespace\n") || strings.HasPrefix(d, "kind: Namespace\n") {
			ns = []byte("---\n" + d)
			continue
		}
		kept = append(kept, d)
	}
	if ns == nil {
		return nil, nil, fmt.Errorf("no Namespace in the render")
	}
	return ns, []byte("---\n" + strings.Join(kept, "---\n")), nil
}

// serveGit serves the bare repositories under dir over HTTP on loopback
// with git's own http-backend.
func serveGit(dir string) (*http.Server, string, error) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.Handle("/git/", &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1"},
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return srv, "http://" + l.Addr().String() + "/git", nil
}

// measurePaveServe runs pave serve on a fresh cluster through the three
// stages.
func (e *env) measurePaveServe(ctx context.Context, dir string, n int, health bool) (stageTimes, error) {
	var t stageTimes
	cat, err := e.writeCatalog(filepath.Join(dir, "catalog"), n)
	if err != nil {
		return t, err
	}
	repo, err := newGitRepo(ctx, cat.dir, filepath.Join(dir, "catalog.git"))
	if err != nil {
		return t, err
	}
	rev, err := repo.commitPush(ctx, "catalog")
	if err != nil {
		return t, err
	}
	label := filepath.Base(dir)
	c, err := e.cluster(ctx, label)
	if err != nil {
		return t, err
	}
	defer c.Stop()
	wait := "0"
	if health {
		wait = "5m"
	}
	p, err := e.startPave(c.Kubeconfig(), repo.bare, label, "--wait-timeout", wait)
	if err != nil {
		return t, err
	}
	defer p.stop()
	timeout := e.o.timeout
	if t.first, err = waitFor(ctx, timeout, time.Second, label+" first sync", p.settled(cat.ids, rev, health)); err != nil {
		return t, err
	}
	logf("%s first sync: %s", label, secs(t.first))

	if err := cat.oneServiceChange(); err != nil {
		return t, err
	}
	if rev, err = repo.commitPush(ctx, "one service"); err != nil {
		return t, err
	}
	start := time.Now()
	if err := p.webhook(rev); err != nil {
		return t, err
	}
	if _, err = waitFor(ctx, timeout, 100*time.Millisecond, label+" one service", p.settled(cat.ids[:1], rev, health)); err != nil {
		return t, err
	}
	t.one = time.Since(start)
	logf("%s one-service commit: %s", label, secs(t.one))

	if err := cat.templateChange(); err != nil {
		return t, err
	}
	if rev, err = repo.commitPush(ctx, "template change"); err != nil {
		return t, err
	}
	start = time.Now()
	if err := p.webhook(rev); err != nil {
		return t, err
	}
	if _, err = waitFor(ctx, timeout, time.Second, label+" template change", p.settled(cat.ids, rev, health)); err != nil {
		return t, err
	}
	t.template = time.Since(start)
	logf("%s template change: %s (pave serve RSS %.0f MiB)", label, secs(t.template), rss(p.cmd.Process.Pid))
	return t, nil
}

// fluxControllers are the two controllers, running.
type fluxControllers struct {
	procs []*exec.Cmd
	done  []chan struct{}
	names []string
}

func (f *fluxControllers) stop() {
	for i, p := range f.procs {
		p.Process.Kill()
		<-f.done[i]
	}
}

// exited names a controller that is no longer running, if any.
func (f *fluxControllers) exited() error {
	for i, d := range f.done {
		select {
		case <-d:
			return fmt.Errorf("%s exited (see its log)", f.names[i])
		default:
		}
	}
	return nil
}

func (f *fluxControllers) rss() float64 {
	var sum float64
	for _, p := range f.procs {
		sum += rss(p.Process.Pid)
	}
	return sum
}

func (e *env) startFlux(ctx context.Context, dir, label string, c *localcluster.Cluster) (*fluxControllers, error) {
	if _, err := e.run(ctx, label+"-crds.log", dir, e.tools.kubectl, "--kubeconfig", c.Kubeconfig(), "apply", "--server-side", "-f", e.tools.fluxCRDs); err != nil {
		return nil, err
	}
	if _, err := e.run(ctx, label+"-crds.log", dir, e.tools.kubectl, "--kubeconfig", c.Kubeconfig(), "wait", "--for", "condition=established", "--timeout", "2m", "crd", "--all"); err != nil {
		return nil, err
	}
	if _, err := e.run(ctx, label+"-crds.log", dir, e.tools.kubectl, "--kubeconfig", c.Kubeconfig(), "create", "namespace", fluxNamespace); err != nil {
		return nil, err
	}
	storage, err := freePort()
	if err != nil {
		return nil, err
	}
	f := &fluxControllers{}
	start := func(name, bin string, args ...string) error {
		metrics, err := freePort()
		if err != nil {
			return err
		}
		health, err := freePort()
		if err != nil {
			return err
		}
		log, err := os.Create(filepath.Join(e.work, label+"-"+name+".log"))
		if err != nil {
			return err
		}
		args = append(args, "--metrics-addr", metrics, "--health-addr", health, "--enable-leader-election=false",
			"--kube-api-qps", fmt.Sprint(e.o.qps), "--kube-api-burst", fmt.Sprint(e.o.burst), "--log-level", "info")
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig(), "RUNTIME_NAMESPACE="+fluxNamespace)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			log.Close()
			return err
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); log.Close(); close(done) }()
		f.procs, f.done, f.names = append(f.procs, cmd), append(f.done, done), append(f.names, name)
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return nil, err
	}
	if err := start("source-controller", e.tools.sourceController,
		"--storage-path", filepath.Join(dir, "storage"), "--storage-addr", storage, "--storage-adv-addr", storage); err != nil {
		f.stop()
		return nil, err
	}
	if err := start("kustomize-controller", e.tools.kustomizeCtl, "--concurrent", fmt.Sprint(e.o.concurrency)); err != nil {
		f.stop()
		return nil, err
	}
	return f, nil
}

// measureFlux runs Flux on a fresh cluster through the three stages.
func (e *env) measureFlux(ctx context.Context, dir, gitURL, label string, trees [3]string, ids []string, m mapping, health bool) (stageTimes, error) {
	var t stageTimes
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return t, err
	}
	// The repository Flux reads, under the git server's root.
	repoName := label + ".git"
	repo, err := newGitRepo(ctx, filepath.Join(dir, "deploy"), filepath.Join(filepath.Dir(dir), repoName))
	if err != nil {
		return t, err
	}
	stage := func(i int) (string, error) {
		if err := os.RemoveAll(filepath.Join(repo.dir, environment)); err != nil {
			return "", err
		}
		if err := os.CopyFS(repo.dir, os.DirFS(trees[i])); err != nil {
			return "", err
		}
		rev, err := repo.commitPush(ctx, fmt.Sprintf("stage %d", i))
		return "main@sha1:" + rev, err
	}
	rev, err := stage(0)
	if err != nil {
		return t, err
	}
	c, err := e.cluster(ctx, "flux-"+label)
	if err != nil {
		return t, err
	}
	defer c.Stop()
	f, err := e.startFlux(ctx, dir, "flux-"+label, c)
	if err != nil {
		return t, err
	}
	defer f.stop()
	cfg, err := c.RESTConfig()
	if err != nil {
		return t, err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return t, err
	}

	// The Kustomizations and what each covers.
	type ks struct{ name, path string }
	var all []ks
	ksOf := map[string]string{} // service id → Kustomization
	seen := map[string]bool{}
	for _, id := range ids {
		team, name, _ := strings.Cut(id, "/")
		k := ks{name: team + "-" + name, path: "./" + environment + "/" + team + "/" + name}
		if m == perTeam {
			k = ks{name: team, path: "./" + environment + "/" + team}
		}
		ksOf[id] = k.name
		if !seen[k.name] {
			seen[k.name] = true
			all = append(all, k)
		}
	}
	var names []string
	for _, k := range all {
		names = append(names, k.name)
	}

	start := time.Now()
	gr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
		"metadata": map[string]any{"name": "catalog", "namespace": fluxNamespace},
		"spec": map[string]any{
			"url": gitURL + "/" + repoName, "interval": "1h", "ref": map[string]any{"branch": "main"},
		},
	}}
	if _, err := client.Resource(gitRepositories).Namespace(fluxNamespace).Create(ctx, gr, metav1.CreateOptions{}); err != nil {
		return t, err
	}
	for _, k := range all {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": map[string]any{"name": k.name, "namespace": fluxNamespace},
			"spec": map[string]any{
				"interval": "1h", "path": k.path, "prune": true, "wait": health, "timeout": "5m",
				"sourceRef": map[string]any{"kind": "GitRepository", "name": "catalog"},
			},
		}}
		if _, err := client.Resource(kustomizations).Namespace(fluxNamespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return t, err
		}
	}
	timeout := e.o.timeout
	if _, err := waitFor(ctx, timeout, time.Second, label+" first sync", fluxDone(ctx, f, client, names, rev)); err != nil {
		return t, err
	}
	t.first = time.Since(start)
	logf("flux %s first sync: %s", label, secs(t.first))

	if rev, err = stage(1); err != nil {
		return t, err
	}
	start = time.Now()
	if err := requestReconcile(ctx, client); err != nil {
		return t, err
	}
	if _, err := waitFor(ctx, timeout, 100*time.Millisecond, label+" one service", fluxDone(ctx, f, client, []string{ksOf[ids[0]]}, rev)); err != nil {
		return t, err
	}
	t.one = time.Since(start)
	logf("flux %s one-service commit: %s", label, secs(t.one))

	if rev, err = stage(2); err != nil {
		return t, err
	}
	start = time.Now()
	if err := requestReconcile(ctx, client); err != nil {
		return t, err
	}
	if _, err := waitFor(ctx, timeout, time.Second, label+" template change", fluxDone(ctx, f, client, names, rev)); err != nil {
		return t, err
	}
	t.template = time.Since(start)
	logf("flux %s template change: %s (controllers' RSS %.0f MiB)", label, secs(t.template), f.rss())
	return t, nil
}

// requestReconcile asks source-controller to fetch the repository now, as
// Flux's webhook Receiver does.
func requestReconcile(ctx context.Context, client dynamic.Interface) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	_, err := client.Resource(gitRepositories).Namespace(fluxNamespace).Patch(ctx, "catalog", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// fluxDone holds when every named Kustomization is Ready with revision
// applied.
func fluxDone(ctx context.Context, f *fluxControllers, client dynamic.Interface, names []string, revision string) func() (bool, string, error) {
	return func() (bool, string, error) {
		if err := f.exited(); err != nil {
			return false, "", err
		}
		ready := map[string]bool{}
		if len(names) == 1 {
			o, err := client.Resource(kustomizations).Namespace(fluxNamespace).Get(ctx, names[0], metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, "not found", nil
			} else if err != nil {
				return false, err.Error(), nil
			}
			if msg := ksFailed(o); msg != "" {
				return false, "", fmt.Errorf("%s", msg)
			}
			ready[names[0]] = ksReady(o, revision)
		} else {
			list, err := client.Resource(kustomizations).Namespace(fluxNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			for i := range list.Items {
				if msg := ksFailed(&list.Items[i]); msg != "" {
					return false, "", fmt.Errorf("%s", msg)
				}
				ready[list.Items[i].GetName()] = ksReady(&list.Items[i], revision)
			}
		}
		n := 0
		for _, name := range names {
			if ready[name] {
				n++
			}
		}
		return n == len(names), fmt.Sprintf("%d of %d Ready at %s", n, len(names), revision), nil
	}
}

func ksReady(o *unstructured.Unstructured, revision string) bool {
	applied, _, _ := unstructured.NestedString(o.Object, "status", "lastAppliedRevision")
	if applied != revision {
		return false
	}
	gen, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
	if gen != o.GetGeneration() {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Ready" {
			return cm["status"] == "True"
		}
	}
	return false
}

// ksFailed is the message of a Kustomization whose build failed: it would
// not be tried again before its interval.
func ksFailed(o *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Ready" && cm["status"] == "False" && cm["reason"] == "BuildFailed" {
			return fmt.Sprintf("Kustomization %s: %v", o.GetName(), cm["message"])
		}
	}
	return ""
}
