package reconciler

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-logr/logr"
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
	res, err := newest.rnd.Render(svc, k.Environment)
	return err == nil && slices.Contains(f.approvedHashes, res.Hash)
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
// it survives a restart, then in memory.
func (d *Daemon) setFlags(ctx context.Context, k pairKey, fn func(*pairFlags)) error {
	if err := d.persistFlags(ctx, k, fn); err != nil {
		return err
	}
	d.mu.Lock()
	f, ok := d.pairs[k]
	if !ok {
		f = &pairFlags{}
		d.pairs[k] = f
	}
	fn(f)
	held := f.heldAt
	d.mu.Unlock()
	team, name := teamName(k.Service)
	d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) { e.HeldAt = held })
	return nil
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
	res, err := snap.rnd.Render(svc, env)
	if err != nil {
		return fmt.Errorf("promote %s to %s: %v: %w", service, env, err, ErrConflict)
	}
	if st := d.env(k); st != nil && st.PendingRevision == "" && (st.AppliedRevision == snap.rev.ID || st.Hash == res.Hash) {
		return fmt.Errorf("promote %s to %s: it already runs %s, nothing to promote: %w", service, env, snap.rev.Short(), ErrConflict)
	}
	err = d.setFlags(ctx, k, func(f *pairFlags) {
		if !slices.Contains(f.approved, snap.rev.ID) {
			f.approved = append(f.approved, snap.rev.ID)
		}
		if !slices.Contains(f.approvedHashes, res.Hash) {
			f.approvedHashes = append(f.approvedHashes, res.Hash)
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

// PromoteTemplate approves a wave of a template rollout: waves are not
// built.
func (d *Daemon) PromoteTemplate(context.Context, string, string) error {
	return fmt.Errorf("template waves: %w", ErrNotSupported)
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
		team, name := teamName(service)
		d.Status.update(team, name, k.Environment, func(_ *ServiceStatus, e *EnvironmentStatus) { e.Suspended = true })
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
