// Package localcluster runs a real Kubernetes control plane as local
// processes: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok (simulated nodes and pods). No container engine and no image is needed;
// the binaries come from e2e/tools/build.sh.
//
// The API server is the real one: it validates, runs the default admission
// chain (Pod Security included), tracks managed fields for server-side apply,
// and reports /readyz. The controller manager runs the Deployment and
// ReplicaSet controllers; kwok plays the kubelets, so Deployments become
// Available. See e2e/README.md.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure one cluster.
type Options struct {
	// Name names the cluster in its kubeconfig (context and cluster name).
	Name string
	// Dir is the state directory: pki/, etcd/, kubeconfig, logs/, pids/.
	// Start wipes whatever is there; Stop removes it.
	Dir string
	// Binaries to run; the zero value means FindBinaries().
	Binaries Binaries
	// Nodes is the number of simulated nodes; 0 means 2.
	Nodes int
	// Detach lets the processes outlive the calling process (the cluster
	// CLI). Otherwise they are killed when the caller dies, even by SIGKILL.
	Detach bool
	// Progress, if set, receives one line per startup step.
	Progress io.Writer
}

// Component names, also the names of the log and PID files.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
)

// stopOrder is the reverse of the start order.
var stopOrder = []string{Kwok, Scheduler, ControllerManager, APIServer, Etcd}

const (
	serviceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1" // first IP of serviceCIDR: the kubernetes Service
	podCIDR     = "10.244.0.0/16"
	stopGrace   = 10 * time.Second
)

// Cluster is a running local control plane.
type Cluster struct {
	opts       Options
	pki        *pki
	kubeconfig string
	server     string

	mu    sync.Mutex
	procs map[string]*process
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.opts.Name }

// Dir returns the cluster's state directory.
func (c *Cluster) Dir() string { return c.opts.Dir }

// Kubeconfig returns the path of the admin kubeconfig (client certificate in
// group system:masters, all credentials embedded).
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Server returns the API server URL, https://127.0.0.1:<port>.
func (c *Cluster) Server() string { return c.server }

// LogDir returns the directory holding one <component>.log per component.
func (c *Cluster) LogDir() string { return filepath.Join(c.opts.Dir, "logs") }

// RESTConfig returns an admin client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return RESTConfigFromKubeconfig(c.kubeconfig)
}

// RESTConfigFromKubeconfig loads a kubeconfig written by this package.
func RESTConfigFromKubeconfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200 // tests are not to be throttled client-side
	return cfg, nil
}

// Start starts a cluster and waits until it is ready: /readyz is ok, the
// simulated nodes are Ready and the controller manager works (the default
// ServiceAccount exists). On error, whatever was started is stopped again.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Name == "" || opts.Dir == "" {
		return nil, errors.New("localcluster: Name and Dir are required")
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Binaries == (Binaries{}) {
		b, err := FindBinaries()
		if err != nil {
			return nil, err
		}
		opts.Binaries = b
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if err := StopDir(dir); err != nil { // a stale cluster of the same dir
		return nil, err
	}
	// A port chosen free can be taken by someone else before the component
	// binds it; then try again with new ports.
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, opts)
		if err == nil {
			return c, nil
		}
		_ = killDir(dir) // keep the logs for a look
		if !errors.Is(err, errPortInUse) || attempt == 3 || ctx.Err() != nil {
			return nil, fmt.Errorf("start cluster %s (logs in %s): %w", opts.Name, filepath.Join(dir, "logs"), err)
		}
		c.progress("port taken, retrying with other ports")
		if err := StopDir(dir); err != nil {
			return nil, err
		}
	}
}

var errPortInUse = errors.New("address already in use")

func start(ctx context.Context, opts Options) (*Cluster, error) {
	began := time.Now()
	c := &Cluster{opts: opts, procs: map[string]*process{}}
	p, err := newPKI(filepath.Join(opts.Dir, "pki"))
	if err != nil {
		return c, err
	}
	c.pki = p

	ports, err := freePorts(3)
	if err != nil {
		return c, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	c.server = "https://127.0.0.1:" + strconv.Itoa(ports[2])
	c.kubeconfig = filepath.Join(opts.Dir, "kubeconfig")
	if err := c.writeKubeconfig(); err != nil {
		return c, err
	}
	stages := filepath.Join(opts.Dir, "kwok", "stages.yaml")
	if err := writeKwokStages(opts.Binaries.KwokStages, stages); err != nil {
		return c, err
	}

	b := opts.Binaries
	pk := p.path
	c.add(Etcd, b.Etcd,
		"--name="+opts.Name,
		"--data-dir="+filepath.Join(opts.Dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster="+opts.Name+"="+peerURL,
		"--unsafe-no-fsync", // throwaway data: trade durability for speed
		// 8 GiB instead of 2: the 10,000-service benchmark's objects, pods
		// and events, with their history until the API server compacts it.
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	)
	c.add(APIServer, b.APIServer,
		"--etcd-servers="+etcdURL,
		"--secure-port="+strconv.Itoa(ports[2]),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // required for a loopback advertise address
		"--cert-dir="+filepath.Join(opts.Dir, "pki"),
		"--tls-cert-file="+pk(servingCertFile),
		"--tls-private-key-file="+pk(servingKeyFile),
		"--client-ca-file="+pk(caCertFile),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pk(saPubFile),
		"--service-account-signing-key-file="+pk(saKeyFile),
		"--service-cluster-ip-range="+serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true", // as kubeadm sets it: Pod Security decides, not a global switch
		"--profiling=false",
	)
	if err := c.startProcs(Etcd, APIServer); err != nil {
		return c, err
	}
	c.progress("started etcd and kube-apiserver")
	if err := c.waitAPIServer(ctx); err != nil {
		return c, err
	}
	c.progress("kube-apiserver ready (%s)", since(began))

	c.add(ControllerManager, b.ControllerManager,
		"--kubeconfig="+c.kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+pk(saKeyFile),
		"--root-ca-file="+pk(caCertFile),
		"--cluster-signing-cert-file="+pk(caCertFile),
		"--cluster-signing-key-file="+pk(caKeyFile),
		"--service-cluster-ip-range="+serviceCIDR,
		"--profiling=false",
		// The controllers' client is not the limit of what a test
		// measures (as kwokctl's disableQPSLimits): at the default 20
		// QPS, the Deployment controller alone took two minutes to
		// observe a change to 1000 Deployments, and every health wait
		// behind it measured the controller-manager, not the API
		// server or pave.
		"--kube-api-qps=5000",
		"--kube-api-burst=10000",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
	)
	c.add(Scheduler, b.Scheduler,
		"--kubeconfig="+c.kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--profiling=false",
		"--kube-api-qps=5000",
		"--kube-api-burst=10000",
	)
	c.add(Kwok, b.Kwok,
		"--kubeconfig="+c.kubeconfig,
		"--config="+stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+kwokNodeAnnotation+"="+kwokNodeValue,
		"--cidr="+podCIDR,
		"--node-ip=127.0.0.1",
	)
	// kwok also reads ~/.kwok/kwok.yaml; give it a home of its own.
	c.procs[Kwok].env = []string{"HOME=" + filepath.Join(opts.Dir, "kwok")}
	if err := c.startProcs(ControllerManager, Scheduler, Kwok); err != nil {
		return c, err
	}
	if err := c.startNodes(ctx, 0, opts.Nodes); err != nil {
		return c, err
	}
	c.progress("ready: %d nodes Ready, controllers running (%s)", opts.Nodes, since(began))
	return c, nil
}

// startNodes registers the simulated nodes from..to-1 and waits until all
// the cluster's nodes are Ready and the controllers work.
func (c *Cluster) startNodes(ctx context.Context, from, to int) error {
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := createNodes(ctx, cs, from, to); err != nil {
		return err
	}
	return c.waitReady(ctx, cs)
}

// AddNodes registers n more simulated nodes (kept by Reset) and waits until
// they are Ready: a benchmark whose pods outgrow the default two.
func (c *Cluster) AddNodes(ctx context.Context, n int) error {
	c.mu.Lock()
	from := c.opts.Nodes
	c.opts.Nodes += n
	c.mu.Unlock()
	if err := c.startNodes(ctx, from, from+n); err != nil {
		return err
	}
	c.progress("%d more nodes Ready, %d in all", n, from+n)
	return nil
}

// Reset empties the cluster: every component is stopped, etcd's data is
// removed, and the control plane starts again on the same addresses with
// the same credentials and simulated nodes. A benchmark's tens of thousands
// of objects are gone in seconds, where deleting their namespaces takes the
// controllers most of an hour.
func (c *Cluster) Reset(ctx context.Context) error {
	began := time.Now()
	c.mu.Lock()
	for _, n := range stopOrder {
		if p := c.procs[n]; p != nil {
			p.stop(0) // the data goes anyway
		}
	}
	c.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(c.opts.Dir, "etcd")); err != nil {
		return fmt.Errorf("reset %s: %w", c.opts.Name, err)
	}
	if err := c.startProcs(Etcd, APIServer); err != nil {
		return fmt.Errorf("reset %s: %w", c.opts.Name, err)
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return fmt.Errorf("reset %s: %w", c.opts.Name, err)
	}
	if err := c.startProcs(ControllerManager, Scheduler, Kwok); err != nil {
		return fmt.Errorf("reset %s: %w", c.opts.Name, err)
	}
	if err := c.startNodes(ctx, 0, c.opts.Nodes); err != nil {
		return fmt.Errorf("reset %s: %w", c.opts.Name, err)
	}
	c.progress("reset: empty, %d nodes Ready (%s)", c.opts.Nodes, since(began))
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

func (c *Cluster) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "[%s] %s\n", c.opts.Name, fmt.Sprintf(format, args...))
	}
}

func (c *Cluster) add(name, bin string, args ...string) {
	c.procs[name] = &process{name: name, bin: bin, args: args, dir: c.opts.Dir, detach: c.opts.Detach}
}

func (c *Cluster) startProcs(names ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		if err := c.procs[n].start(); err != nil {
			return err
		}
	}
	return nil
}

// checkAlive returns an error naming the first component that has exited,
// with the end of its log.
func (c *Cluster) checkAlive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range slices.Backward(stopOrder) {
		p := c.procs[n]
		if p == nil || p.cmd == nil {
			continue
		}
		if done, err := p.exited(); done {
			tail := tailFile(p.logPath(), 15)
			if strings.Contains(tail, "address already in use") {
				return fmt.Errorf("%s: %w", n, errPortInUse)
			}
			return fmt.Errorf("%s %s; end of %s:\n%s", n, err, p.logPath(), tail)
		}
	}
	return nil
}

// poll calls cond every interval until it returns true, an error, a
// component dies, or ctx ends.
func (c *Cluster) poll(ctx context.Context, what string, cond func() (bool, error)) error {
	var last error
	for {
		if err := c.checkAlive(); err != nil {
			return err
		}
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) waitAPIServer(ctx context.Context) error {
	cfg, err := c.RESTConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return c.poll(ctx, "kube-apiserver /readyz", func() (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && strings.TrimSpace(string(body)) == "ok", err
	})
}

func (c *Cluster) waitReady(ctx context.Context, cs kubernetes.Interface) error {
	err := c.poll(ctx, "simulated nodes Ready", func() (bool, error) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready >= c.opts.Nodes, nil
	})
	if err != nil {
		return err
	}
	// The service-account controller (kube-controller-manager) creates the
	// "default" ServiceAccount; pods cannot be admitted before it exists.
	return c.poll(ctx, "kube-controller-manager (default ServiceAccount)", func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// StopAPIServer kills only the API server (SIGKILL, like a crash), so that
// the cluster is unreachable (connection refused) while etcd keeps its data.
// StartAPIServer brings it back on the same address.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	p := c.procs[APIServer]
	c.mu.Unlock()
	if p == nil {
		return errors.New("cluster not started")
	}
	p.stop(0)
	return nil
}

// StartAPIServer restarts a stopped API server and waits for /readyz.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	p := c.procs[APIServer]
	c.mu.Unlock()
	if p == nil {
		return errors.New("cluster not started")
	}
	if p.cmd != nil {
		return errors.New("kube-apiserver is running")
	}
	if err := c.startProcs(APIServer); err != nil {
		return err
	}
	return c.waitAPIServer(ctx)
}

// Stop stops every component and removes the state directory.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	for _, n := range stopOrder {
		if p := c.procs[n]; p != nil {
			p.stop(stopGrace)
		}
	}
	c.mu.Unlock()
	return StopDir(c.opts.Dir)
}

// StopDir stops the processes recorded in a cluster's state directory (its
// pids/*.pid files) and removes the directory. It is safe to call on a
// directory that is stopped or absent.
func StopDir(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := killDir(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// killDir stops the processes recorded in dir/pids and keeps the directory.
func killDir(dir string) error {
	var errs []error
	for _, n := range stopOrder {
		f := filepath.Join(dir, "pids", n+".pid")
		if _, err := os.Stat(f); err == nil {
			if err := stopByPIDFile(dir, f, stopGrace); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Running reports which components recorded in dir are alive, by name.
func Running(dir string) []string {
	var names []string
	for n := range runningPIDs(dir) {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LogTail returns the last n lines of each component's log.
func (c *Cluster) LogTail(n int) string { return LogTail(c.opts.Dir, n) }

// LogTail returns the last n lines of each component log in a cluster's
// state directory.
func LogTail(dir string, n int) string {
	var b strings.Builder
	for _, name := range slices.Backward(stopOrder) {
		p := filepath.Join(dir, "logs", name+".log")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		fmt.Fprintf(&b, "----- %s (last %d lines of %s) -----\n%s\n", name, n, p, tailFile(p, n))
	}
	return b.String()
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	const window = 256 << 10
	fi, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := max(fi.Size()-window, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	const maxLine = 400 // the controller manager logs whole objects on one line
	for i, l := range lines {
		if len(l) > maxLine {
			lines[i] = l[:maxLine] + " …"
		}
	}
	return strings.Join(lines, "\n")
}

func (c *Cluster) writeKubeconfig() error {
	name := c.opts.Name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   c.server,
		CertificateAuthorityData: c.pki.caPEM,
	}
	cfg.AuthInfos[name+"-admin"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: c.pki.adminCertPEM,
		ClientKeyData:         c.pki.adminKeyPEM,
	}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name + "-admin"}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, c.kubeconfig)
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
