package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	le "k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pave-dev/pave/dashboard"
	"github.com/pave-dev/pave/notify"
	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/reconciler/shard"
	"github.com/pave-dev/pave/source"
)

type serveOptions struct {
	source            sourceOptions
	listen            string
	probeListen       string
	apiTokenFile      string
	http              reconciler.ServerOptions
	webhookSecretFile string
	// notificationSecrets are NAME=FILE: the secrets pave.yaml's
	// notification targets name.
	notificationSecrets []string
	externalURL         string
	daemon              reconciler.Options
	leaderCluster       string
	cluster             clusterFlags
	leader              leaderelection.Options
	shard               shard.Options
	log                 logger.Options
}

// sourceOptions are what pave serve follows: a git branch or a folder.
type sourceOptions struct {
	repo, branch, path string
	cacheDir           string
	gitAuth            source.GitAuth
	gitTimeout         time.Duration
}

func defaultSourceOptions() sourceOptions {
	return sourceOptions{branch: "main", gitTimeout: time.Minute}
}

// BindFlags adds the source's flags, with o's values as defaults.
func (o *sourceOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.repo, "repo", o.repo, "catalog git repository URL (https://, ssh:// or file://)")
	fs.StringVar(&o.branch, "branch", o.branch, "branch to follow")
	fs.StringVar(&o.path, "path", o.path, "follow a local catalog folder instead of git (for developing templates and policies)")
	fs.StringVar(&o.cacheDir, "cache-dir", o.cacheDir, "where to keep the local clone (default: the user cache folder)")
	fs.StringVar(&o.gitAuth.TokenFile, "git-token-file", o.gitAuth.TokenFile, "file holding an https access token")
	fs.StringVar(&o.gitAuth.UsernameFile, "git-username-file", o.gitAuth.UsernameFile, "file holding the https username")
	fs.StringVar(&o.gitAuth.PasswordFile, "git-password-file", o.gitAuth.PasswordFile, "file holding the https password")
	fs.StringVar(&o.gitAuth.SSHKeyFile, "git-ssh-key-file", o.gitAuth.SSHKeyFile, "file holding the ssh private key")
	fs.StringVar(&o.gitAuth.KnownHostsFile, "git-known-hosts-file", o.gitAuth.KnownHostsFile, "known_hosts file the ssh host key is checked against")
	fs.DurationVar(&o.gitTimeout, "git-timeout", o.gitTimeout, "bound on each fetch")
}

// leaderElectFlag is the one flag that turns leader election on.
// fluxcd's leaderelection.Options binds its own for the same thing,
// libLeaderElectFlag; serve leaves that one out.
const (
	leaderElectFlag    = "leader-elect"
	libLeaderElectFlag = "enable-leader-election"
)

// bindLeaderFlags adds --leader-elect and the library's lease flags (with
// the library's defaults), but not the library's own switch.
func bindLeaderFlags(o *leaderelection.Options, fs *pflag.FlagSet) {
	lib := pflag.NewFlagSet("leaderelection", pflag.ContinueOnError)
	o.BindFlags(lib)
	lib.VisitAll(func(f *pflag.Flag) {
		if f.Name != libLeaderElectFlag {
			fs.AddFlag(f)
		}
	})
	fs.BoolVar(&o.Enable, leaderElectFlag, o.Enable, "take a Lease so that only one replica applies at a time")
}

func newServeCmd() *cobra.Command {
	o := serveOptions{source: defaultSourceOptions(), http: reconciler.DefaultServerOptions(), daemon: reconciler.DefaultOptions(), shard: shard.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the reconciler: follow the catalog and keep every cluster in step",
		Long: `Serve follows a git branch (--repo, --branch) or a local folder (--path),
works out which services each new revision affects, renders, checks and
applies only those, resyncs everything for drift every --resync-interval,
and serves the dashboard, the status API and the push webhook on --listen:

  GET  /                                  the dashboard (docs/dashboard.md)
  GET  /api/v1/services[/{team}/{name}]   status per environment
  GET  /api/v1/source                     followed revision, last fetch error
  POST /hooks/git                         GitHub / GitLab push webhooks

and the probes and Prometheus metrics on --probe-listen, so that load on
the API never fails a liveness probe:

  GET  /healthz, /readyz, /metrics

With --api-token-file, /api/ requires "Authorization: Bearer <token>" and
the dashboard asks for the token as its password; the webhook checks its
own signatures. Each listener bounds slow and idle
clients and the connections open at once (--http-* flags).

With --shards N, run N replicas: each owns a share of the services
(consistent hashing over team/service), holds a member Lease in the
--leader-election-cluster, and takes over a dead replica's share; its
status API, dashboard and metrics show its own share
(docs/operations.md#sharding).

SIGTERM finishes in-flight applies (bounded by --shutdown-timeout) and
exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	o.source.BindFlags(fs)
	fs.StringVar(&o.listen, "listen", ":8080", "address of the status API and the webhook")
	fs.StringVar(&o.probeListen, "probe-listen", ":8081", "address of /healthz, /readyz and /metrics")
	fs.StringVar(&o.apiTokenFile, "api-token-file", "", "file holding the bearer token required by /api/ (at least 16 characters)")
	o.http.BindFlags(fs)
	fs.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the push webhook secret (enables POST /hooks/git)")
	fs.StringArrayVar(&o.notificationSecrets, "notification-secret", nil, "NAME=FILE: a secret pave.yaml's notification targets name (a webhook's HMAC key, a Slack webhook URL, a GitHub or GitLab token); repeatable")
	fs.StringVar(&o.externalURL, "external-url", "", "URL people reach this pave serve at (e.g. https://pave.example.com), for links in notifications and commit statuses")
	o.daemon.BindFlags(fs)
	fs.StringVar(&o.leaderCluster, "leader-election-cluster", "", "cluster holding the leader-election Lease, and the shards' member Leases (default: the first --cluster)")
	o.cluster.bind(fs)
	bindLeaderFlags(&o.leader, fs)
	o.shard.BindFlags(fs)
	o.log.BindFlags(fs)
	return cmd
}

func (o *serveOptions) run(ctx context.Context, stderr io.Writer) error {
	if (o.source.repo == "") == (o.source.path == "") {
		return flagError("give exactly one of --repo or --path")
	}
	if err := o.source.checkRepoURL(); err != nil {
		return err
	}
	if err := o.http.Validate(); err != nil {
		return usageError("%v", err)
	}
	if err := o.daemon.Validate(); err != nil {
		return usageError("%v", err)
	}
	if err := o.shard.Validate(); err != nil {
		return usageError("%v", err)
	}
	if o.shard.Enabled() && o.leader.Enable {
		return usageError("--shards and --leader-elect exclude each other: shards split the services between replicas that all apply, leader election lets one replica apply everything")
	}
	var apiToken []byte
	if o.apiTokenFile != "" {
		t, err := reconciler.ReadAPIToken(o.apiTokenFile)
		if err != nil {
			return usageError("--api-token-file: %v", err)
		}
		apiToken = t
	}
	log := logger.NewLogger(o.log)
	// The clusters' shared watches (controller-runtime's cache) log
	// through it.
	ctrllog.SetLogger(log)
	ctx, stop := signalContext(ctx)
	defer stop()

	clusters, err := o.cluster.build()
	if err != nil {
		return err
	}
	src, err := o.source.open(log)
	if err != nil {
		return usageError("%v", err)
	}
	defer src.Close()

	secrets, err := notify.ReadSecrets(o.notificationSecrets)
	if err != nil {
		return usageError("--notification-secret: %v", err)
	}
	if o.externalURL != "" {
		if u, err := url.Parse(o.externalURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usageError("--external-url: %q is not an http(s) URL", o.externalURL)
		}
	}

	opts := o.daemon
	opts.Apply.Impersonate = o.cluster.impersonate
	opts.Apply.Now = opts.Clock.Now
	// A round's renders and writes leave a heap far larger than what the
	// daemon keeps between rounds: once the queue runs dry, it goes back
	// to the operating system (one collection per burst of work).
	opts.Idle = debug.FreeOSMemory
	appliers := map[string]*apply.Applier{}
	for name, c := range clusters {
		appliers[name] = apply.New(c, opts.Apply)
	}
	var members *shard.Members
	if o.shard.Enabled() {
		if members, err = o.newMembers(ctx, log, clusters); err != nil {
			return err
		}
		opts.Owner = members
	}
	d := reconciler.New(log, src, appliers, opts)
	var operator reconciler.Operator = d
	if members != nil {
		d.Metrics.Registry.MustRegister(members.Collectors()...)
		d.SetShard(members.Identity())
		operator = shardOperator{Operator: d, m: members}
	}
	d.SetSourceURL(source.RedactURL(o.source.describe()))
	nopts := notify.Options{Secrets: secrets}
	if o.externalURL != "" {
		nopts.DashboardURL = o.externalURL
	}
	notifier := notify.New(log.WithName("notify"), notify.NewMetrics(d.Metrics.Registry), nopts)
	defer notifier.Close(context.Background())
	d.SetNotifier(notifier)

	var webhook http.Handler
	if o.webhookSecretFile != "" {
		secret, err := source.ReadWebhookSecret(o.webhookSecretFile)
		if err != nil {
			return usageError("--webhook-secret-file: %v", err)
		}
		webhook, err = source.NewWebhook(source.WebhookOptions{
			Secret: secret, Branch: o.source.branch, Trigger: trigger(d, members),
			OnRejected: func(reason string) { d.Metrics.WebhookRejected.WithLabelValues(reason).Inc() },
		})
		if err != nil {
			return usageError("%v", err)
		}
	}
	api, err := apiListenerHandler(log, d, operator, webhook, apiToken)
	if err != nil {
		return err
	}
	if members != nil {
		api = shardHeader(members, api)
	}
	servers, err := o.listenAll(log, map[string]http.Handler{
		"api":    api,
		"probes": d.ProbeHandler(),
	})
	if err != nil {
		return err
	}
	if apiToken == nil && !isLoopback(servers["api"].Addr()) {
		log.Info("the status API is readable by anyone who can reach it: set --api-token-file, or --listen on a loopback address", "address", servers["api"].Addr().String())
	}
	for name, s := range servers {
		go func() {
			if err := s.Serve(); err != nil {
				log.Error(err, "HTTP server stopped", "listener", name)
			}
		}()
	}
	log.Info("serving", "api", servers["api"].Addr().String(), "probes", servers["probes"].Addr().String(),
		"token", apiToken != nil, "source", source.RedactURL(o.source.describe()), "clusters", len(clusters))

	run := d.Run
	if members != nil {
		run = func(ctx context.Context) error { return runSharded(ctx, log, members, d) }
	}
	runErr := o.runLeading(ctx, log, clusters, run)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdownCtx)
	}
	log.Info("stopped")
	return runErr
}

// apiListenerHandler serves the API listener (--listen): the API and the
// webhook, and the dashboard on every other path, behind the same token.
func apiListenerHandler(log logr.Logger, d *reconciler.Daemon, op reconciler.Operator, webhook http.Handler, token []byte) (http.Handler, error) {
	dash, err := dashboard.New(dashboard.Options{
		Status: d.Status, Catalog: d.Catalog, Commit: d.Commit, History: d.History, Events: d.Events,
		DORA: d.DORA, Token: token, Now: d.Now, Log: log.WithName("dashboard"),
	})
	if err != nil {
		return nil, err
	}
	api := d.APIHandler(reconciler.APIOptions{Webhook: webhook, Token: token, Operator: op})
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle(source.WebhookPath, api)
	mux.Handle("/", dash.Handler())
	return mux, nil
}

// checkRepoURL refuses a --repo carrying credentials before anything else
// runs, so the URL is never logged, served or kept; the message never
// repeats it.
func (o *sourceOptions) checkRepoURL() error {
	if o.repo == "" {
		return nil
	}
	if err := source.CheckURL(o.repo); err != nil {
		if errors.Is(err, source.ErrURLCredentials) {
			return usageError("--repo: %v: use --git-token-file (or --git-username-file and --git-password-file) and a URL without them", err)
		}
		return usageError("--repo: %v", err)
	}
	return nil
}

// listenAll opens the API and probe listeners (--listen, --probe-listen),
// each within the --http-* bounds.
func (o *serveOptions) listenAll(log logr.Logger, handlers map[string]http.Handler) (map[string]*reconciler.Server, error) {
	addrs := map[string]struct{ flag, addr string }{"api": {"--listen", o.listen}, "probes": {"--probe-listen", o.probeListen}}
	lns := map[string]net.Listener{}
	for name := range handlers {
		a := addrs[name]
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, usageError("%s: %v", a.flag, err)
		}
		lns[name] = ln
	}
	out := map[string]*reconciler.Server{}
	for name, ln := range lns {
		out[name] = reconciler.NewServer(ln, handlers[name], o.http, log.WithValues("listener", name))
	}
	return out, nil
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func (o *sourceOptions) describe() string {
	if o.path != "" {
		return o.path
	}
	return o.repo + "#" + o.branch
}

func (o *sourceOptions) open(log logr.Logger) (source.Source, error) {
	if o.path != "" {
		return source.NewDir(o.path, source.DirOptions{OnError: func(err error) { log.Error(err, "watching the catalog folder") }})
	}
	cache := o.cacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cache = filepath.Join(base, "pave", "source")
	}
	return source.NewGit(source.GitOptions{URL: o.repo, Branch: o.branch, CacheDir: cache, Auth: o.gitAuth, Timeout: o.gitTimeout})
}

// runLeading runs fn, under a Lease when --leader-elect is set so only one
// replica applies at a time.
func (o *serveOptions) runLeading(ctx context.Context, log logr.Logger, clusters map[string]*apply.Cluster, fn func(context.Context) error) error {
	if !o.leader.Enable {
		return fn(ctx)
	}
	cs, err := o.leaseClient(clusters)
	if err != nil {
		return err
	}
	id, _ := os.Hostname()
	id = fmt.Sprintf("%s-%d", id, os.Getpid())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: apply.SystemNamespace, Name: "pave-leader"},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	if err := ensureNamespace(ctx, cs); err != nil {
		return err
	}
	var runErr error
	leCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	le.RunOrDie(leCtx, le.LeaderElectionConfig{
		Lock: lock, LeaseDuration: o.leader.LeaseDuration, RenewDeadline: o.leader.RenewDeadline, RetryPeriod: o.leader.RetryPeriod,
		ReleaseOnCancel: o.leader.ReleaseOnCancel, Name: "pave",
		Callbacks: le.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("leading", "identity", id)
				runErr = fn(ctx)
				cancel()
			},
			OnStoppedLeading: func() { log.Info("no longer leading", "identity", id) },
		},
	})
	return runErr
}

// leaseClient is a client of the cluster holding the leader Lease and the
// shards' member Leases: --leader-election-cluster, or the first --cluster.
func (o *serveOptions) leaseClient(clusters map[string]*apply.Cluster) (kubernetes.Interface, error) {
	name := o.leaderCluster
	if name == "" {
		for _, s := range o.cluster.clusters {
			ref, _ := apply.ParseClusterRef(s)
			name = ref.Name
			break
		}
	}
	c, ok := clusters[name]
	if !ok {
		return nil, flagError("--leader-election-cluster %s: no such --cluster", name)
	}
	return kubernetes.NewForConfig(c.Config)
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface) error {
	_, err := cs.CoreV1().Namespaces().Get(ctx, apply.SystemNamespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: apply.SystemNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", apply.SystemNamespace, err)
	}
	return nil
}
