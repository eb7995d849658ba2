package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/render"
)

// requestCounter counts the requests a client sends, discovery aside.
type requestCounter struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if discovery := (segs[0] == "api" && len(segs) <= 2) || (segs[0] == "apis" && len(segs) <= 3); !discovery {
		c.n.Add(1)
	}
	return c.next.RoundTrip(req)
}

// stateApplier is a fresh Applier on a test cluster, as a new pave
// process (a restart, another replica) would make it, with a count of the
// requests it sends.
func stateApplier(t *testing.T, cluster string) (*Applier, *atomic.Int64) {
	t.Helper()
	cfg := rest.CopyConfig(testcluster.ConfigFor(t, cluster))
	n := &atomic.Int64{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return requestCounter{next: rt, n: n} }
	c, err := NewCluster(cluster, cfg, DefaultClusterOptions())
	if err != nil {
		t.Fatal(err)
	}
	return New(c, testOptions()), n
}

// statePair is a pair no other test uses; its state in a's cluster is
// deleted when the test ends.
func statePair(t *testing.T, a *Applier, env string) Pair {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	p := Pair{Service: "st/" + strings.Trim(name, "-"), Environment: env}
	t.Cleanup(func() {
		team, service, _ := splitPair(p)
		if err := deleteState(context.Background(), a.Cluster.Client, team, service, env); err != nil {
			t.Error(err)
		}
	})
	return p
}

func at(min int) time.Time { return time.Date(2026, 11, 28, 10, min, 0, 0, time.UTC) }

func revisions(h []Deployment) []string {
	var out []string
	for _, d := range h {
		out = append(out, d.Revision)
	}
	return out
}

func TestStateRecord(t *testing.T) {
	t.Run("newest first, same revision and start replaces", func(t *testing.T) {
		var s PairState
		s.Record(Deployment{Revision: "a", Start: at(1), Result: DeploymentProgressing})
		s.Record(Deployment{Revision: "a", Start: at(1), End: ptr(at(2)), Result: DeploymentReady})
		s.Record(Deployment{Revision: "b", Start: at(3), Result: DeploymentProgressing})
		s.Record(Deployment{Revision: "b", Start: at(3), End: ptr(at(4)), Result: DeploymentFailed, Cause: "Deployment/checkout: CrashLoopBackOff"})
		// The same revision deployed again (a rollback) is a new deployment.
		s.Record(Deployment{Revision: "a", Start: at(5), Result: DeploymentProgressing})
		if got, want := revisions(s.History), []string{"a", "b", "a"}; !slices.Equal(got, want) {
			t.Fatalf("history %v, want %v", got, want)
		}
		if d := s.History[1]; d.Result != DeploymentFailed || d.End == nil || !d.End.Equal(at(4)) || d.Cause == "" {
			t.Errorf("b was not updated in place: %+v", d)
		}
		if d := s.History[2]; d.Result != DeploymentReady || !d.End.Equal(at(2)) {
			t.Errorf("the first a was not updated in place: %+v", d)
		}
	})
	t.Run("a new deployment supersedes one in progress", func(t *testing.T) {
		var s PairState
		s.Record(Deployment{Revision: "a", Start: at(1), Result: DeploymentProgressing})
		s.Record(Deployment{Revision: "b", Start: at(2), Result: DeploymentProgressing})
		if d := s.History[1]; d.Result != DeploymentSuperseded || d.End == nil || !d.End.Equal(at(2)) {
			t.Errorf("a: %+v, want Superseded ending at b's start", d)
		}
		if d := s.History[0]; d.Result != DeploymentProgressing || d.End != nil {
			t.Errorf("b: %+v, want in progress", d)
		}
	})
	t.Run("a late record of an older deployment keeps newest first", func(t *testing.T) {
		var s PairState
		s.Record(Deployment{Revision: "b", Start: at(2), Result: DeploymentReady, End: ptr(at(3))})
		s.Record(Deployment{Revision: "a", Start: at(1), Result: DeploymentReady, End: ptr(at(2))})
		if got, want := revisions(s.History), []string{"b", "a"}; !slices.Equal(got, want) {
			t.Fatalf("history %v, want %v", got, want)
		}
	})
	t.Run("capped at HistoryLimit, the oldest go", func(t *testing.T) {
		var s PairState
		for i := range HistoryLimit + 5 {
			s.Record(Deployment{Revision: fmt.Sprint(i), Start: at(i), End: ptr(at(i)), Result: DeploymentReady})
		}
		if len(s.History) != HistoryLimit {
			t.Fatalf("%d deployments kept, want %d", len(s.History), HistoryLimit)
		}
		if s.History[0].Revision != fmt.Sprint(HistoryLimit+4) || s.History[HistoryLimit-1].Revision != "5" {
			t.Errorf("kept %v, want the newest %d", revisions(s.History), HistoryLimit)
		}
	})
	t.Run("the cause is bounded", func(t *testing.T) {
		var s PairState
		s.Record(Deployment{Revision: "a", Start: at(1), Result: DeploymentFailed, Cause: strings.Repeat("é", CauseLimit)})
		if c := s.History[0].Cause; len(c) > CauseLimit || !strings.HasSuffix(c, "…") || !strings.HasPrefix(c, "é") || strings.ToValidUTF8(c, "?") != c {
			t.Errorf("cause of %d bytes (valid UTF-8 ending in …): %.20q…", len(c), c)
		}
	})
	t.Run("approvals once each, newest last, bounded", func(t *testing.T) {
		var s PairState
		for i := range ApprovedLimit + 3 {
			s.Approve(fmt.Sprint(i))
		}
		s.Approve("5")
		want := []string{"3", "4", "6", "7", "8", "9", "10", "11", "12", "5"}
		if !slices.Equal(s.Approved, want) {
			t.Errorf("approved %v, want %v", s.Approved, want)
		}
		if !s.IsApproved("5") || s.IsApproved("0") {
			t.Errorf("IsApproved wrong for %v", s.Approved)
		}
	})
}

func TestStateLastHealthy(t *testing.T) {
	var s PairState
	s.Record(Deployment{Revision: "a", Start: at(1), End: ptr(at(2)), Result: DeploymentReady})
	s.Record(Deployment{Revision: "b", Start: at(3), End: ptr(at(4)), Result: DeploymentReady})
	s.Record(Deployment{Revision: "c", Start: at(5), End: ptr(at(6)), Result: DeploymentFailed})
	s.Record(Deployment{Revision: "d", Start: at(7), Result: DeploymentProgressing})
	for _, tc := range []struct {
		state  *PairState
		before string
		want   string // "" = none
	}{
		{&s, "", "b"},
		{&s, "c", "b"},
		{&s, "b", "a"},
		{&s, "d", "b"},
		{&PairState{History: s.History[:2]}, "", ""}, // only Progressing and Failed
		{&PairState{}, "", ""},
	} {
		d, ok := tc.state.LastHealthy(tc.before)
		if ok != (tc.want != "") || d.Revision != tc.want {
			t.Errorf("LastHealthy(%q) of %v = %q, %v; want %q", tc.before, revisions(tc.state.History), d.Revision, ok, tc.want)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, _ := stateApplier(t, "staging")
	p := statePair(t, a, "staging")

	s, err := a.State(ctx, p)
	if err != nil || !reflect.DeepEqual(s, &PairState{}) {
		t.Fatalf("state of a new pair: %+v, %v; want empty and no error", s, err)
	}

	want := &PairState{Suspended: true, HeldAt: "abc123", Approved: []string{"def456"}}
	want.Record(Deployment{Revision: "abc123", Template: "web-service@1.2.0", Hash: "h1", Start: at(1), End: ptr(at(2)), Result: DeploymentReady, Committed: ptr(at(0))})
	want.Record(Deployment{Revision: "def456", Template: "web-service@1.3.0", Hash: "h2", Start: at(3), End: ptr(at(4)), Result: DeploymentRolledBack, Cause: "rolled back by alice"})
	got, err := a.UpdateState(ctx, p, func(s *PairState) error {
		*s = *want
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UpdateState returned %+v, want %+v", got, want)
	}

	// A restarted pave (a new Applier, a new client) reads it back.
	b, _ := stateApplier(t, "staging")
	read, err := b.State(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, want) {
		t.Errorf("after a restart: %+v, want %+v", read, want)
	}
	// The other environment's state is its own.
	if other, err := b.State(ctx, Pair{Service: p.Service, Environment: "prod"}); err != nil || !reflect.DeepEqual(other, &PairState{}) {
		t.Errorf("state of the same service in prod: %+v, %v; want empty", other, err)
	}

	// fn's error aborts: nothing is written, the error is the caller's.
	errNo := errors.New("not allowed")
	if _, err := b.UpdateState(ctx, p, func(s *PairState) error {
		s.Suspended = false
		s.HeldAt = ""
		return errNo
	}); !errors.Is(err, errNo) {
		t.Errorf("UpdateState with a failing fn: %v, want %v", err, errNo)
	}
	if read, _ := a.State(ctx, p); !reflect.DeepEqual(read, want) {
		t.Errorf("a failing fn changed the state: %+v", read)
	}
	fresh := statePair(t, a, "prod")
	if _, err := b.UpdateState(ctx, fresh, func(*PairState) error { return errNo }); !errors.Is(err, errNo) {
		t.Errorf("UpdateState with a failing fn: %v, want %v", err, errNo)
	}
	team, service, _ := splitPair(fresh)
	if err := a.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: SystemNamespace, Name: stateName(team, service, "prod")}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("a failing fn created the state ConfigMap: %v", err)
	}

	// Too large a state is refused, and the stored one stays.
	_, err = a.UpdateState(ctx, p, func(s *PairState) error {
		for i := range ApprovedLimit {
			s.Approve(fmt.Sprintf("%d-%s", i, strings.Repeat("x", 8<<10)))
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "more than the 65536 allowed") {
		t.Errorf("a state over 64 KiB: %v, want refused", err)
	}
	if read, _ := a.State(ctx, p); !reflect.DeepEqual(read, want) {
		t.Errorf("a refused state changed the stored one: %+v", read)
	}

	// Limits hold whatever fn does.
	got, err = a.UpdateState(ctx, p, func(s *PairState) error {
		for i := range 30 {
			s.History = append(s.History, Deployment{Revision: fmt.Sprint(i), Start: at(59), Result: DeploymentReady})
			s.Approved = append(s.Approved, fmt.Sprint(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.History) != HistoryLimit || len(got.Approved) != ApprovedLimit || got.Approved[ApprovedLimit-1] != "29" {
		t.Errorf("%d deployments and approvals %v stored, want %d and the newest %d", len(got.History), got.Approved, HistoryLimit, ApprovedLimit)
	}

	// Bad pairs are refused before any request.
	for _, bad := range []Pair{{Service: "noteam", Environment: "prod"}, {Service: "a/b/c", Environment: "prod"}, {Service: "a/b"}} {
		if _, err := a.State(ctx, bad); err == nil {
			t.Errorf("State(%+v) accepted", bad)
		}
		if _, err := a.UpdateState(ctx, bad, func(*PairState) error { return nil }); err == nil {
			t.Errorf("UpdateState(%+v) accepted", bad)
		}
	}
}

// Writers of one pair (the daemon and an operator's verbs, two pave
// instances across a leader change) never lose each other's updates.
func TestStateConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	a, _ := stateApplier(t, "staging")
	b, _ := stateApplier(t, "staging")
	p := statePair(t, a, "staging")

	var wg sync.WaitGroup
	errs := make(chan error, 2*HistoryLimit)
	for i := range HistoryLimit {
		w := a
		if i%2 == 1 {
			w = b
		}
		wg.Go(func() {
			_, err := w.UpdateState(ctx, p, func(s *PairState) error {
				s.Record(Deployment{Revision: fmt.Sprintf("r%02d", i), Start: at(i), End: ptr(at(i)), Result: DeploymentReady})
				return nil
			})
			errs <- err
		})
		if i < ApprovedLimit {
			wg.Go(func() {
				_, err := w.UpdateState(ctx, p, func(s *PairState) error {
					s.Approve(fmt.Sprintf("r%02d", i))
					return nil
				})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := a.State(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := HistoryLimit - 1; i >= 0; i-- {
		want = append(want, fmt.Sprintf("r%02d", i))
	}
	if got := revisions(s.History); !slices.Equal(got, want) {
		t.Errorf("history %v, want all %d updates, newest first: %v", got, HistoryLimit, want)
	}
	approved := slices.Sorted(slices.Values(s.Approved))
	if !slices.Equal(approved, slices.Sorted(slices.Values(want[HistoryLimit-ApprovedLimit:]))) {
		t.Errorf("approved %v, want all %d approvals", s.Approved, ApprovedLimit)
	}
}

func TestStatesListsOnlyStates(t *testing.T) {
	ctx := context.Background()
	a, _ := stateApplier(t, "prod")
	p1, p2 := statePair(t, a, "prod"), statePair(t, a, "staging") // environments may share a cluster
	for i, p := range []Pair{p1, p2} {
		if _, err := a.UpdateState(ctx, p, func(s *PairState) error {
			s.HeldAt = fmt.Sprint("rev", i)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// An inventory without a state, and a ConfigMap of pave's that is
	// neither, are not states.
	team, service, _ := splitPair(p1)
	if err := writeInventory(ctx, a.Cluster.Client, &Inventory{Team: team, Service: service + "-inv", Environment: "prod", Revision: "x"}, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deleteInventory(context.Background(), a.Cluster.Client, team, service+"-inv", "prod") })
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: "st.other.prod.state-not", Labels: map[string]string{render.LabelManagedBy: render.ManagedBy, render.LabelTeam: team}}}
	if err := a.Cluster.Client.Create(ctx, other); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Cluster.Client.Delete(context.Background(), other) })

	// A restarted pave restores them in one request.
	b, requests := stateApplier(t, "prod")
	states, err := b.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("States sent %d requests, want 1 list", n)
	}
	for i, p := range []Pair{p1, p2} {
		if s := states[p]; s == nil || s.HeldAt != fmt.Sprint("rev", i) {
			t.Errorf("States()[%v] = %+v, want held at rev%d", p, s, i)
		}
	}
	var list corev1.ConfigMapList
	if err := a.Cluster.Client.List(ctx, &list, client.InNamespace(SystemNamespace)); err != nil {
		t.Fatal(err)
	}
	nStates := 0
	for _, cm := range list.Items {
		if strings.HasSuffix(cm.Name, ".state") {
			nStates++
		}
	}
	if len(states) != nStates {
		t.Errorf("States returned %d pairs, the cluster holds %d state ConfigMaps", len(states), nStates)
	}
	for p := range states {
		if strings.HasSuffix(p.Service, "-inv") || strings.Contains(p.Service, "other") {
			t.Errorf("States returned %v, which has no state", p)
		}
	}
}

// A service that left the catalog loses its state with its inventory;
// other pairs keep theirs.
func TestStateDeletedWithInventory(t *testing.T) {
	ctx := context.Background()
	a, _ := stateApplier(t, "staging")
	ns := testcluster.Namespace(t)
	p := statePair(t, a, "staging")
	team, service, _ := splitPair(p)
	keep := statePair(t, a, "prod") // the same service in another environment of the cluster

	labels := map[string]string{render.LabelManagedBy: render.ManagedBy, render.LabelTeam: team, render.LabelService: service, render.LabelEnvironment: "staging"}
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "config", Labels: labels}}
	if err := a.Cluster.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	inv := &Inventory{Team: team, Service: service, Environment: "staging", Revision: "r1", Objects: []ObjectRef{{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "config"}}}
	if err := writeInventory(ctx, a.Cluster.Client, inv, false); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Pair{p, keep} {
		if _, err := a.UpdateState(ctx, q, func(s *PairState) error {
			s.Record(Deployment{Revision: "r1", Start: at(1), End: ptr(at(2)), Result: DeploymentReady})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	c := a.Cluster.Client
	// A removal the mass-prune guard refuses keeps everything, the state
	// included: the history and holds go only with the inventory.
	refused := a.Remove(ctx, team, service, "staging", &PruneBudget{teamTotal: map[string]int{}, teamDel: map[string]int{}})
	var guard *MassPruneError
	if !errors.As(refused.Err, &guard) {
		t.Fatalf("Remove under an empty budget: %v, want the mass-prune guard's refusal", refused.Err)
	}
	if s, err := a.State(ctx, p); err != nil || len(s.History) != 1 {
		t.Errorf("state after a refused removal: %+v, %v; want kept", s, err)
	}
	if inv, err := readInventory(ctx, c, team, service, "staging"); err != nil || inv == nil {
		t.Errorf("inventory after a refused removal: %v, %v; want kept", inv, err)
	}

	out := a.Remove(ctx, team, service, "staging", nil)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if out.Health.Status != HealthPruned || len(out.Pruned) != 1 {
		t.Errorf("Remove: %+v, want the object pruned", out)
	}
	for name, o := range map[string]client.Object{
		"the service's object": &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "config"}},
		"the inventory":        &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: inventoryName(team, service, "staging")}},
		"the state":            &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: stateName(team, service, "staging")}},
	} {
		err := c.Get(ctx, client.ObjectKeyFromObject(o), o)
		if err == nil && o.GetDeletionTimestamp() == nil {
			t.Errorf("%s is still there after Remove", name)
		} else if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	}
	if s, err := a.State(ctx, keep); err != nil || len(s.History) != 1 {
		t.Errorf("the service's state in another environment: %+v, %v; want kept", s, err)
	}
	if s, err := a.State(ctx, p); err != nil || !reflect.DeepEqual(s, &PairState{}) {
		t.Errorf("state after Remove: %+v, %v; want empty", s, err)
	}
}

// A state that does not decode (edited by hand, say) is an error for its
// own pair only: it is not overwritten, and the others still restore.
func TestStateCorruptAffectsOnlyItsPair(t *testing.T) {
	ctx := context.Background()
	a, _ := stateApplier(t, "prod")
	bad, good := statePair(t, a, "prod"), statePair(t, a, "staging")
	if _, err := a.UpdateState(ctx, good, func(s *PairState) error { s.Suspended = true; return nil }); err != nil {
		t.Fatal(err)
	}
	team, service, _ := splitPair(bad)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: stateName(team, service, "prod"), Labels: map[string]string{
			render.LabelManagedBy: render.ManagedBy, render.LabelTeam: team, render.LabelService: service, render.LabelEnvironment: "prod", LabelState: "true",
		}},
		Data: map[string]string{dataState: `{"history": [`},
	}
	if err := a.Cluster.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Cluster.Client.Delete(context.Background(), cm) })

	if _, err := a.State(ctx, bad); err == nil || !strings.Contains(err.Error(), cm.Name) {
		t.Errorf("State of a corrupt state: %v, want an error naming %s", err, cm.Name)
	}
	if _, err := a.UpdateState(ctx, bad, func(s *PairState) error { s.Suspended = true; return nil }); err == nil {
		t.Error("UpdateState wrote over a corrupt state")
	}
	var stored corev1.ConfigMap
	if err := a.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(cm), &stored); err != nil || stored.Data[dataState] != cm.Data[dataState] {
		t.Errorf("the corrupt state was changed: %v %q", err, stored.Data[dataState])
	}
	states, err := a.States(ctx)
	if err == nil || !strings.Contains(err.Error(), cm.Name) {
		t.Errorf("States: %v, want an error naming %s", err, cm.Name)
	}
	if s := states[good]; s == nil || !s.Suspended {
		t.Errorf("States()[%v] = %+v, want the good pair restored", good, s)
	}
	if _, ok := states[bad]; ok {
		t.Errorf("States returned the corrupt pair")
	}
}

// TestStateUpdateWritesWithoutReading: an applier that read or wrote a
// pair's state records the next deployment with one request, the write;
// when another pave wrote the state meanwhile, or deleted it, the write
// is refused and the state read again, and no update is lost.
func TestStateUpdateWritesWithoutReading(t *testing.T) {
	ctx := context.Background()
	a, n := stateApplier(t, "staging")
	b, _ := stateApplier(t, "staging")
	p := statePair(t, a, "staging")
	record := func(w *Applier, i int) {
		t.Helper()
		if _, err := w.UpdateState(ctx, p, func(s *PairState) error {
			s.Record(Deployment{Revision: fmt.Sprintf("r%d", i), Start: at(i), End: ptr(at(i)), Result: DeploymentReady})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	record(a, 1) // a read (nothing there) and a create
	n.Store(0)
	record(a, 2)
	if got := n.Load(); got != 1 {
		t.Errorf("a second deployment recorded with %d requests, want 1 (the write)", got)
	}

	// Another pave records one: a's copy is stale, its write conflicts,
	// it reads again and keeps both.
	record(b, 3)
	record(a, 4)
	if s, err := b.State(ctx, p); err != nil || !slices.Equal(revisions(s.History), []string{"r4", "r3", "r2", "r1"}) {
		t.Errorf("history after two writers: %v (%v), want r4 r3 r2 r1", revisions(s.History), err)
	}

	// A restarted pave that listed the states writes without reading.
	c, m := stateApplier(t, "staging")
	if _, err := c.States(ctx); err != nil {
		t.Fatal(err)
	}
	m.Store(0)
	record(c, 5)
	if got := m.Load(); got != 1 {
		t.Errorf("a deployment recorded after the list with %d requests, want 1", got)
	}

	// Deleted behind a's back: written again from scratch.
	team, service, _ := splitPair(p)
	if err := deleteState(ctx, b.Cluster.Client, team, service, "staging"); err != nil {
		t.Fatal(err)
	}
	record(a, 6)
	if s, err := b.State(ctx, p); err != nil || !slices.Equal(revisions(s.History), []string{"r6"}) {
		t.Errorf("history after the state was deleted: %v (%v), want r6", revisions(s.History), err)
	}
}
