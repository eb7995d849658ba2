package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/source"
)

// Promotion. pave.yaml lists the environments in delivery order. The
// first receives every revision of a service as soon as it is fetched;
// each environment after it receives a revision R of a service only when
// the environment before it runs R (its applied revision is R, or what it
// applied renders the same as R does for it) and is Ready, has stayed
// Ready for the environment's promotion.soak and, with approval manual,
// R was approved (pave promote). Until then the pair keeps running the
// revision it runs (its inventory's): the daemon keeps the snapshot of
// every revision a pair still runs, and renders the pair from it, so
// drift is still corrected while the newer revision waits.
//
// A pair's "allowed" revision is therefore no separate state: it is the
// revision the pair applied last (the status' AppliedRevision, restored
// from the inventory on start), or the newest when its gate is open.

// gateDecision is what a pair may run in this reconcile.
type gateDecision struct {
	// snap is the revision to render and apply; nil: nothing to run (the
	// pair waits without ever having run a revision, or its revision
	// cannot be loaded).
	snap *snapshot
	// pending is the newest revision when the pair waits for it.
	pending string
	// gate says why the pair does not run the newest revision.
	gate string
	// requeueAfter re-checks the gate when a soak ends.
	requeueAfter time.Duration
}

// environmentIndex is the position of an environment in delivery order.
func environmentIndex(cfg *catalog.Config, env string) int {
	return slices.IndexFunc(cfg.Environments, func(e catalog.Environment) bool { return e.Name == env })
}

// decide picks the snapshot a pair runs in this reconcile.
func (d *Daemon) decide(ctx context.Context, k pairKey, newest *snapshot, st *EnvironmentStatus) gateDecision {
	flags := d.flags(k)
	if flags.heldAt != "" {
		dec := gateDecision{gate: fmt.Sprintf("held at %s by a rollback (pave resume to release)", shortRev(flags.heldAt))}
		if flags.heldAt != newest.rev.ID {
			dec.pending = newest.rev.ID
		}
		snap, err := d.snapshotOf(ctx, flags.heldAt)
		if err != nil {
			dec.gate += fmt.Sprintf("; cannot load it: %v", err)
			return dec
		}
		dec.snap = snap
		return dec
	}
	cfg := newest.cat.Config
	i := environmentIndex(cfg, k.Environment)
	if i < 0 || (i == 0 && d.rolloutOf(k.Service) == nil) {
		return gateDecision{snap: newest}
	}
	// A service that left the catalog (or is invalid) is not promoted: it
	// is pruned, or stays as it is, in every environment at once.
	svc, ok := newest.cat.Service(k.Service)
	if !ok {
		return gateDecision{snap: newest}
	}
	running := ""
	var hash string
	if st != nil {
		running, hash = st.AppliedRevision, st.Hash
	}
	if running == newest.rev.ID {
		return gateDecision{snap: newest}
	}
	// Nothing this environment would apply changes: nothing to promote.
	if hash != "" {
		if h, err := newest.rnd.Hash(svc, k.Environment); err == nil && h == hash {
			return gateDecision{snap: newest}
		}
	}
	// The environment before, then the waves of a template rollout here,
	// then a manual approval: the first gate that is closed says why.
	var gate string
	var after time.Duration
	if i > 0 {
		gate, after = d.gate(ctx, k, newest, svc, cfg.Environments[i-1].Name, cfg.Environments[i].Promotion)
	}
	if gate == "" {
		gate, after = d.waveGate(ctx, k, newest)
	}
	if gate == "" && i > 0 && cfg.Environments[i].Promotion.Approval == catalog.ApprovalManual && !d.approved(k, newest) {
		team, name := teamName(k.Service)
		gate = fmt.Sprintf("awaiting approval (pave promote %s/%s --env %s)", team, name, k.Environment)
	}
	if gate == "" {
		return gateDecision{snap: newest}
	}
	dec := gateDecision{pending: newest.rev.ID, gate: gate, requeueAfter: after}
	if running == "" {
		return dec // never deployed here: nothing to run until the gate opens
	}
	snap, err := d.snapshotOf(ctx, running)
	if err != nil {
		d.log.V(1).Info("cannot load the revision a gated pair runs; leaving it as it is", "service", k.Service, "environment", k.Environment, "revision", shortRev(running), "error", err.Error())
		return dec
	}
	dec.snap = snap
	return dec
}

// gate checks the promotion gate of a service's pair for the newest
// revision against the environment before it (prev): it runs the
// revision Ready and has soaked (approval is decide's, after the waves).
// It returns "" when open, else why not, and, while soaking, when to
// check again.
func (d *Daemon) gate(_ context.Context, k pairKey, newest *snapshot, svc *catalog.Service, prev string, promo catalog.Promotion) (string, time.Duration) {
	svcStatus, _ := d.Status.Service(k.Service)
	var ps *EnvironmentStatus
	if svcStatus.Environments != nil {
		ps = svcStatus.Environments[prev]
	}
	if ps == nil {
		return waitingFor(prev), 0
	}
	runs := ps.AppliedRevision == newest.rev.ID
	if !runs && ps.Hash != "" {
		if h, err := newest.rnd.Hash(svc, prev); err == nil && h == ps.Hash {
			runs = true
		}
	}
	desired := ps.DesiredRevision == newest.rev.ID
	ready, since := ps.Phase == PhaseReady && ps.ReadySince != nil, ps.ReadySince
	if !d.opts.Apply.Wait && ps.Phase == PhaseProgressing && ps.LastApplyTime != nil {
		// Health is not measured (--wait-timeout 0): applied without an
		// error is as far as pave can see; the soak counts from the apply.
		ready, since = true, ps.LastApplyTime
	}
	switch {
	case !runs && ps.HeldAt != "":
		return fmt.Sprintf("halted: %s held at %s by a rollback", prev, shortRev(ps.HeldAt)), 0
	case (runs || desired) && halts(ps.Phase):
		return fmt.Sprintf("halted: %s %s: %s", prev, ps.Phase, cause(ps)), 0
	case !runs || !ready:
		return waitingFor(prev), 0
	}
	if soak := time.Duration(promo.Soak); soak > 0 {
		if left := since.Add(soak).Sub(d.clock.Now()); left > 0 {
			return fmt.Sprintf("soaking, %s left", roundUp(left)), left
		}
	}
	return "", 0
}

// waitingFor is the gate of a pair whose environment before (prev) does
// not run its revision Ready yet.
func waitingFor(prev string) string { return fmt.Sprintf("waiting for %s to be Ready", prev) }

// halts reports whether a phase of the environment before stops a
// revision from going further.
func halts(p Phase) bool {
	return p == PhaseFailed || p == PhasePolicyDenied || p == PhaseRenderError
}

// cause is the object and reason of a failure, for a halted gate.
func cause(e *EnvironmentStatus) string {
	switch {
	case e.HealthObject != "" && e.Health != "":
		return e.HealthObject + ": " + e.Health
	case len(e.Errors) > 0:
		return strings.Join(e.Errors, "; ")
	case e.Health != "":
		return e.Health
	}
	return "no cause reported"
}

// roundUp writes a remaining time as a user reads it, rounded up: "6m",
// "1h30m", "45s".
func roundUp(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
	}
	m := int((d + time.Minute - 1) / time.Minute)
	switch {
	case m < 60:
		return fmt.Sprintf("%dm", m)
	case m%60 == 0:
		return fmt.Sprintf("%dh", m/60)
	}
	return fmt.Sprintf("%dh%dm", m/60, m%60)
}

func shortRev(id string) string { return (&source.Revision{ID: id}).Short() }

// errOnlyCurrent: a folder source has no history.
var errOnlyCurrent = errors.New("the source keeps only its current revision")

// keptSnapshot returns the snapshot of a revision kept in memory: the
// newest, or one some pair runs.
func (d *Daemon) keptSnapshot(id string) (*snapshot, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if snap, ok := d.snaps[id]; ok {
		return snap, true
	}
	if d.snap != nil && d.snap.rev.ID == id {
		return d.snap, true
	}
	return nil, false
}

// revisionReader is a source that can read an older revision (git).
type revisionReader interface {
	At(ctx context.Context, id string) (*source.Revision, error)
}

// snapshotOf returns the snapshot of a revision: kept in memory while some
// pair runs it, else read again from the source.
func (d *Daemon) snapshotOf(ctx context.Context, id string) (*snapshot, error) {
	if snap, ok := d.keptSnapshot(id); ok {
		return snap, nil
	}
	rr, ok := d.src.(revisionReader)
	if !ok {
		return nil, errOnlyCurrent
	}
	rev, err := rr.At(ctx, id)
	if err != nil {
		return nil, err
	}
	snap, err := d.load(rev, catalog.LoadOptions{}, nil)
	if err != nil {
		return nil, fmt.Errorf("load revision %s: %w", rev.Short(), err)
	}
	d.mu.Lock()
	d.snaps[id] = snap
	d.mu.Unlock()
	return snap, nil
}

// load builds a snapshot of a revision. With opts.Previous (prev's
// catalog), the services no changed path touches are kept from it, and so
// are prev's compiled policies when neither policies/ nor pave.yaml
// changed; when only policies/ did and its rules are the same, the new
// engine keeps the results prev's remembers.
func (d *Daemon) load(rev *source.Revision, opts catalog.LoadOptions, prev *snapshot) (*snapshot, error) {
	cat, err := catalog.LoadWith(rev.FS, opts)
	if err != nil {
		return nil, err
	}
	var engine *policy.Engine
	if prev != nil && opts.Previous != nil && !slices.ContainsFunc(opts.Changed, func(p string) bool {
		return strings.HasPrefix(p, catalog.PoliciesDir+"/")
	}) && sameForPolicies(prev.cat.Config, cat.Config) {
		engine = prev.engine
	} else if engine, err = policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config}); err != nil {
		return nil, err
	} else if prev != nil && sameForPolicies(prev.cat.Config, cat.Config) && engine.ShareResults(prev.engine) {
		// policies/ changed, but not what they decide (a comment, lines
		// moved): the results remembered stay good.
		d.log.V(1).Info("policies compiled again with the same rules: results kept", "revision", rev.Short())
	}
	rnd := render.New(cat, render.Options{Revision: rev.ID, Cache: d.cache})
	return &snapshot{rev: rev, cat: cat, engine: engine, rnd: rnd, pipe: pipeline.New(cat, rnd, engine)}, nil
}

// sameForPolicies reports whether two pave.yaml give policies the same
// engine: the same policies settings and the same data.pave. A pave.yaml
// commit that changes neither (a comment, a team's owners, notifications)
// keeps the compiled policies, and the results they remember.
func sameForPolicies(a, b *catalog.Config) bool {
	key := func(c *catalog.Config) string {
		data, err := json.Marshal([]any{c.Policies, policy.Data(c)})
		if err != nil {
			return "" // never equal to a marshalled key: compile again
		}
		return string(data)
	}
	ka := key(a)
	return ka != "" && ka == key(b)
}

// retainSnapshots keeps the snapshots of the revisions some pair runs or
// is held at, and drops the others.
func (d *Daemon) retainSnapshots() {
	keep := map[string]bool{}
	for _, svc := range d.Status.Services() {
		for _, e := range svc.Environments {
			keep[e.AppliedRevision] = true
			keep[e.HeldAt] = true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.snap != nil {
		d.snaps[d.snap.rev.ID] = d.snap
	}
	for id := range d.snaps {
		if !keep[id] && (d.snap == nil || id != d.snap.rev.ID) {
			delete(d.snaps, id)
		}
	}
}

// next returns the environment after env in delivery order, if any.
func next(cfg *catalog.Config, env string) (string, bool) {
	i := environmentIndex(cfg, env)
	if i < 0 || i+1 >= len(cfg.Environments) {
		return "", false
	}
	return cfg.Environments[i+1].Name, true
}

// wake re-checks a pair's gate after the environment before it changed:
// at once when idle; after its reconcile when one is running (it may have
// read the old status); when the reconcile it was put off for ends, if
// put off (deferBehind); not at all when it waits for a retry, which
// re-checks the gate and keeps its backoff.
func (d *Daemon) wake(k pairKey) {
	d.mu.Lock()
	if d.deferred[k] {
		// Put off until the reconcile in flight before it ends, which
		// queues it then.
		d.mu.Unlock()
		return
	}
	if d.inflight[k] {
		d.recheck[k] = true
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	if d.queue.NumRequeues(k) == 0 {
		d.lanes.ahead(k) // the promotion goes on ahead of the round
		d.queue.Add(k)
	}
}
