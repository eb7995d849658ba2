package dashboard

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/reconciler"
)

// teamsPage shows DORA per team and for the whole catalog over the last
// 7 or 30 days, and golden-path adherence. DORA comes from the daemon's
// windowed report (Daemon.DORA), which it derives from the deployment
// history kept in the clusters: the figures survive restarts of pave. It
// measures the system per team, never per commit author.
type teamsPage struct {
	Teams []teamRow
	All   teamRow
	// Window is the number of days shown (7 or 30); Windows the choices.
	Window   int
	Windows  []int
	From, To string
	// HasDORA: the daemon's report is available; Ended: a deployment
	// ended in the window; Complete: no history was cut within it.
	HasDORA, Ended, Complete bool
	Daily                    chart
	Deployments, FailureRate chart
	LeadTime, TimeToRestore  chart
	Expiring                 []expiringRow
}

type teamRow struct {
	Name                          string
	Services                      int
	Ready, Failing                int
	Deployments, Failures         int
	PerDay                        string
	FailureRate                   string
	LeadTime, TimeToRestore       string
	Patched, Excepted, ExpireSoon int
}

type expiringRow struct {
	Service, Policy, Expires string
	DaysLeft                 int
}

// chart is a bar chart, laid out on the server and drawn as inline SVG by
// the template: horizontal bars (one per label), or columns (one per day,
// Columns set) with the failures stacked on the deployments.
type chart struct {
	Title   string
	Width   int
	Height  int
	Bars    []bar
	Columns []column
}

type bar struct {
	Label, Value string
	Y, W         int
}

type column struct {
	X, W        int
	Y, H        int // the deployments' column
	FailY, Fail int // the failures' column, above it
	Label       string
	Title       string
}

const (
	chartWidth   = 480
	barHeight    = 22
	labelWidth   = 140
	columnHeight = 120 // the columns' area; the labels go below
)

// windows are the DORA windows the page offers, in days (the first is the
// default).
var windows = []int{7, 30}

// newChart draws a bar per label, as long as its value, with its text.
func newChart(title string, labels []string, values []float64, texts []string) chart {
	c := chart{Title: title, Width: chartWidth, Height: len(labels)*barHeight + 4}
	maxV := 0.0
	for _, v := range values {
		maxV = max(maxV, v)
	}
	for i, l := range labels {
		w := 0
		if maxV > 0 {
			w = int(values[i] / maxV * float64(chartWidth-labelWidth-70))
		}
		c.Bars = append(c.Bars, bar{Label: l, Value: texts[i], Y: i * barHeight, W: w})
	}
	return c
}

// newDailyChart draws a DORA series: a column a day, the day's change
// failures stacked on its deployments; every day labelled in a week,
// every fifth (today's included) in a month.
func newDailyChart(title string, days []reconciler.DORADay) chart {
	c := chart{Title: title, Width: chartWidth, Height: columnHeight + 20}
	if len(days) == 0 {
		return c
	}
	maxV := 1
	for _, d := range days {
		maxV = max(maxV, d.Deployments+d.Failures)
	}
	step := chartWidth / len(days)
	every := 1
	if len(days) > 10 {
		every = 5
	}
	for i, d := range days {
		h := d.Deployments * columnHeight / maxV
		f := d.Failures * columnHeight / maxV
		col := column{X: i * step, W: max(step-2, 1), Y: columnHeight - h, H: h, FailY: columnHeight - h - f, Fail: f,
			Title: fmt.Sprintf("%s: deployments %d, change failures %d", d.Date.Format(time.DateOnly), d.Deployments, d.Failures)}
		if (len(days)-1-i)%every == 0 {
			col.Label = d.Date.Format("01-02")
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}

// buildTeamsPage lays out the page for a window of days; dora is the
// daemon's report (nil: not available).
func buildTeamsPage(cat *catalog.Catalog, svcs []reconciler.ServiceStatus, dora func(time.Duration) reconciler.DORAReport, window int, now time.Time) *teamsPage {
	p := &teamsPage{All: teamRow{Name: "all teams"}, Window: window, Windows: windows}
	rows := map[string]*teamRow{}
	row := func(team string) *teamRow {
		r, ok := rows[team]
		if !ok {
			r = &teamRow{Name: team}
			rows[team] = r
		}
		return r
	}
	if cat != nil && cat.Config != nil {
		for _, t := range cat.Config.TeamNames() {
			row(t)
		}
	}
	for _, s := range svcs {
		r := row(s.Team)
		r.Services++
		for _, e := range s.Environments {
			switch phaseClass(e.Phase) {
			case "ok":
				r.Ready++
			case "bad":
				r.Failing++
			}
		}
	}
	if cat != nil {
		for _, s := range cat.Services {
			r := row(s.Metadata.Team)
			if patchCount(s) > 0 {
				r.Patched++
			}
			if s.ExceptionFile == nil {
				continue
			}
			active, soon := false, false
			for _, x := range s.ExceptionFile.Exceptions {
				if x.Expires.Before(now) {
					continue
				}
				active = true
				days := int(x.Expires.Sub(now).Hours() / 24)
				if days < 14 {
					soon = true
					p.Expiring = append(p.Expiring, expiringRow{Service: s.ID(), Policy: x.Policy, Expires: x.Expires.Format("2006-01-02"), DaysLeft: days})
				}
			}
			if active {
				r.Excepted++
			}
			if soon {
				r.ExpireSoon++
			}
		}
	}
	var rep reconciler.DORAReport
	if dora != nil {
		rep = dora(time.Duration(window) * 24 * time.Hour)
		p.HasDORA, p.Complete = true, rep.Complete
		p.From, p.To = rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly)
		p.Ended = rep.Total.Deployments+rep.Total.Failures > 0
		for team := range rep.Teams {
			row(team)
		}
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	slices.Sort(names)
	var labels, perDayT, cfrT, leadT, ttrT []string
	var perDay, cfr, lead, ttr []float64
	for _, n := range names {
		r := rows[n]
		f := rep.Teams[n]
		r.setDORA(f, p.HasDORA)
		p.Teams = append(p.Teams, *r)
		p.All.Services += r.Services
		p.All.Ready += r.Ready
		p.All.Failing += r.Failing
		p.All.Patched += r.Patched
		p.All.Excepted += r.Excepted
		p.All.ExpireSoon += r.ExpireSoon
		labels = append(labels, n)
		perDay = append(perDay, f.DeploymentsPerDay)
		cfr = append(cfr, f.ChangeFailureRate)
		lead = append(lead, f.LeadTime.Seconds())
		ttr = append(ttr, f.TimeToRestore.Seconds())
		perDayT, cfrT, leadT, ttrT = append(perDayT, r.PerDay), append(cfrT, r.FailureRate), append(leadT, r.LeadTime), append(ttrT, r.TimeToRestore)
	}
	p.All.setDORA(rep.Total, p.HasDORA)
	in := fmt.Sprintf(", last %d days", window)
	p.Daily = newDailyChart("Deployments per day, all teams (change failures on top, in red)", rep.Total.Series)
	p.Deployments = newChart("Deployments per day per team"+in, labels, perDay, perDayT)
	p.FailureRate = newChart("Change failure rate per team"+in, labels, cfr, cfrT)
	p.LeadTime = newChart("Median lead time per team"+in, labels, lead, leadT)
	p.TimeToRestore = newChart("Median time to restore per team"+in, labels, ttr, ttrT)
	slices.SortFunc(p.Expiring, func(a, b expiringRow) int { return a.DaysLeft - b.DaysLeft })
	return p
}

// setDORA fills a row's DORA columns ("–" where there is nothing to show).
func (r *teamRow) setDORA(f reconciler.DORAFigures, has bool) {
	r.Deployments, r.Failures = f.Deployments, f.Failures
	r.PerDay, r.FailureRate, r.LeadTime, r.TimeToRestore = "–", "–", "–", "–"
	if !has {
		return
	}
	r.PerDay = formatRate(f.DeploymentsPerDay)
	if f.Deployments+f.Failures > 0 {
		r.FailureRate = fmt.Sprintf("%.0f%%", f.ChangeFailureRate*100)
	}
	r.LeadTime = formatDuration(f.LeadTime, f.LeadTimes > 0)
	r.TimeToRestore = formatDuration(f.TimeToRestore, f.Restores > 0)
}

// formatRate shows deployments a day: "0", "0.14", "2.5", "12".
func formatRate(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// formatDuration shows a duration to a person: "45s", "12m", "3h20m",
// "2d4h"; "–" when there is no sample.
func formatDuration(d time.Duration, ok bool) string {
	if !ok {
		return "–"
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// patchCount counts a service's patches, its environments' included.
func patchCount(s *catalog.Service) int {
	n := len(s.Spec.Patches)
	for _, e := range s.Spec.Environments {
		n += len(e.Patches)
	}
	return n
}
