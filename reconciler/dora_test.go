package reconciler

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// TestDORA: the DORA metrics are recorded from each reconcile's result, on
// the daemon's clock: a deployment that becomes healthy counts once, with
// its lead time from the commit to Ready in the last environment (prod;
// staging records none), a fetch that changes nothing counts
// nothing, a deployment that ends failed is a change failure (in staging,
// where it halts: prod never receives it), and the next healthy deployment
// measures the time to restore from that failure. The 7- and 30-day
// figures come from the pairs' histories in their clusters: they survive a
// restart (the Prometheus counters start again at zero) and drop what
// ended before their window.
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
	// The history keeps the revision's commit time, where lead time starts.
	if h, err := d.History(context.Background(), id, "prod"); err != nil || len(h) == 0 || h[0].Committed == nil || !h[0].Committed.Equal(saved) {
		t.Errorf("prod's newest deployment: %+v, %v; want it to keep the commit time %v", h, err, saved)
	}

	// Over 7 and 30 days: 4 deployments (2 per environment), 1 change
	// failure, lead times of 10m and 2m in prod (median 6m), a restore
	// after 30m; all on the fake clock's day, the window's last.
	windows := func(step string, d *testDaemon, want7, want30 int) {
		t.Helper()
		for _, w := range []struct {
			days, deployments int
		}{{7, want7}, {30, want30}} {
			rep := d.DORA(time.Duration(w.days) * 24 * time.Hour)
			if rep.Days != w.days || len(rep.Total.Series) != w.days {
				t.Fatalf("%s, %d days: %d days and %d in the series", step, w.days, rep.Days, len(rep.Total.Series))
			}
			if !rep.Complete {
				t.Errorf("%s, %d days: incomplete, but every history is short", step, w.days)
			}
			team, ok := rep.Teams["dora"]
			if !ok {
				t.Fatalf("%s, %d days: no figures for team dora in %+v", step, w.days, rep.Teams)
			}
			for _, f := range []struct {
				name string
				f    DORAFigures
			}{{"total", rep.Total}, {"team dora", team}} {
				got := f.f
				if w.deployments == 0 {
					if got.Deployments != 0 || got.Failures != 0 || got.LeadTimes != 0 || got.Restores != 0 {
						t.Errorf("%s, %d days, %s: %+v, want nothing: it all ended before the window", step, w.days, f.name, got)
					}
					continue
				}
				if got.Deployments != 4 || got.Failures != 1 || got.ChangeFailureRate != 0.2 ||
					got.LeadTimes != 2 || got.LeadTime != 6*time.Minute || got.Restores != 1 || got.TimeToRestore != 30*time.Minute {
					t.Errorf("%s, %d days, %s: %+v; want 4 deployments, 1 failure (20%%), lead time 6m of 2, restore 30m of 1", step, w.days, f.name, got)
				}
				if per := 4 / float64(w.days); got.DeploymentsPerDay != per {
					t.Errorf("%s, %d days, %s: %v deployments a day, want %v", step, w.days, f.name, got.DeploymentsPerDay, per)
				}
				for i, day := range got.Series {
					wantDep, wantFail := 0, 0
					if day.Date.Equal(start.Truncate(24 * time.Hour)) {
						wantDep, wantFail = 4, 1
					}
					if day.Deployments != wantDep || day.Failures != wantFail {
						t.Errorf("%s, %d days, %s: day %d (%s): %d deployments, %d failures; want %d, %d", step, w.days, f.name, i, day.Date.Format(time.DateOnly), day.Deployments, day.Failures, wantDep, wantFail)
					}
				}
			}
		}
	}
	windows("before a restart", d, 4, 4)

	// A restarted daemon, two hours later: the counters start again, the
	// windows do not.
	restartAt := func(at time.Time) *testDaemon {
		d.stop()
		return run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Clock = clocktesting.NewFakeClock(at) })
	}
	d = restartAt(d.clock.Now().Add(2 * time.Hour))
	d.phase(time.Minute, PhaseReady, id)
	if n := d.counter("pave_deployments_total", id, "prod"); n != 0 {
		t.Errorf("after a restart: pave_deployments_total = %v, want 0 (since the process started)", n)
	}
	windows("after a restart", d, 4, 4)

	// A week later (restarted again): out of the 7 days, in the 30.
	d = restartAt(start.AddDate(0, 0, 7))
	d.phase(time.Minute, PhaseReady, id)
	windows("a week later", d, 0, 4)

	// A month later, without a restart: out of both.
	d.clock.SetTime(start.AddDate(0, 0, 30))
	windows("a month later", d, 0, 0)
}
