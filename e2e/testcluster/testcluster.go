// Package testcluster gives tests a real Kubernetes control plane
// (e2e/localcluster): one or more named clusters per test binary, started from
// TestMain, and a fresh namespace per test.
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		cfg := testcluster.Config(t)   // *rest.Config, admin
//		ns := testcluster.Namespace(t) // deleted when the test ends
//		...
//	}
//
// For several clusters: testcluster.MainN(m, "staging", "prod") and
// testcluster.ConfigFor(t, "prod"). When a test fails, the tail of every
// component's log is printed with the test's output. When the binaries are
// missing the test binary fails (it never skips) and prints the command that
// builds them.
package testcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/e2e/localcluster"
)

// UnreadyAnnotation is the failure simulation. A Pod annotated
// UnreadyAnnotation: "true" (for a Deployment: in
// spec.template.metadata.annotations) is scheduled and Running on a simulated
// node but never Ready: its containers wait in CrashLoopBackOff and its Ready
// condition is False with reason ContainersNotReady. Its Deployment never
// becomes Available.
const UnreadyAnnotation = localcluster.UnreadyAnnotation

// SimulatedFailureReason is the waiting reason of a marked pod's containers.
const SimulatedFailureReason = localcluster.SimulatedFailureReason

// DefaultCluster is the name of the cluster that Main starts.
const DefaultCluster = "e2e"

// StartTimeout bounds the start of all clusters of a test binary. Several
// test binaries start clusters at once under `go test ./...`, on two cores.
var StartTimeout = 4 * time.Minute

// logTailLines is how much of each component log a failed test prints.
const logTailLines = 40

var (
	clusters = map[string]*localcluster.Cluster{}
	order    []string // cluster names as given to MainN
	reported sync.Map // testing.TB → struct{}: log tail already registered
)

// Main starts one cluster, DefaultCluster, runs the tests, stops the cluster
// and exits. Call it from TestMain.
func Main(m *testing.M) { os.Exit(Run(m, DefaultCluster)) }

// MainN is Main with several named clusters, started in parallel.
func MainN(m *testing.M, names ...string) { os.Exit(Run(m, names...)) }

// Run starts the named clusters, runs the tests and stops the clusters. It
// returns the exit code for os.Exit; TestMain functions that do more than
// Main use it.
func Run(m *testing.M, names ...string) int {
	flag.Parse()
	if len(names) == 0 {
		names = []string{DefaultCluster}
	}
	if err := start(names); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		return 1
	}
	code := m.Run()
	stopAll()
	return code
}

func start(names []string) error {
	bins, err := localcluster.FindBinaries()
	if err != nil {
		return err
	}
	base := filepath.Join(os.TempDir(), "pave-e2e")
	collectGarbage(base)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	began := time.Now()
	for _, name := range names {
		dir := filepath.Join(base, fmt.Sprintf("%d-%s-%s", os.Getpid(), name, randomSuffix()))
		var progress *os.File
		if testing.Verbose() {
			progress = os.Stderr
		}
		wg.Go(func() {
			opts := localcluster.Options{Name: name, Dir: dir, Binaries: bins}
			if progress != nil {
				opts.Progress = progress
			}
			c, err := localcluster.Start(ctx, opts)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("cluster %s: %w\n%s", name, err, localcluster.LogTail(dir, logTailLines)))
				return
			}
			clusters[name] = c
		})
	}
	wg.Wait()
	order = names
	if err := errors.Join(errs...); err != nil {
		stopAll()
		return err
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "testcluster: %s ready in %s\n", strings.Join(names, ", "), time.Since(began).Round(100*time.Millisecond))
	}
	return nil
}

func stopAll() {
	for name, c := range clusters {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testcluster: stop %s: %v\n", name, err)
		}
	}
	clear(clusters)
}

// collectGarbage removes the state of clusters whose test binary died
// without cleaning up (its processes died with it).
func collectGarbage(base string) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		pidStr, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			_ = localcluster.StopDir(filepath.Join(base, e.Name()))
		}
	}
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Cluster returns the named cluster, to stop and start its API server or read
// its kubeconfig.
func Cluster(t testing.TB, name string) *localcluster.Cluster {
	t.Helper()
	c, ok := clusters[name]
	if !ok {
		if len(clusters) == 0 {
			t.Fatalf("testcluster: no cluster running; call testcluster.Main(m) or MainN(m, ...) from TestMain")
		}
		t.Fatalf("testcluster: no cluster %q; started: %s", name, strings.Join(order, ", "))
	}
	logsOnFailure(t)
	return c
}

// Config returns an admin *rest.Config for the first cluster of the binary.
func Config(t testing.TB) *rest.Config {
	t.Helper()
	if len(order) == 0 {
		t.Fatalf("testcluster: no cluster running; call testcluster.Main(m) or MainN(m, ...) from TestMain")
	}
	return ConfigFor(t, order[0])
}

// ConfigFor returns an admin *rest.Config for the named cluster.
func ConfigFor(t testing.TB, name string) *rest.Config {
	t.Helper()
	cfg, err := Cluster(t, name).RESTConfig()
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return cfg
}

// Clientset returns a typed client for the first cluster.
func Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(Config(t))
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return cs
}

// Reset empties the named clusters (all when none is named), in parallel:
// see localcluster's Cluster.Reset. Clients made before keep working.
func Reset(t testing.TB, names ...string) {
	t.Helper()
	if len(names) == 0 {
		names = order
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		c := Cluster(t, name)
		wg.Go(func() { errs[i] = c.Reset(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
}

// AddNodes gives the named cluster n more simulated nodes, kept by Reset.
func AddNodes(t testing.TB, name string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if err := Cluster(t, name).AddNodes(ctx, n); err != nil {
		t.Fatalf("testcluster: %s: %v", name, err)
	}
}

// Names returns the names of the running clusters, in MainN's order.
func Names() []string { return append([]string(nil), order...) }

// Unreachable stops the named cluster's API server until the test ends (or
// until the returned function is called), so the cluster cannot be reached
// while its state survives. Use it to test that one unreachable cluster does
// not block the others.
func Unreachable(t testing.TB, name string) (restore func()) {
	t.Helper()
	c := Cluster(t, name)
	if err := c.StopAPIServer(); err != nil {
		t.Fatalf("testcluster: stop kube-apiserver of %s: %v", name, err)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := c.StartAPIServer(ctx); err != nil {
				t.Errorf("testcluster: restart kube-apiserver of %s: %v", name, err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// NamespaceOption configures Namespace.
type NamespaceOption func(*corev1.Namespace)

// WithLabels adds labels to the namespace.
func WithLabels(labels map[string]string) NamespaceOption {
	return func(ns *corev1.Namespace) {
		for k, v := range labels {
			ns.Labels[k] = v
		}
	}
}

// PodSecurity labels the namespace so that Pod Security admission enforces
// level ("privileged", "baseline" or "restricted").
func PodSecurity(level string) NamespaceOption {
	return WithLabels(map[string]string{"pod-security.kubernetes.io/enforce": level})
}

// Namespace creates a fresh namespace, named after the test, in every cluster
// of the binary, waits until pods can be admitted there (its default
// ServiceAccount exists), and deletes it when the test ends.
func Namespace(t testing.TB, opts ...NamespaceOption) string {
	t.Helper()
	if len(order) == 0 {
		t.Fatalf("testcluster: no cluster running; call testcluster.Main(m) or MainN(m, ...) from TestMain")
	}
	name := namespaceName(t.Name())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"e2e.pave.dev/test": "true"},
	}}
	for _, o := range opts {
		o(ns)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, cluster := range order {
		cs, err := kubernetes.NewForConfig(ConfigFor(t, cluster))
		if err != nil {
			t.Fatalf("testcluster: %v", err)
		}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns.DeepCopy(), metav1.CreateOptions{}); err != nil {
			t.Fatalf("testcluster: create namespace %s in %s: %v", name, cluster, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Logf("testcluster: delete namespace %s in %s: %v", name, cluster, err)
			}
		})
		err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("testcluster: namespace %s in %s: no default ServiceAccount: %v", name, cluster, err)
		}
	}
	return name
}

var invalidNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// namespaceName turns a test name into a unique DNS-1123 label.
func namespaceName(testName string) string {
	s := invalidNameChars.ReplaceAllString(strings.ToLower(testName), "-")
	s = strings.Trim(strings.TrimPrefix(s, "test"), "-")
	const maxBase = 63 - len("t--") - 6
	if len(s) > maxBase {
		s = strings.TrimRight(s[:maxBase], "-")
	}
	return "t-" + s + "-" + randomSuffix()
}

// logsOnFailure makes a failed test print the tail of every component log of
// every cluster, once per test.
func logsOnFailure(t testing.TB) {
	if _, loaded := reported.LoadOrStore(t, struct{}{}); loaded {
		return
	}
	t.Cleanup(func() {
		reported.Delete(t)
		if !t.Failed() {
			return
		}
		for _, name := range order {
			if c := clusters[name]; c != nil {
				t.Logf("testcluster: cluster %s, component logs:\n%s", name, c.LogTail(logTailLines))
			}
		}
	})
}
