// Package shard splits pave serve's services between replicas: each
// replica holds a member Lease in one cluster, sees the others by listing
// theirs, and owns the services rendezvous hashing gives it over the live
// members (Assign). Writes are fenced: a replica reconciles a service only
// under a Claim, which it gets only while its own Lease is renewed in
// time, while the view of the members it last published gives it the
// service, and while no live member's published view gives the service
// to that member. docs/operations.md#sharding has the argument.
package shard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/clock"
)

const (
	// LeasePrefix starts the name of every member Lease: pave-shard-<identity>.
	LeasePrefix = "pave-shard-"
	// MemberLabel marks member Leases, so that members list each other.
	MemberLabel = "pave.dev/shard-member"
	// ViewAnnotation holds the members (identities, comma-separated, sorted)
	// whose shares the holder has last taken on: it writes none of the
	// services this view gives to others.
	ViewAnnotation = "pave.dev/shard-view"
	// FetchAnnotation changes when the holder received a push webhook: the
	// others fetch the source too.
	FetchAnnotation = "pave.dev/shard-fetch"
)

// Members is this replica's membership: its own Lease, what it sees of the
// others', and the claims of the reconciles running under it.
type Members struct {
	log    logr.Logger
	leases coordinationclient.LeaseInterface
	opts   Options
	clock  clock.WithTicker
	// holder is the Lease's holderIdentity: the identity and this
	// process's incarnation, so that a restarted replica waits for its
	// former self's Lease to lapse.
	holder  string
	changes chan struct{}
	fetches chan struct{}
	wake    chan struct{}
	ready   chan struct{}

	mu        sync.Mutex
	lease     *coordinationv1.Lease // as last written; nil: not held
	renewedAt time.Time             // when the last successful write of it was sent
	listedAt  time.Time             // when the last successful list was sent
	published []string              // the view in the own Lease
	view      []string              // the live members, self included
	fresh     bool                  // peers were listed after the last publish
	peers     map[string]*peer      // by identity
	claims    map[string]map[int]context.CancelFunc
	nextClaim int
	print     string // fingerprint of what claims depend on
	fenced    bool   // claims were cancelled for want of a renewal
	started   time.Time
	announce  string // FetchAnnotation's value to write
}

// peer is another member, as last listed.
type peer struct {
	rv        string
	holder    string
	seen      time.Time // when its resourceVersion was last seen to change
	duration  time.Duration
	published []string
	fetch     string
}

func (p *peer) alive(now time.Time) bool {
	return p.holder != "" && now.Before(p.seen.Add(p.duration))
}

// New returns the membership of one replica; Run takes part.
func New(log logr.Logger, client coordinationclient.LeasesGetter, opts Options) (*Members, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	opts.Identity = opts.identity()
	inc := make([]byte, 6)
	if _, err := rand.Read(inc); err != nil {
		return nil, err
	}
	return &Members{
		log: log.WithValues("shard", opts.Identity), leases: client.Leases(opts.Namespace), opts: opts, clock: opts.Clock,
		holder:  opts.Identity + "/" + hex.EncodeToString(inc),
		changes: make(chan struct{}, 1), fetches: make(chan struct{}, 1), wake: make(chan struct{}, 1), ready: make(chan struct{}),
		peers: map[string]*peer{}, claims: map[string]map[int]context.CancelFunc{},
	}, nil
}

// Identity is this replica's name among the members.
func (m *Members) Identity() string { return m.opts.Identity }

// LeaseName is the name of a member's Lease.
func LeaseName(identity string) string { return LeasePrefix + identity }

// Ready is closed once this replica holds its Lease, has published a view
// and listed the others after it: Owns then means something.
func (m *Members) Ready() <-chan struct{} { return m.ready }

// Changes signals when this replica's share, or what it may claim of it,
// changed: the daemon queues every service it owns again.
func (m *Members) Changes() <-chan struct{} { return m.changes }

// Announce tells the other members to fetch the source now (this replica
// received a push webhook): the Lease is written at once with a new
// FetchAnnotation, and they see it at their next list.
func (m *Members) Announce() {
	m.mu.Lock()
	m.announce = fmt.Sprintf("%d", m.clock.Now().UnixNano())
	m.mu.Unlock()
	nudge(m.wake)
}

// Fetches signals when another member announced a push.
func (m *Members) Fetches() <-chan struct{} { return m.fetches }

// Owns reports whether the service is this replica's share among the
// members it sees alive.
func (m *Members) Owns(service string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Assign(m.view, service) == m.opts.Identity
}

// Members returns the live members this replica sees, itself included.
func (m *Members) Members() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.view)
}

// Claim fences one reconcile of a service. ok is false when this replica
// may not write it now: its Lease is not renewed in time, its published
// view or its current view gives the service to another member, or a
// live member's published view gives it to that member (it may still be
// writing it). Otherwise the returned context is cancelled as soon as the
// claim lapses (the Lease not renewed in time, the service gone to
// another member), and release must be called when the reconcile ends.
func (m *Members) Claim(ctx context.Context, service string) (context.Context, func(), bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now := m.clock.Now(); !m.claimable(service, now) {
		// What the daemon last heard may be older than why the claim is
		// refused (the Lease past its deadline between two watchdog
		// ticks): bring it up to date, so that the claim becoming possible
		// again is a change the daemon hears of, and queues the pair then.
		m.signal(now)
		return ctx, func() {}, false
	}
	cctx, cancel := context.WithCancel(ctx)
	id := m.nextClaim
	m.nextClaim++
	if m.claims[service] == nil {
		m.claims[service] = map[int]context.CancelFunc{}
	}
	m.claims[service][id] = cancel
	m.log.V(1).Info("claimed", "service", service, "claim", id)
	var once sync.Once
	return cctx, func() {
		once.Do(func() {
			cancel()
			m.mu.Lock()
			delete(m.claims[service], id)
			if len(m.claims[service]) == 0 {
				delete(m.claims, service)
			}
			draining := !slices.Equal(m.view, m.published)
			m.mu.Unlock()
			m.log.V(1).Info("released", "service", service, "claim", id)
			if draining {
				nudge(m.wake)
			}
		})
	}, true
}

// claimable is Claim's test, with m.mu held.
func (m *Members) claimable(service string, now time.Time) bool {
	self := m.opts.Identity
	if !m.writable(now) || !m.fresh {
		return false
	}
	if Assign(m.published, service) != self || Assign(m.view, service) != self {
		return false
	}
	for id, p := range m.peers {
		if p.alive(now) && Assign(p.published, service) == id {
			return false
		}
	}
	return true
}

// writable: the own Lease was renewed less than RenewDeadline ago, and the
// others were listed less than RenewDeadline ago (a replica that cannot
// list would see live members lapse).
func (m *Members) writable(now time.Time) bool {
	return m.lease != nil && !m.renewedAt.IsZero() &&
		now.Before(m.renewedAt.Add(m.opts.RenewDeadline)) && now.Before(m.listedAt.Add(m.opts.RenewDeadline))
}

// Run holds this replica's Lease and follows the others' until ctx is
// done; then, once every claim is released, it deletes its Lease so that
// the others take its share at once. Call it after the daemon stopped.
func (m *Members) Run(ctx context.Context) error {
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go m.watchdog(stopWatch)
	m.mu.Lock()
	m.started = m.clock.Now()
	m.mu.Unlock()
	renew := true
	for {
		var err error
		if renew {
			err = m.cycle(ctx)
		} else {
			err = m.list(ctx)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Error(err, "shard membership")
		}
		var wait time.Duration
		renew, wait = m.next(err != nil)
		t := m.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			m.leave()
			return nil
		case <-t.C():
		case <-m.wake:
			t.Stop()
			renew = true
		}
	}
}

// next says what Run does next and after how long: renew the own Lease
// (RenewPeriod after the last renewal), or only list the others, every
// ListPeriod and at the moment a member seen alive would lapse, so that
// its share is taken over as soon as it may be. After a failure, the
// whole cycle is tried again a ListPeriod later.
func (m *Members) next(failed bool) (renew bool, wait time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if failed || m.lease == nil || m.renewedAt.IsZero() {
		return true, m.opts.ListPeriod
	}
	now := m.clock.Now()
	due := m.renewedAt.Add(m.opts.RenewPeriod).Sub(now)
	wait = m.opts.ListPeriod
	for _, p := range m.peers {
		if p.alive(now) {
			// Just past the lapse: alive is false from that instant on.
			wait = min(wait, p.seen.Add(p.duration).Sub(now)+time.Millisecond)
		}
	}
	if due <= wait {
		return true, max(due, 0)
	}
	return false, max(wait, 0)
}

// list lists the others between renewals, and renews at once when that
// lets a new view be published.
func (m *Members) list(ctx context.Context) error {
	again, err := m.observe(ctx)
	if err != nil || !again {
		return err
	}
	return m.cycle(ctx)
}

// cycle renews the own Lease (publishing the new view once the services
// it takes away are released), lists the members, and works out the view.
func (m *Members) cycle(ctx context.Context) error {
	for range 3 { // a publish is followed at once by a list, then maybe another publish
		if m.holding() == nil {
			if err := m.acquire(ctx); err != nil {
				return err
			}
		}
		m.mu.Lock()
		pub := m.published
		if m.drained() && m.quorate() {
			pub = m.view
		}
		m.mu.Unlock()
		if err := m.renew(ctx, pub); err != nil {
			return err
		}
		again, err := m.observe(ctx)
		if err != nil || !again {
			return err
		}
	}
	return nil
}

func (m *Members) holding() *coordinationv1.Lease {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lease
}

// quorate: this replica has taken on a view before, or sees the --shards
// members, or has waited a lease duration for them. On start, a replica
// waits for the others so that the first to start does not apply every
// service only to hand most of them over moments later. With m.mu held.
func (m *Members) quorate() bool {
	return len(m.published) > 0 || len(m.view) >= m.opts.Shards || m.clock.Since(m.started) >= m.opts.LeaseDuration
}

// drained: no claim runs on a service the current view gives to another
// member, so the view may be published. With m.mu held.
func (m *Members) drained() bool {
	for s := range m.claims {
		if Assign(m.view, s) != m.opts.Identity {
			return false
		}
	}
	return true
}

// acquire creates the own Lease, or takes it over once its former holder
// (an earlier run of this replica) has let it lapse: its
// resourceVersion unchanged for its duration, as this replica sees it.
func (m *Members) acquire(ctx context.Context) error {
	name := LeaseName(m.opts.Identity)
	var lastRV string
	var since time.Time
	for {
		now := m.clock.Now()
		l, err := m.leases.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			dur := int32(m.opts.LeaseDuration / time.Second)
			t := metav1.NewMicroTime(now)
			created, err := m.leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{MemberLabel: "true", "app.kubernetes.io/managed-by": "pave"},
					Annotations: map[string]string{ViewAnnotation: ""}},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: &m.holder, LeaseDurationSeconds: &dur, AcquireTime: &t, RenewTime: &t},
			}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("create lease %s: %w", name, err)
			}
			m.took(created, now)
			return nil
		case err != nil:
			return fmt.Errorf("get lease %s: %w", name, err)
		}
		if holder := ptrValue(l.Spec.HolderIdentity); holder == m.holder {
			m.took(l, now)
			return nil
		}
		if l.ResourceVersion != lastRV {
			if lastRV == "" {
				m.log.Info("waiting for the member lease of an earlier run to lapse", "lease", name, "holder", ptrValue(l.Spec.HolderIdentity))
			}
			lastRV, since = l.ResourceVersion, now
		} else if now.Sub(since) >= leaseDuration(l, m.opts.LeaseDuration) {
			t := metav1.NewMicroTime(now)
			l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = &m.holder, &t, &t
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations[ViewAnnotation] = ""
			updated, err := m.leases.Update(ctx, l, metav1.UpdateOptions{})
			if err == nil {
				m.took(updated, now)
				return nil
			}
			if !apierrors.IsConflict(err) {
				return fmt.Errorf("take over lease %s: %w", name, err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.clock.After(m.opts.RenewPeriod / 5):
		}
	}
}

// took records the own Lease as held, with an empty view.
func (m *Members) took(l *coordinationv1.Lease, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lease, m.renewedAt, m.published, m.fresh = l, at, nil, false
	m.log.Info("holding the member lease", "lease", l.Name, "holder", m.holder)
}

// renew writes the own Lease: a new renewTime and the view pub.
func (m *Members) renew(ctx context.Context, pub []string) error {
	m.mu.Lock()
	l := m.lease.DeepCopy()
	announce := m.announce
	m.mu.Unlock()
	for range 2 {
		now := m.clock.Now()
		t := metav1.NewMicroTime(now)
		l.Spec.RenewTime = &t
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[ViewAnnotation] = strings.Join(pub, ",")
		if announce != "" {
			l.Annotations[FetchAnnotation] = announce
		}
		rctx, cancel := context.WithTimeout(ctx, m.opts.RenewDeadline)
		updated, err := m.leases.Update(rctx, l, metav1.UpdateOptions{})
		cancel()
		if err == nil {
			m.mu.Lock()
			m.lease, m.renewedAt = updated, now
			if !slices.Equal(m.published, pub) {
				m.published, m.fresh = slices.Clone(pub), false
				m.log.Info("took on a new view of the members", "members", pub)
			}
			m.mu.Unlock()
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("renew lease %s: %w", l.Name, err)
		}
		// Written meanwhile: by this replica (a write whose answer was
		// lost), or by another holder.
		cur, gerr := m.leases.Get(ctx, l.Name, metav1.GetOptions{})
		if gerr == nil && ptrValue(cur.Spec.HolderIdentity) == m.holder {
			l = cur
			continue
		}
		break
	}
	m.lost("the member lease was taken or deleted")
	return errors.New("lost the member lease " + l.Name)
}

// lost fences every claim: the Lease is no longer this replica's.
func (m *Members) lost(why string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log.Info("stopped writing: "+why, "lease", LeaseName(m.opts.Identity))
	m.lease, m.renewedAt, m.published, m.fresh = nil, time.Time{}, nil, false
	m.cancelAll()
	m.signal(m.clock.Now())
}

// observe lists the member Leases, records which changed, and works out
// the view. It returns true when a new view can be published at once.
func (m *Members) observe(ctx context.Context) (bool, error) {
	start := m.clock.Now()
	list, err := m.leases.List(ctx, metav1.ListOptions{LabelSelector: MemberLabel + "=true"})
	if err != nil {
		return false, fmt.Errorf("list member leases: %w", err)
	}
	now := m.clock.Now()
	self := LeaseName(m.opts.Identity)
	var gone []coordinationv1.Lease
	m.mu.Lock()
	defer m.mu.Unlock()
	listed := map[string]bool{}
	for _, l := range list.Items {
		if l.Name == self || !strings.HasPrefix(l.Name, LeasePrefix) {
			continue
		}
		id := strings.TrimPrefix(l.Name, LeasePrefix)
		listed[id] = true
		p, ok := m.peers[id]
		if !ok {
			p = &peer{}
			m.peers[id] = p
		}
		if !ok || p.rv != l.ResourceVersion {
			p.rv, p.seen = l.ResourceVersion, now
		}
		p.holder = ptrValue(l.Spec.HolderIdentity)
		p.duration = leaseDuration(&l, m.opts.LeaseDuration)
		p.published = splitView(l.Annotations[ViewAnnotation])
		if f := l.Annotations[FetchAnnotation]; f != p.fetch {
			if ok && f != "" {
				nudge(m.fetches)
			}
			p.fetch = f
		}
		if !p.alive(now) && now.Sub(p.seen) > 3*p.duration {
			gone = append(gone, l)
		}
	}
	for id := range m.peers {
		if !listed[id] { // deleted: released by its holder
			delete(m.peers, id)
		}
	}
	m.listedAt, m.fresh = start, true
	view := []string{m.opts.Identity}
	for id, p := range m.peers {
		if p.alive(now) {
			view = append(view, id)
		}
	}
	slices.Sort(view)
	if !slices.Equal(view, m.view) {
		m.log.Info("members changed", "members", view, "was", m.view, "shards", m.opts.Shards)
		m.view = view
	}
	// Services the view gives to others: their reconciles stop now.
	for s, cs := range m.claims {
		if Assign(m.view, s) != m.opts.Identity {
			for _, cancel := range cs {
				cancel()
			}
		}
	}
	m.signal(now)
	if len(m.published) > 0 && m.fresh {
		select {
		case <-m.ready:
		default:
			close(m.ready)
		}
	}
	// Leases long lapsed: their replicas are gone for good (a Deployment's
	// pod names do not come back).
	for _, l := range gone {
		rv := l.ResourceVersion
		if err := m.leases.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}}); err == nil {
			m.log.Info("deleted the lease of a member gone for good", "lease", l.Name)
			delete(m.peers, strings.TrimPrefix(l.Name, LeasePrefix))
		}
	}
	return !slices.Equal(m.view, m.published) && m.drained() && m.quorate(), nil
}

// signal tells the daemon when what it may claim changed. With m.mu held.
func (m *Members) signal(now time.Time) {
	var b strings.Builder
	fmt.Fprintf(&b, "%t|%t|%v|%v", m.writable(now), m.fresh, m.published, m.view)
	ids := make([]string, 0, len(m.peers))
	for id, p := range m.peers {
		if p.alive(now) {
			ids = append(ids, id+"="+strings.Join(p.published, ","))
		}
	}
	slices.Sort(ids)
	fmt.Fprintf(&b, "|%v", ids)
	if s := b.String(); s != m.print {
		m.print = s
		nudge(m.changes)
	}
}

// watchdog cancels every claim as soon as the own Lease is not renewed in
// time, without waiting for the renewal that fails to return.
func (m *Members) watchdog(stop <-chan struct{}) {
	t := m.clock.NewTicker(min(m.opts.RenewPeriod/5, 500*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C():
		}
		m.mu.Lock()
		now := m.clock.Now()
		if !m.writable(now) {
			if len(m.claims) > 0 || !m.fenced {
				if m.lease != nil && !m.fenced {
					m.log.Info("stopped writing: the member lease was not renewed in time", "renewed", m.renewedAt, "deadline", m.opts.RenewDeadline.String())
				}
				m.cancelAll()
			}
			m.fenced = true
			// Recorded as not writable, so that writing again is a change
			// the daemon hears of (and queues the pairs the cancelled
			// claims dropped).
			m.signal(now)
		} else if m.fenced {
			m.fenced = false
			m.signal(now)
		}
		m.mu.Unlock()
	}
}

// cancelAll cancels every claim's context. With m.mu held.
func (m *Members) cancelAll() {
	for _, cs := range m.claims {
		for _, cancel := range cs {
			cancel()
		}
	}
}

// leave releases the own Lease once no claim runs (bounded by
// RenewDeadline): the others see it gone and take its share at once.
// Claims still running then leave it to lapse.
func (m *Members) leave() {
	m.mu.Lock()
	m.cancelAll()
	m.mu.Unlock()
	deadline := m.clock.Now().Add(m.opts.RenewDeadline)
	var l *coordinationv1.Lease
	for {
		m.mu.Lock()
		var n int
		n, l = len(m.claims), m.lease
		m.mu.Unlock()
		if l == nil {
			return
		}
		if n == 0 {
			break
		}
		if m.clock.Now().After(deadline) {
			m.log.Info("claims still running on stop: leaving the member lease to lapse", "claims", n)
			return
		}
		m.clock.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.RenewDeadline)
	defer cancel()
	m.mu.Lock()
	m.lease, m.renewedAt = nil, time.Time{} // nothing claims from here on
	m.mu.Unlock()
	for range 3 {
		rv := l.ResourceVersion
		err := m.leases.Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		if err == nil || apierrors.IsNotFound(err) {
			m.log.Info("released the member lease", "lease", l.Name)
			return
		}
		if !apierrors.IsConflict(err) {
			m.log.Error(err, "releasing the member lease; it lapses by itself", "lease", l.Name)
			return
		}
		// A renewal cut short by the stop may have been written: delete
		// the Lease as it is now, if it is still this run's.
		cur, gerr := m.leases.Get(ctx, l.Name, metav1.GetOptions{})
		if gerr != nil || ptrValue(cur.Spec.HolderIdentity) != m.holder {
			m.log.Info("the member lease is no longer this run's; leaving it", "lease", l.Name)
			return
		}
		l = cur
	}
}

func leaseDuration(l *coordinationv1.Lease, def time.Duration) time.Duration {
	if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds > 0 {
		return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return def
}

func splitView(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func ptrValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nudge(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
