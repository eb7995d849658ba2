package reconciler

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// TestDORA: the DORA metrics are recorded from each reconcile's result, on
// the daemon's clock: a deployment that becomes healthy counts once, with
// its lead time from the commit to Ready in the last environment (prod;
// staging records none), a fetch that changes nothing counts
// nothing, a deployment that ends failed is a change failure (in staging,
// where it halts: prod never receives it), and the next healthy deployment
// measures the time to restore from that failure.
func TestDORA(t *testing.T) {
	const id = "dora/api"
	const file = "services/dora/api/service.yaml"
	dir := catalogDir(t, []string{"dora"}, map[string]string{id: webService("registry.example.com/dora/api:1.0.0")})
	// The revision was saved 10 minutes before the daemon starts.
	touchAll(t, dir, start.Add(-10*time.Minute))
	// A failing rollout is known when the wait for health times out.
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Apply.WaitTimeout = 20 * time.Second })
	d.phase(time.Minute, PhaseReady, id)

	want := func(step string, env string, deployments, failures float64, leadCount uint64, leadSum float64, restoreCount uint64, restoreSum float64) {
		t.Helper()
		if env != "prod" {
			leadCount, leadSum = 0, 0 // lead time ends in the last environment
		}
		if n := d.counter("pave_deployments_total", id, env); n != deployments {
			t.Errorf("%s, %s: pave_deployments_total = %v, want %v", step, env, n, deployments)
		}
		if n := d.counter("pave_change_failures_total", id, env); n != failures {
			t.Errorf("%s, %s: pave_change_failures_total = %v, want %v", step, env, n, failures)
		}
		if n, sum := d.histogram("pave_deployment_lead_time_seconds", id, env); n != leadCount || sum != leadSum {
			t.Errorf("%s, %s: lead time: %d samples summing %vs, want %d summing %vs", step, env, n, sum, leadCount, leadSum)
		}
		if n, sum := d.histogram("pave_time_to_restore_seconds", id, env); n != restoreCount || sum != restoreSum {
			t.Errorf("%s, %s: time to restore: %d samples summing %vs, want %d summing %vs", step, env, n, sum, restoreCount, restoreSum)
		}
	}
	for _, env := range []string{"staging", "prod"} {
		want("first deployment", env, 1, 0, 1, 600, 0, 0)
	}

	// An hour later, a change the cluster takes but cannot run, saved 5
	// minutes before.
	d.clock.Step(time.Hour)
	unready := "  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /spec/template/metadata/annotations/" + strings.ReplaceAll(testcluster.UnreadyAnnotation, "/", "~1") + ", value: \"true\"}\n"
	saved := d.clock.Now().Add(-5 * time.Minute)
	touchAll(t, dir, saved)
	writeFileAt(t, dir, file, serviceYAML(id, webService("registry.example.com/dora/api:1.1.0")+unready), saved)
	d.refetch()
	// It fails in staging; promotion keeps it from prod.
	d.envPhase(2*time.Minute, id, "staging", PhaseFailed)
	d.gateIs(time.Minute, id, "prod", "halted: staging Failed")
	if e := d.env(id, "staging"); !strings.Contains(e.Health, "CrashLoopBackOff") {
		t.Errorf("staging: health %q, want the crash-looping pods named", e.Health)
	}
	want("failed deployment", "staging", 1, 1, 1, 600, 0, 0)
	want("failed deployment", "prod", 1, 0, 1, 600, 0, 0)

	// A fetch that finds nothing new changes nothing.
	d.TriggerFetch()
	time.Sleep(time.Second)
	want("fetch without a change", "staging", 1, 1, 1, 600, 0, 0)
	want("fetch without a change", "prod", 1, 0, 1, 600, 0, 0)

	// Half an hour after the failure, the fix, saved 2 minutes before.
	d.clock.Step(30 * time.Minute)
	saved = d.clock.Now().Add(-2 * time.Minute)
	touchAll(t, dir, saved)
	writeFileAt(t, dir, file, serviceYAML(id, webService("registry.example.com/dora/api:1.1.1")), saved)
	d.refetch()
	d.phase(time.Minute, PhaseReady, id)
	want("restoring deployment", "staging", 2, 1, 2, 600+120, 1, 1800)
	want("restoring deployment", "prod", 2, 0, 2, 600+120, 0, 0)
	for _, env := range []string{"staging", "prod"} {
		if e := d.env(id, env); e.LastApplyTime == nil || !e.LastApplyTime.Equal(d.clock.Now()) {
			t.Errorf("%s: last apply %v, want the daemon's clock %v", env, e.LastApplyTime, d.clock.Now())
		}
	}
}
