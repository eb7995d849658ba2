// Package apply puts rendered services into clusters: server-side apply
// through fluxcd/pkg/ssa, an inventory per service and environment kept in
// the cluster, pruning that only ever deletes what pave created, health
// from kstatus, and drift detected, attributed and corrected.
package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager is pave's server-side apply field manager.
const FieldManager = "pave"

// ClusterOptions tune the client of every cluster.
type ClusterOptions struct {
	// QPS and Burst limit requests to each API server.
	QPS   float32
	Burst int
	// AllowExec permits kubeconfig exec credential plugins, which run a
	// program named in the kubeconfig.
	AllowExec bool
	// Timeout bounds each request.
	Timeout time.Duration
}

// DefaultClusterOptions are the defaults of pave's --qps/--burst flags.
func DefaultClusterOptions() ClusterOptions {
	return ClusterOptions{QPS: 100, Burst: 200, Timeout: 30 * time.Second}
}

// ClusterRef is one --cluster NAME=KUBECONFIG[#CONTEXT] flag.
type ClusterRef struct {
	Name       string
	Kubeconfig string
	Context    string
}

// ParseClusterRef parses NAME=KUBECONFIG_PATH[#CONTEXT]. NAME is a
// cluster name as in pave.yaml (a DNS-1123 label); the path holds no "#"
// (what follows the first one is the context), and neither the path nor the
// context may be empty or hold control characters (they end up in messages).
func ParseClusterRef(s string) (ClusterRef, error) {
	bad := func(why string) (ClusterRef, error) {
		return ClusterRef{}, fmt.Errorf("--cluster %s: %s; want NAME=KUBECONFIG_PATH[#CONTEXT]", strconv.Quote(s), why)
	}
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return bad("no \"=\"")
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return bad(fmt.Sprintf("cluster name %s: %s", strconv.Quote(name), errs[0]))
	}
	path, context, hasContext := strings.Cut(rest, "#")
	switch {
	case path == "":
		return bad("no kubeconfig path")
	case hasContext && context == "":
		return bad("no context after \"#\"")
	case strings.ContainsFunc(rest, unicode.IsControl):
		return bad("control characters in the kubeconfig path or context")
	}
	return ClusterRef{Name: name, Kubeconfig: path, Context: context}, nil
}

// String is the flag the reference was parsed from.
func (r ClusterRef) String() string {
	s := r.Name + "=" + r.Kubeconfig
	if r.Context != "" {
		s += "#" + r.Context
	}
	return s
}

// Cluster is one environment's cluster: a client, a REST mapper and the
// server-side apply resource manager.
type Cluster struct {
	Name    string
	Config  *rest.Config
	Client  client.Client
	Manager *ssa.ResourceManager
	mapper  meta.RESTMapper
	disc    discovery.DiscoveryInterface

	// version is the last version the API server reported, and when.
	versionMu sync.Mutex
	version   string
	versionAt time.Time
}

// kubeVersionTTL is how long a reported version is used: a cluster is
// upgraded in place, and a service applied up to this long after the
// upgrade is checked against the version before it. Asking before every
// apply was one more request in the path of every changed service's
// writes.
const kubeVersionTTL = 30 * time.Second

// KubeVersion is the Kubernetes version the API server reports, asked at
// most every kubeVersionTTL.
func (c *Cluster) KubeVersion() (string, error) {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	if c.version != "" && time.Since(c.versionAt) < kubeVersionTTL {
		return c.version, nil
	}
	v, err := c.disc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("cluster %s: server version: %w", c.Name, err)
	}
	c.version, c.versionAt = v.GitVersion, time.Now()
	return v.GitVersion, nil
}

// RESTConfig loads a kubeconfig, refusing exec credential plugins unless
// allowed: credentials are given at run time, never taken from git, and a
// kubeconfig must not make pave run programs.
func (r ClusterRef) RESTConfig(opts ClusterOptions) (*rest.Config, error) {
	if _, err := os.Stat(r.Kubeconfig); err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig: %w", r.Name, err)
	}
	loader := &clientcmd.ClientConfigLoadingRules{ExplicitPath: r.Kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: r.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loader, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig %s: %w", r.Name, r.Kubeconfig, err)
	}
	if cfg.ExecProvider != nil && !opts.AllowExec {
		return nil, fmt.Errorf("cluster %s: kubeconfig %s uses an exec credential plugin (%s); pass --allow-kubeconfig-exec to run it", r.Name, r.Kubeconfig, cfg.ExecProvider.Command)
	}
	if cfg.AuthProvider != nil && !opts.AllowExec {
		return nil, fmt.Errorf("cluster %s: kubeconfig %s uses an auth provider plugin (%s); pass --allow-kubeconfig-exec to use it", r.Name, r.Kubeconfig, cfg.AuthProvider.Name)
	}
	return cfg, nil
}

// NewCluster builds the clients for a cluster. It does not contact the API
// server until first used, so an unreachable cluster does not hold up
// start-up.
func NewCluster(name string, cfg *rest.Config, opts ClusterOptions) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	if opts.QPS > 0 {
		cfg.QPS = opts.QPS
	}
	if opts.Burst > 0 {
		cfg.Burst = opts.Burst
	}
	if opts.Timeout > 0 {
		cfg.Timeout = opts.Timeout
	}
	cfg.UserAgent = "pave"
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	poller := polling.NewStatusPoller(c, mapper, polling.Options{})
	mgr := ssa.NewResourceManager(c, poller, ssa.Owner{Field: FieldManager, Group: "pave.dev"})
	return &Cluster{Name: name, Config: cfg, Client: c, Manager: mgr, mapper: mapper, disc: disc}, nil
}

// ErrUnreachable marks a cluster that did not answer.
var ErrUnreachable = errors.New("cluster unreachable")

// Ping checks that the API server answers /readyz within timeout.
func (c *Cluster) Ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := rest.CopyConfig(c.Config)
	cfg.Timeout = timeout
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.Name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s: /readyz answered %s", ErrUnreachable, c.Name, resp.Status)
	}
	return nil
}

// ResetMapper forgets cached API discovery (after CRDs are added).
func (c *Cluster) ResetMapper() {
	if r, ok := c.mapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
}

// namespaced resolves a kind's scope through the cluster's discovery (cached
// per cluster). A kind the cache does not know is looked up once more after
// a refresh, as a CRD may have been added since; a kind the cluster does
// not serve is ErrUnknownKind.
func (c *Cluster) namespaced(gvk schema.GroupVersionKind) (bool, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.ResetMapper()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	switch {
	case meta.IsNoMatchError(err):
		return false, ErrUnknownKind
	case err != nil:
		return false, fmt.Errorf("cluster %s: discovery of %s: %w", c.Name, gvk, err)
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// ErrUnknownKind marks a kind the cluster does not serve.
var ErrUnknownKind = errors.New("the cluster does not serve this kind")
