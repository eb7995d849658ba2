package reconciler

import (
	"slices"
	"time"

	"github.com/pave-dev/pave/reconciler/apply"
)

// DORA over a window of days, from the deployment history each pair keeps
// in its cluster (apply.PairState.History): it survives restarts and
// leader changes, unlike the Prometheus counters, which start at zero
// with the process. The daemon keeps in memory the deployments of each
// pair that ended in the last DORAKeep, seeded at start from the histories
// restoreFlags reads, appended to as recordDeployment records one. It
// measures the delivery system per pair, team and catalog: nothing is
// kept or counted per commit author.

// DORAKeep is the longest window the daemon keeps DORA events for.
const DORAKeep = 30 * 24 * time.Hour

// doraEvent is one deployment of a pair that ended Ready or Failed.
type doraEvent struct {
	revision string
	start    time.Time
	end      time.Time
	failed   bool
	// committed is the revision's commit time; zero when the history
	// record does not say (written before it was kept).
	committed time.Time
	// rollback: the deployment re-applied an earlier revision; it
	// deploys and restores, but its lead time is not a change's.
	rollback bool
}

// doraLog is a pair's ended deployments, oldest end first.
type doraLog struct {
	events []doraEvent
	// completeFrom is when the log starts holding every deployment of
	// the pair: the start of the oldest deployment of a history cut at
	// apply.HistoryLimit when it was seeded; zero when nothing was cut.
	completeFrom time.Time
}

func doraEventOf(dep apply.Deployment) (doraEvent, bool) {
	if dep.End == nil || (dep.Result != apply.DeploymentReady && dep.Result != apply.DeploymentFailed) {
		return doraEvent{}, false
	}
	ev := doraEvent{revision: dep.Revision, start: dep.Start, end: *dep.End, failed: dep.Result == apply.DeploymentFailed, rollback: dep.Cause == rollbackCause}
	if dep.Committed != nil {
		ev.committed = *dep.Committed
	}
	return ev, true
}

// add records an ended deployment (once: the same revision and start
// replace the event) and drops what is older than DORAKeep, but for the
// newest such event, from which a time to restore may still run.
func (l *doraLog) add(ev doraEvent, now time.Time) {
	if i := slices.IndexFunc(l.events, func(e doraEvent) bool { return e.revision == ev.revision && e.start.Equal(ev.start) }); i >= 0 {
		l.events = slices.Delete(l.events, i, i+1)
	}
	i, _ := slices.BinarySearchFunc(l.events, ev.end, func(e doraEvent, t time.Time) int { return e.end.Compare(t) })
	// After events that ended at the same time: the order they came in.
	for i < len(l.events) && l.events[i].end.Equal(ev.end) {
		i++
	}
	l.events = slices.Insert(l.events, i, ev)
	// One more day than kept: the first day of the window starts at
	// midnight, before now-DORAKeep.
	cutoff := now.Add(-DORAKeep - 24*time.Hour)
	old := 0
	for old < len(l.events) && l.events[old].end.Before(cutoff) {
		old++
	}
	if old > 1 {
		l.events = slices.Delete(l.events, 0, old-1)
	}
}

// seedDORA adds a pair's stored history to its DORA log, with d.mu held.
func (d *Daemon) seedDORA(k pairKey, history []apply.Deployment) {
	now := d.clock.Now()
	l, ok := d.doraLogs[k]
	if !ok {
		l = &doraLog{}
		// A full history may have lost older deployments.
		if n := len(history); n >= apply.HistoryLimit {
			l.completeFrom = history[n-1].Start
		}
		d.doraLogs[k] = l
	}
	for i := len(history) - 1; i >= 0; i-- { // oldest first
		if ev, ok := doraEventOf(history[i]); ok {
			l.add(ev, now)
		}
	}
}

// logDORA adds a deployment recordDeployment just recorded, with d.mu held.
func (d *Daemon) logDORA(k pairKey, dep apply.Deployment) {
	ev, ok := doraEventOf(dep)
	if !ok {
		return
	}
	l, ok := d.doraLogs[k]
	if !ok {
		l = &doraLog{}
		d.doraLogs[k] = l
	}
	l.add(ev, d.clock.Now())
}

// DORAReport is DORA over the last Days calendar days (UTC), today
// included, per team and for the whole catalog.
type DORAReport struct {
	// From is the start of the first day, To the daemon's clock.
	From, To time.Time
	Days     int
	// Complete is false when some pair deployed more often in the window
	// than its stored history keeps (apply.HistoryLimit) and the daemon
	// has not been running since: the counts are then a lower bound.
	Complete bool
	// Teams has a team once it has a deployment kept, in the window or
	// before it.
	Teams map[string]DORAFigures
	Total DORAFigures
}

// DORAFigures are one team's (or the catalog's) DORA figures in a window.
// Deployments and change failures count in every environment; lead time
// is measured where a change is delivered, in the last environment, from
// the revision's commit to Ready (rollbacks excluded); time to restore
// runs from a pair's first failed deployment to its next Ready one.
type DORAFigures struct {
	Deployments       int
	DeploymentsPerDay float64
	Failures          int
	// ChangeFailureRate is Failures over every deployment that ended
	// (Ready or Failed); 0 when none did.
	ChangeFailureRate float64
	// LeadTime and TimeToRestore are medians of LeadTimes and Restores
	// samples; 0 when there is none.
	LeadTime      time.Duration
	LeadTimes     int
	TimeToRestore time.Duration
	Restores      int
	// Series is one entry a day, oldest first, for charts.
	Series []DORADay

	leads, restores []time.Duration
}

// DORADay is one day of a DORAFigures series.
type DORADay struct {
	Date        time.Time // midnight UTC
	Deployments int
	Failures    int
}

// DORA reports DORA over the last window, in whole days (at least 1, at
// most DORAKeep): the window's days end today (UTC) on the daemon's clock.
func (d *Daemon) DORA(window time.Duration) DORAReport {
	days := int((window + 24*time.Hour - 1) / (24 * time.Hour))
	days = min(max(days, 1), int(DORAKeep/(24*time.Hour)))
	now := d.clock.Now().UTC()
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	rep := DORAReport{From: from, To: now, Days: days, Complete: true, Teams: map[string]DORAFigures{}}

	type pairLog struct {
		k      pairKey
		events []doraEvent
	}
	d.mu.RLock()
	last := ""
	if d.snap != nil {
		if names := d.snap.cat.Config.EnvironmentNames(); len(names) > 0 {
			last = names[len(names)-1]
		}
	}
	// The catalog's teams only: a cluster may hold the inventories (and
	// histories) of services another catalog delivers. A service removed
	// from the catalog still counts with its team.
	teamsOf := map[string]bool{}
	if d.snap != nil {
		for _, t := range d.snap.cat.Config.Teams {
			teamsOf[t.Name] = true
		}
	}
	logs := make([]pairLog, 0, len(d.doraLogs))
	for k, l := range d.doraLogs {
		if team, _ := teamName(k.Service); d.snap != nil && !teamsOf[team] {
			continue
		}
		if len(d.owned([]pairKey{k})) == 0 {
			continue // another shard's: each shard counts its own share
		}
		if l.completeFrom.After(from) {
			rep.Complete = false
		}
		logs = append(logs, pairLog{k, slices.Clone(l.events)})
	}
	d.mu.RUnlock()

	newFigures := func() *DORAFigures {
		f := &DORAFigures{Series: make([]DORADay, days)}
		for i := range f.Series {
			f.Series[i].Date = from.AddDate(0, 0, i)
		}
		return f
	}
	teams := map[string]*DORAFigures{}
	total := newFigures()
	for _, pl := range logs {
		team, _ := teamName(pl.k.Service)
		tf, ok := teams[team]
		if !ok {
			tf = newFigures()
			teams[team] = tf
		}
		var failedAt time.Time
		for _, ev := range pl.events {
			day := -1
			if !ev.end.Before(from) && !ev.end.After(now) {
				day = int(ev.end.Sub(from) / (24 * time.Hour))
			}
			for _, f := range []*DORAFigures{tf, total} {
				f.count(ev, day, failedAt, pl.k.Environment == last)
			}
			switch {
			case ev.failed && failedAt.IsZero():
				failedAt = ev.end
			case !ev.failed:
				failedAt = time.Time{}
			}
		}
	}
	for team, f := range teams {
		f.finish(days)
		rep.Teams[team] = *f
	}
	total.finish(days)
	rep.Total = *total
	return rep
}

// count adds an event that ended on day (-1: outside the window) after a
// failure at failedAt (zero: none unrestored).
func (f *DORAFigures) count(ev doraEvent, day int, failedAt time.Time, lastEnv bool) {
	if day < 0 {
		return
	}
	if ev.failed {
		f.Failures++
		f.Series[day].Failures++
		return
	}
	f.Deployments++
	f.Series[day].Deployments++
	if lastEnv && !ev.rollback && !ev.committed.IsZero() && !ev.end.Before(ev.committed) {
		f.leads = append(f.leads, ev.end.Sub(ev.committed))
	}
	if !failedAt.IsZero() {
		f.restores = append(f.restores, ev.end.Sub(failedAt))
	}
}

func (f *DORAFigures) finish(days int) {
	f.DeploymentsPerDay = float64(f.Deployments) / float64(days)
	if n := f.Deployments + f.Failures; n > 0 {
		f.ChangeFailureRate = float64(f.Failures) / float64(n)
	}
	f.LeadTime, f.LeadTimes = median(f.leads), len(f.leads)
	f.TimeToRestore, f.Restores = median(f.restores), len(f.restores)
	f.leads, f.restores = nil, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}
