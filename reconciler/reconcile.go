package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/render"
)

// A reconcile of one service in one environment has two layers, the way
// Flux's kustomize-controller is written: reconcile, the outer layer, runs
// the steps and then, in one deferred call, records what they came to —
// status, metrics, Kubernetes Events, DORA and the retry decision — from
// one result value. The steps only fill that value in; none of them
// records anything.

// pairRun is what the steps of one reconcile share.
type pairRun struct {
	key        pairKey
	team, name string
	// snap is the revision the pair runs in this reconcile; newest the
	// source's (they differ while a promotion gate is closed).
	snap, newest *snapshot
	// gate is the decision that picked snap.
	gate gateDecision
	env  catalog.Environment
	log  logr.Logger

	applier  *apply.Applier
	svc      *catalog.Service
	removed  bool // the service left the catalog: prune it
	rendered *render.Result
	verdict  *policy.Result
	out      *apply.Result
	// freeWorker gives the worker back (waiting for health holds none).
	freeWorker func()
}

// result is what one reconcile came to.
type result struct {
	reason Reason
	// errors are the status API's errors; the event's message is message,
	// or errors joined.
	errors  []string
	message string
	// err is logged with the outcome.
	err error

	cluster, namespace, hash string
	template, source         string
	// evaluated is set once policy ran: policy is then its result (nil
	// clears an older one).
	evaluated bool
	policy    *policy.Result
	// denied lists the policies that blocked, for the metric.
	denied []string

	// applied: the apply step ran (health, changes and pruned are set).
	applied              bool
	health, healthObject string
	changes              map[string]int
	drift                []DriftRecord
	driftCorrected       int
	pruned               []string
	// current: the cluster holds this revision (AppliedRevision).
	current bool
	// checked: the objects were applied or checked for drift, not skipped
	// on an unchanged hash: LastApplyTime.
	checked bool
	// wrote: an object was created, changed or deleted.
	wrote bool
	// deployed: a new version of the service reached the cluster (not
	// only drift corrected): DORA counts it.
	deployed bool

	stages map[string]time.Duration
}

func (r *result) fail(reason Reason, errs ...string) {
	r.reason, r.errors = reason, errs
}

// timed runs fn and adds its duration to the stage's.
func (d *Daemon) timed(r *result, stage string, fn func()) {
	start := d.clock.Now()
	fn()
	if r.stages == nil {
		r.stages = map[string]time.Duration{}
	}
	r.stages[stage] += d.clock.Since(start)
}

// step is one step of the inner pipeline. It fills in the result and
// returns false to stop the pipeline there.
type step func(ctx context.Context, p *pairRun, r *result) bool

// reconcile brings one service in one environment to the current
// revision, and records the outcome once. It returns true when the pair
// should be retried with backoff.
func (d *Daemon) reconcile(ctx context.Context, k pairKey, freeWorker func()) (retry bool) {
	parent := ctx
	if o := d.opts.Owner; o != nil {
		// Marked unclaimed before the claim is asked for: a refused
		// claim is queued again when the share changes (reshard), and a
		// change heard between the refusal and the mark would otherwise
		// find nothing to queue.
		d.mu.Lock()
		d.unclaimed[k] = true
		d.mu.Unlock()
		claimed, release, ok := o.Claim(ctx, k.Service)
		if !ok {
			return false
		}
		d.mu.Lock()
		delete(d.unclaimed, k)
		d.mu.Unlock()
		defer release()
		ctx = claimed
	}
	d.mu.RLock()
	newest := d.snap
	d.mu.RUnlock()
	if newest == nil {
		return false
	}
	env, ok := newest.cat.Config.Environment(k.Environment)
	if !ok {
		return false
	}
	team, name := teamName(k.Service)
	if d.flags(k).suspended {
		// Suspended: no apply, no drift correction; the status says so.
		d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) {
			e.Suspended, e.DesiredRevision = true, newest.rev.ID
		})
		return false
	}
	st := d.env(k)
	dec := d.decide(ctx, k, newest, st)
	if dec.requeueAfter > 0 {
		d.lanes.ahead(k) // when the soak ends, the promotion goes on ahead of the round
		d.queue.AddAfter(k, dec.requeueAfter)
	}
	snap := dec.snap
	if snap == nil {
		snap = newest
	}
	p := &pairRun{
		key: k, team: team, name: name, snap: snap, newest: newest, gate: dec, env: env, freeWorker: freeWorker,
		log: d.log.WithValues("service", k.Service, "environment", k.Environment, "revision", snap.rev.Short()),
	}
	r := &result{}
	defer func() {
		if ctx.Err() != nil && parent.Err() == nil {
			// The claim lapsed: another replica takes the pair over,
			// nothing is recorded here; or this one, once it may write
			// again, queues it then (reshard).
			d.mu.Lock()
			d.unclaimed[k] = true
			d.mu.Unlock()
			return
		}
		retry = d.record(ctx, p, r)
	}()
	if dec.snap == nil {
		r.reason, r.message = ReasonWaiting, dec.gate
		return
	}
	for _, s := range []step{d.stepCluster, d.stepCatalog, d.stepReachable, d.stepRemove, d.stepRenderEvaluate, d.stepApply, d.stepPrune, d.stepDrift, d.stepHealth} {
		if !s(ctx, p, r) {
			return
		}
	}
	return
}

// env returns a copy of a pair's status, nil when it has none.
func (d *Daemon) env(k pairKey) *EnvironmentStatus {
	svc, ok := d.Status.Service(k.Service)
	if !ok {
		return nil
	}
	return svc.Environments[k.Environment]
}

// stepCluster finds the applier of the environment's cluster.
func (d *Daemon) stepCluster(_ context.Context, p *pairRun, r *result) bool {
	a, ok := d.appliers[p.env.Cluster]
	r.cluster = p.env.Cluster
	if !ok {
		r.fail(ReasonNoCredentials, fmt.Sprintf("no credentials for cluster %s", p.env.Cluster))
		return false
	}
	p.applier = a
	return true
}

// stepCatalog finds the service in the revision. An invalid service.yaml
// stops here: what runs keeps running. A service no longer in the
// catalog goes on to be pruned.
func (d *Daemon) stepCatalog(_ context.Context, p *pairRun, r *result) bool {
	svc, ok := p.snap.cat.Service(p.key.Service)
	if ok {
		p.svc = svc
		return true
	}
	if probs, invalid := p.snap.pipe.Invalid(p.key.Service); invalid {
		var errs []string
		for _, prob := range probs {
			errs = append(errs, pipeline.Message(prob))
		}
		r.fail(ReasonInvalidService, errs...)
		r.evaluated = true
		return false
	}
	p.removed = true
	return true
}

// stepReachable checks the cluster answers (at most every few seconds).
func (d *Daemon) stepReachable(ctx context.Context, p *pairRun, r *result) bool {
	if err := d.ping(ctx, p.applier); err != nil {
		r.fail(ReasonClusterUnreachable, err.Error())
		return false
	}
	return true
}

// stepRemove prunes a service that left the catalog.
func (d *Daemon) stepRemove(ctx context.Context, p *pairRun, r *result) bool {
	if !p.removed {
		return true
	}
	budget, err := d.budget(ctx, p.applier)
	if err != nil {
		r.fail(ReasonClusterUnreachable, err.Error())
		return false
	}
	var out *apply.Result
	d.timed(r, "apply", func() { out = p.applier.Remove(ctx, p.team, p.name, p.key.Environment, budget) })
	r.evaluated = true
	if out.Err != nil {
		r.err = out.Err
		var refused *apply.MassPruneError
		if errors.As(out.Err, &refused) {
			r.fail(ReasonPruneRefused, out.Err.Error())
		} else {
			r.fail(ReasonPruneFailed, out.Err.Error())
		}
		return false
	}
	r.changes = counts(out)
	r.reason, r.wrote = ReasonRemoved, out.Wrote()
	r.health = fmt.Sprintf("removed from the catalog; %d objects pruned", len(out.Pruned))
	r.message = r.health // one event says it all
	return false
}

// stepRenderEvaluate renders the service for the environment and
// evaluates the policies on the result: a render error or a blocking
// violation stops here, and nothing is applied or pruned.
func (d *Daemon) stepRenderEvaluate(ctx context.Context, p *pairRun, r *result) bool {
	out := p.snap.pipe.Evaluate(ctx, p.svc, p.key.Environment)
	if r.stages == nil {
		r.stages = map[string]time.Duration{}
	}
	r.stages["render"] += out.RenderTime
	r.stages["policy"] += out.EvaluateTime
	r.evaluated = true
	if out.Rendered != nil {
		p.rendered = out.Rendered
		r.namespace, r.template, r.source = out.Rendered.Namespace, out.Rendered.Template, out.Rendered.Source
		p.verdict, r.policy = out.Verdict, out.Verdict
	}
	if !out.Blocked() {
		return true
	}
	// The same words as pave check and pave apply: one message per
	// problem, from the pipeline.
	var msgs []string
	for _, prob := range out.Problems() {
		msgs = append(msgs, pipeline.Message(prob))
	}
	if out.Rendered == nil {
		r.fail(ReasonRenderFailed, msgs...)
		r.err = out.RenderErr
		return false
	}
	for _, v := range out.Verdict.Violations {
		if v.Blocking() {
			r.denied = append(r.denied, v.Policy)
		}
	}
	// Out of time with no denial: no verdict yet, so try again (a busy
	// machine is no reason to hold a service until its next commit).
	if len(r.denied) == 0 && len(out.Verdict.Errors) > 0 && !slices.ContainsFunc(out.Verdict.Errors, func(e policy.Error) bool { return !e.TimedOut }) {
		r.fail(ReasonPolicyTimedOut, msgs...)
		return false
	}
	r.fail(ReasonPolicyDenied, msgs...)
	return false
}

// stepApply applies the rendered objects through the cluster's applier,
// which in one call checks scope and ownership, server-side applies what
// changed, prunes what the render dropped, checks drift and waits for
// health; the steps after it read its result.
func (d *Daemon) stepApply(ctx context.Context, p *pairRun, r *result) bool {
	budget, err := d.budget(ctx, p.applier)
	if err != nil {
		r.fail(ReasonClusterUnreachable, err.Error())
		return false
	}
	// As many pairs write to the cluster at once as its API server takes
	// in time (writeLimit).
	limit := d.writeLimits[p.applier.Cluster.Name]
	started, err := limit.acquire(ctx)
	if err != nil {
		r.fail(ReasonApplyFailed, "stopped while waiting to write: "+err.Error())
		return false
	}
	d.timed(r, "apply", func() {
		p.out = p.applier.Write(ctx, p.snap.cat.Config, p.rendered, d.takeResync(p.key), budget)
	})
	if ctx.Err() != nil {
		limit.forget() // stopped: says nothing of the API server
	} else if cut, n := limit.release(started, p.out.Err); cut {
		p.log.Info("the cluster's API server is overloaded: fewer pairs write to it at once", "cluster", p.applier.Cluster.Name, "pairs", n, "took", d.clock.Since(started).Round(time.Millisecond).String(), "error", p.out.Err)
	}
	r.applied, r.cluster, r.hash = true, p.applier.Cluster.Name, p.rendered.Hash
	// Waiting for health holds no worker and no rendered object: every
	// pair of a round may wait at once.
	p.freeWorker()
	p.rendered = nil
	d.timed(r, "health", func() { p.applier.WaitHealth(ctx, p.out) })
	out := p.out
	r.changes = counts(out)
	r.checked, r.wrote, r.current = !out.Skipped, out.Wrote(), out.Err == nil
	return true
}

// stepPrune lists the objects the apply deleted because the render no
// longer has them.
func (d *Daemon) stepPrune(_ context.Context, p *pairRun, r *result) bool {
	r.pruned = deleted(p.out)
	return true
}

// stepDrift records the fields changed in the cluster that the apply
// found (and, in correct mode, put back).
func (d *Daemon) stepDrift(_ context.Context, p *pairRun, r *result) bool {
	now := d.clock.Now()
	for _, ev := range p.out.Drift {
		r.drift = append(r.drift, DriftRecord{Time: now, Object: ev.Object.String(), Field: ev.Field, Manager: ev.Manager, Corrected: ev.Corrected,
			Message: fmt.Sprintf("%s on %s (%s)", ev, p.key.Service, p.key.Environment)})
		if ev.Corrected {
			r.driftCorrected++
		}
	}
	// A deployment is a new version reaching the cluster, not a drift
	// correction.
	r.deployed = !p.out.Skipped && (r.changes[string(ssa.CreatedAction)] > 0 || r.changes[string(ssa.ConfiguredAction)] > 0) && len(p.out.Drift) == 0
	return true
}

// counts tallies an apply's changes by action, prunes included.
func counts(out *apply.Result) map[string]int {
	m := map[string]int{}
	for action, n := range out.Counts() {
		m[string(action)] = n
	}
	return m
}

// deleted lists the objects an apply or removal deleted.
func deleted(out *apply.Result) []string {
	var objs []string
	for _, c := range out.Pruned {
		if c.Action == ssa.DeletedAction {
			objs = append(objs, c.Object.String())
		}
	}
	return objs
}

// stepHealth turns the apply's error and the objects' health into the
// reason.
func (d *Daemon) stepHealth(_ context.Context, p *pairRun, r *result) bool {
	out := p.out
	r.health, r.healthObject = out.Health.Message, out.Health.Object
	switch {
	case out.Err != nil && apply.IsUnreachable(out.Err):
		r.fail(ReasonClusterUnreachable, out.Err.Error())
	case out.Err != nil && apply.IsRefusal(out.Err):
		r.fail(ReasonRefused, out.Err.Error())
	case out.Err != nil:
		r.fail(ReasonApplyFailed, out.Err.Error())
	case out.Health.Status == apply.HealthReady && r.deployed:
		r.reason = ReasonApplied
	case out.Health.Status == apply.HealthReady:
		r.reason = ReasonUpToDate
	case out.Health.Status == apply.HealthFailed:
		r.reason = ReasonHealthCheckFailed
	case out.Health.Status == apply.HealthUnreachable:
		r.reason = ReasonClusterUnreachable
	default:
		r.reason = ReasonProgressing
	}
	r.err = out.Err
	if r.reason == ReasonApplied || r.reason == ReasonProgressing {
		r.message = fmt.Sprintf("revision %s: %s", p.snap.rev.Short(), summarize(r.changes))
	}
	if r.reason == ReasonHealthCheckFailed && out.Err == nil {
		r.message = strings.TrimSpace(out.Health.Object + ": " + out.Health.Message)
	}
	return false
}

// record is the outer layer's deferred half: everything the daemon
// reports about one reconcile, from its result. It returns whether to
// retry.
func (d *Daemon) record(ctx context.Context, p *pairRun, r *result) bool {
	o := outcomeOf(r.reason)
	now := d.clock.Now()
	rev := p.snap.rev
	k := p.key

	// History, in the pair's cluster, before the status shows the
	// outcome.
	d.recordDeployment(ctx, p, r, o.Phase)

	// Status.
	var changed bool
	heldAt := d.flags(k).heldAt
	d.Status.update(p.team, p.name, k.Environment, func(s *ServiceStatus, e *EnvironmentStatus) {
		before := *e
		e.Phase, e.Errors, e.LastReconcile, e.DesiredRevision = o.Phase, r.errors, &now, p.newest.rev.ID
		e.PendingRevision, e.Gate, e.Suspended, e.HeldAt = p.gate.pending, p.gate.gate, false, heldAt
		e.Wave = d.waveOf(k.Service)
		if r.cluster != "" {
			e.Cluster = r.cluster
		}
		if r.namespace != "" {
			e.Namespace = r.namespace
		}
		if r.evaluated {
			e.Policy = r.policy
		}
		if r.applied || r.reason == ReasonRemoved {
			e.Health, e.HealthObject, e.Changes = r.health, r.healthObject, r.changes
		}
		if r.applied {
			e.Hash = r.hash
			e.Drift = append(e.Drift, r.drift...)
			if r.current {
				e.AppliedRevision = rev.ID
				if r.checked {
					e.LastApplyTime = &now
				}
			}
		}
		if r.template != "" {
			s.Template, s.Source = r.template, r.source
		}
		// The next environment's soak counts from when this one became
		// Ready with what it runs.
		switch {
		case o.Phase != PhaseReady:
			e.ReadySince = nil
		case before.LastReconcile == nil && before.ReadySince != nil && before.Hash == e.Hash:
			// The first reconcile since a restart finds the render the
			// pair's history says became Ready then: the time stands.
		case before.Phase != PhaseReady || before.Hash != e.Hash || e.ReadySince == nil:
			e.ReadySince = &now
		}
		changed = before.Phase != e.Phase || before.Hash != e.Hash || before.AppliedRevision != e.AppliedRevision
	})
	d.notify(p, r, o.Phase, now)
	if r.reason == ReasonHealthCheckFailed && heldAt == "" && p.newest.cat.Config.Rollback == catalog.RollbackAuto {
		d.autoRollback(ctx, p, r)
	}

	// The next environment's gate may have opened (or halted).
	if nextEnv, ok := next(p.newest.cat.Config, k.Environment); ok {
		if changed {
			d.wake(pairKey{k.Service, nextEnv})
		}
	}
	// So may the next wave of its template's rollout here.
	if changed {
		d.advanceWave(ctx, k, p.newest)
	}

	// Metrics.
	for stage, took := range r.stages {
		d.Metrics.ReconcileDuration.WithLabelValues(stage).Observe(took.Seconds())
	}
	for _, pol := range r.denied {
		d.Metrics.PolicyViolations.WithLabelValues(pol).Inc()
	}
	for action, n := range r.changes {
		d.Metrics.ApplyObjects.WithLabelValues(action).Add(float64(n))
	}
	if r.driftCorrected > 0 {
		d.Metrics.DriftCorrections.WithLabelValues(p.team, p.name, k.Environment).Add(float64(r.driftCorrected))
	}

	// Events, on the service's inventory in its cluster.
	ev := func(reason Reason, msg string) {
		d.events.emit(p.env.Cluster, p.team, p.name, k.Environment, outcomeOf(reason).EventType, reason, msg)
	}
	if o.EventType == corev1.EventTypeWarning || (o.EventType != "" && r.wrote) {
		msg := r.message
		if msg == "" {
			msg = strings.Join(r.errors, "; ")
		}
		ev(r.reason, msg)
	}
	if len(r.drift) > 0 {
		ev(ReasonDrift, r.drift[0].Message)
	}
	for _, obj := range r.pruned {
		ev(ReasonPruned, "deleted "+obj)
	}

	// DORA.
	_, hasNext := next(p.newest.cat.Config, k.Environment)
	d.recordDORA(p.log, k, p.team, p.name, rev, r.reason, r.deployed, !hasNext)

	// Logs.
	log := p.log.WithValues("reason", string(r.reason), "phase", string(o.Phase))
	for _, dr := range r.drift {
		log.Info("drift", "object", dr.Object, "field", dr.Field, "manager", dr.Manager, "corrected", dr.Corrected)
	}
	retry := o.Retry
	if r.reason == ReasonProgressing && !d.opts.Apply.Wait {
		// Health is not measured (--wait-timeout 0): applied without an
		// error is as far as pave can see, and a retry would only apply
		// the same objects again.
		retry = false
	}
	switch {
	case retry && r.err != nil:
		log.Error(r.err, "reconcile failed; will retry")
	case retry && len(r.errors) > 0:
		log.Info("reconcile failed; will retry", "errors", r.errors)
	case o.EventType == corev1.EventTypeWarning:
		log.Info("reconcile stopped", "errors", r.errors, "health", r.health)
	default:
		log.Info("reconciled", "changes", summarize(r.changes), "health", r.health)
	}
	return retry
}
