// Package reconciler is pave's daemon: it follows the catalog's source,
// works out which services each new revision affects, renders, checks and
// applies only those through a deduplicating work queue, resyncs every
// service for drift, and reports what it did through a status API, logs,
// Prometheus metrics (DORA included) and Kubernetes Events.
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/source"
)

// Options configure the daemon.
type Options struct {
	// Interval between polls of the source (with jitter).
	Interval time.Duration
	// ResyncInterval between drift checks of every service.
	ResyncInterval time.Duration
	// Concurrency is the number of queue workers.
	Concurrency int
	// Apply configures every cluster's applier (wait timeout, drift mode).
	Apply apply.Options
	// AllowMassPrune disables the mass-prune guard.
	AllowMassPrune bool
	// ShutdownTimeout bounds how long in-flight applies may finish on stop.
	ShutdownTimeout time.Duration
	// PingTimeout bounds a cluster's reachability check.
	PingTimeout time.Duration
	// MaxBackoff caps the retry delay of a failing service or fetch.
	MaxBackoff time.Duration
	// Now is the clock.
	Now func() time.Time
}

// DefaultOptions are the defaults of pave serve's flags.
func DefaultOptions() Options {
	return Options{
		Interval: time.Minute, ResyncInterval: 10 * time.Minute, Concurrency: 4,
		Apply: apply.DefaultOptions(), ShutdownTimeout: 30 * time.Second, PingTimeout: 5 * time.Second,
		MaxBackoff: 5 * time.Minute, Now: time.Now,
	}
}

// pairKey is one service in one environment: the unit of work.
type pairKey struct {
	Service     string // team/name
	Environment string
}

// snapshot is one accepted revision of the catalog and what was built from
// it, swapped atomically when a new revision arrives.
type snapshot struct {
	rev      *source.Revision
	cat      *catalog.Catalog
	renderer *render.Renderer
	engine   *policy.Engine
}

// Daemon is pave serve's reconciler.
type Daemon struct {
	log     logr.Logger
	src     source.Source
	opts    Options
	Status  *Store
	Metrics *Metrics
	// Appliers by cluster name.
	appliers map[string]*apply.Applier
	events   *eventRecorder

	queue workqueue.TypedRateLimitingInterface[pairKey]
	cache *render.Cache

	mu   sync.RWMutex
	snap *snapshot
	// lastSeen is the last revision fetched, accepted or not.
	lastSeen string
	resync   map[pairKey]bool
	budgets  map[string]*apply.PruneBudget
	// reachable caches each cluster's last ping.
	reachable map[string]pingResult
	dora      map[pairKey]*doraState
	// pending counts the pairs of the first sync still to reconcile.
	pending     atomic.Int64
	synced      atomic.Bool
	fetchNow    chan struct{}
	fetchFailed int
}

type pingResult struct {
	at  time.Time
	err error
}

type doraState struct {
	failedAt time.Time
}

// New builds a daemon over a source and the clusters' appliers.
func New(log logr.Logger, src source.Source, appliers map[string]*apply.Applier, opts Options) *Daemon {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	d := &Daemon{
		log: log, src: src, opts: opts, appliers: appliers,
		Status: NewStore(), cache: render.NewCache(),
		resync: map[pairKey]bool{}, budgets: map[string]*apply.PruneBudget{},
		reachable: map[string]pingResult{}, dora: map[pairKey]*doraState{},
		fetchNow: make(chan struct{}, 1),
	}
	d.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[pairKey](time.Second, opts.MaxBackoff),
		workqueue.TypedRateLimitingQueueConfig[pairKey]{Name: "pave"},
	)
	d.Metrics = NewMetrics(func() float64 { return float64(d.queue.Len()) })
	d.events = newEventRecorder(log, appliers)
	return d
}

// SetSourceURL records what the daemon follows, for the status API.
func (d *Daemon) SetSourceURL(url string) {
	d.Status.updateSource(func(s *SourceStatus) { s.URL = url })
}

// Ready reports whether the first sync finished. It stays true when the
// source later becomes unreachable.
func (d *Daemon) Ready() bool { return d.synced.Load() }

// TriggerFetch asks for an immediate fetch (the webhook calls it).
func (d *Daemon) TriggerFetch() {
	select {
	case d.fetchNow <- struct{}{}:
	default:
	}
}

// Run reconciles until ctx is cancelled, then lets in-flight work finish
// (bounded by ShutdownTimeout) and returns.
func (d *Daemon) Run(ctx context.Context) error {
	d.restoreStatus(ctx)
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var workers sync.WaitGroup
	for range d.opts.Concurrency {
		workers.Go(func() {
			for d.processNext(workCtx) {
			}
		})
	}

	d.fetch(ctx)
	resync := time.NewTicker(d.opts.ResyncInterval)
	defer resync.Stop()
	poll := time.NewTimer(d.nextPoll())
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			d.log.Info("shutting down; finishing in-flight work", "timeout", d.opts.ShutdownTimeout.String())
			done := make(chan struct{})
			go func() {
				d.queue.ShutDownWithDrain()
				workers.Wait()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(d.opts.ShutdownTimeout):
				d.log.Info("shutdown timeout reached; abandoning in-flight work")
				cancelWork()
				d.queue.ShutDown()
			}
			return nil
		case <-poll.C:
			d.fetch(ctx)
			poll.Reset(d.nextPoll())
		case <-d.fetchNow:
			d.fetch(ctx)
		case <-d.src.Notify():
			d.fetch(ctx)
		case <-resync.C:
			d.enqueueAll(true)
		}
	}
}

// nextPoll is the time to the next poll: the interval, doubled for each
// fetch that failed in a row (at most 8 times, and to no more than
// MaxBackoff unless the interval itself is longer), plus up to 10% jitter
// so that many daemons do not poll one server in step.
func (d *Daemon) nextPoll() time.Duration {
	b := wait.Backoff{Duration: d.opts.Interval, Factor: 2, Steps: min(d.fetchFailed, 8), Cap: max(d.opts.MaxBackoff, d.opts.Interval)}
	for b.Steps > 0 {
		b.Step()
	}
	return wait.Jitter(b.Duration, 0.1)
}

// fetch gets the source's current revision and, when it is new, loads it
// and queues the services it affects.
func (d *Daemon) fetch(ctx context.Context) {
	start := d.opts.Now()
	rev, err := d.src.Fetch(ctx)
	d.Metrics.FetchDuration.Observe(time.Since(start).Seconds())
	d.Metrics.ReconcileDuration.WithLabelValues("fetch").Observe(time.Since(start).Seconds())
	now := d.opts.Now()
	if err != nil {
		d.fetchFailed++
		d.Metrics.FetchErrors.Inc()
		d.log.Error(err, "fetching the catalog failed; keeping the last revision", "failures", d.fetchFailed)
		d.Status.updateSource(func(s *SourceStatus) { s.LastError, s.LastErrorAt = err.Error(), &now })
		return
	}
	d.fetchFailed = 0
	d.Status.updateSource(func(s *SourceStatus) { s.LastFetch, s.LastError, s.LastErrorAt = &now, "", nil })

	d.mu.RLock()
	prev, lastSeen := d.snap, d.lastSeen
	d.mu.RUnlock()
	if rev.ID == lastSeen {
		return
	}
	d.mu.Lock()
	d.lastSeen = rev.ID
	d.mu.Unlock()
	log := d.log.WithValues("revision", rev.Short())
	if rev.ForcePushed {
		log.Info("warning: the branch was rewritten (force-push): reconciling to the new head, which is the desired state", "previous", rev.Previous)
	}
	if prev != nil && prev.rev.ID == rev.ID {
		// Back at the accepted revision after one that could not be used
		// (e.g. a force-push undoing a broken pave.yaml): refresh every
		// status; unchanged services make no writes.
		log.Info("back at the last accepted revision")
		d.Status.updateSource(func(s *SourceStatus) { s.Revision, s.CatalogError = rev.ID, nil })
		d.enqueueAll(false)
		return
	}
	ct := rev.Time
	d.Status.updateSource(func(s *SourceStatus) {
		s.Branch, s.Revision, s.CommitTime, s.Message, s.Author = rev.Branch, rev.ID, &ct, rev.Message, rev.Author
	})
	d.Metrics.RevisionInfo.Reset()
	d.Metrics.RevisionInfo.WithLabelValues(rev.ID, rev.Branch).Set(1)

	loadStart := d.opts.Now()
	// An ingress host stays with the service that held it at the last
	// revision loaded; only a newcomer claiming it is refused.
	var held catalog.HostClaims
	if prev != nil {
		held = prev.cat.HostClaims()
	}
	cat, err := catalog.LoadWith(rev.FS, catalog.LoadOptions{HostClaims: held})
	var engine *policy.Engine
	if err == nil {
		engine, err = policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	}
	d.Metrics.ReconcileDuration.WithLabelValues("load").Observe(time.Since(loadStart).Seconds())
	if err != nil {
		d.catalogInvalid(log, rev, err)
		return
	}
	snap := &snapshot{rev: rev, cat: cat, engine: engine, renderer: render.New(cat, render.Options{Revision: rev.ID, Cache: d.cache})}

	// Which services does this revision affect?
	all := prev == nil
	var affected []string
	if !all {
		changed, err := source.ChangedPaths(prev.rev, rev)
		if err != nil {
			log.Error(err, "could not diff revisions; reconciling everything")
			all = true
		} else {
			impact := catalog.Affected(changed, prev.cat, cat)
			all = impact.All
			affected = append(impact.Services, impact.Removed...)
		}
	}
	d.mu.Lock()
	d.snap = snap
	d.budgets = map[string]*apply.PruneBudget{}
	d.mu.Unlock()
	d.Status.updateSource(func(s *SourceStatus) { s.Applied, s.CatalogError = rev.ID, nil })
	for _, e := range cat.Errors {
		log.Info("invalid service", "file", e.File, "error", e.Error())
	}

	var keys []pairKey
	if all {
		keys = d.allPairs(snap)
	} else {
		for _, id := range affected {
			for _, env := range cat.Config.EnvironmentNames() {
				keys = append(keys, pairKey{id, env})
			}
		}
	}
	log.Info("new revision", "message", rev.Message, "affected", len(keys), "all", all)
	for _, k := range keys {
		team, name := teamName(k.Service)
		d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) { e.DesiredRevision = rev.ID })
	}
	if !d.synced.Load() {
		d.pending.Add(int64(len(keys)))
		if len(keys) == 0 {
			d.synced.Store(true)
		}
	}
	for _, k := range keys {
		d.queue.Add(k)
	}
	d.cache.Sweep()
}

// catalogInvalid keeps the previous revision running when a new one cannot
// be used (pave.yaml or the policies are broken).
func (d *Daemon) catalogInvalid(log logr.Logger, rev *source.Revision, err error) {
	var msgs []string
	var cfgErr *catalog.ConfigError
	var polErr *policy.CompileError
	switch {
	case errors.As(err, &cfgErr):
		for _, e := range cfgErr.Errors {
			msgs = append(msgs, e.Error())
		}
	case errors.As(err, &polErr):
		for _, e := range polErr.Errors {
			msgs = append(msgs, e.Error())
		}
	default:
		msgs = []string{err.Error()}
	}
	log.Error(err, "the new revision's catalog is invalid; applying nothing from it and keeping the previous state")
	d.Status.updateSource(func(s *SourceStatus) { s.CatalogError = msgs })
	for _, svc := range d.Status.Services() {
		for env := range svc.Environments {
			d.Status.update(svc.Team, svc.Name, env, func(_ *ServiceStatus, e *EnvironmentStatus) {
				e.Phase = PhaseCatalogInvalid
				e.DesiredRevision = rev.ID
				e.Errors = msgs
			})
		}
	}
	d.Metrics.setPhases(d.Status.PhaseCounts())
	if !d.synced.Load() {
		// Nothing more will come of this revision: the first sync is over.
		d.synced.Store(true)
	}
}

// allPairs lists every service × environment of a snapshot, invalid
// services included, plus what the clusters' inventories hold that left the
// catalog (to prune it).
func (d *Daemon) allPairs(snap *snapshot) []pairKey {
	seen := map[pairKey]bool{}
	var keys []pairKey
	add := func(k pairKey) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	envs := snap.cat.Config.EnvironmentNames()
	for _, s := range snap.cat.Services {
		for _, e := range envs {
			add(pairKey{s.ID(), e})
		}
	}
	for _, f := range snap.cat.Invalid {
		for _, e := range envs {
			add(pairKey{catalog.ServiceIDOf(f), e})
		}
	}
	for _, svc := range d.Status.Services() {
		for env := range svc.Environments {
			if slices.Contains(envs, env) {
				add(pairKey{svc.Service, env})
			}
		}
	}
	return keys
}

// enqueueAll queues every pair; with resync, each is checked for drift.
func (d *Daemon) enqueueAll(resync bool) {
	d.mu.Lock()
	snap := d.snap
	if snap == nil {
		d.mu.Unlock()
		return
	}
	keys := d.allPairs(snap)
	if resync {
		for _, k := range keys {
			d.resync[k] = true
		}
		d.budgets = map[string]*apply.PruneBudget{}
	}
	d.mu.Unlock()
	for _, k := range keys {
		d.queue.Add(k)
	}
}

func (d *Daemon) processNext(ctx context.Context) bool {
	key, shutdown := d.queue.Get()
	if shutdown {
		return false
	}
	defer d.queue.Done(key)
	retry := d.reconcile(ctx, key)
	if retry {
		d.queue.AddRateLimited(key)
	} else {
		d.queue.Forget(key)
	}
	if !d.synced.Load() && d.pending.Add(-1) <= 0 {
		d.synced.Store(true)
		d.log.Info("first sync finished")
	}
	d.Metrics.setPhases(d.Status.PhaseCounts())
	return true
}

func teamName(id string) (string, string) {
	team, name, _ := strings.Cut(id, "/")
	return team, name
}

// budget is the mass-prune guard of the current round for a cluster.
func (d *Daemon) budget(ctx context.Context, a *apply.Applier) (*apply.PruneBudget, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.budgets[a.Cluster.Name]; ok {
		return b, nil
	}
	b, err := a.NewPruneBudget(ctx, d.opts.AllowMassPrune)
	if err != nil {
		return nil, err
	}
	d.budgets[a.Cluster.Name] = b
	return b, nil
}

// ping checks a cluster, at most every few seconds.
func (d *Daemon) ping(ctx context.Context, a *apply.Applier) error {
	d.mu.Lock()
	last, ok := d.reachable[a.Cluster.Name]
	d.mu.Unlock()
	if ok && time.Since(last.at) < 5*time.Second {
		return last.err
	}
	err := a.Cluster.Ping(ctx, d.opts.PingTimeout)
	d.mu.Lock()
	d.reachable[a.Cluster.Name] = pingResult{at: time.Now(), err: err}
	d.mu.Unlock()
	return err
}

func (d *Daemon) takeResync(k pairKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.resync[k]
	delete(d.resync, k)
	return r
}

// reconcile brings one service in one environment to the current
// revision. It returns true when the work should be retried with backoff.
func (d *Daemon) reconcile(ctx context.Context, k pairKey) bool {
	d.mu.RLock()
	snap := d.snap
	d.mu.RUnlock()
	if snap == nil {
		return false
	}
	team, name := teamName(k.Service)
	rev := snap.rev
	log := d.log.WithValues("service", k.Service, "environment", k.Environment, "revision", rev.Short())
	now := d.opts.Now()
	setStatus := func(fn func(e *EnvironmentStatus)) {
		d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) {
			e.LastReconcile = &now
			e.DesiredRevision = rev.ID
			fn(e)
		})
	}
	env, ok := snap.cat.Config.Environment(k.Environment)
	if !ok {
		return false
	}
	a, ok := d.appliers[env.Cluster]
	if !ok {
		setStatus(func(e *EnvironmentStatus) {
			e.Phase, e.Cluster, e.Errors = PhaseClusterUnreachable, env.Cluster, []string{fmt.Sprintf("no credentials for cluster %s", env.Cluster)}
		})
		return false
	}
	svc, inCatalog := snap.cat.Service(k.Service)
	if !inCatalog {
		file := catalog.ServicesDir + "/" + k.Service + "/" + catalog.ServiceFile
		if slices.Contains(snap.cat.Invalid, file) {
			var errs []string
			for _, e := range snap.cat.Errors {
				if catalog.ServiceFileOf(e.File) == file {
					errs = append(errs, e.Error())
				}
			}
			setStatus(func(e *EnvironmentStatus) { e.Phase, e.Errors, e.Policy = PhaseRenderError, errs, nil })
			log.Info("invalid service.yaml; nothing applied or pruned", "errors", len(errs))
			return false
		}
		return d.remove(ctx, log, a, k, team, name, setStatus)
	}
	if err := d.ping(ctx, a); err != nil {
		setStatus(func(e *EnvironmentStatus) {
			e.Phase, e.Cluster, e.Errors = PhaseClusterUnreachable, env.Cluster, []string{err.Error()}
		})
		log.Info("cluster unreachable; will retry", "cluster", env.Cluster, "error", err.Error())
		return true
	}

	start := d.opts.Now()
	res, err := snap.renderer.Render(svc, k.Environment)
	d.Metrics.ReconcileDuration.WithLabelValues("render").Observe(time.Since(start).Seconds())
	if err != nil {
		var errs []string
		for _, e := range render.Errors(err) {
			errs = append(errs, e.Error())
		}
		if len(errs) == 0 {
			errs = []string{err.Error()}
		}
		setStatus(func(e *EnvironmentStatus) { e.Phase, e.Errors, e.Policy = PhaseRenderError, errs, nil })
		log.Error(err, "render failed; nothing applied or pruned")
		return false
	}

	start = d.opts.Now()
	verdict := snap.engine.Evaluate(ctx, policy.Input{Service: svc, Environment: k.Environment, Namespace: res.Namespace, Objects: res.Objects})
	d.Metrics.ReconcileDuration.WithLabelValues("policy").Observe(time.Since(start).Seconds())
	var denials []string
	for _, v := range verdict.Violations {
		if v.Blocking() {
			d.Metrics.PolicyViolations.WithLabelValues(v.Policy).Inc()
			denials = append(denials, fmt.Sprintf("%s:%d: %s: %s", v.File, v.Line, v.Policy, v.Message))
		}
	}
	for _, e := range verdict.Errors {
		denials = append(denials, e.Message)
	}
	if len(denials) > 0 {
		setStatus(func(e *EnvironmentStatus) {
			e.Phase, e.Errors, e.Policy, e.Namespace, e.Cluster = PhasePolicyDenied, denials, verdict, res.Namespace, env.Cluster
		})
		log.Info("denied by policy; nothing applied or pruned", "denials", len(denials))
		d.events.emit(a.Cluster.Name, team, name, k.Environment, "Warning", "PolicyDenied", strings.Join(denials, "; "))
		return false
	}

	budget, err := d.budget(ctx, a)
	if err != nil {
		setStatus(func(e *EnvironmentStatus) { e.Phase, e.Errors = PhaseClusterUnreachable, []string{err.Error()} })
		return true
	}
	start = d.opts.Now()
	out := a.Apply(ctx, snap.cat.Config, res, d.takeResync(k), budget)
	d.Metrics.ReconcileDuration.WithLabelValues("apply").Observe(time.Since(start).Seconds())
	counts := map[string]int{}
	for action, n := range out.Counts() {
		counts[string(action)] = n
		d.Metrics.ApplyObjects.WithLabelValues(string(action)).Add(float64(n))
	}
	var drift []DriftRecord
	for _, ev := range out.Drift {
		drift = append(drift, DriftRecord{Time: now, Object: ev.Object.String(), Field: ev.Field, Manager: ev.Manager, Corrected: ev.Corrected, Message: fmt.Sprintf("%s on %s (%s)", ev, k.Service, k.Environment)})
		if ev.Corrected {
			d.Metrics.DriftCorrections.WithLabelValues(team, name, k.Environment).Inc()
		}
		log.Info("drift", "object", ev.Object.String(), "field", ev.Field, "manager", ev.Manager, "corrected", ev.Corrected)
	}
	if len(drift) > 0 {
		d.events.emit(a.Cluster.Name, team, name, k.Environment, "Warning", "Drift", drift[0].Message)
	}
	phase := phaseOfHealth(out.Health.Status)
	var errs []string
	if out.Err != nil {
		errs = []string{out.Err.Error()}
		if apply.IsUnreachable(out.Err) {
			phase = PhaseClusterUnreachable
		} else if phase == PhaseReady {
			phase = PhaseFailed
		}
	}
	deployed := !out.Skipped && (counts[string("created")] > 0 || counts[string("configured")] > 0) && len(out.Drift) == 0
	setStatus(func(e *EnvironmentStatus) {
		e.Phase, e.Errors, e.Policy, e.Changes = phase, errs, verdict, counts
		e.Cluster, e.Namespace, e.Hash = a.Cluster.Name, res.Namespace, res.Hash
		e.Health, e.HealthObject = out.Health.Message, out.Health.Object
		e.Drift = append(e.Drift, drift...)
		if out.Err == nil {
			e.AppliedRevision = rev.ID
			if !out.Skipped {
				e.LastApplyTime = &now
			}
		}
	})
	d.Status.update(team, name, k.Environment, func(s *ServiceStatus, _ *EnvironmentStatus) {
		s.Template, s.Source = res.Template, res.Source
	})
	d.recordDORA(log, k, team, name, rev, phase, deployed)
	if deployed {
		d.events.emit(a.Cluster.Name, team, name, k.Environment, "Normal", "Applied", fmt.Sprintf("revision %s: %s", rev.Short(), summarize(counts)))
	}
	for _, p := range out.Pruned {
		if p.Action == "deleted" {
			d.events.emit(a.Cluster.Name, team, name, k.Environment, "Normal", "Pruned", fmt.Sprintf("deleted %s", p.Object))
		}
	}
	log.Info("reconciled", "phase", phase, "changes", summarize(counts), "health", out.Health.Message)
	if apply.IsRefusal(out.Err) {
		// Nothing was written; a retry cannot help until the catalog or
		// the live object changes (the next revision or resync checks again).
		log.Info("refused; nothing applied", "reason", out.Err.Error())
		d.events.emit(a.Cluster.Name, team, name, k.Environment, "Warning", "Refused", out.Err.Error())
		return false
	}
	if out.Err != nil {
		log.Error(out.Err, "apply failed; will retry")
		return true
	}
	return phase == PhaseProgressing
}

// remove prunes a service that left the catalog.
func (d *Daemon) remove(ctx context.Context, log logr.Logger, a *apply.Applier, k pairKey, team, name string, setStatus func(func(*EnvironmentStatus))) bool {
	if err := d.ping(ctx, a); err != nil {
		setStatus(func(e *EnvironmentStatus) { e.Phase, e.Errors = PhaseClusterUnreachable, []string{err.Error()} })
		return true
	}
	budget, err := d.budget(ctx, a)
	if err != nil {
		return true
	}
	out := a.Remove(ctx, team, name, k.Environment, budget)
	if out.Err != nil {
		setStatus(func(e *EnvironmentStatus) { e.Phase, e.Errors = PhaseFailed, []string{out.Err.Error()} })
		log.Error(out.Err, "pruning a removed service failed")
		d.events.emit(a.Cluster.Name, team, name, k.Environment, "Warning", "PruneFailed", out.Err.Error())
		// A refusal of the guard waits for a human; anything else is retried.
		var refused *apply.MassPruneError
		return !errors.As(out.Err, &refused)
	}
	for _, p := range out.Pruned {
		d.Metrics.ApplyObjects.WithLabelValues(string(p.Action)).Inc()
	}
	setStatus(func(e *EnvironmentStatus) {
		e.Phase, e.Errors, e.Policy, e.Health = PhasePruned, nil, nil, fmt.Sprintf("removed from the catalog; %d objects pruned", len(out.Pruned))
	})
	log.Info("service left the catalog; pruned", "objects", len(out.Pruned))
	return false
}

// recordDORA counts deployments, their lead time, change failures and
// time to restore.
func (d *Daemon) recordDORA(log logr.Logger, k pairKey, team, name string, rev *source.Revision, phase Phase, deployed bool) {
	d.mu.Lock()
	st, ok := d.dora[k]
	if !ok {
		st = &doraState{}
		d.dora[k] = st
	}
	now := d.opts.Now()
	var restored time.Duration
	switch {
	case phase == PhaseReady && deployed:
		d.Metrics.Deployments.WithLabelValues(team, name, k.Environment).Inc()
		lead := now.Sub(rev.Time)
		d.Metrics.LeadTime.WithLabelValues(team, name, k.Environment).Observe(lead.Seconds())
		if !st.failedAt.IsZero() {
			restored = now.Sub(st.failedAt)
			d.Metrics.TimeToRestore.WithLabelValues(team, name, k.Environment).Observe(restored.Seconds())
			st.failedAt = time.Time{}
		}
		d.mu.Unlock()
		log.Info("deployed", "leadTime", lead.String(), "restoredAfter", restored.String())
		return
	case phase == PhaseFailed && deployed:
		d.Metrics.ChangeFailures.WithLabelValues(team, name, k.Environment).Inc()
		if st.failedAt.IsZero() {
			st.failedAt = now
		}
	case phase == PhaseReady && !st.failedAt.IsZero():
		// Became healthy without a new deployment (e.g. a slow rollout).
		restored = now.Sub(st.failedAt)
		d.Metrics.TimeToRestore.WithLabelValues(team, name, k.Environment).Observe(restored.Seconds())
		st.failedAt = time.Time{}
	}
	d.mu.Unlock()
}

func summarize(counts map[string]int) string {
	var parts []string
	for _, a := range []string{"created", "configured", "unchanged", "deleted", "skipped"} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	return strings.Join(parts, ", ")
}

// restoreStatus rebuilds the status from the clusters' inventories, so a
// restarted daemon knows what was applied before its first sync.
func (d *Daemon) restoreStatus(ctx context.Context) {
	for name, a := range d.appliers {
		if err := d.ping(ctx, a); err != nil {
			d.log.Info("cannot read inventories of an unreachable cluster", "cluster", name, "error", err.Error())
			continue
		}
		invs, err := a.Inventories(ctx)
		if err != nil {
			d.log.Error(err, "reading inventories", "cluster", name)
			continue
		}
		for _, inv := range invs {
			last := inv.LastApplied
			d.Status.update(inv.Team, inv.Service, inv.Environment, func(s *ServiceStatus, e *EnvironmentStatus) {
				s.Template, s.Source = inv.Template, inv.Source
				e.Cluster, e.AppliedRevision, e.Hash, e.LastApplyTime = name, inv.Revision, inv.Hash, &last
			})
		}
	}
}
