package reconciler

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/source"
)

// The daemon's tests run it in-process on two real API servers (staging
// and prod), shared by every test of the package: each test uses teams of
// its own, so namespaces and inventories never meet.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	testcluster.MainN(m, "staging", "prod")
}

const exampleCatalog = "../catalog-repo-example"

// start is when the fake clock of every test starts.
var start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// catalogDir writes a catalog folder: the example's pave.yaml (its teams
// replaced by teams), templates and policies, and the given services
// (id → spec body, indented under spec:).
func catalogDir(t *testing.T, teams []string, services map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	src := os.DirFS(exampleCatalog)
	for _, sub := range []string{"templates", "policies"} {
		sfs, err := fs.Sub(src, sub)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(filepath.Join(dir, sub), sfs); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(exampleCatalog, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var block strings.Builder
	block.WriteString("teams:\n")
	for _, team := range teams {
		fmt.Fprintf(&block, "  - name: %s\n    owners: [%s@example.com]\n", team, team)
	}
	teamsRE := regexp.MustCompile(`(?s)\nteams:\n.*?\n\n`)
	if !teamsRE.Match(cfg) {
		t.Fatal("the example pave.yaml has no teams block")
	}
	cfg = teamsRE.ReplaceAll(cfg, []byte("\n"+block.String()+"\n"))
	writeFile(t, dir, "pave.yaml", string(cfg))
	for id, spec := range services {
		writeFile(t, dir, "services/"+id+"/service.yaml", serviceYAML(id, spec))
	}
	return dir
}

func serviceYAML(id, spec string) string {
	team, name, _ := strings.Cut(id, "/")
	return fmt.Sprintf("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: %s\n  team: %s\nspec:\n%s", name, team, spec)
}

// webService is a web-service spec that passes the example's policies.
func webService(image string) string {
	return "  template: web-service\n  image: " + image + "\n  port: 8080\n  replicas: 2\n"
}

// webServices is n web-services of a team, TEAM/svc00 on, all running
// registry.example.com/TEAM/app:1.0.0: their specs by id, and the ids.
func webServices(team string, n int) (map[string]string, []string) {
	services := map[string]string{}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s/svc%02d", team, i)
		services[id] = webService("registry.example.com/" + team + "/app:1.0.0")
		ids = append(ids, id)
	}
	return services, ids
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func editFile(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	writeFile(t, dir, rel, strings.Replace(string(b), old, new, 1))
}

// writeFileAt writes a file whose modification time is at, atomically
// (renamed into place), so that no fetch sees it with another time.
func writeFileAt(t *testing.T, dir, rel, content string, at time.Time) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, at, at); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
		t.Fatal(err)
	}
}

// touchAll sets every file's modification time: a folder revision's time
// (where DORA's lead time starts) is its newest file's.
func touchAll(t *testing.T, dir string, at time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, at, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testDaemon is a daemon running in-process on a catalog folder, with a
// fake clock.
type testDaemon struct {
	*Daemon
	t     *testing.T
	dir   string
	clock *clocktesting.FakeClock
	stop  func()
}

type daemonOption func(*Options, map[string]*rest.Config)

// run starts a daemon on dir with appliers for staging and prod. It is
// stopped when the test ends.
func run(t *testing.T, dir string, opts ...daemonOption) *testDaemon {
	t.Helper()
	src, err := source.NewDir(dir, source.DirOptions{Debounce: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return runSource(t, dir, src, opts...)
}

// runSource starts a daemon on a source (dir is the catalog folder the
// test edits).
func runSource(t *testing.T, dir string, src source.Source, opts ...daemonOption) *testDaemon {
	t.Helper()
	clk := clocktesting.NewFakeClock(start)
	o := DefaultOptions()
	// Tests fetch with TriggerFetch: no poll or resync comes between.
	o.Clock, o.Interval, o.ResyncInterval, o.ShutdownTimeout, o.PingTimeout = clk, 1000*time.Hour, 1000*time.Hour, 10*time.Second, 3*time.Second
	o.Apply.WaitTimeout, o.Apply.PollInterval = 60*time.Second, 250*time.Millisecond
	configs := map[string]*rest.Config{}
	for _, name := range []string{"staging", "prod"} {
		configs[name] = rest.CopyConfig(testcluster.ConfigFor(t, name))
	}
	for _, opt := range opts {
		opt(&o, configs)
	}
	if fc, ok := o.Clock.(*clocktesting.FakeClock); ok {
		clk = fc // an option set the clock (a restart later in time)
	}
	o.Apply.Now = clk.Now
	appliers := map[string]*apply.Applier{}
	for name, cfg := range configs {
		c, err := apply.NewCluster(name, cfg, apply.DefaultClusterOptions())
		if err != nil {
			t.Fatal(err)
		}
		appliers[name] = apply.New(c, o.Apply)
	}
	d := New(logr.Discard(), src, appliers, o)
	if testing.Verbose() {
		d.log = testr.New(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	td := &testDaemon{Daemon: d, t: t, dir: dir, clock: clk}
	td.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("the daemon did not stop within 30s of its context's end")
			}
			src.Close()
		})
	}
	t.Cleanup(td.stop)
	td.waitFor(3*time.Minute, "first sync", func() (bool, string) { return d.Ready(), "not ready" })
	return td
}

// waitFor polls cond (in real time) until it holds.
func (d *testDaemon) waitFor(timeout time.Duration, what string, cond func() (bool, string)) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: not within %s: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// env returns a copy of a service's status in an environment (nil if none).
func (d *testDaemon) env(id, env string) *EnvironmentStatus {
	svc, ok := d.Status.Service(id)
	if !ok {
		return nil
	}
	return svc.Environments[env]
}

// phase waits until every service is in phase in every environment, at
// the source's current revision (applied, for Ready: the revision is
// desired as soon as it is queued).
func (d *testDaemon) phase(timeout time.Duration, phase Phase, ids ...string) {
	d.t.Helper()
	d.waitFor(timeout, fmt.Sprintf("%v %s", ids, phase), func() (bool, string) {
		rev := d.Status.Source().Revision
		for _, id := range ids {
			for _, env := range []string{"staging", "prod"} {
				e := d.env(id, env)
				if e == nil || e.Phase != phase || e.DesiredRevision != rev || (phase == PhaseReady && e.AppliedRevision != rev) {
					return false, fmt.Sprintf("%s (%s): %+v (revision %s)", id, env, e, rev)
				}
			}
		}
		return true, ""
	})
}

// refetch makes the daemon fetch the folder now and waits until the
// revision changed.
func (d *testDaemon) refetch() {
	d.t.Helper()
	before := d.Status.Source().Revision
	d.TriggerFetch()
	d.waitFor(10*time.Second, "new revision fetched", func() (bool, string) {
		s := d.Status.Source()
		return s.Revision != before, s.Revision
	})
}

// deployment reads a Deployment in a cluster.
func deployment(t *testing.T, cluster, ns, name string) (*appsv1.Deployment, error) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	return cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
}

// image is a Deployment's first container's image in a cluster.
func image(t *testing.T, cluster, ns, name string) string {
	t.Helper()
	dep, err := deployment(t, cluster, ns, name)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return dep.Spec.Template.Spec.Containers[0].Image
}

// counter reads a DORA counter of the daemon's registry for a service
// (team/name) in an environment.
func (d *testDaemon) counter(name, id, env string) float64 {
	team, svc, _ := strings.Cut(id, "/")
	m := d.metric(name, env, svc, team)
	if m == nil || m.Counter == nil {
		return 0
	}
	return m.Counter.GetValue()
}

// histogram reads a DORA histogram's sample count and sum.
func (d *testDaemon) histogram(name, id, env string) (uint64, float64) {
	team, svc, _ := strings.Cut(id, "/")
	m := d.metric(name, env, svc, team)
	if m == nil || m.Histogram == nil {
		return 0, 0
	}
	return m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum()
}

// metric finds a metric by its label values, in the order of the labels'
// names (environment, service, team).
func (d *testDaemon) metric(name string, labels ...string) *dto.Metric {
	d.t.Helper()
	families, err := d.Metrics.Registry.Gather()
	if err != nil {
		d.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.Metric {
			if len(m.Label) != len(labels) {
				continue
			}
			for i, l := range m.Label { // sorted by name: environment, service, team
				if l.GetValue() != labels[i] {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// ensureNamespace creates a namespace if it is missing.
func ensureNamespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// switchProxy is a TCP proxy in front of an API server that the test can
// cut: while down, it closes every connection, open or new, so the
// cluster is unreachable.
type switchProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *switchProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	copyConn := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go copyConn(up, c)
	copyConn(c, up)
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *switchProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

// throughProxy routes a cluster's client through a switchProxy.
func throughProxy(t *testing.T, cluster string, p **switchProxy) daemonOption {
	return func(_ *Options, configs map[string]*rest.Config) {
		cfg := configs[cluster]
		u, err := url.Parse(cfg.Host)
		if err != nil {
			t.Fatal(err)
		}
		*p = newSwitchProxy(t, u.Host)
		u.Host = (*p).ln.Addr().String()
		cfg.Host = u.String()
	}
}
