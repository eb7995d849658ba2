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

// keeps says which services' inventories and pair states this replica
// keeps in memory: its share's (nil, all of them, when not sharded). A
// shard's memory then grows with its share, not with the catalog.
func (d *Daemon) keeps() func(team, service string) bool {
	o := d.opts.Owner
	if o == nil {
		return nil
	}
	return func(team, service string) bool { return o.Owns(team + "/" + service) }
}

// noteShare records, with d.mu held, the share whose pairs (keys) were
// all queued: a new share queues only what it adds to this one
// (reshard).
func (d *Daemon) noteShare(keys []pairKey) {
	if d.opts.Owner == nil {
		return
	}
	d.share = make(map[string]bool, len(keys)/2)
	for _, k := range keys {
		d.share[k.Service] = true
	}
}

// reshard takes on a new share of the services (Options.Owner's
// Changes): what the services gained run, their holds and suspensions are
// read again from the clusters, the newest revision's template rollouts
// are planned again over the share, and the pairs that need it are
// queued: those of the services gained, and those a reconcile dropped for
// want of a claim (while the share was being handed over, or while this
// replica's Lease was not renewed in time), in environment order, in each
// environment first the dropped ones and those the newest revision
// changed while another replica owned them. The services kept run as
// they did; only while a template rolls out in waves, whose plan the new
// share changes, is every owned pair queued.
func (d *Daemon) reshard(ctx context.Context) {
	d.restoreStatus(ctx)
	d.mu.RLock()
	snap := d.snap
	d.mu.RUnlock()
	rolling := false
	if snap != nil {
		next := *snap
		next.waves = d.planRollouts(ctx, d.log, &next, nil)
		rolling = len(next.waves.byTemplate) > 0
		d.mu.Lock()
		if d.snap == snap {
			d.snap = &next
		}
		d.mu.Unlock()
	}
	d.mu.Lock()
	snap = d.snap
	if snap == nil {
		d.mu.Unlock()
		return
	}
	keys := d.allPairs(snap)
	var first, queue []pairKey
	gained := map[string]bool{}
	for _, k := range keys {
		if d.share != nil && !d.share[k.Service] {
			gained[k.Service] = true
		}
		switch {
		case d.unclaimed[k] || (gained[k.Service] && d.elsewhere[k]):
			first = append(first, k) // dropped, or changed by a commit meanwhile
		case rolling || d.share == nil || gained[k.Service]:
			queue = append(queue, k)
		}
	}
	d.noteShare(keys)
	for k := range d.unclaimed {
		if !d.share[k.Service] {
			delete(d.unclaimed, k) // another replica's now: its owner reconciles it
		}
	}
	services := len(d.share)
	d.mu.Unlock()
	d.log.Info("took on a share of the services", "services", services, "queued", len(first)+len(queue), "gained", len(gained), "rollout", rolling)
	// In environment order, the urgent ones first in each environment (a
	// later environment's pair handed out while its pair before is in
	// flight is put off until that reconcile ends).
	for _, k := range byEnvironment(snap.cat.Config, append(first, queue...)) {
		d.queue.Add(k)
	}
}
