package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/reconciler/apply"
)

func itoa(i int) string { return strconv.Itoa(i) }

// phaseClass is the CSS class of a phase: its colour.
func phaseClass(p reconciler.Phase) string {
	switch p {
	case reconciler.PhaseReady:
		return "ok"
	case reconciler.PhaseProgressing, reconciler.PhasePending:
		return "busy"
	case reconciler.PhaseWaiting:
		return "wait"
	case reconciler.PhasePruned:
		return "off"
	case "":
		return "none"
	}
	return "bad"
}

// shortRev shortens a revision for display (7 hex digits of a commit).
func shortRev(rev string) string {
	if rest, ok := strings.CutPrefix(rev, "dir:sha256:"); ok {
		rev = "dir:" + rest
		if len(rev) > 16 {
			rev = rev[:16]
		}
		return rev
	}
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

// environments lists the environments in delivery order: the source's
// (the accepted catalog's), then any other the statuses name, sorted.
func environments(src reconciler.SourceStatus, svcs []reconciler.ServiceStatus) []string {
	envs := slices.Clone(src.Environments)
	seen := map[string]bool{}
	for _, e := range envs {
		seen[e] = true
	}
	var extra []string
	for _, s := range svcs {
		for e := range s.Environments {
			if !seen[e] {
				seen[e] = true
				extra = append(extra, e)
			}
		}
	}
	slices.Sort(extra)
	return append(envs, extra...)
}

// templateName is "web-service" of "web-service@1.2.0".
func templateName(t string) string {
	n, _, _ := strings.Cut(t, "@")
	return n
}

// servicesPage is the services grid.
type servicesPage struct {
	Envs                     []string
	Teams, Templates, Phases []string
	Rows                     []serviceRow
	Counts                   []phaseCount
	Filter                   filter
	Total, Shown             int
	// Live is the rendered counts and grid, Version its digest.
	Live    template.HTML
	Version string
}

type phaseCount struct {
	Phase reconciler.Phase
	Class string
	N     int
}

// filter is the services page's query: team, template, phase and text.
type filter struct {
	Team, Template, Phase, Q string
}

func (f filter) match(r *serviceRow) bool {
	if f.Team != "" && r.Team != f.Team {
		return false
	}
	if f.Template != "" && r.TemplateName != f.Template {
		return false
	}
	if f.Phase != "" && !slices.Contains(strings.Fields(r.Phases), f.Phase) {
		return false
	}
	return f.Q == "" || strings.Contains(r.Search, strings.ToLower(f.Q))
}

// serviceRow is one service: a row of the grid.
type serviceRow struct {
	ID, Team, Name string
	Template       string // name@version
	TemplateName   string
	// Phases holds the row's phases, space-separated, for the filter.
	Phases string
	// Search is what the text filter matches, lowercased.
	Search string
	Hidden bool
	Cells  []cell
}

// cell is a service in one environment.
type cell struct {
	Env             string
	Phase           reconciler.Phase
	Class           string
	Running         string // short revision
	Pending         string
	Gate            string
	Wave            string
	Why             string // the failing object and why, or the first error
	Suspended, Held bool
}

func buildServicesPage(src reconciler.SourceStatus, svcs []reconciler.ServiceStatus, f filter) *servicesPage {
	p := &servicesPage{Envs: environments(src, svcs), Filter: f, Total: len(svcs)}
	teams, tmpls := map[string]bool{}, map[string]bool{}
	counts := map[reconciler.Phase]int{}
	p.Rows = make([]serviceRow, 0, len(svcs))
	for _, s := range svcs {
		r := serviceRow{ID: s.Service, Team: s.Team, Name: s.Name, Template: s.Template, TemplateName: templateName(s.Template)}
		teams[s.Team] = true
		if r.TemplateName != "" {
			tmpls[r.TemplateName] = true
		}
		var phases []string
		search := []string{s.Service, s.Template}
		for _, env := range p.Envs {
			e, ok := s.Environments[env]
			if !ok {
				r.Cells = append(r.Cells, cell{Env: env, Class: "none"})
				continue
			}
			c := cellOf(env, e)
			counts[e.Phase]++
			if !slices.Contains(phases, string(e.Phase)) {
				phases = append(phases, string(e.Phase))
			}
			search = append(search, string(e.Phase), c.Running, c.Pending, e.Gate)
			r.Cells = append(r.Cells, c)
		}
		r.Phases = strings.Join(phases, " ")
		r.Search = strings.ToLower(strings.Join(search, " "))
		r.Hidden = !f.match(&r)
		if !r.Hidden {
			p.Shown++
		}
		p.Rows = append(p.Rows, r)
	}
	p.Teams = sortedKeys(teams)
	p.Templates = sortedKeys(tmpls)
	for _, ph := range reconciler.Phases {
		p.Phases = append(p.Phases, string(ph))
		if counts[ph] > 0 {
			p.Counts = append(p.Counts, phaseCount{Phase: ph, Class: phaseClass(ph), N: counts[ph]})
		}
	}
	return p
}

func cellOf(env string, e *reconciler.EnvironmentStatus) cell {
	c := cell{
		Env: env, Phase: e.Phase, Class: phaseClass(e.Phase),
		Running: shortRev(e.AppliedRevision), Pending: shortRev(e.PendingRevision),
		Gate: e.Gate, Wave: e.Wave, Suspended: e.Suspended, Held: e.HeldAt != "",
	}
	// Why is for what is not Ready: its first error (a denial, an apply
	// error), else what its health says ("7 objects ready" explains
	// nothing).
	switch {
	case e.Phase == reconciler.PhaseReady:
	case len(e.Errors) > 0:
		c.Why = e.Errors[0]
	case e.HealthObject != "" || e.Health != "":
		c.Why = strings.TrimSpace(e.HealthObject + ": " + e.Health)
		c.Why = strings.TrimPrefix(c.Why, ": ")
	}
	return c
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// commitInfo is a revision's commit as the service page shows it.
type commitInfo struct {
	Rev, Short, URL string
	Message, Author string
	Time            *time.Time
	Err             string
}

// link is an outbound link (observability tools, forge).
type link struct{ Label, URL string }

// servicePage is one service.
type servicePage struct {
	ID, Team, Name, Template, Source string
	TemplateName                     string
	File, FileURL                    string
	Envs                             []envDetail
	Exceptions                       []exceptionRow
	Patches                          int
	// EventsErr says why some environment's events could not be read.
	EventsErr string
}

type envDetail struct {
	Env string
	cell
	Status      *reconciler.EnvironmentStatus
	Cluster     string
	Namespace   string
	Commit      *commitInfo
	PendingInfo *commitInfo
	Links       []link
	// Errors are the pair's errors but the one Why shows.
	Errors     []string
	Violations []violationRow
	PolicyErrs []policy.Error
	History    []apply.Deployment
	HistoryErr string
	Drift      []reconciler.DriftRecord
	Events     []reconciler.EventRecord
}

type violationRow struct {
	policy.Violation
	FileURL string
	Expires string
}

type exceptionRow struct {
	Policy, Reason, ApprovedBy, Envs string
	Expires                          string
	DaysLeft                         int
	Soon, Expired                    bool
}

// deps are what the pages read besides the status.
type deps struct {
	catalog func() *catalog.Catalog
	commit  func(ctx context.Context, id string) (*commitInfo, error)
	history func(ctx context.Context, service, env string) ([]apply.Deployment, error)
	events  func(ctx context.Context, service string, limit int) ([]reconciler.EventRecord, error)
	now     func() time.Time
}

func (d *deps) cat() *catalog.Catalog {
	if d.catalog == nil {
		return nil
	}
	return d.catalog()
}

func buildServicePage(ctx context.Context, dp *deps, src reconciler.SourceStatus, s reconciler.ServiceStatus) *servicePage {
	forge := parseForge(src.URL)
	p := &servicePage{ID: s.Service, Team: s.Team, Name: s.Name, Template: s.Template, TemplateName: templateName(s.Template), Source: s.Source}
	cat := dp.cat()
	var svc *catalog.Service
	if cat != nil {
		for _, c := range cat.Services {
			if c.ID() == s.Service {
				svc = c
				break
			}
		}
	}
	if svc != nil {
		p.File = svc.File
		p.FileURL = forge.fileURL(src.Applied, svc.File, 0)
		p.Patches = patchCount(svc)
		if svc.ExceptionFile != nil {
			now := dp.now()
			for _, x := range svc.ExceptionFile.Exceptions {
				days := int(x.Expires.Sub(now).Hours() / 24)
				p.Exceptions = append(p.Exceptions, exceptionRow{
					Policy: x.Policy, Reason: x.Reason, ApprovedBy: x.ApprovedBy,
					Envs: strings.Join(x.Environments, ", "), Expires: x.Expires.Format("2006-01-02"),
					DaysLeft: days, Expired: x.Expires.Before(now), Soon: !x.Expires.Before(now) && days < 14,
				})
			}
		}
	}
	for _, env := range environments(src, []reconciler.ServiceStatus{s}) {
		e, ok := s.Environments[env]
		if !ok {
			continue
		}
		d := envDetail{Env: env, cell: cellOf(env, e), Status: e, Cluster: e.Cluster, Namespace: e.Namespace, Drift: e.Drift, Errors: e.Errors}
		if len(e.Errors) > 0 && d.Why == e.Errors[0] {
			d.Errors = e.Errors[1:]
		}
		if e.AppliedRevision != "" {
			d.Commit = commitOf(ctx, dp, forge, e.AppliedRevision)
		}
		if e.PendingRevision != "" {
			d.PendingInfo = commitOf(ctx, dp, forge, e.PendingRevision)
		}
		if e.Policy != nil {
			for _, v := range e.Policy.Violations {
				vr := violationRow{Violation: v, FileURL: forge.fileURL(e.AppliedRevision, v.File, v.Line)}
				if v.Exception != nil {
					vr.Expires = v.Exception.Expires
				}
				d.Violations = append(d.Violations, vr)
			}
			d.PolicyErrs = e.Policy.Errors
		}
		if cat != nil && cat.Config != nil {
			cluster := e.Cluster
			if ce, ok := cat.Config.Environment(env); ok && cluster == "" {
				cluster = ce.Cluster
			}
			for _, l := range cat.Config.Observability.Links(s.Team, s.Name, e.Namespace, env, cluster) {
				d.Links = append(d.Links, link{Label: l.Kind, URL: l.URL})
			}
		}
		if dp.history != nil {
			h, err := dp.history(ctx, s.Service, env)
			if err != nil {
				d.HistoryErr = err.Error()
			}
			if len(h) > 20 {
				h = h[:20]
			}
			d.History = h
		}
		p.Envs = append(p.Envs, d)
	}
	if dp.events != nil {
		evs, err := dp.events(ctx, s.Service, 60)
		if err != nil {
			p.EventsErr = err.Error()
		}
		for i := range p.Envs {
			for _, e := range evs {
				if e.Environment == p.Envs[i].Env && len(p.Envs[i].Events) < 10 {
					p.Envs[i].Events = append(p.Envs[i].Events, e)
				}
			}
		}
	}
	return p
}

func commitOf(ctx context.Context, dp *deps, forge *forgeRepo, rev string) *commitInfo {
	ci := &commitInfo{Rev: rev, Short: shortRev(rev), URL: forge.commitURL(rev)}
	if dp.commit == nil {
		return ci
	}
	got, err := dp.commit(ctx, rev)
	if err != nil {
		ci.Err = err.Error()
		return ci
	}
	ci.Message, ci.Author, ci.Time = got.Message, got.Author, got.Time
	return ci
}

// templatesPage lists the golden-path templates.
type templatesPage struct {
	Envs      []string
	Templates []templateRow
}

type templateRow struct {
	Name, Version, Description string
	// PerEnv counts the services running the template in each
	// environment, by version ("web-service@1.2.0" → n).
	PerEnv []versionCounts
	Waves  []waveRow
}

type versionCounts struct {
	Env      string
	Versions []versionCount
}

type versionCount struct {
	Version string
	N       int
	Current bool
}

type waveRow struct {
	Env, Wave string
	Services  []string
}

func buildTemplatesPage(cat *catalog.Catalog, src reconciler.SourceStatus, svcs []reconciler.ServiceStatus) *templatesPage {
	p := &templatesPage{Envs: environments(src, svcs)}
	rows := map[string]*templateRow{}
	row := func(name string) *templateRow {
		r, ok := rows[name]
		if !ok {
			r = &templateRow{Name: name}
			rows[name] = r
		}
		return r
	}
	if cat != nil {
		for name, t := range cat.Templates {
			r := row(name)
			r.Version, r.Description = t.Version, t.Description
		}
	}
	counts := map[string]map[string]map[string]int{} // template → env → version → n
	waves := map[string]map[[2]string][]string{}     // template → (env, wave) → services
	for _, s := range svcs {
		name, version, _ := strings.Cut(s.Template, "@")
		if name == "" {
			continue
		}
		row(name)
		for env, e := range s.Environments {
			if counts[name] == nil {
				counts[name] = map[string]map[string]int{}
			}
			if counts[name][env] == nil {
				counts[name][env] = map[string]int{}
			}
			counts[name][env][version]++
			if e.Wave != "" {
				if waves[name] == nil {
					waves[name] = map[[2]string][]string{}
				}
				k := [2]string{env, e.Wave}
				waves[name][k] = append(waves[name][k], s.Service)
			}
		}
	}
	for _, name := range sortedKeys(func() map[string]bool {
		m := map[string]bool{}
		for k := range rows {
			m[k] = true
		}
		return m
	}()) {
		r := rows[name]
		for _, env := range p.Envs {
			vc := versionCounts{Env: env}
			for v, n := range counts[name][env] {
				vc.Versions = append(vc.Versions, versionCount{Version: v, N: n, Current: v == r.Version})
			}
			slices.SortFunc(vc.Versions, func(a, b versionCount) int { return strings.Compare(b.Version, a.Version) })
			r.PerEnv = append(r.PerEnv, vc)
		}
		for k, ids := range waves[name] {
			slices.Sort(ids)
			r.Waves = append(r.Waves, waveRow{Env: k[0], Wave: k[1], Services: ids})
		}
		slices.SortFunc(r.Waves, func(a, b waveRow) int {
			if c := strings.Compare(envIndex(p.Envs, a.Env), envIndex(p.Envs, b.Env)); c != 0 {
				return c
			}
			return strings.Compare(a.Wave, b.Wave)
		})
		p.Templates = append(p.Templates, *r)
	}
	return p
}

func envIndex(envs []string, env string) string {
	return fmt.Sprintf("%03d", slices.Index(envs, env)+1)
}
