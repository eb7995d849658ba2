// Package notify tells the teams that own services what pave serve did to
// them: a deployment, a failure with its cause, a policy denial, a drift
// corrected, a halt or a rollback, an exception about to expire. Targets
// are configured in pave.yaml (catalog.Notifications) with secrets given
// at run time; each has its own bounded queue and worker, retries with
// backoff, and never blocks the reconciler: a target that is down only
// costs its own messages, counted in the metrics.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pave-dev/pave/catalog"
)

// Event is one thing that happened to a service, in an environment (none
// for an exception expiring).
type Event struct {
	Kind        string    `json:"event"`
	Team        string    `json:"team"`
	Service     string    `json:"service"` // team/name
	Environment string    `json:"environment,omitempty"`
	Cluster     string    `json:"cluster,omitempty"`
	Revision    string    `json:"revision,omitempty"`
	Message     string    `json:"message"`
	Object      string    `json:"object,omitempty"`
	Time        time.Time `json:"time"`
	// Key tells one occurrence from the next: the same kind for the same
	// pair with the same key is sent once. Empty: revision and message.
	Key string `json:"-"`
}

func (e Event) key() string {
	if e.Key != "" {
		return e.Key
	}
	return e.Revision + "\x00" + e.Message
}

// sender delivers one event to one target. A permanent error is not
// retried.
type sender interface {
	send(ctx context.Context, ev Event) error
}

// permanentError: the target refused the message itself (a 4xx): sending
// it again would not help.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Options bound a notifier.
type Options struct {
	// Secrets are the run-time secrets by name (pave serve
	// --notification-secret NAME=FILE).
	Secrets map[string][]byte
	// QueueSize bounds each target's queue; a full queue drops (and
	// counts) new events rather than block.
	QueueSize int
	// Attempts bounds the deliveries of one event; Backoff is the first
	// wait between them, doubled each time up to MaxBackoff.
	Attempts            int
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one delivery.
	Timeout time.Duration
	// HTTPClient sends (nil: a client with Timeout).
	HTTPClient *http.Client
	// DashboardURL, when set, is pave serve's external URL: messages and
	// statuses link to the service's dashboard page.
	DashboardURL string
}

// DefaultOptions: 1000 queued events per target, 15 attempts over about
// 11 minutes (a receiver restarting loses nothing), 10 s per delivery.
func DefaultOptions() Options {
	return Options{QueueSize: 1000, Attempts: 15, Backoff: 2 * time.Second, MaxBackoff: time.Minute, Timeout: 10 * time.Second}
}

// Metrics count what the notifier did, per target and event.
type Metrics struct {
	// Notifications counts events by result: sent, failed (every attempt
	// failed, or refused), dropped (queue full), unavailable (the target's
	// secret is missing).
	Notifications *prometheus.CounterVec
	// Attempts counts failed delivery attempts (retried or not).
	FailedAttempts *prometheus.CounterVec
}

// NewMetrics registers the notifier's metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Notifications:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_notifications_total", Help: "Notifications by target, event and result (sent, failed, dropped, unavailable)."}, []string{"target", "event", "result"}),
		FailedAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pave_notification_failed_attempts_total", Help: "Failed delivery attempts by target."}, []string{"target"}),
	}
	reg.MustRegister(m.Notifications, m.FailedAttempts)
	return m
}

// Notifier routes events to the targets pave.yaml gives each team.
type Notifier struct {
	log     logr.Logger
	opts    Options
	metrics *Metrics
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	cfg     *catalog.Config
	targets map[string]*target
	// last is the key last queued per target, pair and kind.
	last map[dedupKey]string
}

type dedupKey struct{ target, service, env, kind string }

// target is one configured target and its worker.
type target struct {
	def    catalog.NotificationTarget
	sender sender // nil: unavailable (its secret is missing)
	queue  chan Event
	stop   context.CancelFunc
}

// New returns a notifier with no targets until Configure.
func New(log logr.Logger, metrics *Metrics, opts Options) *Notifier {
	def := DefaultOptions()
	if opts.QueueSize <= 0 {
		opts.QueueSize = def.QueueSize
	}
	if opts.Attempts <= 0 {
		opts.Attempts = def.Attempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = def.Backoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = def.MaxBackoff
	}
	if opts.Timeout <= 0 {
		opts.Timeout = def.Timeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: opts.Timeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{log: log, opts: opts, metrics: metrics, ctx: ctx, cancel: cancel, targets: map[string]*target{}, last: map[dedupKey]string{}}
}

// Configure takes the targets and routes of a newly accepted pave.yaml.
// Targets whose definition did not change keep their queue; removed ones
// stop; a target whose secret was not given at run time is reported and
// its events counted as unavailable.
func (n *Notifier) Configure(cfg *catalog.Config) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg = cfg
	want := map[string]catalog.NotificationTarget{}
	for _, t := range cfg.Notifications.Targets {
		want[t.Name] = t
	}
	for name, t := range n.targets {
		if def, ok := want[name]; !ok || !equalTarget(def, t.def) {
			t.stop()
			delete(n.targets, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := n.targets[name]; ok {
			continue
		}
		def := want[name]
		t := &target{def: def}
		s, err := n.newSender(def)
		if err != nil {
			n.log.Error(err, "notification target unavailable; its events are counted and dropped", "target", name)
		} else {
			ctx, stop := context.WithCancel(n.ctx)
			t.sender, t.queue, t.stop = s, make(chan Event, n.opts.QueueSize), stop
			n.wg.Add(1)
			go n.work(ctx, t)
		}
		if t.stop == nil {
			t.stop = func() {}
		}
		n.targets[name] = t
	}
}

func equalTarget(a, b catalog.NotificationTarget) bool {
	return a.Name == b.Name && a.Type == b.Type && a.URL == b.URL && a.Repository == b.Repository && a.Secret == b.Secret && slices.Equal(a.Events, b.Events)
}

// newSender builds a target's sender from its definition and secret.
func (n *Notifier) newSender(def catalog.NotificationTarget) (sender, error) {
	secret, ok := n.opts.Secrets[def.Secret]
	if !ok || len(secret) == 0 {
		return nil, fmt.Errorf("target %s: secret %q was not given (pave serve --notification-secret %s=FILE)", def.Name, def.Secret, def.Secret)
	}
	switch def.Type {
	case catalog.TargetWebhook:
		return &webhook{url: def.URL, key: secret, hc: n.opts.HTTPClient}, nil
	case catalog.TargetSlack:
		return newSlack(string(secret), n.opts.HTTPClient, n.opts.DashboardURL)
	case catalog.TargetGitHub, catalog.TargetGitLab:
		return newCommitStatus(def, string(secret), n.opts.HTTPClient, n.opts.DashboardURL)
	}
	return nil, fmt.Errorf("target %s: unknown type %q", def.Name, def.Type)
}

// Notify queues an event for the targets of its team that take its kind,
// once per change (see Event.Key). It never blocks.
func (n *Notifier) Notify(ev Event) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cfg == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	for _, name := range n.cfg.TargetsFor(ev.Team) {
		t, ok := n.targets[name]
		if !ok || (len(t.def.Events) > 0 && !slices.Contains(t.def.Events, ev.Kind)) {
			continue
		}
		k := dedupKey{name, ev.Service, ev.Environment, ev.Kind}
		if n.last[k] == ev.key() {
			continue
		}
		n.last[k] = ev.key()
		if ev.Kind == catalog.EventDeployed {
			// A deployment ends what went wrong before: the next failure
			// of the same kind is news again.
			for _, kind := range []string{catalog.EventFailed, catalog.EventPolicyDenied, catalog.EventHalted, catalog.EventRolledBack} {
				delete(n.last, dedupKey{name, ev.Service, ev.Environment, kind})
			}
		}
		if t.sender == nil {
			n.metrics.Notifications.WithLabelValues(name, ev.Kind, "unavailable").Inc()
			continue
		}
		select {
		case t.queue <- ev:
		default:
			n.metrics.Notifications.WithLabelValues(name, ev.Kind, "dropped").Inc()
			n.log.Info("notification queue full; event dropped", "target", name, "event", ev.Kind, "service", ev.Service)
		}
	}
}

// work delivers a target's events one after another, each with retries.
func (n *Notifier) work(ctx context.Context, t *target) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-t.queue:
			n.deliver(ctx, t, ev)
		}
	}
}

func (n *Notifier) deliver(ctx context.Context, t *target, ev Event) {
	b := wait.Backoff{Duration: n.opts.Backoff, Factor: 2, Steps: n.opts.Attempts, Cap: n.opts.MaxBackoff}
	var err error
	for attempt := 1; ; attempt++ {
		sendCtx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
		err = t.sender.send(sendCtx, ev)
		cancel()
		if err == nil {
			n.metrics.Notifications.WithLabelValues(t.def.Name, ev.Kind, "sent").Inc()
			return
		}
		n.metrics.FailedAttempts.WithLabelValues(t.def.Name).Inc()
		var perm permanentError
		if errors.As(err, &perm) || attempt >= n.opts.Attempts || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(b.Step()):
		}
	}
	n.metrics.Notifications.WithLabelValues(t.def.Name, ev.Kind, "failed").Inc()
	n.log.Error(err, "notification not delivered", "target", t.def.Name, "event", ev.Kind, "service", ev.Service, "environment", ev.Environment)
}

// Close stops the workers; events still queued are dropped after
// waiting at most until ctx ends for those being delivered.
func (n *Notifier) Close(ctx context.Context) {
	if n == nil {
		return
	}
	n.cancel()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// ReadSecrets reads the run-time secrets given as NAME=FILE: each file's
// content, trimmed; a name given twice, a missing or empty file is an
// error naming it (never its content).
func ReadSecrets(specs []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return nil, fmt.Errorf("%q is not NAME=FILE", spec)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("secret %s is given twice", name)
		}
		info, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		if info.Size() > 64<<10 {
			return nil, fmt.Errorf("secret %s: %s is over 64 KiB", name, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		s := bytes.TrimSpace(b)
		if len(s) == 0 {
			return nil, fmt.Errorf("secret %s: %s is empty", name, file)
		}
		out[name] = s
	}
	return out, nil
}
