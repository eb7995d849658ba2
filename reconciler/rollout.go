package reconciler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/source"
)

// Template waves. A change that reaches services through something they
// share — their template (or a library chart it uses), pave.yaml, the
// policies — rolls out over each template's services in waves, in every
// environment on its own: a service of wave w+1 receives the newest
// revision there only once every service of waves 1…w runs it Ready and
// has stayed Ready for the rollout's soak. Until then it keeps running
// the revision it runs. A service of an earlier wave that fails (Failed,
// denied by policy, a render error, or rolled back) halts the waves after
// it; a later commit that fixes it lets them go on.
//
// The plan is derived, not stored: when a revision is accepted, every
// pair's running revision is diffed against it, and a pair whose
// revision differs from the newest by such a shared change has not been
// reached yet. A template with a pair not reached has a rollout; its
// members are all of the template's services, those that changed
// themselves in the commit first, the others in the order
// catalog.Rollout.Plan fixes from their ids alone — the same canaries
// from one change to the next. A service already reached counts as
// through wherever it stands. Derived this way, the plan survives a
// restart (the running revisions come from the clusters' inventories),
// takes in a commit made while pave was down, and a newer template
// change continues where the last one stands.

// rolloutPlan is one template's rollout at the newest revision.
type rolloutPlan struct {
	template string
	rollout  catalog.Rollout
	waves    [][]string
	wave     map[string]int // service → wave index

	mu sync.Mutex
	// done records, per environment and wave, whether the wave was
	// complete (or halted) at the last look, to wake the next one once.
	done map[string][]bool
}

// rollouts are the template rollouts of one revision.
type rollouts struct {
	rev        string
	byTemplate map[string]*rolloutPlan
	byService  map[string]*rolloutPlan

	mu sync.Mutex
	// shared caches, per running revision, the services a shared change
	// separates from the newest revision (nil: the revision could not be
	// compared, every service counts as reached).
	shared map[string]map[string]bool
}

// rolloutOf returns the rollout a service belongs to at the newest
// revision, or nil.
func (d *Daemon) rolloutOf(service string) *rolloutPlan {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.snap == nil || d.snap.waves == nil {
		return nil
	}
	return d.snap.waves.byService[service]
}

// planRollouts works out the template rollouts of a newly accepted
// revision, before it is swapped in. own lists the services the commit
// changed themselves: they join the first wave.
func (d *Daemon) planRollouts(ctx context.Context, log logr.Logger, newest *snapshot, own []string) *rollouts {
	ro := &rollouts{rev: newest.rev.ID, byTemplate: map[string]*rolloutPlan{}, byService: map[string]*rolloutPlan{},
		shared: map[string]map[string]bool{}}
	first := map[string]bool{}
	for _, id := range own {
		first[id] = true
	}
	pending := map[string]bool{} // templates with a pair not reached
	for _, svc := range newest.cat.Services {
		st, ok := d.Status.Service(svc.ID())
		if !ok {
			continue
		}
		for _, e := range st.Environments {
			if !d.reached(ctx, log, ro, newest, svc.ID(), e) {
				pending[svc.TemplateName()] = true
				break
			}
		}
	}
	for tmpl := range pending {
		var members, lead []string
		for _, svc := range newest.cat.Services {
			if svc.TemplateName() != tmpl || len(d.owned([]pairKey{{Service: svc.ID()}})) == 0 {
				continue // another template's, or another shard's: each shard rolls out its share
			}
			members = append(members, svc.ID())
			if first[svc.ID()] {
				lead = append(lead, svc.ID())
			}
		}
		r := newest.cat.Config.RolloutFor(tmpl)
		waves := r.Plan(members, lead)
		if len(waves) < 2 {
			continue // one wave: nothing to hold back
		}
		p := &rolloutPlan{template: tmpl, rollout: r, waves: waves, wave: map[string]int{}, done: map[string][]bool{}}
		for i, w := range waves {
			for _, id := range w {
				p.wave[id] = i
				ro.byService[id] = p
			}
		}
		ro.byTemplate[tmpl] = p
		sizes := make([]int, len(waves))
		for i, w := range waves {
			sizes[i] = len(w)
		}
		log.Info("template rollout", "template", tmpl, "services", len(members), "waves", sizes, "plan", r.String())
	}
	return ro
}

// reached reports whether a pair already runs what the newest revision
// changed for every service of its template: it runs the newest revision,
// runs nothing yet, or runs a revision that differs from the newest only
// in its own files.
func (d *Daemon) reached(ctx context.Context, log logr.Logger, ro *rollouts, newest *snapshot, id string, e *EnvironmentStatus) bool {
	rev := e.AppliedRevision
	if e.HeldAt != "" {
		rev = e.HeldAt
	}
	if rev == "" || rev == newest.rev.ID {
		return true
	}
	ro.mu.Lock()
	shared, known := ro.shared[rev]
	ro.mu.Unlock()
	if !known {
		shared = d.sharedSince(ctx, log, rev, newest)
		ro.mu.Lock()
		ro.shared[rev] = shared
		ro.mu.Unlock()
	}
	return !shared[id]
}

// sharedSince lists the services a shared change separates between an
// older revision and the newest; nil when the two cannot be compared.
func (d *Daemon) sharedSince(ctx context.Context, log logr.Logger, rev string, newest *snapshot) map[string]bool {
	old, err := d.snapshotOf(ctx, rev)
	if err != nil {
		log.Info("cannot compare a running revision with the newest: its services are not held back in waves", "running", shortRev(rev), "error", err.Error())
		return nil
	}
	changed, err := source.ChangedPaths(old.rev, newest.rev)
	if err != nil {
		log.Info("cannot diff a running revision with the newest: its services are not held back in waves", "running", shortRev(rev), "error", err.Error())
		return nil
	}
	out := map[string]bool{}
	for _, id := range catalog.Affected(changed, old.cat, newest.cat).Shared {
		out[id] = true
	}
	return out
}

// through reports whether a pair of an earlier wave lets the next wave
// go: it runs what the newest revision changed, and is Ready (applied,
// when health is not measured). since is when it became so.
func (d *Daemon) through(ctx context.Context, ro *rollouts, newest *snapshot, id string, e *EnvironmentStatus) (bool, *time.Time) {
	if e == nil || e.HeldAt != "" || e.Suspended {
		return false, nil
	}
	ready, since := e.Phase == PhaseReady && e.ReadySince != nil, e.ReadySince
	if !d.opts.Apply.Wait && e.Phase == PhaseProgressing && e.LastApplyTime != nil {
		ready, since = true, e.LastApplyTime
	}
	if !ready || e.AppliedRevision == "" || !d.reached(ctx, d.log, ro, newest, id, e) {
		return false, nil
	}
	return true, since
}

// waveGate checks the wave gate of a pair: "" when its wave may go, else
// why not and, while soaking, when to look again.
func (d *Daemon) waveGate(ctx context.Context, k pairKey, newest *snapshot) (string, time.Duration) {
	ro := newest.waves
	if ro == nil {
		return "", 0
	}
	p := ro.byService[k.Service]
	if p == nil {
		return "", 0
	}
	w := p.wave[k.Service]
	var last time.Time
	for i := range w {
		ready := 0
		for _, id := range p.waves[i] {
			e := d.env(pairKey{id, k.Environment})
			if e != nil {
				switch {
				case e.HeldAt != "":
					return fmt.Sprintf("halted: wave %d of template %s: %s held at %s by a rollback", i+1, p.template, id, shortRev(e.HeldAt)), 0
				case halts(e.Phase):
					return fmt.Sprintf("halted: wave %d of template %s: %s %s: %s", i+1, p.template, id, e.Phase, cause(e)), 0
				}
			}
			ok, since := d.through(ctx, ro, newest, id, e)
			if !ok {
				continue
			}
			ready++
			if since.After(last) {
				last = *since
			}
		}
		if ready < len(p.waves[i]) {
			// The wave just before the pair's: it is woken when that one
			// is complete, so the words stay true until then.
			return fmt.Sprintf("waiting for wave %d of template %s to be Ready", w, p.template), 0
		}
	}
	if soak := time.Duration(p.rollout.Soak); w > 0 && soak > 0 {
		if left := last.Add(soak).Sub(d.clock.Now()); left > 0 {
			return fmt.Sprintf("wave %d of template %s soaking, %s left", w, p.template, roundUp(left)), left
		}
	}
	return "", 0
}

// waveState is where a wave of a rollout stands in an environment: every
// member through, or one halting it.
func (d *Daemon) waveState(ctx context.Context, ro *rollouts, p *rolloutPlan, newest *snapshot, w int, env string) (complete, halted bool) {
	complete = true
	for _, id := range p.waves[w] {
		e := d.env(pairKey{id, env})
		if e != nil && (e.HeldAt != "" || halts(e.Phase)) {
			return false, true
		}
		if ok, _ := d.through(ctx, ro, newest, id, e); !ok {
			complete = false
		}
	}
	return complete, false
}

// advanceWave wakes the next wave of a pair's rollout in its environment
// when the pair's wave just became complete or halted, so that the next
// wave starts (or its gates say why it does not).
func (d *Daemon) advanceWave(ctx context.Context, k pairKey, newest *snapshot) {
	ro := newest.waves
	if ro == nil {
		return
	}
	p := ro.byService[k.Service]
	if p == nil {
		return
	}
	w := p.wave[k.Service]
	if w+1 >= len(p.waves) {
		return
	}
	complete, halted := d.waveState(ctx, ro, p, newest, w, k.Environment)
	settled := complete || halted
	p.mu.Lock()
	done := p.done[k.Environment]
	if done == nil {
		done = make([]bool, len(p.waves))
		p.done[k.Environment] = done
	}
	changed := done[w] != settled
	done[w] = settled
	p.mu.Unlock()
	if !changed {
		return
	}
	if halted {
		e := d.env(k)
		why := "a service of it failed"
		if e != nil {
			why = fmt.Sprintf("%s %s: %s", k.Service, e.Phase, cause(e))
		}
		d.notifyHaltedWave(p, w, k.Environment, newest.rev.ID, why)
	}
	// Complete: the next wave may start (a soak ends by the clock: its
	// gates ask to be looked at again then). Halted: every later wave
	// says so.
	later := p.waves[w+1]
	if halted {
		later = slices.Concat(p.waves[w+1:]...)
	}
	for _, id := range later {
		d.wake(pairKey{id, k.Environment})
	}
}

// waveOf describes a service's place in its rollout ("2 of 3 (template
// worker)"), "" when it is in none.
func (d *Daemon) waveOf(service string) string {
	p := d.rolloutOf(service)
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%d of %d (template %s)", p.wave[service]+1, len(p.waves), p.template)
}

// templateMembers lists the services of a template's rollout.
func (d *Daemon) templateMembers(template string) ([]string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.snap == nil || d.snap.waves == nil {
		return nil, false
	}
	p, ok := d.snap.waves.byTemplate[template]
	if !ok {
		return nil, false
	}
	var ids []string
	for _, w := range p.waves {
		ids = append(ids, w...)
	}
	return slices.Clone(ids), true
}

// openWaves lists the pairs of each rollout's first wave that is not
// complete in each environment, not yet reached: the ones that may go
// now (their gates decide).
func (d *Daemon) openWaves(ctx context.Context, newest *snapshot) []pairKey {
	ro := newest.waves
	if ro == nil {
		return nil
	}
	var keys []pairKey
	for _, tmpl := range slices.Sorted(maps.Keys(ro.byTemplate)) {
		p := ro.byTemplate[tmpl]
		for _, env := range newest.cat.Config.EnvironmentNames() {
			for w := range p.waves {
				if complete, _ := d.waveState(ctx, ro, p, newest, w, env); complete {
					continue
				}
				for _, id := range p.waves[w] {
					if e := d.env(pairKey{id, env}); e == nil || !d.reached(ctx, d.log, ro, newest, id, e) {
						keys = append(keys, pairKey{id, env})
					}
				}
				break
			}
		}
	}
	return keys
}

// RolloutStatus is a template rollout in progress, as the status API
// reports it.
type RolloutStatus struct {
	Template string `json:"template"`
	// Revision is the newest revision, the one rolling out.
	Revision string `json:"revision"`
	// Rollout is the template's rollout as pave.yaml writes it.
	Rollout string       `json:"rollout"`
	Waves   []WaveStatus `json:"waves"`
}

// WaveStatus is one wave of a rollout: its services and, per environment,
// how far it got.
type WaveStatus struct {
	Services     []string                   `json:"services"`
	Environments map[string]WaveEnvironment `json:"environments"`
}

// WaveEnvironment is a wave in one environment.
type WaveEnvironment struct {
	// State is done (every service runs the change Ready), halted (one
	// failed or was rolled back) or pending.
	State string `json:"state"`
	// Done counts the services that run the change Ready.
	Done int `json:"done"`
}

// Rollouts lists the template rollouts of the newest revision, by
// template.
func (d *Daemon) Rollouts(ctx context.Context) []RolloutStatus {
	d.mu.RLock()
	newest := d.snap
	d.mu.RUnlock()
	if newest == nil || newest.waves == nil {
		return []RolloutStatus{}
	}
	ro := newest.waves
	out := []RolloutStatus{}
	for _, tmpl := range slices.Sorted(maps.Keys(ro.byTemplate)) {
		p := ro.byTemplate[tmpl]
		rs := RolloutStatus{Template: tmpl, Revision: ro.rev, Rollout: p.rollout.String()}
		for w, ids := range p.waves {
			ws := WaveStatus{Services: slices.Clone(ids), Environments: map[string]WaveEnvironment{}}
			for _, env := range newest.cat.Config.EnvironmentNames() {
				we := WaveEnvironment{State: "pending"}
				for _, id := range ids {
					if ok, _ := d.through(ctx, ro, newest, id, d.env(pairKey{id, env})); ok {
						we.Done++
					}
				}
				switch complete, halted := d.waveState(ctx, ro, p, newest, w, env); {
				case halted:
					we.State = "halted"
				case complete:
					we.State = "done"
				}
				ws.Environments[env] = we
			}
			rs.Waves = append(rs.Waves, ws)
		}
		out = append(out, rs)
	}
	return out
}
