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
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/source"
)

// pairKey is one service in one environment: the unit of work.
type pairKey struct {
	Service     string // team/name
	Environment string
}

// snapshot is one accepted revision of the catalog and what was built from
// it, swapped atomically when a new revision arrives.
type snapshot struct {
	rev    *source.Revision
	cat    *catalog.Catalog
	engine *policy.Engine
	// rnd renders the catalog's services (pipe renders with it).
	rnd *render.Renderer
	// pipe renders and judges the catalog's services, as every other
	// entry point does.
	pipe *pipeline.Pipeline
	// waves are the template rollouts of this revision when it is the
	// newest (planned before it is swapped in).
	waves *rollouts
}

// Daemon is pave serve's reconciler.
type Daemon struct {
	log     logr.Logger
	src     source.Source
	opts    Options
	clock   clock.WithTicker
	Status  *Store
	Metrics *Metrics
	// Appliers by cluster name.
	appliers map[string]*apply.Applier
	// writeLimits holds, by cluster, how many pairs may write to it at
	// once (all the workers until its API server shows overload).
	writeLimits map[string]*writeLimit
	events      *eventRecorder

	queue workqueue.TypedRateLimitingInterface[pairKey]
	// lanes orders the queue: a promotion going on goes ahead.
	lanes *lanes
	cache *render.Cache

	mu   sync.RWMutex
	snap *snapshot
	// snaps holds the snapshots of older revisions some pair still runs
	// (promotion keeps later environments on them), by revision ID.
	snaps map[string]*snapshot
	// pairs is the operator's state of each pair (suspension, rollback
	// hold, approvals), as stored in its cluster.
	pairs map[pairKey]*pairFlags
	// inflight holds the pairs being reconciled; recheck those whose gate
	// may have opened meanwhile (see wake).
	inflight, recheck map[pairKey]bool
	// behind holds, by pair in flight, the pairs of the next environment
	// that wait for its reconcile to end (see deferBehind); deferred is
	// the set of those.
	behind   map[pairKey][]pairKey
	deferred map[pairKey]bool
	// deployments is each pair's last deployment, as its history keeps it.
	deployments map[pairKey]*apply.Deployment
	// lastSeen is the last revision fetched, accepted or not.
	lastSeen string
	resync   map[pairKey]bool
	budgets  map[string]*apply.PruneBudget
	// reachable caches each cluster's last ping.
	reachable map[string]pingResult
	dora      map[pairKey]*doraState
	// doraLogs is each pair's deployments of the last DORAKeep (DORA).
	doraLogs map[pairKey]*doraLog
	// share holds the services this replica owned when it last took on
	// a share (reshard; nil before), and unclaimed the pairs a reconcile
	// dropped for want of a claim: a new share queues those two, not
	// every pair it owns.
	share     map[string]bool
	unclaimed map[pairKey]bool
	// elsewhere holds the pairs the newest revision changed that another
	// replica owned when it came: a share that gains them queues them
	// first (a commit to a dead replica's service goes ahead of the
	// unchanged rest of its share).
	elsewhere map[pairKey]bool
	// first holds the pairs of the first sync still to reconcile (a
	// promotion or a soak queues more pairs, which do not count).
	first  map[pairKey]bool
	synced atomic.Bool
	// idling is set while the end of a round is handled (the cache
	// trimmed, Options.Idle).
	idling      atomic.Bool
	fetchNow    chan struct{}
	fetchFailed int
}

type pingResult struct {
	at  time.Time
	err error
}

// New builds a daemon over a source and the clusters' appliers.
func New(log logr.Logger, src source.Source, appliers map[string]*apply.Applier, opts Options) *Daemon {
	def := DefaultOptions()
	if opts.Clock == nil {
		opts.Clock = def.Clock
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = def.MinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = def.MaxBackoff
	}
	d := &Daemon{
		log: log, src: src, opts: opts, appliers: appliers, clock: opts.Clock,
		Status: NewStore(), cache: render.NewCache(),
		resync: map[pairKey]bool{}, budgets: map[string]*apply.PruneBudget{},
		reachable: map[string]pingResult{}, dora: map[pairKey]*doraState{},
		doraLogs: map[pairKey]*doraLog{},
		snaps:    map[string]*snapshot{}, pairs: map[pairKey]*pairFlags{}, deployments: map[pairKey]*apply.Deployment{},
		inflight: map[pairKey]bool{}, recheck: map[pairKey]bool{}, behind: map[pairKey][]pairKey{}, deferred: map[pairKey]bool{},
		unclaimed: map[pairKey]bool{}, fetchNow: make(chan struct{}, 1),
	}
	d.writeLimits = map[string]*writeLimit{}
	for name, a := range appliers {
		d.writeLimits[name] = newWriteLimit(opts.Concurrency, a.Cluster.Config.Timeout, opts.Clock)
	}
	d.lanes = newLanes()
	d.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[pairKey](opts.MinBackoff, opts.MaxBackoff),
		workqueue.TypedRateLimitingQueueConfig[pairKey]{Clock: opts.Clock, DelayingQueue: workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[pairKey]{
			Name: "pave", Clock: opts.Clock,
			Queue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[pairKey]{Name: "pave", Clock: opts.Clock, Queue: d.lanes}),
		})},
	)
	if !opts.Apply.Wait {
		log.Info("health is not measured (--wait-timeout 0): a later environment receives a revision as soon as the one before applied it")
	}
	if opts.Owner != nil {
		d.Status.Only(opts.Owner.Owns) // a shard shows its own share
	}
	d.Metrics = NewMetrics(func() float64 { return float64(d.queue.Len()) }, func() map[Phase]int { return d.Status.PhaseCounts() })
	for name, w := range d.writeLimits {
		d.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pave_cluster_write_limit", Help: "Pairs that may write to the cluster at once: --concurrency, halved while its API server shows overload.",
			ConstLabels: prometheus.Labels{"cluster": name},
		}, func() float64 { return float64(w.current()) }))
	}
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
// (bounded by ShutdownTimeout), writes the Kubernetes Events still queued
// (bounded by what is left of it) and returns.
func (d *Daemon) Run(ctx context.Context) error {
	if d.opts.Apply.Wait {
		// Health from one set of watches per cluster, shared by every
		// pair on it.
		for name, a := range d.appliers {
			stop, err := a.Watch(ctx)
			if err != nil {
				d.log.Error(err, "cannot watch the cluster; health polls each object", "cluster", name)
				continue
			}
			defer stop()
		}
	}
	d.restoreStatus(ctx)
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	workers := make(chan struct{})
	go func() {
		defer close(workers)
		d.work(workCtx)
	}()

	d.fetch(ctx)
	resync := d.clock.NewTicker(d.opts.ResyncInterval)
	defer resync.Stop()
	poll := d.clock.NewTimer(d.nextPoll())
	defer poll.Stop()
	var owned <-chan struct{} // the shard's share changed (nil: not sharded)
	if d.opts.Owner != nil {
		owned = d.opts.Owner.Changes()
	}
	for {
		select {
		case <-ctx.Done():
			d.log.Info("shutting down; finishing in-flight work", "timeout", d.opts.ShutdownTimeout.String())
			deadline, cancel := context.WithTimeout(context.Background(), d.opts.ShutdownTimeout)
			defer cancel()
			go d.queue.ShutDownWithDrain()
			select {
			case <-workers:
			case <-deadline.Done():
				d.log.Info("shutdown timeout reached; abandoning in-flight work")
				cancelWork()
				d.queue.ShutDown()
			}
			d.events.shutdown(deadline)
			return nil
		case <-poll.C():
			d.fetch(ctx)
			poll.Reset(d.nextPoll())
		case <-d.fetchNow:
			d.fetch(ctx)
		case <-d.src.Notify():
			d.fetch(ctx)
		case <-resync.C():
			d.enqueueAll(ctx, true)
		case <-owned:
			d.reshard(ctx)
		}
	}
}

// work hands the queue's pairs to at most Concurrency reconciles at once
// until the queue shuts down, then waits for those in flight. A reconcile
// gives its worker back once its writes are done: waiting for health
// (from the clusters' shared watches) holds no worker, so a slow rollout
// does not hold up the others.
func (d *Daemon) work(ctx context.Context) {
	slots := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	for {
		key, shutdown := d.queue.Get()
		if shutdown {
			break
		}
		// Wait for a free worker; the pair stays "processing" in the
		// queue meanwhile, so a new Add of it is deduplicated.
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			d.process(ctx, key, func() { once.Do(func() { <-slots }) })
		}()
	}
	wg.Wait()
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
	start := d.clock.Now()
	rev, err := d.src.Fetch(ctx)
	took := d.clock.Since(start).Seconds()
	d.Metrics.FetchDuration.Observe(took)
	d.Metrics.ReconcileDuration.WithLabelValues("fetch").Observe(took)
	now := d.clock.Now()
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
		d.enqueueAll(ctx, false)
		return
	}
	ct := rev.Time
	d.Status.updateSource(func(s *SourceStatus) {
		s.Branch, s.Revision, s.CommitTime, s.Message, s.Author = rev.Branch, rev.ID, &ct, rev.Message, rev.Author
	})
	d.Metrics.RevisionInfo.Reset()
	d.Metrics.RevisionInfo.WithLabelValues(rev.ID, rev.Branch).Set(1)

	loadStart := d.clock.Now()
	// What changed since the revision loaded last: the services a commit
	// does not touch are not read again, nor the policies recompiled.
	all := prev == nil
	var changed []string
	if !all {
		var err error
		if changed, err = source.ChangedPaths(prev.rev, rev); err != nil {
			log.Error(err, "could not diff revisions; reconciling everything")
			all = true
		}
	}
	opts := catalog.LoadOptions{}
	if prev != nil {
		// An ingress host stays with the service that held it at the last
		// revision loaded; only a newcomer claiming it is refused.
		opts.HostClaims = prev.cat.HostClaims()
		if !all {
			opts.Previous, opts.Changed = prev.cat, changed
		}
	}
	snap, err := d.load(rev, opts, prev)
	d.Metrics.ReconcileDuration.WithLabelValues("load").Observe(d.clock.Since(loadStart).Seconds())
	if err != nil {
		d.catalogInvalid(log, rev, err)
		return
	}
	cat := snap.cat

	// Which services does this revision affect?
	var affected, own []string
	if !all {
		impact := catalog.Affected(changed, prev.cat, cat)
		all = impact.All
		affected = append(impact.Services, impact.Removed...)
		own = impact.Own
	}
	// The waves are planned before the revision is swapped in, and swapped
	// in with it: no reconcile may see the new revision without them.
	snap.waves = d.planRollouts(ctx, log, snap, own)
	d.mu.Lock()
	if prev != nil {
		d.snaps[prev.rev.ID] = prev
	}
	d.snap = snap
	d.budgets = map[string]*apply.PruneBudget{}
	d.mu.Unlock()
	d.retainSnapshots()
	d.configureNotifications(cat)
	d.Status.updateSource(func(s *SourceStatus) {
		s.Applied, s.CatalogError, s.Environments = rev.ID, nil, cat.Config.EnvironmentNames()
	})
	for _, e := range cat.Errors {
		log.Info("invalid service", "file", e.File, "error", e.Error())
	}

	var keys []pairKey
	if all {
		keys = d.allPairs(snap)
		d.mu.Lock()
		d.elsewhere = nil // every service changed: none goes first
		d.noteShare(keys)
		d.mu.Unlock()
	} else {
		for _, id := range affected {
			for _, env := range cat.Config.EnvironmentNames() {
				keys = append(keys, pairKey{id, env})
			}
		}
		if d.opts.Owner != nil {
			// This replica's pairs; the others' go first should it gain
			// them before their owner applied them.
			elsewhere := map[pairKey]bool{}
			mine := keys[:0]
			for _, k := range keys {
				if d.opts.Owner.Owns(k.Service) {
					mine = append(mine, k)
				} else {
					elsewhere[k] = true
				}
			}
			keys = mine
			d.mu.Lock()
			d.elsewhere = elsewhere
			d.mu.Unlock()
		}
	}
	log.Info("new revision", "message", rev.Message, "affected", len(keys), "all", all)
	// A commit that changes a service releases the rollback holding it.
	if prev != nil {
		d.release(ctx, log, keys)
	}
	for _, k := range keys {
		team, name := teamName(k.Service)
		d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) { e.DesiredRevision = rev.ID })
	}
	if !d.synced.Load() {
		d.mu.Lock()
		if d.first == nil {
			d.first = map[pairKey]bool{}
		}
		for _, k := range keys {
			d.first[k] = true
		}
		if len(d.first) == 0 {
			d.synced.Store(true)
		}
		d.mu.Unlock()
	}
	for _, k := range byEnvironment(cat.Config, keys) {
		d.queue.Add(k)
	}
	// A rollout carried over from an older revision goes on from the
	// wave it stands at, whether or not this commit touches it.
	for _, k := range d.owned(d.openWaves(ctx, snap)) {
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
				e.Phase = outcomeOf(ReasonCatalogInvalid).Phase
				e.DesiredRevision = rev.ID
				e.Errors = msgs
			})
		}
	}
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
	return d.owned(keys)
}

// enqueueAll queues every pair; with resync, each is checked for drift.
// Each cluster's inventories are listed again first (a request per 500), so
// the round sees what changed in them behind pave's back.
func (d *Daemon) enqueueAll(ctx context.Context, resync bool) {
	for name, a := range d.appliers {
		if _, err := a.LoadInventoriesOf(ctx, d.keeps()); err != nil {
			d.log.Info("cannot list the cluster's inventories; the round reads them one by one", "cluster", name, "error", err.Error())
		}
	}
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
	d.noteShare(keys)
	d.mu.Unlock()
	for _, k := range byEnvironment(snap.cat.Config, keys) {
		d.queue.Add(k)
	}
}

// process reconciles one pair and requeues it with backoff when the
// outcome asks for a retry.
func (d *Daemon) process(ctx context.Context, key pairKey, release func()) {
	defer d.queue.Done(key)
	defer release()
	st := d.env(key)
	d.mu.Lock()
	snap, prev, deferred := d.deferBehind(key, st)
	if !deferred {
		d.inflight[key] = true
	}
	d.mu.Unlock()
	if deferred {
		// Its status says what it waits for (outside d.mu: the status
		// store's lock comes first).
		team, name := teamName(key.Service)
		d.Status.update(team, name, key.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) {
			e.Gate = waitingFor(prev)
			if e.AppliedRevision != snap.rev.ID {
				e.PendingRevision = snap.rev.ID
			}
			if e.Phase == PhasePending {
				e.Phase = outcomeOf(ReasonWaiting).Phase
			}
		})
		return
	}
	retry := d.reconcile(ctx, key, release)
	if retry {
		d.queue.AddRateLimited(key)
	} else {
		d.queue.Forget(key)
	}
	// The environment before changed during this reconcile, which may
	// have read its status earlier: check the gate again, unless a retry
	// will.
	d.mu.Lock()
	delete(d.inflight, key)
	recheck := d.recheck[key] && !retry
	delete(d.recheck, key)
	waiting := d.behind[key]
	delete(d.behind, key)
	for _, k := range waiting {
		delete(d.deferred, k)
	}
	busy := len(d.inflight) > 0
	d.mu.Unlock()
	// The pair again (its gate may have opened while it ran), and the
	// pairs put off behind it, go ahead of the round: each had its turn
	// already.
	if recheck {
		d.lanes.ahead(key)
		d.queue.Add(key)
	}
	d.lanes.ahead(waiting...)
	for _, k := range waiting {
		d.queue.Add(k)
	}
	// The queue ran dry: the round is over. The renders it did not use
	// leave the cache, and Options.Idle runs.
	if !busy && d.queue.Len() == 0 && d.idling.CompareAndSwap(false, true) {
		go func() {
			defer d.idling.Store(false)
			d.cache.Trim()
			if d.opts.Idle != nil {
				d.opts.Idle()
			}
		}()
	}
	if !d.synced.Load() {
		d.mu.Lock()
		delete(d.first, key)
		done := d.first != nil && len(d.first) == 0
		d.mu.Unlock()
		if done && d.synced.CompareAndSwap(false, true) {
			d.log.Info("first sync finished")
		}
	}
}

// deferBehind, with d.mu held, puts off a pair of a later environment
// whose pair in the environment before (prev) is being reconciled: that
// reconcile decides the promotion gate, so deciding it now would only
// render the service to find the gate closed. The pair is queued again
// when that reconcile ends, whatever its outcome. A pair that runs the
// newest revision already (st, its status), is held by a rollback or
// suspended, or whose service left the catalog is not put off.
func (d *Daemon) deferBehind(k pairKey, st *EnvironmentStatus) (snap *snapshot, prev string, deferred bool) {
	snap = d.snap
	if snap == nil {
		return nil, "", false
	}
	cfg := snap.cat.Config
	i := environmentIndex(cfg, k.Environment)
	if i <= 0 {
		return nil, "", false
	}
	before := pairKey{k.Service, cfg.Environments[i-1].Name}
	switch f := d.pairs[k]; {
	case !d.inflight[before]:
		return nil, "", false
	case f != nil && (f.heldAt != "" || f.suspended):
		return nil, "", false
	case st != nil && st.AppliedRevision == snap.rev.ID:
		return nil, "", false
	}
	if _, ok := snap.cat.Service(k.Service); !ok {
		return nil, "", false
	}
	if !d.deferred[k] {
		d.deferred[k] = true
		d.behind[before] = append(d.behind[before], k)
	}
	return snap, before.Environment, true
}

// byEnvironment orders pairs by their environment's place in the delivery
// order (the order among one environment's pairs kept): a round hands out
// every pair of an environment before the next's, whose promotion gates
// wait for them.
func byEnvironment(cfg *catalog.Config, keys []pairKey) []pairKey {
	slices.SortStableFunc(keys, func(a, b pairKey) int {
		ia, ib := environmentIndex(cfg, a.Environment), environmentIndex(cfg, b.Environment)
		if ia < 0 {
			ia = len(cfg.Environments)
		}
		if ib < 0 {
			ib = len(cfg.Environments)
		}
		return ia - ib
	})
	return keys
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
	if ok && d.clock.Since(last.at) < 5*time.Second {
		return last.err
	}
	err := a.Cluster.Ping(ctx, d.opts.PingTimeout)
	d.mu.Lock()
	d.reachable[a.Cluster.Name] = pingResult{at: d.clock.Now(), err: err}
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
		d.restoreFlags(ctx, name, a)
		invs, err := a.LoadInventoriesOf(ctx, d.keeps())
		if err != nil {
			d.log.Error(err, "reading inventories", "cluster", name)
			continue
		}
		for _, inv := range invs {
			last := inv.LastApplied
			d.mu.RLock()
			dep := d.deployments[pairKey{inv.ID(), inv.Environment}]
			d.mu.RUnlock()
			d.Status.update(inv.Team, inv.Service, inv.Environment, func(s *ServiceStatus, e *EnvironmentStatus) {
				s.Template, s.Source = inv.Template, inv.Source
				e.Cluster, e.AppliedRevision, e.Hash, e.LastApplyTime = name, inv.Revision, inv.Hash, &last
				if dep == nil || dep.Hash != inv.Hash {
					e.ReadySince = nil // the history's last deployment is not what runs
				}
			})
		}
	}
}
