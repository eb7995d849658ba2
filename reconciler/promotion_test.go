package reconciler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// withPromotion writes prod's promotion block into a catalog's pave.yaml.
func withPromotion(t *testing.T, dir, block string) {
	t.Helper()
	editFile(t, dir, "pave.yaml", "  - name: prod\n    cluster: prod\n    namespace: \"{team}-{env}\"\n",
		"  - name: prod\n    cluster: prod\n    namespace: \"{team}-{env}\"\n    promotion: "+block+"\n")
}

// unready is a service patch that makes its pods crash-loop on the local
// clusters (see testcluster.UnreadyAnnotation).
var unready = "  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /spec/template/metadata/annotations/" + strings.ReplaceAll(testcluster.UnreadyAnnotation, "/", "~1") + ", value: \"true\"}\n"

// envPhase waits until a service is in phase in one environment, at the
// source's current revision.
func (d *testDaemon) envPhase(timeout time.Duration, id, env string, phase Phase) {
	d.t.Helper()
	d.waitFor(timeout, fmt.Sprintf("%s (%s) %s", id, env, phase), func() (bool, string) {
		rev := d.Status.Source().Revision
		e := d.env(id, env)
		if e == nil || e.Phase != phase || e.DesiredRevision != rev || (phase == PhaseReady && e.PendingRevision == "" && e.AppliedRevision != rev) {
			return false, fmt.Sprintf("%+v (revision %s)", e, rev)
		}
		return true, ""
	})
}

// gateIs waits until a pair's gate starts with prefix ("" = open: it runs
// the newest revision, or renders the same).
func (d *testDaemon) gateIs(timeout time.Duration, id, env, prefix string) *EnvironmentStatus {
	d.t.Helper()
	var got *EnvironmentStatus
	d.waitFor(timeout, fmt.Sprintf("%s (%s) gate %q", id, env, prefix), func() (bool, string) {
		rev := d.Status.Source().Revision
		got = d.env(id, env)
		if got == nil || got.DesiredRevision != rev {
			return false, fmt.Sprintf("%+v (revision %s)", got, rev)
		}
		if prefix == "" {
			return got.Gate == "" && got.PendingRevision == "", fmt.Sprintf("%+v", got)
		}
		return strings.HasPrefix(got.Gate, prefix) && got.PendingRevision == rev, fmt.Sprintf("%+v", got)
	})
	return got
}

// liveImage waits until a Deployment in a cluster runs image (checked in
// the cluster, not in pave's status).
func liveImage(t *testing.T, timeout time.Duration, cluster, ns, name, want string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := image(t, cluster, ns, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: Deployment %s/%s runs %s, want %s", cluster, ns, name, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPromotionHaltsABadChange: with a soak of 10 minutes on prod, a
// change reaches prod only once staging runs it Ready and 10 minutes of
// the daemon's clock have passed; a change that fails in staging never
// reaches the prod cluster (its gate says halted, with the failing object),
// a commit of another service does not un-halt it, and the fix resumes
// the flow. A commit that changes only prod's override passes the staging
// gate at once, staging already running a render identical to it.
func TestPromotionHaltsABadChange(t *testing.T) {
	const id, other = "promo/api", "promo/other"
	const file = "services/promo/api/service.yaml"
	const img = "registry.example.com/promo/api:"
	dir := catalogDir(t, []string{"promo"}, map[string]string{
		id:    webService(img + "1.0.0"),
		other: webService("registry.example.com/promo/other:1.0.0"),
	})
	withPromotion(t, dir, "{soak: 10m}")
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Apply.WaitTimeout = 20 * time.Second })

	// The first revision: staging at once, prod after the soak.
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	e := d.gateIs(time.Minute, id, "prod", "soaking, 10m left")
	if e.Phase != PhaseWaiting || e.AppliedRevision != "" {
		t.Errorf("prod before the soak: %s at %q, want Waiting with nothing applied", e.Phase, e.AppliedRevision)
	}
	if got := image(t, "prod", "promo-prod", "api"); !strings.HasPrefix(got, "<") {
		t.Fatalf("prod runs %s before staging soaked", got)
	}
	d.clock.Step(10 * time.Minute)
	d.envPhase(time.Minute, id, "prod", PhaseReady)
	liveImage(t, 10*time.Second, "prod", "promo-prod", "api", img+"1.0.0")

	// A good change: prod soaks again.
	editFile(t, dir, file, "1.0.0", "1.1.0")
	d.refetch()
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	liveImage(t, 10*time.Second, "staging", "promo-staging", "api", img+"1.1.0")
	d.gateIs(time.Minute, id, "prod", "soaking, 10m left")
	d.clock.Step(4 * time.Minute)
	liveImage(t, time.Second, "prod", "promo-prod", "api", img+"1.0.0")
	d.clock.Step(6 * time.Minute)
	d.gateIs(time.Minute, id, "prod", "")
	liveImage(t, 10*time.Second, "prod", "promo-prod", "api", img+"1.1.0")

	// A change of prod's override only: staging already runs a render
	// identical to it, so it passes the staging gate without a soak.
	d.clock.Step(time.Hour)
	writeFile(t, dir, file, serviceYAML(id, webService(img+"1.1.0")+"  environments:\n    prod:\n      replicas: 3\n"))
	d.refetch()
	d.gateIs(time.Minute, id, "prod", "")
	d.envPhase(time.Minute, id, "prod", PhaseReady)

	// A bad change: Failed in staging, halted before prod.
	writeFile(t, dir, file, serviceYAML(id, webService(img+"2.0.0")+unready))
	d.refetch()
	d.envPhase(2*time.Minute, id, "staging", PhaseFailed)
	e = d.gateIs(time.Minute, id, "prod", "halted: staging Failed: ")
	if !strings.Contains(e.Gate, "Deployment") || !strings.Contains(e.Gate, "CrashLoopBackOff") {
		t.Errorf("prod gate %q: want the failing object and cause", e.Gate)
	}
	if e.Phase != PhaseReady {
		t.Errorf("prod phase %s, want Ready (it keeps running the previous revision)", e.Phase)
	}
	d.clock.Step(time.Hour)
	liveImage(t, time.Second, "prod", "promo-prod", "api", img+"1.1.0")

	// Another service's commit does not un-halt it.
	editFile(t, dir, "services/promo/other/service.yaml", "1.0.0", "1.0.1")
	d.refetch()
	d.envPhase(time.Minute, other, "prod", PhaseReady)
	d.queue.Add(pairKey{id, "prod"})
	d.gateIs(time.Minute, id, "prod", "halted: staging Failed: ")
	liveImage(t, time.Second, "prod", "promo-prod", "api", img+"1.1.0")

	// The fix resumes the flow.
	writeFile(t, dir, file, serviceYAML(id, webService(img+"2.0.1")))
	d.refetch()
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "soaking, 10m left")
	d.clock.Step(10 * time.Minute)
	d.gateIs(time.Minute, id, "prod", "")
	liveImage(t, 10*time.Second, "prod", "promo-prod", "api", img+"2.0.1")
}

// TestPromotionManualApproval: with approval manual, prod waits for
// pave promote after staging is Ready, and receives exactly the approved
// revision.
func TestPromotionManualApproval(t *testing.T) {
	const id = "approve/api"
	const file = "services/approve/api/service.yaml"
	const img = "registry.example.com/approve/api:"
	dir := catalogDir(t, []string{"approve"}, map[string]string{id: webService(img + "1.0.0")})
	withPromotion(t, dir, "{approval: manual}")
	d := run(t, dir)
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "awaiting approval (pave promote approve/api --env prod)")
	d.clock.Step(24 * time.Hour)
	if got := image(t, "prod", "approve-prod", "api"); !strings.HasPrefix(got, "<") {
		t.Fatalf("prod runs %s without an approval", got)
	}
	if err := d.Promote(context.Background(), id, "prod"); err != nil {
		t.Fatal(err)
	}
	d.envPhase(time.Minute, id, "prod", PhaseReady)
	liveImage(t, 10*time.Second, "prod", "approve-prod", "api", img+"1.0.0")

	editFile(t, dir, file, "1.0.0", "1.1.0")
	d.refetch()
	d.envPhase(time.Minute, id, "staging", PhaseReady)
	d.gateIs(time.Minute, id, "prod", "awaiting approval")
	liveImage(t, time.Second, "prod", "approve-prod", "api", img+"1.0.0")
	if err := d.Promote(context.Background(), id, "prod"); err != nil {
		t.Fatal(err)
	}
	d.gateIs(time.Minute, id, "prod", "")
	liveImage(t, 10*time.Second, "prod", "approve-prod", "api", img+"1.1.0")
	// Nothing left to approve.
	if err := d.Promote(context.Background(), id, "prod"); err == nil {
		t.Error("promoting a pair that runs the newest revision: no error")
	}
}

func TestRoundUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Minute: "10m", 5*time.Minute + time.Second: "6m", time.Hour: "1h", 90 * time.Minute: "1h30m",
		44*time.Second + time.Millisecond: "45s", time.Second: "1s",
	} {
		if got := roundUp(d); got != want {
			t.Errorf("roundUp(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestPromotionRendersEachPairOnce: a commit to every service is rendered
// once per pair (but for retries). Each environment's pairs are handed
// out before the next one's, and a prod pair whose staging pair is still being reconciled
// (applied, then waited for until Ready) is put off until that reconcile
// ends, rather than rendered only to find its gate closed. Once a round
// is over, the daemon calls Options.Idle (where pave serve gives the
// round's memory back).
func TestPromotionRendersEachPairOnce(t *testing.T) {
	const team = "order"
	services, ids := webServices(team, 8)
	dir := catalogDir(t, []string{team}, services)
	// Idle is called when a round is over (once, or more when a retry
	// waiting for its backoff makes the round two).
	var idle atomic.Int32
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Idle = func() { idle.Add(1) } })
	idleAfter := func(what string) {
		t.Helper()
		d.waitFor(10*time.Second, what+": idle", func() (bool, string) { return idle.Load() > 0, "not yet" })
		idle.Store(0)
	}
	renders := func() uint64 {
		t.Helper()
		m := d.metric("pave_reconcile_duration_seconds", "render")
		if m == nil || m.Histogram == nil {
			t.Fatal("no pave_reconcile_duration_seconds{stage=\"render\"}")
		}
		return m.Histogram.GetSampleCount()
	}
	d.phase(3*time.Minute, PhaseReady, ids...)
	if n := renders(); n != uint64(2*len(ids)) {
		t.Errorf("first sync: %d renders of %d pairs", n, 2*len(ids))
	}
	idleAfter("first sync")

	before := renders()
	// Each file replaced whole (renamed into place): the folder source
	// never reads one half written.
	tmp := t.TempDir()
	for _, id := range ids {
		file := filepath.Join(dir, "services", id, "service.yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		next := filepath.Join(tmp, strings.ReplaceAll(id, "/", "-"))
		if err := os.WriteFile(next, []byte(strings.Replace(string(data), "app:1.0.0", "app:1.1.0", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, file); err != nil {
			t.Fatal(err)
		}
	}
	d.refetch()
	d.phase(3*time.Minute, PhaseReady, ids...)
	// One per pair; a loaded machine may add a retry or two (a policy
	// evaluation out of time, a write that conflicted with the Deployment
	// controller's). Rendering prod pairs while staging rolls out would
	// add one for each prod pair, 3 renders a service in all.
	n := renders() - before
	t.Logf("a commit to all %d services: %d renders", len(ids), n)
	if n < uint64(2*len(ids)) || n > uint64(2*len(ids)+2) {
		t.Errorf("a commit to all %d services: %d renders, want one per pair (%d), and at most 2 retries", len(ids), n, 2*len(ids))
	}
	for _, id := range ids {
		liveImage(t, 10*time.Second, "prod", team+"-prod", strings.TrimPrefix(id, team+"/"), "registry.example.com/order/app:1.1.0")
	}
	idleAfter("the commit's round")
}
