package reconciler

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/reconciler/apply"
)

// TestDORAWindowFromHistory: the windowed figures as a daemon derives
// them from the histories it reads at start and the deployments it
// records after: per team, a time to restore that starts before the window
// counts in it, a rollback restores but has no lead time, staging has no
// lead time, a deployment seen twice (history and record) counts once,
// events past the kept month are pruned but for the newest, and a full
// history that starts inside a window makes that window's counts a lower
// bound.
func TestDORAWindowFromHistory(t *testing.T) {
	now := time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(now)
	d := New(logr.Discard(), nil, nil, Options{Clock: clk})
	d.snap = &snapshot{cat: &catalog.Catalog{Config: &catalog.Config{Environments: []catalog.Environment{{Name: "staging"}, {Name: "prod"}}, Teams: []catalog.Team{{Name: "payments"}, {Name: "search"}}}}}

	day := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	dep := func(rev string, committed, end time.Time, result string) apply.Deployment {
		return apply.Deployment{Revision: rev, Start: end.Add(-time.Minute), End: &end, Result: result, Committed: &committed}
	}
	// History is newest first, as stored.
	pay := []apply.Deployment{
		dep("r5", day(6).Add(-3*time.Hour), day(6), apply.DeploymentReady), // restores r4's failure after 2 days; lead 3h
		dep("r4", day(8).Add(-time.Hour), day(8), apply.DeploymentFailed),
		dep("r3", day(20).Add(-time.Hour), day(20), apply.DeploymentReady),
		dep("r2", day(40).Add(-time.Hour), day(40), apply.DeploymentReady), // kept: the newest before the month
		dep("r1", day(50).Add(-time.Hour), day(50), apply.DeploymentReady), // pruned
	}
	rollback := dep("r3", day(20).Add(-time.Hour), day(1), apply.DeploymentReady)
	rollback.Cause = rollbackCause
	var search []apply.Deployment
	for i := range apply.HistoryLimit { // a full history, its oldest 10 days ago
		search = append(search, dep(fmt.Sprint("s", i), day(10-i/2).Add(-time.Hour), day(10-i/2).Add(time.Duration(i)*time.Minute), apply.DeploymentReady))
	}
	// Newest first.
	for i, j := 0, len(search)-1; i < j; i, j = i+1, j-1 {
		search[i], search[j] = search[j], search[i]
	}
	d.mu.Lock()
	d.seedDORA(pairKey{"payments/api", "prod"}, pay)
	d.seedDORA(pairKey{"payments/api", "staging"}, []apply.Deployment{dep("r5", day(6).Add(-3*time.Hour), day(6).Add(-time.Hour), apply.DeploymentReady)})
	d.seedDORA(pairKey{"search/web", "staging"}, search)
	// Recorded after the start: the same r5 again, and a rollback.
	d.logDORA(pairKey{"payments/api", "prod"}, pay[0])
	d.logDORA(pairKey{"payments/api", "prod"}, rollback)
	kept := len(d.doraLogs[pairKey{"payments/api", "prod"}].events)
	d.mu.Unlock()
	if kept != 5 {
		t.Errorf("payments/api in prod keeps %d events, want 5 (r2 to r5 and the rollback; r1 pruned)", kept)
	}

	week := d.DORA(7 * 24 * time.Hour)
	if !week.Complete {
		t.Error("7 days: incomplete, but search/web's history reaches 10 days back")
	}
	if want := time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC); !week.From.Equal(want) || week.Days != 7 {
		t.Errorf("7 days: from %v (%d days), want %v", week.From, week.Days, want)
	}
	p := week.Teams["payments"]
	if p.Deployments != 3 || p.Failures != 0 || p.LeadTimes != 1 || p.LeadTime != 3*time.Hour || p.Restores != 1 || p.TimeToRestore != 48*time.Hour {
		t.Errorf("7 days, payments: %+v; want 3 deployments (r5 twice, the rollback), lead time 3h of 1 (prod, not the rollback), a restore of 48h", p)
	}
	if s := p.Series; s[0].Deployments != 2 || s[5].Deployments != 1 || s[6].Deployments != 0 {
		t.Errorf("7 days, payments: series %+v; want 2 on the first day, 1 on the sixth", s)
	}
	if s := week.Teams["search"]; s.Deployments != 12 || s.LeadTimes != 0 {
		t.Errorf("7 days, search: %+v; want 12 deployments (6 to 1 days ago) and no lead time (staging)", s)
	}
	if week.Total.Deployments != 15 {
		t.Errorf("7 days: %d deployments in total, want 15", week.Total.Deployments)
	}

	month := d.DORA(30 * 24 * time.Hour)
	if month.Complete {
		t.Error("30 days: complete, but search/web's full history starts 10 days back")
	}
	if p := month.Teams["payments"]; p.Deployments != 4 || p.Failures != 1 || p.ChangeFailureRate != 0.2 || p.LeadTimes != 2 || p.LeadTime != 2*time.Hour {
		t.Errorf("30 days, payments: %+v; want 4 deployments (r3 too, not r2), 1 failure (20%%), lead times 1h and 3h", p)
	}
	if month.Total.Deployments != 24 {
		t.Errorf("30 days: %d deployments in total, want 24", month.Total.Deployments)
	}
}
