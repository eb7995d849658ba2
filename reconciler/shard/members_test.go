package shard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pave-dev/pave/e2e/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// Short times, so that a lapse takes four seconds: between a replica
// that stops writing (2 s without renewal, plus what it has in flight)
// and the others taking over (4 s after they last saw it renewed) lies a
// margin, as between the defaults' 10 s and 15 s.
func testOptions(ns, id string) Options {
	return Options{Shards: 3, Identity: id, Namespace: ns, LeaseDuration: 4 * time.Second, RenewDeadline: 2 * time.Second, RenewPeriod: 250 * time.Millisecond, ListPeriod: 250 * time.Millisecond}
}

// cut is a transport that fails every request while down: a replica cut
// off from the API server. With afterRenewal set, it goes down as soon as
// a renewal of the replica's Lease (a PUT) has been answered, and records
// when in cutAt: the replica dies right after renewing.
type cut struct {
	next         http.RoundTripper
	down         *atomic.Bool
	afterRenewal *atomic.Bool
	cutAt        *atomic.Int64
}

func (c cut) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.down.Load() {
		return nil, errors.New("cut off")
	}
	resp, err := c.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPut && resp.StatusCode == http.StatusOK && c.afterRenewal.Load() && c.down.CompareAndSwap(false, true) {
		c.cutAt.Store(time.Now().UnixNano())
	}
	return resp, err
}

// inFlight is how long a claim's holder takes to stop once its claim
// ends.
const inFlight = time.Second

// replica is one member and a worker that claims every service it owns
// and holds each claim until its context ends (the longest a reconcile
// could), recording who holds what in a ledger shared by all replicas.
type replica struct {
	id   string
	m    *Members
	down atomic.Bool
	// afterRenewal cuts the replica off right after its next renewal,
	// at cutAt (Unix nanoseconds).
	afterRenewal atomic.Bool
	cutAt        atomic.Int64
	cancel       context.CancelFunc
	done         chan struct{}
}

// ledger holds which replica holds an unreleased claim on each service; a
// second claim on a service is a double write.
type ledger struct {
	t       *testing.T
	mu      sync.Mutex
	holders map[string]string
}

func (l *ledger) take(id, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.holders[s]; ok {
		l.t.Errorf("%s claimed %s while %s still holds it", id, s, h)
	}
	l.holders[s] = id
}

func (l *ledger) drop(id, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holders[s] == id {
		delete(l.holders, s)
	}
}

// heldBy reports whether every service is held by the owner Assign gives
// among members.
func (l *ledger) heldBy(members []string, svcs []string) (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range svcs {
		if want := Assign(members, s); l.holders[s] != want {
			return false, s + " held by " + l.holders[s] + ", want " + want
		}
	}
	return true, ""
}

func startReplica(t *testing.T, ns, id string, l *ledger, svcs []string) *replica {
	return startReplicaWith(t, testOptions(ns, id), l, svcs)
}

func startReplicaWith(t *testing.T, opts Options, l *ledger, svcs []string) *replica {
	id := opts.Identity
	r := &replica{id: id, done: make(chan struct{})}
	cfg := rest.CopyConfig(testcluster.Config(t))
	cfg.QPS, cfg.Burst = 200, 400 // a renewal every 250 ms must not wait for client-side throttling
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return cut{rt, &r.down, &r.afterRenewal, &r.cutAt} }
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.m, err = New(testr.NewWithOptions(t, testr.Options{Verbosity: 0}), cs.CoordinationV1(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	work, stopWork := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	go func() {
		defer close(r.done)
		r.m.Run(ctx)
	}()
	go func() { // the worker stops before the membership leaves, as pave serve's daemon does
		<-ctx.Done()
		stopWork()
	}()
	workers.Add(1)
	go func() {
		defer workers.Done()
		held := map[string]bool{}
		var mu sync.Mutex
		for work.Err() == nil {
			for _, s := range svcs {
				mu.Lock()
				busy := held[s]
				mu.Unlock()
				if busy || !r.m.Owns(s) {
					continue
				}
				cctx, release, ok := r.m.Claim(work, s)
				if !ok {
					continue
				}
				l.take(id, s)
				mu.Lock()
				held[s] = true
				mu.Unlock()
				workers.Add(1)
				go func() {
					defer workers.Done()
					<-cctx.Done()
					// A reconcile takes a moment to notice: its write in
					// flight returns first.
					time.Sleep(inFlight)
					l.drop(id, s)
					mu.Lock()
					delete(held, s)
					mu.Unlock()
					release()
				}()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		workers.Wait()
	})
	return r
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		last = state
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s", what, timeout, last)
	return 0
}

// TestMembersShareAndFence runs three replicas' memberships on the real
// API server, each with a worker that claims every service it owns and
// holds the claim until told to stop, and checks that no service is ever
// claimed by two replicas at once while: the three split the services;
// one is cut off from the API server (it stops writing by itself, the
// others take its share once its Lease lapsed); it comes back (shares
// rebalance); one stops (it releases its Lease, the others take its share
// at once).
func TestMembersShareAndFence(t *testing.T) {
	ns := testcluster.Namespace(t)
	svcs := services(90)
	l := &ledger{t: t, holders: map[string]string{}}
	all := []string{"a", "b", "c"}
	reps := map[string]*replica{}
	for _, id := range all {
		reps[id] = startReplica(t, ns, id, l, svcs)
	}
	for _, r := range reps {
		select {
		case <-r.m.Ready():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not ready", r.id)
		}
	}
	waitUntil(t, 10*time.Second, "three replicas split the services", func() (bool, string) { return l.heldBy(all, svcs) })

	// A push one replica received reaches the others.
	reps["a"].m.Announce()
	for _, id := range []string{"b", "c"} {
		select {
		case <-reps[id].m.Fetches():
		case <-time.After(2 * time.Second):
			t.Errorf("%s did not hear of a's push", id)
		}
	}
	select {
	case <-reps["a"].m.Fetches():
		t.Error("a heard of its own push")
	default:
	}
	for _, r := range reps {
		if got := r.m.Members(); !slices.Equal(got, all) {
			t.Errorf("%s sees %v", r.id, got)
		}
		for _, s := range svcs {
			if r.m.Owns(s) != (Assign(all, s) == r.id) {
				t.Fatalf("%s: Owns(%s) = %t", r.id, s, r.m.Owns(s))
			}
		}
	}

	// c is cut off: it stops writing within its renew deadline; a and b
	// take over once its Lease lapsed.
	cut := time.Now()
	reps["c"].down.Store(true)
	fenced := waitUntil(t, 5*time.Second, "c stops writing", func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for s, h := range l.holders {
			if h == "c" {
				return false, "c holds " + s
			}
		}
		return true, ""
	})
	if fenced > 2*time.Second+inFlight+200*time.Millisecond {
		t.Errorf("c stopped writing %s after it was cut off, want its renew deadline (2s) and what is in flight", fenced)
	}
	waitUntil(t, 10*time.Second, "a and b take over c's share", func() (bool, string) { return l.heldBy([]string{"a", "b"}, svcs) })
	took := time.Since(cut)
	if took < 4*time.Second || took > 6*time.Second {
		t.Errorf("c's share taken over %s after it was cut off, want after its lease duration (4s) and soon after", took)
	}
	t.Logf("cut off: stopped writing after %s, share taken over after %s", fenced.Round(time.Millisecond), took.Round(time.Millisecond))

	// c comes back: the shares are as before.
	reps["c"].down.Store(false)
	back := waitUntil(t, 10*time.Second, "c takes its share back", func() (bool, string) { return l.heldBy(all, svcs) })
	t.Logf("rebalanced %s after c came back", back.Round(time.Millisecond))

	// b stops: it releases its Lease, a and c take its share without
	// waiting for a lapse.
	stop := time.Now()
	reps["b"].cancel()
	<-reps["b"].done
	waitUntil(t, 10*time.Second, "a and c take over b's share", func() (bool, string) { return l.heldBy([]string{"a", "c"}, svcs) })
	if took := time.Since(stop); took > inFlight+time.Second {
		t.Errorf("b's share taken over %s after it stopped, want well under its lease duration (4s)", took)
	}
}

// TestTakeoverFollowsTheLapse: with renewals more than a second apart
// (as by default), a replica that dies right after renewing has its share taken
// over as soon as its Lease lapses in the others' eyes (the lease
// duration after they saw the renewal, within a list period), not at the
// others' next renewal: they list every ListPeriod and at the moment a
// member would lapse.
func TestTakeoverFollowsTheLapse(t *testing.T) {
	ns := testcluster.Namespace(t)
	svcs := services(30)
	l := &ledger{t: t, holders: map[string]string{}}
	all := []string{"a", "b", "c"}
	reps := map[string]*replica{}
	for _, id := range all {
		o := testOptions(ns, id)
		o.RenewPeriod, o.ListPeriod = 1500*time.Millisecond, 100*time.Millisecond
		reps[id] = startReplicaWith(t, o, l, svcs)
	}
	waitUntil(t, 15*time.Second, "three replicas split the services", func() (bool, string) { return l.heldBy(all, svcs) })

	reps["c"].afterRenewal.Store(true)
	waitUntil(t, 5*time.Second, "c renews and is cut off", func() (bool, string) { return reps["c"].cutAt.Load() != 0, "not yet" })
	cutAt := time.Unix(0, reps["c"].cutAt.Load())
	waitUntil(t, 15*time.Second, "a and b take over c's share", func() (bool, string) { return l.heldBy([]string{"a", "b"}, svcs) })
	took := time.Since(cutAt)
	t.Logf("c cut off right after renewing: its share taken over %s later", took.Round(time.Millisecond))
	// Not before the lease duration (4s) since the others saw the
	// renewal (which they may see a moment before c has its answer);
	// soon after it: they list every 0.1s and at the lapse, where
	// listing only at their own renewals (every 1.5s) could add up to
	// two renew periods.
	if took < 4*time.Second-100*time.Millisecond || took > 4500*time.Millisecond {
		t.Errorf("c's share taken over %s after its last renewal, want between its lease duration (4s) and 4.5s", took)
	}
}

// TestSameIdentityWaitsForTheEarlierRun: a second replica with the same
// identity (a restarted pod whose former process may still run) does not
// take the member Lease while the first one renews it; once the first is
// cut off and its Lease lapsed, the second takes it, and the first, back,
// finds it taken and never writes again.
func TestSameIdentityWaitsForTheEarlierRun(t *testing.T) {
	ns := testcluster.Namespace(t)
	svcs := services(30)
	l := &ledger{t: t, holders: map[string]string{}}
	first := startReplica(t, ns, "a", l, svcs)
	<-first.m.Ready()
	waitUntil(t, 5*time.Second, "the first run holds every service", func() (bool, string) { return l.heldBy([]string{"a"}, svcs) })
	second := startReplica(t, ns, "a", l, svcs)
	time.Sleep(5 * time.Second) // more than a lease duration
	select {
	case <-second.m.Ready():
		t.Fatal("a second run with the same identity became ready while the first renews the lease")
	default:
	}
	first.down.Store(true)
	select {
	case <-second.m.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the second run did not take the lease over after the first one's lapsed")
	}
	waitUntil(t, 5*time.Second, "the second run holds every service", func() (bool, string) { return l.heldBy([]string{"a"}, svcs) })
	first.down.Store(false)
	time.Sleep(time.Second)
	for _, s := range svcs {
		if _, release, ok := first.m.Claim(context.Background(), s); ok {
			release()
			t.Fatalf("the first run claimed %s after its lease was taken over", s)
		}
	}
}

// TestFencedReplicaSaysWhenItWritesAgain: a replica whose renewal came
// late stops writing (its claims are cancelled: the reconciles in flight
// drop their pairs) and, once it renews again with the same share, says
// so on Changes(), so that the daemon queues its pairs again; without it
// they would wait for the next resync.
func TestFencedReplicaSaysWhenItWritesAgain(t *testing.T) {
	ns := testcluster.Namespace(t)
	svcs := services(9)
	l := &ledger{t: t, holders: map[string]string{}}
	r := startReplica(t, ns, "a", l, svcs)
	select {
	case <-r.m.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("a not ready")
	}
	waitUntil(t, 10*time.Second, "a claims every service", func() (bool, string) { return l.heldBy([]string{"a"}, svcs) })
	drain := func() {
		for {
			select {
			case <-r.m.Changes():
			default:
				return
			}
		}
	}
	drain()
	// Cut off past its renew deadline (2s), not past its lease (4s).
	r.down.Store(true)
	waitUntil(t, 5*time.Second, "a stops writing", func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.holders) == 0, fmt.Sprint(len(l.holders), " claims held")
	})
	time.Sleep(200 * time.Millisecond)
	drain()
	r.down.Store(false)
	select {
	case <-r.m.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("a writes again without saying so on Changes(): the pairs its fencing dropped wait for the next resync")
	}
	if !r.m.Owns(svcs[0]) {
		t.Error("a does not own its share again")
	}
}

// TestRefusedClaimHearsOfWritingAgain: a claim refused because the Lease
// went past its renew deadline between two of the watchdog's looks (here
// the watchdog does not run at all) is a change the daemon hears of once
// the Lease is renewed: the daemon dropped that pair, and without it the
// pair would wait for the next resync.
func TestRefusedClaimHearsOfWritingAgain(t *testing.T) {
	ns := testcluster.Namespace(t)
	cs, err := kubernetes.NewForConfig(testcluster.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := clocktesting.NewFakeClock(time.Now())
	opts := testOptions(ns, "a")
	opts.Shards, opts.Clock = 2, fake
	m, err := New(testr.NewWithOptions(t, testr.Options{Verbosity: 0}), cs.CoordinationV1(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Alone a lease duration after it started: it takes every service.
	fake.Step(opts.LeaseDuration)
	for range 2 {
		if err := m.cycle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	svc := services(1)[0]
	_, release, ok := m.Claim(ctx, svc)
	if !ok {
		t.Fatal("a cannot claim a service it holds alone")
	}
	release()
	drain := func() {
		for {
			select {
			case <-m.Changes():
			default:
				return
			}
		}
	}
	drain()
	fake.Step(opts.RenewDeadline + time.Millisecond)
	if _, _, ok := m.Claim(ctx, svc); ok {
		t.Fatal("a claimed a service past its renew deadline")
	}
	drain()
	if err := m.cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if _, release, ok := m.Claim(ctx, svc); !ok {
		t.Fatal("a cannot claim again after renewing")
	} else {
		release()
	}
	select {
	case <-m.Changes():
	default:
		t.Fatal("a renewed and may claim again without saying so on Changes(): the pair whose claim was refused waits for the next resync")
	}
}
