package reconciler

import (
	"context"
	"slices"
)

// SetShard records which shard this replica is, for the status API.
func (d *Daemon) SetShard(identity string) {
	d.Status.updateSource(func(s *SourceStatus) { s.Shard = identity })
}

// owned keeps the pairs of the services this replica owns
// (Options.Owner; all of them when not sharded).
func (d *Daemon) owned(keys []pairKey) []pairKey {
	if d.opts.Owner == nil {
		return keys
	}
	return slices.DeleteFunc(keys, func(k pairKey) bool { return !d.opts.Owner.Owns(k.Service) })
}

// reshard takes on a new share of the services (Options.Owner's
// Changes): what the services gained run, their holds and suspensions are
// read again from the clusters, the newest revision's template rollouts
// are planned again over the share, and every owned pair is queued.
func (d *Daemon) reshard(ctx context.Context) {
	d.restoreStatus(ctx)
	d.mu.RLock()
	snap := d.snap
	d.mu.RUnlock()
	if snap != nil {
		next := *snap
		next.waves = d.planRollouts(ctx, d.log, &next, nil)
		d.mu.Lock()
		if d.snap == snap {
			d.snap = &next
		}
		d.mu.Unlock()
	}
	d.enqueueAll(ctx, false)
}
