package reconciler

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// fixedOwner is a shard's share set by the test: the services it owns,
// and those of them it may claim now.
type fixedOwner struct {
	mu         sync.Mutex
	owns, free map[string]bool
	// lapse: the claims of these services lapse as soon as they are
	// granted (the Lease not renewed in time).
	lapse   map[string]bool
	changes chan struct{}
}

func (o *fixedOwner) Owns(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.owns[s]
}

func (o *fixedOwner) Claim(ctx context.Context, s string) (context.Context, func(), bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	claimed, cancel := context.WithCancel(ctx)
	if o.lapse[s] {
		cancel()
	}
	return claimed, cancel, o.owns[s] && o.free[s]
}

func (o *fixedOwner) Changes() <-chan struct{} { return o.changes }

func (o *fixedOwner) set(owns, free []string) {
	o.mu.Lock()
	o.owns, o.free = map[string]bool{}, map[string]bool{}
	for _, s := range owns {
		o.owns[s] = true
	}
	for _, s := range free {
		o.free[s] = true
	}
	o.mu.Unlock()
	o.changes <- struct{}{}
}

// TestOwnerShare: a shard applies the services it owns and may claim, and
// nothing else; its status shows its share only; a service it owns but
// may not claim yet (its former owner's claim has not lapsed) is left
// alone until the share changes; a service it gains is applied without
// the others being reconciled again; a service it no longer owns is not
// applied any more.
func TestOwnerShare(t *testing.T) {
	const mine, theirs, later = "shardy/mine", "shardy/theirs", "shardy/later"
	dir := catalogDir(t, []string{"shardy"}, map[string]string{
		mine:   webService("registry.example.com/shardy/mine:1.0.0"),
		theirs: webService("registry.example.com/shardy/theirs:1.0.0"),
		later:  webService("registry.example.com/shardy/later:1.0.0"),
	})
	owner := &fixedOwner{owns: map[string]bool{mine: true, later: true}, free: map[string]bool{mine: true}, changes: make(chan struct{}, 1)}
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Owner = owner })
	d.phase(time.Minute, PhaseReady, mine)
	for _, env := range []string{"staging", "prod"} {
		for _, id := range []string{theirs, later} {
			name := strings.TrimPrefix(id, "shardy/")
			if img := image(t, env, "shardy-"+env, name); !strings.Contains(img, "not found") {
				t.Errorf("%s: %s applied (%s) by a shard that may not claim it", env, id, img)
			}
		}
	}
	if _, ok := d.Status.Service(theirs); ok {
		t.Errorf("the status shows %s, another shard's", theirs)
	}
	for _, s := range d.Status.Services() {
		if s.Service == theirs {
			t.Errorf("the status lists %s, another shard's", theirs)
		}
	}

	// later's former owner let go: the share changed, later is applied.
	owner.set([]string{mine, later}, []string{mine, later})
	d.phase(time.Minute, PhaseReady, later)

	// theirs comes to this shard too (its owner died): it is applied,
	// and the services the shard kept are not reconciled again for it
	// (with thousands of them, that would hold up the takeover).
	reconciled := func(id string) map[string]time.Time {
		st, _ := d.Status.Service(id)
		out := map[string]time.Time{}
		for env, e := range st.Environments {
			if e.LastReconcile != nil {
				out[env] = *e.LastReconcile
			}
		}
		return out
	}
	kept := map[string]map[string]time.Time{mine: reconciled(mine), later: reconciled(later)}
	d.clock.Step(time.Minute) // a reconcile from here on shows a later time
	owner.set([]string{mine, later, theirs}, []string{mine, later, theirs})
	d.phase(time.Minute, PhaseReady, theirs)
	time.Sleep(500 * time.Millisecond) // anything queued with it would have run
	for id, was := range kept {
		if now := reconciled(id); !maps.Equal(now, was) {
			t.Errorf("%s, kept by the shard, was reconciled again when it gained %s: last reconciles %v, before %v", id, theirs, now, was)
		}
	}

	// mine moves to another shard: a commit to it is not applied here,
	// and the status no longer shows it.
	owner.set([]string{later}, []string{later})
	editFile(t, dir, "services/shardy/mine/service.yaml", "mine:1.0.0", "mine:1.1.0")
	d.refetch()
	time.Sleep(time.Second) // anything queued by mistake would run now
	for _, env := range []string{"staging", "prod"} {
		if img := image(t, env, "shardy-"+env, "mine"); img != "registry.example.com/shardy/mine:1.0.0" {
			t.Errorf("%s: mine runs %s after it moved to another shard, want 1.0.0", env, img)
		}
	}
	if _, ok := d.Status.Service(mine); ok {
		t.Errorf("the status shows %s after it moved to another shard", mine)
	}
}

// TestOwnerLapsedClaimIsQueuedAgain: a reconcile whose claim lapses (the
// shard's Lease not renewed in time) records nothing and leaves the pair;
// when the shard may write again, with the same share, the pair is
// queued again and applied.
func TestOwnerLapsedClaimIsQueuedAgain(t *testing.T) {
	const steady, flaky = "shardy/steady", "shardy/flaky"
	dir := catalogDir(t, []string{"shardy"}, map[string]string{
		steady: webService("registry.example.com/shardy/steady:1.0.0"),
		flaky:  webService("registry.example.com/shardy/flaky:1.0.0"),
	})
	both := map[string]bool{steady: true, flaky: true}
	owner := &fixedOwner{owns: both, free: both, lapse: map[string]bool{flaky: true}, changes: make(chan struct{}, 1)}
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Owner = owner })
	d.phase(time.Minute, PhaseReady, steady)
	for _, env := range []string{"staging", "prod"} {
		if img := image(t, env, "shardy-"+env, "flaky"); !strings.Contains(img, "not found") {
			t.Fatalf("%s: flaky applied (%s) under a claim that lapsed", env, img)
		}
	}

	// The Lease is renewed again: same share, and the claims hold.
	owner.mu.Lock()
	owner.lapse = nil
	owner.mu.Unlock()
	owner.changes <- struct{}{}
	d.phase(time.Minute, PhaseReady, flaky)
}
