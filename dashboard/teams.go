package dashboard

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/reconciler"
)

// teamsPage shows DORA per team and for the whole catalog, and golden-path
// adherence. DORA comes from the daemon's own metrics (pave_deployments_total,
// pave_change_failures_total, pave_deployment_lead_time_seconds,
// pave_time_to_restore_seconds): counted since this pave process started.
// It measures the system per team, never per commit author.
type teamsPage struct {
	Teams       []teamRow
	All         teamRow
	Deployments chart
	FailureRate chart
	HasDORA     bool
	Expiring    []expiringRow
}

type teamRow struct {
	Name                          string
	Services                      int
	Ready, Failing                int
	Deployments, Failures         float64
	FailureRate                   string
	LeadTime, TimeToRestore       string
	leadSum, leadN, ttrSum, ttrN  float64
	Patched, Excepted, ExpireSoon int
}

type expiringRow struct {
	Service, Policy, Expires string
	DaysLeft                 int
}

// chart is a horizontal bar chart, laid out on the server and drawn as
// inline SVG by the template.
type chart struct {
	Title  string
	Width  int
	Height int
	Bars   []bar
}

type bar struct {
	Label, Value string
	Y, W         int
}

const (
	chartWidth = 480
	barHeight  = 22
	labelWidth = 140
)

func newChart(title string, labels []string, values []float64, format func(float64) string) chart {
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
		c.Bars = append(c.Bars, bar{Label: l, Value: format(values[i]), Y: i * barHeight, W: w})
	}
	return c
}

func buildTeamsPage(cat *catalog.Catalog, svcs []reconciler.ServiceStatus, metrics prometheus.Gatherer, now time.Time) (*teamsPage, error) {
	p := &teamsPage{All: teamRow{Name: "all teams"}}
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
	if metrics != nil {
		mfs, err := metrics.Gather()
		if err != nil {
			return nil, fmt.Errorf("gather DORA metrics: %w", err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				team := labelOf(m, "team")
				if team == "" {
					continue
				}
				r := row(team)
				switch mf.GetName() {
				case "pave_deployments_total":
					r.Deployments += m.GetCounter().GetValue()
					p.HasDORA = true
				case "pave_change_failures_total":
					r.Failures += m.GetCounter().GetValue()
					p.HasDORA = true
				case "pave_deployment_lead_time_seconds":
					r.leadSum += m.GetHistogram().GetSampleSum()
					r.leadN += float64(m.GetHistogram().GetSampleCount())
				case "pave_time_to_restore_seconds":
					r.ttrSum += m.GetHistogram().GetSampleSum()
					r.ttrN += float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	slices.Sort(names)
	a := &p.All
	var labels []string
	var deps, cfr []float64
	for _, n := range names {
		r := rows[n]
		r.finish()
		p.Teams = append(p.Teams, *r)
		a.Services += r.Services
		a.Ready += r.Ready
		a.Failing += r.Failing
		a.Deployments += r.Deployments
		a.Failures += r.Failures
		a.leadSum += r.leadSum
		a.leadN += r.leadN
		a.ttrSum += r.ttrSum
		a.ttrN += r.ttrN
		a.Patched += r.Patched
		a.Excepted += r.Excepted
		a.ExpireSoon += r.ExpireSoon
		labels = append(labels, n)
		deps = append(deps, r.Deployments)
		cfr = append(cfr, failureRate(r.Deployments, r.Failures))
	}
	a.finish()
	p.Deployments = newChart("Deployments per team", labels, deps, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	p.FailureRate = newChart("Change failure rate per team", labels, cfr, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) })
	slices.SortFunc(p.Expiring, func(a, b expiringRow) int { return a.DaysLeft - b.DaysLeft })
	return p, nil
}

func (r *teamRow) finish() {
	r.FailureRate = "–"
	if r.Deployments+r.Failures > 0 {
		r.FailureRate = fmt.Sprintf("%.0f%%", failureRate(r.Deployments, r.Failures)*100)
	}
	r.LeadTime, r.TimeToRestore = meanDuration(r.leadSum, r.leadN), meanDuration(r.ttrSum, r.ttrN)
}

// failureRate is the share of deployments that failed: failures over
// every deployment that ended (healthy or failed).
func failureRate(deployments, failures float64) float64 {
	if deployments+failures == 0 {
		return 0
	}
	return failures / (deployments + failures)
}

func meanDuration(sum, n float64) string {
	if n == 0 {
		return "–"
	}
	return (time.Duration(sum / n * float64(time.Second))).Round(time.Second).String()
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// patchCount counts a service's patches, its environments' included.
func patchCount(s *catalog.Service) int {
	n := len(s.Spec.Patches)
	for _, e := range s.Spec.Environments {
		n += len(e.Patches)
	}
	return n
}
