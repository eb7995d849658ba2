package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/reconciler/apply"
)

// tamper changes a Deployment's image in a cluster, as someone with
// kubectl would.
func tamper(t *testing.T, cluster, ns, name, img string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Read and written again when the Deployment controller wrote its
	// status in between, as kubectl edit would.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		dep, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		dep.Spec.Template.Spec.Containers[0].Image = img
		_, err = cs.AppsV1().Deployments(ns).Update(ctx, dep, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// resyncAll checks every pair for drift now and waits until the queue is
// drained.
func (d *testDaemon) resyncAll() {
	d.t.Helper()
	d.enqueueAll(context.Background(), true)
	time.Sleep(200 * time.Millisecond)
	d.waitFor(time.Minute, "queue drained", func() (bool, string) { return d.queue.Len() == 0, "busy" })
	time.Sleep(time.Second) // the last reconcile taken finishes
}

// TestSuspendSurvivesRestart: a suspended pair is not reconciled, drift
// correction included, also by a daemon started after the suspension (it
// is kept in the cluster); resume corrects the drift at once.
func TestSuspendSurvivesRestart(t *testing.T) {
	const id = "suspend/api"
	const img = "registry.example.com/suspend/api:1.0.0"
	dir := catalogDir(t, []string{"suspend"}, map[string]string{id: webService(img)})
	d := run(t, dir)
	d.phase(time.Minute, PhaseReady, id)
	ctx := context.Background()

	if err := d.Suspend(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"staging", "prod"} {
		if e := d.env(id, env); !e.Suspended {
			t.Errorf("%s: not suspended in the status", env)
		}
	}
	tamper(t, "prod", "suspend-prod", "api", "registry.example.com/suspend/api:hotfix")
	d.resyncAll()
	liveImage(t, time.Second, "prod", "suspend-prod", "api", "registry.example.com/suspend/api:hotfix")

	// A new daemon knows the pair is suspended.
	d.stop()
	d = run(t, dir)
	if e := d.env(id, "prod"); e == nil || !e.Suspended {
		t.Fatalf("after a restart: %+v, want suspended", e)
	}
	d.resyncAll()
	liveImage(t, time.Second, "prod", "suspend-prod", "api", "registry.example.com/suspend/api:hotfix")

	// Resume: the drift is corrected.
	if err := d.Resume(ctx, id, "prod"); err != nil {
		t.Fatal(err)
	}
	liveImage(t, 30*time.Second, "prod", "suspend-prod", "api", img)
	if e := d.env(id, "prod"); e.Suspended {
		t.Error("prod still suspended after resume")
	}
	if e := d.env(id, "staging"); !e.Suspended {
		t.Error("staging resumed with prod only")
	}
	if err := d.Suspend(ctx, "suspend/nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("suspend of an unknown service: %v, want ErrNotFound", err)
	}
}

// TestRollbackHoldsUntilTheServiceChanges: a rollback re-applies the last
// healthy revision in one environment and holds it there, through a
// restart of the daemon and a commit of another service, until a commit
// changes the service; the history records each deployment.
func TestRollbackHoldsUntilTheServiceChanges(t *testing.T) {
	const id, other = "rollback/api", "rollback/other"
	const file = "services/rollback/api/service.yaml"
	const img = "registry.example.com/rollback/api:"
	dir := catalogDir(t, []string{"rollback"}, map[string]string{
		id:    webService(img + "1.0.0"),
		other: webService("registry.example.com/rollback/other:1.0.0"),
	})
	d := run(t, dir)
	d.phase(time.Minute, PhaseReady, id)
	v1 := d.Status.Source().Revision
	// Each deployment starts at its own time on the daemon's clock.
	d.clock.Step(time.Minute)
	editFile(t, dir, file, "1.0.0", "1.1.0")
	d.refetch()
	d.phase(time.Minute, PhaseReady, id)
	v2 := d.Status.Source().Revision
	liveImage(t, 10*time.Second, "prod", "rollback-prod", "api", img+"1.1.0")
	ctx := context.Background()

	d.clock.Step(time.Minute)
	if err := d.Rollback(ctx, id, "prod", ""); err != nil {
		t.Fatal(err)
	}
	liveImage(t, 30*time.Second, "prod", "rollback-prod", "api", img+"1.0.0")
	d.waitFor(time.Minute, "prod held at v1", func() (bool, string) {
		e := d.env(id, "prod")
		return e.HeldAt == v1 && e.AppliedRevision == v1 && e.Phase == PhaseReady && e.PendingRevision == v2, e.Gate
	})
	liveImage(t, time.Second, "staging", "rollback-staging", "api", img+"1.1.0")
	hist, err := d.History(ctx, id, "prod")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, shortRev(h.Revision)+" "+h.Result)
	}
	want := []string{shortRev(v1) + " Ready", shortRev(v2) + " Ready", shortRev(v1) + " Ready"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("prod history %q, want %q", got, want)
	}
	if hist[0].Cause == "" {
		t.Error("the rollback's deployment does not say it is one")
	}

	// The hold survives a restart and a commit of another service.
	d.stop()
	d = run(t, dir)
	if e := d.env(id, "prod"); e == nil || e.HeldAt != v1 {
		t.Fatalf("after a restart: %+v, want held at %s", e, v1)
	}
	editFile(t, dir, "services/rollback/other/service.yaml", "1.0.0", "1.0.1")
	d.refetch()
	d.envPhase(time.Minute, other, "prod", PhaseReady)
	d.resyncAll()
	liveImage(t, time.Second, "prod", "rollback-prod", "api", img+"1.0.0")
	if e := d.env(id, "prod"); e.HeldAt != v1 {
		t.Errorf("another service's commit released the hold: %+v", e)
	}
	var state *apply.PairState
	if state, err = d.appliers["prod"].State(ctx, apply.Pair{Service: id, Environment: "prod"}); err != nil || state.HeldAt != v1 {
		t.Errorf("stored state %+v (%v), want held at %s", state, err, v1)
	}

	// A commit of the service releases it.
	editFile(t, dir, file, "1.1.0", "1.2.0")
	d.refetch()
	d.phase(time.Minute, PhaseReady, id)
	liveImage(t, 10*time.Second, "prod", "rollback-prod", "api", img+"1.2.0")
	if e := d.env(id, "prod"); e.HeldAt != "" {
		t.Errorf("still held after a commit of the service: %+v", e)
	}
}

// TestRollbackAuto: with rollback: auto, a revision that fails in staging
// is rolled back there to the last healthy one (live in the cluster), the
// pair is held, prod never receives it, and the fix releases the hold.
func TestRollbackAuto(t *testing.T) {
	const id = "autoback/api"
	const file = "services/autoback/api/service.yaml"
	const img = "registry.example.com/autoback/api:"
	dir := catalogDir(t, []string{"autoback"}, map[string]string{id: webService(img + "1.0.0")})
	editFile(t, dir, "pave.yaml", "\nteams:\n", "\nrollback: auto\n\nteams:\n")
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Apply.WaitTimeout = 20 * time.Second })
	d.phase(time.Minute, PhaseReady, id)
	v1 := d.Status.Source().Revision

	d.clock.Step(time.Minute)
	writeFile(t, dir, file, serviceYAML(id, webService(img+"2.0.0")+unready))
	d.refetch()
	v2 := d.Status.Source().Revision
	d.waitFor(2*time.Minute, "staging rolled back", func() (bool, string) {
		e := d.env(id, "staging")
		return e.HeldAt == v1 && e.AppliedRevision == v1 && e.Phase == PhaseReady, fmt.Sprintf("%+v", e)
	})
	liveImage(t, 10*time.Second, "staging", "autoback-staging", "api", img+"1.0.0")
	d.queue.Add(pairKey{id, "prod"})
	d.gateIs(time.Minute, id, "prod", "halted: staging held at "+shortRev(v1))
	liveImage(t, time.Second, "prod", "autoback-prod", "api", img+"1.0.0")
	hist, err := d.History(context.Background(), id, "staging")
	if err != nil {
		t.Fatal(err)
	}
	// (The failure and the rollback happen at one instant of the fake
	// clock: their order in the history is not asserted.)
	var failed, rolledBack bool
	for _, h := range hist {
		failed = failed || (h.Revision == v2 && h.Result == apply.DeploymentFailed && strings.Contains(h.Cause, "CrashLoopBackOff"))
		rolledBack = rolledBack || (h.Revision == v1 && h.Result == apply.DeploymentReady && strings.Contains(h.Cause, "rollback"))
	}
	if len(hist) != 3 || !failed || !rolledBack {
		t.Errorf("staging history %+v, want v1, then v2 failed with its cause, and the rollback to v1", hist)
	}

	// The fix releases the hold and goes through.
	d.clock.Step(time.Minute)
	writeFile(t, dir, file, serviceYAML(id, webService(img+"2.0.1")))
	d.refetch()
	d.phase(time.Minute, PhaseReady, id)
	liveImage(t, 10*time.Second, "prod", "autoback-prod", "api", img+"2.0.1")
	if e := d.env(id, "staging"); e.HeldAt != "" {
		t.Errorf("staging still held after the fix: %+v", e)
	}
}
