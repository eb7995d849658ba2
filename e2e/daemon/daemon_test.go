// Package daemon runs `pave serve` end to end: a real git server (over HTTP
// with basic auth), two local clusters (staging and prod), and the daemon
// as a process, driven the way a team and a platform team would.
package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"helm.sh/helm/v3/pkg/chart/loader"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/localcluster"
	"github.com/pave-dev/pave/e2e/testcluster"
)

var paveBin string

func TestMain(m *testing.M) {
	bin, cleanup, err := testcluster.BuildPave()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	paveBin = bin
	code := testcluster.Run(m, "staging", "prod")
	cleanup()
	os.Exit(code)
}

// repo is a work tree pushing to the git server's bare repository.
type repo struct {
	t    testing.TB
	dir  string
	bare string
}

// exampleRepo copies the example catalog into a work tree under work,
// without the folders named in drop (e.g. "services"), pushing to a new
// bare repository there. The caller commits once it is ready.
func exampleRepo(tb testing.TB, work string, drop ...string) *repo {
	tb.Helper()
	bare := filepath.Join(work, "catalog.git")
	git(tb, work, "init", "-q", "--bare", "-b", "main", bare)
	r := &repo{t: tb, dir: filepath.Join(work, "src"), bare: bare}
	if err := os.CopyFS(r.dir, os.DirFS("../../catalog-repo-example")); err != nil {
		tb.Fatal(err)
	}
	for _, d := range drop {
		os.RemoveAll(filepath.Join(r.dir, d))
	}
	return r
}

// writeWebServices writes a service.yaml of the web-service template for
// each "team/name" of ids, with 2 replicas.
func (r *repo) writeWebServices(ids []string) {
	for _, id := range ids {
		team, name, _ := strings.Cut(id, "/")
		r.write(fmt.Sprintf("services/%s/%s/service.yaml", team, name), fmt.Sprintf("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: %s, team: %s}\nspec:\n  template: web-service\n  image: registry.example.com/%s/%s:1.0.0\n  port: 8080\n  replicas: 2\n", name, team, team, name))
	}
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(rel, content string) {
	p := filepath.Join(r.dir, rel)
	if content == "" {
		if err := os.RemoveAll(p); err != nil {
			r.t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) edit(rel, old, new string) {
	data, err := os.ReadFile(filepath.Join(r.dir, rel))
	if err != nil {
		r.t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		r.t.Fatalf("%s does not contain %q", rel, old)
	}
	r.write(rel, strings.Replace(string(data), old, new, 1))
}

func (r *repo) commitPush(msg string) string {
	git(r.t, r.dir, "add", "-A")
	git(r.t, r.dir, "commit", "-q", "-m", msg)
	git(r.t, r.dir, "push", "-q", "-f", r.bare, "HEAD:main")
	return git(r.t, r.dir, "rev-parse", "HEAD")
}

// daemon is a running pave serve.
type daemon struct {
	t     testing.TB
	cmd   *exec.Cmd
	url   string // the API listener (--listen)
	probe string // the probe listener (--probe-listen)
	log   string
	// logFrom is where this process's lines start in log (a file a
	// restarted pave appends to).
	logFrom int64
	done    chan struct{}
	// token, when set, is sent as the API's bearer token.
	token string
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startPave(t testing.TB, log string, args ...string) *daemon {
	t.Helper()
	return startPaveWith(t, log, nil, args...)
}

// startPaveWith runs pave serve through wrap (nil: directly), e.g. a shell
// that lowers the file-descriptor limit first.
//
// Its ports are picked free just before it starts, so another process may
// take one first: pave then exits at once, saying the address is in use,
// and is started again on other ports.
func startPaveWith(t testing.TB, log string, wrap func(bin string, args []string) *exec.Cmd, args ...string) *daemon {
	t.Helper()
	for attempt := 1; ; attempt++ {
		d := startPaveOnce(t, log, wrap, args...)
		if attempt == 3 || !d.lostPort() {
			return d
		}
		t.Logf("pave could not listen (a port was taken meanwhile): starting it again on other ports")
	}
}

// lostPort waits until pave answers on its probe port, or exits; it
// reports whether it exited because a port it was given was taken.
func (d *daemon) lostPort() bool {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			data, _ := os.ReadFile(d.log)
			return strings.Contains(string(data[min(d.logFrom, int64(len(data))):]), "address already in use")
		default:
		}
		if resp, err := http.Get(d.probe + "/healthz"); err == nil {
			resp.Body.Close()
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// chartMemoryLimit is the memory limit of charts/pave's defaults
// (resources.limits.memory), in bytes: the chart gives it to pave as
// GOMEMLIMIT.
func chartMemoryLimit(t testing.TB) int64 {
	t.Helper()
	ch, err := loader.Load("../../charts/pave")
	if err != nil {
		t.Fatal(err)
	}
	resources, _ := ch.Values["resources"].(map[string]any)
	limits, _ := resources["limits"].(map[string]any)
	v, ok := limits["memory"].(string)
	if !ok {
		t.Fatalf("charts/pave/values.yaml: no resources.limits.memory (found %v)", limits)
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		t.Fatalf("charts/pave/values.yaml: resources.limits.memory: %v", err)
	}
	return q.Value()
}

func startPaveOnce(t testing.TB, log string, wrap func(bin string, args []string) *exec.Cmd, args ...string) *daemon {
	t.Helper()
	addr, probe := freePort(t), freePort(t)
	var logFrom int64
	if fi, err := os.Stat(log); err == nil {
		logFrom = fi.Size()
	}
	f, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"serve", "--listen", addr, "--probe-listen", probe}
	if !slices.Contains(args, "--cluster") { // default: both clusters as admin
		all = append(all, "--cluster", "staging="+testcluster.Cluster(t, "staging").Kubeconfig(),
			"--cluster", "prod="+testcluster.Cluster(t, "prod").Kubeconfig())
	}
	all = append(all, args...)
	cmd := exec.Command(paveBin, all...)
	if wrap != nil {
		cmd = wrap(paveBin, all)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if _, bench := t.(*testing.B); bench && os.Getenv("GOMEMLIMIT") == "" {
		// A benchmark runs pave as the chart deploys it: Go's soft memory
		// limit is the container's memory limit.
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		limit := chartMemoryLimit(t)
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMEMLIMIT=%d", limit))
		t.Logf("pave serve runs with GOMEMLIMIT=%dMiB, the chart's memory limit", limit>>20)
	}
	// Killed with the test binary, even an interrupted one.
	if err := localcluster.StartTied(cmd); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, url: "http://" + addr, probe: "http://" + probe, log: log, logFrom: logFrom, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(d.done) }()
	t.Cleanup(func() {
		if d.alive() {
			cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			data, _ := os.ReadFile(log)
			lines := strings.Split(string(data), "\n")
			t.Logf("pave log (last 40 lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	return d
}

func (d *daemon) alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// get reads a path: /api/ from the API listener (with the token, if
// any), anything else (/healthz, /readyz, /metrics) from the probe
// listener.
func (d *daemon) get(path string, into any) int {
	base := d.probe
	if strings.HasPrefix(path, "/api/") {
		base = d.url
	}
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return 0
	}
	if d.token != "" && base == d.url {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if into != nil {
		_ = json.NewDecoder(resp.Body).Decode(into)
	}
	return resp.StatusCode
}

type envStatus struct {
	Phase           string   `json:"phase"`
	AppliedRevision string   `json:"appliedRevision"`
	DesiredRevision string   `json:"desiredRevision"`
	Errors          []string `json:"errors"`
	Health          string   `json:"health"`
	Gate            string   `json:"gate"`
	Wave            string   `json:"wave"`
	// LastReconcile is when the daemon last recorded the pair.
	LastReconcile *time.Time `json:"lastReconcile"`
	Policy        *struct {
		Violations []struct {
			Policy string `json:"policy"`
			Line   int    `json:"line"`
		} `json:"violations"`
	} `json:"policy"`
}

type serviceStatus struct {
	Service      string                `json:"service"`
	Environments map[string]*envStatus `json:"environments"`
}

func (d *daemon) services() map[string]serviceStatus {
	var body struct {
		Services []serviceStatus `json:"services"`
	}
	d.get("/api/v1/services", &body)
	out := map[string]serviceStatus{}
	for _, s := range body.Services {
		out[s.Service] = s
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last state: %s", what, timeout, last)
	return 0
}

// allAt holds when every service of ids is phase at revision in both
// environments.
func (d *daemon) allAt(ids []string, phase, revision string) func() (bool, string) {
	return func() (bool, string) {
		svcs := d.services()
		for _, id := range ids {
			s, ok := svcs[id]
			if !ok || len(s.Environments) < 2 {
				return false, id + " missing"
			}
			for env, e := range s.Environments {
				if e.Phase != phase || (revision != "" && e.AppliedRevision != revision) {
					return false, fmt.Sprintf("%s %s: %s at %s %v %s", id, env, e.Phase, short(e.AppliedRevision), e.Errors, e.Health)
				}
			}
		}
		return true, ""
	}
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

var metricLine = regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$`)

// metric sums a metric's samples whose labels contain every given label.
func (d *daemon) metric(name string, labels ...string) float64 {
	resp, err := http.Get(d.probe + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[2], l)
		}
		if ok {
			v, _ := strconv.ParseFloat(m[3], 64)
			sum += v
		}
	}
	return sum
}

var exampleServices = []string{"data/events-consumer", "data/report-builder", "payments/checkout", "payments/ledger-worker", "payments/settlement", "storefront/catalog-api", "storefront/search-indexer", "storefront/web"}

func TestDaemon(t *testing.T) {
	resetClusters(t)
	// Daemons outlive the subtest that starts them.
	top := t
	ctx := context.Background()
	prodClient, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	deploymentImage := func(ns, name string) string {
		d, err := prodClient.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}

	// A git server with basic auth, holding the example catalog.
	var down atomic.Bool
	srv := gittestserver.NewGitServer(t.TempDir()).Auth("pave", "s3cret")
	srv.AddHTTPMiddlewares(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				// A server that is gone: the connection drops.
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
						return
					}
				}
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err := srv.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	defer srv.StopHTTP()
	bare := filepath.Join(srv.Root(), "catalog.git")
	git(t, srv.Root(), "init", "-q", "--bare", "-b", "main", bare)
	r := &repo{t: t, dir: t.TempDir(), bare: bare}
	if err := os.CopyFS(r.dir, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	git(t, r.dir, "init", "-q", "-b", "main")
	rev := r.commitPush("Initial catalog")

	secrets := t.TempDir()
	for name, v := range map[string]string{"user": "pave", "pass": "s3cret", "hook": "hook-secret"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logFile := filepath.Join(t.TempDir(), "pave.log")
	cache := t.TempDir()
	args := []string{"--repo", srv.HTTPAddress() + "/catalog.git", "--branch", "main", "--cache-dir", cache,
		"--git-username-file", filepath.Join(secrets, "user"), "--git-password-file", filepath.Join(secrets, "pass"),
		"--webhook-secret-file", filepath.Join(secrets, "hook"), "--git-timeout", "5s",
		"--interval", "2s", "--resync-interval", "1h", "--wait-timeout", "20s"}
	d := startPave(t, logFile, args...)

	t.Run("initial sync: every service Ready in both environments", func(t *testing.T) {
		took := waitFor(t, 3*time.Minute, "initial sync", d.allAt(exampleServices, "Ready", rev))
		if d.get("/readyz", nil) != http.StatusOK {
			t.Error("/readyz is not ok after the first sync")
		}
		t.Logf("initial sync of %d services × 2 environments in %s", len(exampleServices), took)
	})

	t.Run("a new service is applied within two poll intervals", func(t *testing.T) {
		r.write("services/payments/refunds/service.yaml", "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: refunds, team: payments}\nspec:\n  template: web-service\n  image: registry.example.com/payments/refunds:1.0.0\n  port: 8080\n  replicas: 2\n")
		rev = r.commitPush("Add payments/refunds")
		took := waitFor(t, 30*time.Second, "refunds applied", d.allAt([]string{"payments/refunds"}, "Ready", rev))
		if took > 4*time.Second+10*time.Second { // two polls, plus the rollout
			t.Errorf("took %s", took)
		}
		if img := deploymentImage("payments-prod", "refunds"); img != "registry.example.com/payments/refunds:1.0.0" {
			t.Errorf("prod image %s", img)
		}
		t.Logf("applied and Ready %s after the push", took)
	})

	t.Run("unsigned or badly signed webhooks get 401", func(t *testing.T) {
		for _, sig := range []string{"", "sha256=" + strings.Repeat("0", 64)} {
			req, _ := http.NewRequest(http.MethodPost, d.url+"/hooks/git", strings.NewReader(`{"ref":"refs/heads/main"}`))
			req.Header.Set("X-GitHub-Event", "push")
			if sig != "" {
				req.Header.Set("X-Hub-Signature-256", sig)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("signature %q: %d", sig, resp.StatusCode)
			}
		}
		if n := d.metric("pave_webhook_rejected_total"); n < 2 {
			t.Errorf("pave_webhook_rejected_total = %v", n)
		}
	})

	t.Run("a policy-violating change is not applied", func(t *testing.T) {
		r.edit("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:latest")
		rev = r.commitPush("checkout: latest")
		// Staging evaluates it first; the denial halts it there, and prod
		// never receives it (promotion: prod waits for staging to run it
		// Ready).
		waitFor(t, 30*time.Second, "checkout denied", func() (bool, string) {
			s := d.services()["payments/checkout"]
			e := s.Environments["staging"]
			if e == nil || e.Phase != "PolicyDenied" || e.DesiredRevision != rev {
				return false, fmt.Sprintf("%+v", e)
			}
			for _, v := range e.Policy.Violations {
				if v.Policy == "image-tag-pinned" && v.Line == 8 {
					return true, ""
				}
			}
			return false, fmt.Sprintf("violations %+v", e.Policy.Violations)
		})
		waitFor(t, 30*time.Second, "prod halted", func() (bool, string) {
			e := d.services()["payments/checkout"].Environments["prod"]
			return e != nil && e.Phase == "Ready" && strings.HasPrefix(e.Gate, "halted: staging PolicyDenied: ") && strings.Contains(e.Gate, "image-tag-pinned"), fmt.Sprintf("%+v", e)
		})
		if img := deploymentImage("payments-prod", "checkout"); img != "registry.example.com/payments/checkout:1.4.2" {
			t.Errorf("the previous version must keep running, got %s", img)
		}
		// The denial is a Kubernetes Event on the service's inventory.
		stagingClient, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "staging"))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "PolicyDenied event", func() (bool, string) {
			evs, err := stagingClient.CoreV1().Events("pave-system").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=payments.checkout.staging"})
			if err != nil {
				return false, err.Error()
			}
			var reasons []string
			for _, e := range evs.Items {
				if e.Reason == "PolicyDenied" && strings.Contains(e.Message, "image-tag-pinned") {
					return true, ""
				}
				reasons = append(reasons, e.Reason)
			}
			return false, strings.Join(reasons, ",")
		})
		r.edit("services/payments/checkout/service.yaml", "checkout:latest", "checkout:1.4.2")
		rev = r.commitPush("checkout: back to 1.4.2")
		waitFor(t, 30*time.Second, "checkout fixed", d.allAt([]string{"payments/checkout"}, "Ready", ""))
	})

	t.Run("a template change rolls out to every service using it", func(t *testing.T) {
		// The Deployment is the library's (templates/_lib): web-service alone adds to it.
		r.edit("templates/web-service/templates/deployment.yaml", `include "pave.deployment" .`, `include "pave.deployment" . | replace "kind: Deployment\nmetadata:\n" "kind: Deployment\nmetadata:\n  annotations:\n    platform.example.com/tier: golden\n"`)
		rev = r.commitPush("web-service: tier annotation")
		users := []string{"payments/checkout", "payments/refunds", "storefront/catalog-api", "storefront/web"}
		waitFor(t, 60*time.Second, "template rollout", d.allAt(users, "Ready", rev))
		for _, id := range users {
			team, name, _ := strings.Cut(id, "/")
			dep, err := prodClient.AppsV1().Deployments(team+"-prod").Get(ctx, name, metav1.GetOptions{})
			if err != nil || dep.Annotations["platform.example.com/tier"] != "golden" {
				t.Errorf("%s: %v %v", id, err, dep.Annotations)
			}
		}
	})

	t.Run("a signed webhook gets a push applied within 5 s", func(t *testing.T) {
		// Restart pave with a long poll interval, so only the webhook can be quick.
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(40 * time.Second):
			t.Fatal("pave did not stop on SIGTERM")
		}
		if code := d.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit %d after SIGTERM", code)
		}
		slow := append(append([]string{}, args...), "--interval", "1h")
		d = startPave(top, logFile, slow...)
		waitFor(t, 2*time.Minute, "restart converges", d.allAt([]string{"payments/checkout"}, "Ready", rev))

		r.edit("services/storefront/web/service.yaml", "web:5.12.0", "web:5.13.0")
		rev = r.commitPush("web 5.13.0")
		if code := d.TriggerWebhook(t, rev); code >= 300 {
			t.Fatalf("signed webhook: %d", code)
		}
		waitFor(t, 5*time.Second, "web applied after the webhook", func() (bool, string) {
			img := deploymentImage("storefront-prod", "web")
			return img == "registry.example.com/storefront/web:5.13.0", img
		})
	})

	t.Run("a deleted service is pruned", func(t *testing.T) {
		r.write("services/payments/refunds", "")
		rev = r.commitPush("Remove payments/refunds")
		d.TriggerWebhook(t, rev)
		waitFor(t, 30*time.Second, "refunds pruned", func() (bool, string) {
			_, err := prodClient.AppsV1().Deployments("payments-prod").Get(ctx, "refunds", metav1.GetOptions{})
			return err != nil && strings.Contains(err.Error(), "not found"), fmt.Sprint(err)
		})
		waitFor(t, 10*time.Second, "status Pruned", d.allAt([]string{"payments/refunds"}, "Pruned", ""))
	})

	t.Run("git unreachable: nothing deleted, recovers when it returns", func(t *testing.T) {
		down.Store(true)
		d.TriggerWebhook(t, rev)
		waitFor(t, 20*time.Second, "fetch error reported", func() (bool, string) {
			var src struct {
				LastError string `json:"lastError"`
			}
			d.get("/api/v1/source", &src)
			return src.LastError != "", "no error yet"
		})
		if n := d.metric("pave_source_fetch_errors_total"); n < 1 {
			t.Errorf("pave_source_fetch_errors_total = %v", n)
		}
		if d.get("/readyz", nil) != http.StatusOK {
			t.Error("/readyz must stay ok while git is unreachable")
		}
		for _, id := range exampleServices {
			team, name, _ := strings.Cut(id, "/")
			if _, err := prodClient.CoreV1().ConfigMaps("pave-system").Get(ctx, team+"."+name+".prod", metav1.GetOptions{}); err != nil {
				t.Errorf("%s: inventory gone: %v", id, err)
			}
		}
		down.Store(false)
		r.edit("services/storefront/web/service.yaml", "web:5.13.0", "web:5.14.0")
		rev = r.commitPush("web 5.14.0")
		d.TriggerWebhook(t, rev)
		waitFor(t, 30*time.Second, "recovered", func() (bool, string) {
			img := deploymentImage("storefront-prod", "web")
			return img == "registry.example.com/storefront/web:5.14.0", img
		})
	})

	t.Run("a failed deployment and its restore show in the DORA metrics", func(t *testing.T) {
		unready := "  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /spec/template/metadata/annotations/" + strings.ReplaceAll(testcluster.UnreadyAnnotation, "/", "~1") + ", value: \"true\"}\n"
		r.edit("services/storefront/search-indexer/service.yaml", "  env:\n", unready+"  env:\n")
		rev = r.commitPush("search-indexer: broken build")
		d.TriggerWebhook(t, rev)
		// It fails in staging, and halts there: prod keeps the previous
		// revision.
		waitFor(t, 60*time.Second, "search-indexer Failed", func() (bool, string) {
			envs := d.services()["storefront/search-indexer"].Environments
			st, pr := envs["staging"], envs["prod"]
			ok := st != nil && st.Phase == "Failed" && st.DesiredRevision == rev && pr != nil && pr.Phase == "Ready" && strings.HasPrefix(pr.Gate, "halted: staging Failed: ")
			return ok, fmt.Sprintf("staging %+v prod %+v", st, pr)
		})
		if n := d.metric("pave_change_failures_total", `service="search-indexer"`); n < 1 {
			t.Errorf("pave_change_failures_total = %v", n)
		}
		// The fix is a new version, which reaches prod: lead time is
		// measured there (commit → Ready in the last environment).
		r.edit("services/storefront/search-indexer/service.yaml", unready, "")
		r.edit("services/storefront/search-indexer/service.yaml", "search-indexer:1.8.4", "search-indexer:1.8.5")
		rev = r.commitPush("search-indexer: fix")
		d.TriggerWebhook(t, rev)
		waitFor(t, 60*time.Second, "search-indexer restored", d.allAt([]string{"storefront/search-indexer"}, "Ready", rev))
		for _, m := range []string{"pave_deployments_total", "pave_deployment_lead_time_seconds_count", "pave_time_to_restore_seconds_count"} {
			if n := d.metric(m, `service="search-indexer"`); n < 1 {
				t.Errorf("%s{service=search-indexer} = %v", m, n)
			}
		}
		if n := d.metric("pave_deployments_total"); n < 5 {
			t.Errorf("pave_deployments_total = %v", n)
		}
	})

	t.Run("an invalid pave.yaml applies nothing; a force-push back reconciles to the older commit", func(t *testing.T) {
		good := rev
		r.edit("pave.yaml", "registries:", "registrys:")
		rev = r.commitPush("pave.yaml: typo")
		d.TriggerWebhook(t, rev)
		waitFor(t, 20*time.Second, "CatalogInvalid", func() (bool, string) {
			var src struct {
				CatalogErrors []string `json:"catalogErrors"`
			}
			d.get("/api/v1/source", &src)
			e := d.services()["payments/checkout"].Environments["prod"]
			ok := len(src.CatalogErrors) > 0 && strings.Contains(src.CatalogErrors[0], `unknown field "registrys"`) && e != nil && e.Phase == "CatalogInvalid"
			return ok, fmt.Sprintf("%v %+v", src.CatalogErrors, e)
		})
		if img := deploymentImage("payments-prod", "checkout"); img != "registry.example.com/payments/checkout:1.4.2" {
			t.Errorf("the previous state must keep running: %s", img)
		}
		// Force-push the branch back to the good commit.
		git(t, r.dir, "reset", "-q", "--hard", good)
		git(t, r.dir, "push", "-q", "-f", r.bare, "HEAD:main")
		rev = good
		d.TriggerWebhook(t, rev)
		waitFor(t, 30*time.Second, "back at the good commit", d.allAt(exampleServices, "Ready", ""))
		data, _ := os.ReadFile(logFile)
		if !bytes.Contains(data, []byte("force-push")) {
			t.Error("a force-push is logged as a warning")
		}
	})

	t.Run("SIGKILL mid-reconcile, restart: converges without orphans or duplicates", func(t *testing.T) {
		for _, id := range exampleServices {
			team, name, _ := strings.Cut(id, "/")
			r.edit("services/"+team+"/"+name+"/service.yaml", "kind: Service\n", "kind: Service\n# touched\n")
		}
		r.edit("pave.yaml", "ingressClass: nginx", "ingressClass: nginx-internal")
		rev = r.commitPush("platform: internal ingress class")
		d.TriggerWebhook(t, rev)
		// Kill as soon as pave starts on the new revision.
		waitFor(t, 20*time.Second, "reconcile started", func() (bool, string) {
			data, _ := os.ReadFile(logFile)
			return bytes.Contains(data, []byte(`"msg":"new revision","revision":"`+rev[:12])), ""
		})
		d.cmd.Process.Kill()
		<-d.done
		d = startPave(top, logFile, args...)
		waitFor(t, 3*time.Minute, "converged after SIGKILL", d.allAt(exampleServices, "Ready", rev))
		ing, err := prodClient.NetworkingV1().Ingresses("payments-prod").Get(ctx, "checkout", metav1.GetOptions{})
		if err != nil || ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx-internal" {
			t.Errorf("checkout ingress: %v %v", err, ing)
		}
		// No duplicates or orphans: every pave-managed Deployment is in exactly one inventory.
		deps, err := prodClient.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=pave"})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, id := range exampleServices {
			if id != "payments/settlement" && id != "data/report-builder" {
				want++
			}
		}
		if len(deps.Items) != want {
			var names []string
			for _, d := range deps.Items {
				names = append(names, d.Namespace+"/"+d.Name)
			}
			t.Errorf("%d Deployments in prod, want %d: %v", len(deps.Items), want, names)
		}
	})
}

// TriggerWebhook sends a signed push for the followed branch and returns
// the answer's status code.
func (d *daemon) TriggerWebhook(t testing.TB, rev string) int {
	t.Helper()
	body := []byte(`{"ref":"refs/heads/main","after":"` + rev + `"}`)
	mac := hmac.New(sha256.New, []byte("hook-secret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, d.url+"/hooks/git", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLeaderElectionAndLocalFolder runs two daemons on a local catalog
// folder with leader election: one leads and applies, the other waits;
// when the leader stops, the other takes over; a saved edit is applied.
func TestLeaderElectionAndLocalFolder(t *testing.T) {
	resetClusters(t)
	dir := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dir, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	args := []string{"--path", dir, "--leader-elect", "--leader-election-lease-duration", "4s", "--leader-election-renew-deadline", "3s", "--leader-election-retry-period", "500ms", "--interval", "1h", "--wait-timeout", "20s"}
	a := startPave(t, filepath.Join(logDir, "a.log"), args...)
	waitFor(t, 2*time.Minute, "a leads and syncs", func() (bool, string) { return a.get("/readyz", nil) == http.StatusOK, "" })
	b := startPave(t, filepath.Join(logDir, "b.log"), args...)
	time.Sleep(3 * time.Second)
	if b.get("/readyz", nil) == http.StatusOK {
		t.Fatal("the second replica synced while the first one leads")
	}
	if b.get("/healthz", nil) != http.StatusOK {
		t.Fatal("the waiting replica must be healthy")
	}

	// The leader steps down on SIGTERM; the other takes over.
	a.cmd.Process.Signal(syscall.SIGTERM)
	<-a.done
	waitFor(t, time.Minute, "b takes over", func() (bool, string) { return b.get("/readyz", nil) == http.StatusOK, "" })

	// Saving a file in the folder is enough.
	r := &repo{t: t, dir: dir}
	r.edit("services/storefront/catalog-api/service.yaml", "catalog-api:3.1.0", "catalog-api:3.2.0")
	prod, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "folder edit applied", func() (bool, string) {
		d, err := prod.AppsV1().Deployments("storefront-prod").Get(context.Background(), "catalog-api", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		img := d.Spec.Template.Spec.Containers[0].Image
		return img == "registry.example.com/storefront/catalog-api:3.2.0", img
	})
}

// resetClusters gives a story clusters without what an earlier story's
// pave left: the services' namespaces and pave-system (inventories, state,
// leases) are deleted in both clusters, and the story starts once they
// are gone, with their pods. Otherwise a story that removed a service
// leaves its ReplicaSets backing off on a deleted ServiceAccount while the
// next story applies the same service again.
func resetClusters(tb testing.TB) {
	tb.Helper()
	clearClusters(tb, 5*time.Minute)
}

// clearClusters deletes pave's namespaces in both clusters, then waits up
// to timeout in each until they are gone; it returns how long that took.
func clearClusters(tb testing.TB, timeout time.Duration) time.Duration {
	tb.Helper()
	ctx := context.Background()
	ours := func(name string) bool {
		return name == "pave-system" || strings.HasSuffix(name, "-staging") || strings.HasSuffix(name, "-prod")
	}
	clusters := map[string]*kubernetes.Clientset{}
	for _, cluster := range []string{"staging", "prod"} {
		cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(tb, cluster))
		if err != nil {
			tb.Fatal(err)
		}
		clusters[cluster] = cs
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		for _, ns := range list.Items {
			if ours(ns.Name) && ns.DeletionTimestamp == nil {
				if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					tb.Fatalf("%s: delete namespace %s: %v", cluster, ns.Name, err)
				}
			}
		}
	}
	began := time.Now()
	for cluster, cs := range clusters {
		waitFor(tb, timeout, cluster+": namespaces of an earlier story gone", func() (bool, string) {
			list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			var left []string
			for _, ns := range list.Items {
				if ours(ns.Name) {
					left = append(left, ns.Name)
				}
			}
			return len(left) == 0, strings.Join(left, ", ")
		})
	}
	return time.Since(began)
}
