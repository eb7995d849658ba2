package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/reconciler/apply"
)

// pairFlags is the operator's state of a pair, kept in memory as a copy of
// what is stored in the pair's cluster.
type pairFlags struct {
	suspended bool
	heldAt    string
	// approved lists the revisions pave promote approved for the pair;
	// approvedHashes what they render for it, so that a later commit that
	// changes nothing here keeps the approval.
	approved       []string
	approvedHashes []string
}

// flags returns a copy of a pair's operator state.
func (d *Daemon) flags(k pairKey) pairFlags {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if f, ok := d.pairs[k]; ok {
		return *f
	}
	return pairFlags{}
}

// approved reports whether the newest revision was approved for a pair.
func (d *Daemon) approved(k pairKey, newest *snapshot) bool {
	f := d.flags(k)
	if slices.Contains(f.approved, newest.rev.ID) {
		return true
	}
	if len(f.approvedHashes) == 0 {
		return false
	}
	svc, ok := newest.cat.Service(k.Service)
	if !ok {
		return false
	}
	h, err := newest.rnd.Hash(svc, k.Environment)
	return err == nil && slices.Contains(f.approvedHashes, h)
}

// pairsOf lists a service's pairs in env ("" = every environment), or
// ErrNotFound.
func (d *Daemon) pairsOf(service, env string) ([]pairKey, *snapshot, error) {
	d.mu.RLock()
	snap := d.snap
	d.mu.RUnlock()
	if snap == nil {
		return nil, nil, fmt.Errorf("no revision loaded yet: %w", ErrNotFound)
	}
	_, known := snap.cat.Service(service)
	if _, st := d.Status.Service(service); !known && !st {
		return nil, nil, fmt.Errorf("service %s: %w", service, ErrNotFound)
	}
	var keys []pairKey
	for _, e := range snap.cat.Config.EnvironmentNames() {
		if env == "" || env == e {
			keys = append(keys, pairKey{service, e})
		}
	}
	if len(keys) == 0 {
		return nil, nil, fmt.Errorf("environment %s: %w", env, ErrNotFound)
	}
	return keys, snap, nil
}

// release lifts the rollback holds of the pairs a new revision changes.
func (d *Daemon) release(ctx context.Context, log logr.Logger, keys []pairKey) {
	for _, k := range keys {
		if d.flags(k).heldAt == "" {
			continue
		}
		if err := d.setFlags(ctx, k, func(f *pairFlags) { f.heldAt = "" }); err != nil {
			log.Error(err, "releasing a rollback hold", "service", k.Service, "environment", k.Environment)
			continue
		}
		log.Info("a new commit changes the service: rollback hold released", "service", k.Service, "environment", k.Environment)
	}
}

// setFlags changes a pair's operator state: in its cluster first, so that
// it survives a restart and a leader change, then in memory.
func (d *Daemon) setFlags(ctx context.Context, k pairKey, fn func(*pairFlags)) error {
	a, err := d.applierOf(k.Environment)
	if err != nil {
		return err
	}
	st, err := a.UpdateState(ctx, apply.Pair{Service: k.Service, Environment: k.Environment}, func(s *apply.PairState) error {
		f := pairFlags{suspended: s.Suspended, heldAt: s.HeldAt, approved: slices.Clone(s.Approved)}
		fn(&f)
		s.Suspended, s.HeldAt, s.Approved = f.suspended, f.heldAt, f.approved
		return nil
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	f, ok := d.pairs[k]
	if !ok {
		f = &pairFlags{}
		d.pairs[k] = f
	}
	fn(f) // the hashes, kept in memory only
	f.suspended, f.heldAt, f.approved = st.Suspended, st.HeldAt, slices.Clone(st.Approved)
	held, suspended := f.heldAt, f.suspended
	d.mu.Unlock()
	team, name := teamName(k.Service)
	d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) { e.HeldAt, e.Suspended = held, suspended })
	return nil
}

// applierOf is the applier of an environment's cluster.
func (d *Daemon) applierOf(env string) (*apply.Applier, error) {
	d.mu.RLock()
	snap := d.snap
	d.mu.RUnlock()
	if snap == nil {
		return nil, fmt.Errorf("no revision loaded yet: %w", ErrNotFound)
	}
	e, ok := snap.cat.Config.Environment(env)
	if !ok {
		return nil, fmt.Errorf("environment %s: %w", env, ErrNotFound)
	}
	a, ok := d.appliers[e.Cluster]
	if !ok {
		return nil, fmt.Errorf("no credentials for cluster %s of environment %s", e.Cluster, env)
	}
	return a, nil
}

// restoreFlags loads the operator's state of every pair a cluster keeps,
// the pairs' last deployments, and their DORA events, on start.
func (d *Daemon) restoreFlags(ctx context.Context, cluster string, a *apply.Applier) {
	states, err := a.StatesOf(ctx, d.keeps())
	if err != nil {
		d.log.Error(err, "reading pair states", "cluster", cluster)
	}
	for p, st := range states {
		k := pairKey{p.Service, p.Environment}
		d.mu.Lock()
		d.pairs[k] = &pairFlags{suspended: st.Suspended, heldAt: st.HeldAt, approved: slices.Clone(st.Approved)}
		d.seedDORA(k, st.History)
		var readySince *time.Time
		if len(st.History) > 0 {
			last := st.History[0]
			d.deployments[k] = &last
			if last.Result == apply.DeploymentReady && last.End != nil {
				// When the pair became Ready with what it runs: a soak of
				// the next environment goes on from there, not from the
				// restart (restoreStatus drops it if the inventory holds
				// another render).
				end := *last.End
				readySince = &end
			}
		}
		d.mu.Unlock()
		team, name := teamName(p.Service)
		d.Status.update(team, name, p.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) {
			e.Suspended, e.HeldAt, e.ReadySince = st.Suspended, st.HeldAt, readySince
		})
	}
}

// Rollback holds a service's pair in env at a previous revision (revision
// "" = the last healthy one before the running one) and applies it; the
// hold lasts until a commit that changes the service, or Resume.
func (d *Daemon) Rollback(ctx context.Context, service, env, revision string) error {
	if env == "" {
		return fmt.Errorf("rollback %s: an environment is required: %w", service, ErrNotFound)
	}
	keys, _, err := d.pairsOf(service, env)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	k := keys[0]
	a, err := d.applierOf(env)
	if err != nil {
		return fmt.Errorf("rollback %s in %s: %w", service, env, err)
	}
	if revision == "" {
		st, err := a.State(ctx, apply.Pair{Service: service, Environment: env})
		if err != nil {
			return fmt.Errorf("rollback %s in %s: %w", service, env, err)
		}
		running := ""
		if e := d.env(k); e != nil {
			running = e.AppliedRevision
		}
		last, ok := st.LastHealthy(running)
		if !ok {
			return fmt.Errorf("rollback %s in %s: no healthy revision before %s in its history: %w", service, env, shortRev(running), ErrConflict)
		}
		revision = last.Revision
	}
	if _, err := d.snapshotOf(ctx, revision); err != nil {
		return fmt.Errorf("rollback %s in %s to %s: %v: %w", service, env, shortRev(revision), err, ErrConflict)
	}
	if err := d.setFlags(ctx, k, func(f *pairFlags) { f.heldAt = revision }); err != nil {
		return fmt.Errorf("rollback %s in %s: %w", service, env, err)
	}
	d.log.Info("rolled back; held until a commit changes the service, or pave resume", "service", service, "environment", env, "revision", shortRev(revision))
	d.queue.Add(k)
	return nil
}

// History returns a pair's deployments, newest first, as kept in its
// cluster.
func (d *Daemon) History(ctx context.Context, service, env string) ([]apply.Deployment, error) {
	if env == "" {
		return nil, fmt.Errorf("history %s: an environment is required: %w", service, ErrNotFound)
	}
	if _, _, err := d.pairsOf(service, env); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	a, err := d.applierOf(env)
	if err != nil {
		return nil, fmt.Errorf("history %s in %s: %w", service, env, err)
	}
	st, err := a.State(ctx, apply.Pair{Service: service, Environment: env})
	if err != nil {
		return nil, fmt.Errorf("history %s in %s: %w", service, env, err)
	}
	return st.History, nil
}

// rollbackCause is the cause of a deployment that re-applies an earlier
// revision (pave rollback, or rollback: auto).
const rollbackCause = "rollback to an earlier healthy revision"

// recordDeployment keeps a pair's history: an apply of a new render starts
// a deployment (Progressing; an earlier one still in progress becomes
// Superseded), which ends Ready or Failed with its cause. The record keeps
// the revision's commit time, and an ended one goes to the pair's DORA log.
func (d *Daemon) recordDeployment(ctx context.Context, p *pairRun, r *result, phase Phase) {
	if !r.applied || !r.current {
		return
	}
	k := p.key
	now := d.clock.Now()
	d.mu.Lock()
	cur := d.deployments[k]
	var dep apply.Deployment
	switch {
	case cur == nil || cur.Hash != r.hash:
		dep = apply.Deployment{Revision: p.snap.rev.ID, Template: r.template, Hash: r.hash, Start: now, Result: apply.DeploymentProgressing}
		if held := d.pairs[k]; held != nil && held.heldAt == p.snap.rev.ID {
			dep.Cause = rollbackCause
		}
		if t := p.snap.rev.Time; !t.IsZero() {
			dep.Committed = &t
		}
	case cur.End == nil:
		dep = *cur
	default:
		d.mu.Unlock()
		return // already recorded as ended
	}
	switch phase {
	case PhaseReady:
		dep.Result, dep.End = apply.DeploymentReady, &now
	case PhaseFailed:
		dep.Result, dep.End, dep.Cause = apply.DeploymentFailed, &now, cause(&EnvironmentStatus{Health: r.health, HealthObject: r.healthObject, Errors: r.errors})
	}
	if cur != nil && cur.Hash == dep.Hash && cur.Result == dep.Result && cur.Start.Equal(dep.Start) {
		d.mu.Unlock()
		return // nothing new
	}
	d.deployments[k] = &dep
	d.logDORA(k, dep)
	d.mu.Unlock()
	_, err := p.applier.UpdateState(ctx, apply.Pair{Service: k.Service, Environment: k.Environment}, func(s *apply.PairState) error {
		s.Record(dep)
		return nil
	})
	if err != nil {
		p.log.Error(err, "recording the deployment in the pair's history")
	}
}

// Promote approves the newest revision of a service for an environment
// whose promotion asks for approval, and re-checks its gate.
func (d *Daemon) Promote(ctx context.Context, service, env string) error {
	if env == "" {
		return fmt.Errorf("promote %s: an environment is required: %w", service, ErrNotFound)
	}
	keys, snap, err := d.pairsOf(service, env)
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	k := keys[0]
	if environmentIndex(snap.cat.Config, env) == 0 {
		return fmt.Errorf("promote %s to %s: the first environment has no promotion gate: %w", service, env, ErrConflict)
	}
	svc, ok := snap.cat.Service(service)
	if !ok {
		return fmt.Errorf("promote %s: not in the catalog at %s: %w", service, snap.rev.Short(), ErrConflict)
	}
	hash, err := snap.rnd.Hash(svc, env)
	if err != nil {
		return fmt.Errorf("promote %s to %s: %v: %w", service, env, err, ErrConflict)
	}
	if st := d.env(k); st != nil && st.PendingRevision == "" && (st.AppliedRevision == snap.rev.ID || st.Hash == hash) {
		return fmt.Errorf("promote %s to %s: it already runs %s, nothing to promote: %w", service, env, snap.rev.Short(), ErrConflict)
	}
	err = d.setFlags(ctx, k, func(f *pairFlags) {
		if !slices.Contains(f.approved, snap.rev.ID) {
			f.approved = append(f.approved, snap.rev.ID)
		}
		if !slices.Contains(f.approvedHashes, hash) {
			f.approvedHashes = append(f.approvedHashes, hash)
		}
		f.approved = lastN(f.approved, maxApprovals)
		f.approvedHashes = lastN(f.approvedHashes, maxApprovals)
	})
	if err != nil {
		return fmt.Errorf("promote %s to %s: %w", service, env, err)
	}
	d.log.Info("promotion approved", "service", service, "environment", env, "revision", snap.rev.Short())
	d.queue.Add(k)
	return nil
}

// maxApprovals bounds the approvals kept per pair.
const maxApprovals = 10

func lastN(s []string, n int) []string {
	if len(s) > n {
		return slices.Clone(s[len(s)-n:])
	}
	return s
}

// PromoteTemplate approves, in an environment whose promotion asks for
// approval, the wave of a template's rollout that waits for it: every
// service of the rollout whose gate awaits approval there (the waves
// before are complete, the ones after still wait for this one).
func (d *Daemon) PromoteTemplate(ctx context.Context, template, env string) error {
	if env == "" {
		return fmt.Errorf("promote template %s: an environment is required: %w", template, ErrNotFound)
	}
	members, ok := d.templateMembers(template)
	if !ok {
		return fmt.Errorf("promote template %s: no rollout of it is in progress: %w", template, ErrConflict)
	}
	n := 0
	for _, id := range members {
		e := d.env(pairKey{id, env})
		if e == nil || !strings.HasPrefix(e.Gate, "awaiting approval") {
			continue
		}
		if err := d.Promote(ctx, id, env); err != nil {
			return fmt.Errorf("promote template %s: %w", template, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("promote template %s to %s: no service of its rollout awaits approval there: %w", template, env, ErrConflict)
	}
	d.log.Info("template wave approved", "template", template, "environment", env, "services", n)
	return nil
}

// Suspend stops reconciling a service in env ("" = every environment):
// no apply, no drift correction, until Resume.
func (d *Daemon) Suspend(ctx context.Context, service, env string) error {
	keys, _, err := d.pairsOf(service, env)
	if err != nil {
		return fmt.Errorf("suspend: %w", err)
	}
	for _, k := range keys {
		if err := d.setFlags(ctx, k, func(f *pairFlags) { f.suspended = true }); err != nil {
			return fmt.Errorf("suspend %s in %s: %w", service, k.Environment, err)
		}
		d.log.Info("suspended", "service", service, "environment", k.Environment)
	}
	return nil
}

// Resume undoes Suspend and lifts a rollback hold in env ("" = every
// environment), and checks the pairs for drift at once.
func (d *Daemon) Resume(ctx context.Context, service, env string) error {
	keys, _, err := d.pairsOf(service, env)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	for _, k := range keys {
		if err := d.setFlags(ctx, k, func(f *pairFlags) { f.suspended, f.heldAt = false, "" }); err != nil {
			return fmt.Errorf("resume %s in %s: %w", service, k.Environment, err)
		}
		d.mu.Lock()
		d.resync[k] = true
		d.mu.Unlock()
		d.log.Info("resumed", "service", service, "environment", k.Environment)
		d.queue.Add(k)
	}
	return nil
}

// autoRollback, with pave.yaml's rollback: auto, re-applies the last
// revision that was healthy in the environment when a new one ends
// Failed, holds the pair there until a commit changes the service, and
// says so in an event.
func (d *Daemon) autoRollback(ctx context.Context, p *pairRun, r *result) {
	k := p.key
	failure := cause(&EnvironmentStatus{Health: r.health, HealthObject: r.healthObject, Errors: r.errors})
	if err := d.Rollback(ctx, k.Service, k.Environment, ""); err != nil {
		p.log.Info("automatic rollback impossible", "error", err.Error())
		return
	}
	held := d.flags(k).heldAt
	msg := fmt.Sprintf("rolled back to %s (rollback: auto) after revision %s failed: %s", shortRev(held), p.snap.rev.Short(), failure)
	p.log.Info(msg)
	d.events.emit(p.env.Cluster, p.team, p.name, k.Environment, outcomeOf(ReasonRolledBack).EventType, ReasonRolledBack, msg)
	d.notifyRolledBack(p, msg)
}
