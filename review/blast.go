package review

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// maxShapeFields bounds the fields a shape names per object.
const maxShapeFields = 4

// blastRadius fills the review's platform changes (templates, policies,
// pave.yaml) and groups the impacted pairs by the shape of their change.
func blastRadius(rv *Review, bs, hs *side, impact catalog.Impact) {
	rv.Rollouts = rolloutPlans(hs.cat, impact)
	templateOf := func(id string) string {
		if svc, ok := hs.byID[id]; ok {
			return svc.TemplateName()
		}
		if bs != nil {
			if svc, ok := bs.byID[id]; ok {
				return svc.TemplateName()
			}
		}
		return ""
	}

	// Platform changes.
	changedTemplates := map[string]bool{}
	changedLibraries := map[string]bool{}
	for _, p := range rv.Changed {
		parts := strings.Split(p, "/")
		switch {
		case p == catalog.ConfigFile:
			rv.Config = true
		case parts[0] == catalog.PoliciesDir && len(parts) > 1:
			rv.Policies = append(rv.Policies, p)
		case parts[0] == catalog.TemplatesDir && len(parts) > 2 && isLibrary(parts[1], bs, hs):
			changedLibraries[parts[1]] = true
		case parts[0] == catalog.TemplatesDir && len(parts) > 2:
			changedTemplates[parts[1]] = true
		}
	}
	pairsOf := map[string]int{} // service → impacted pairs
	for _, res := range rv.Results {
		if res.Environment != "" {
			pairsOf[res.Service]++
		}
	}
	for _, name := range slices.Sorted(maps.Keys(changedTemplates)) {
		tc := TemplateChange{Name: name, Services: []string{}}
		if bs != nil {
			if t, ok := bs.cat.Templates[name]; ok {
				tc.From = t.Version
			}
		}
		if t, ok := hs.cat.Templates[name]; ok {
			tc.To = t.Version
		}
		users := map[string]bool{}
		for _, s := range []*side{bs, hs} {
			if s == nil {
				continue
			}
			for _, svc := range s.cat.Services {
				if svc.TemplateName() == name {
					users[svc.ID()] = true
				}
			}
		}
		tc.Services = slices.Sorted(maps.Keys(users))
		for _, id := range tc.Services {
			tc.Pairs += pairsOf[id]
		}
		rv.Templates = append(rv.Templates, tc)
	}
	for _, name := range slices.Sorted(maps.Keys(changedLibraries)) {
		lc := LibraryChange{Name: name, Templates: []string{}, Services: []string{}}
		if bs != nil {
			if l, ok := bs.cat.Libraries[name]; ok {
				lc.From = l.Version
			}
		}
		if l, ok := hs.cat.Libraries[name]; ok {
			lc.To = l.Version
		}
		templates, users := map[string]bool{}, map[string]bool{}
		for _, s := range []*side{bs, hs} {
			if s == nil {
				continue
			}
			using := s.cat.TemplatesUsing(name)
			for _, t := range using {
				templates[t] = true
			}
			for _, svc := range s.cat.Services {
				if slices.Contains(using, svc.TemplateName()) {
					users[svc.ID()] = true
				}
			}
		}
		lc.Templates = slices.Sorted(maps.Keys(templates))
		lc.Services = slices.Sorted(maps.Keys(users))
		for _, id := range lc.Services {
			lc.Pairs += pairsOf[id]
		}
		rv.Libraries = append(rv.Libraries, lc)
	}

	// Pairs of the head the change does not touch.
	headPairs := 0
	for _, res := range rv.Results {
		if res.Environment != "" && res.Change != ChangeRemoved {
			headPairs++
		}
	}
	rv.Unimpacted = max(len(hs.cat.Services)*len(rv.Environments)-headPairs, 0)

	// Groups.
	type acc struct {
		group    Group
		services map[string]bool
		envs     map[string]bool
		failing  bool
	}
	groups := map[string]*acc{}
	for _, res := range rv.Results {
		if res.Environment == "" {
			continue
		}
		shape, newDenials, fixed := shapeOf(res)
		tmpl := templateOf(res.Service)
		if !changedTemplates[tmpl] {
			tmpl = "" // the template is not what changed: group across templates
		}
		key := tmpl + "\x00" + shape
		g, ok := groups[key]
		if !ok {
			g = &acc{group: Group{Shape: shape, Template: tmpl, NewDenials: newDenials, Fixed: fixed}, services: map[string]bool{}, envs: map[string]bool{}}
			groups[key] = g
		}
		g.services[res.Service] = true
		g.envs[res.Environment] = true
		g.group.Pairs = append(g.group.Pairs, res.Service+" ("+res.Environment+")")
		g.failing = g.failing || len(newDenials) > 0 || len(res.Errors) > 0
	}
	envRank := map[string]int{}
	for i, env := range rv.Environments {
		envRank[env] = i
	}
	var list []*acc
	for _, g := range groups {
		g.group.Services = slices.Sorted(maps.Keys(g.services))
		g.group.Environments = slices.SortedFunc(maps.Keys(g.envs), func(a, b string) int {
			ra, oka := envRank[a]
			rb, okb := envRank[b]
			if !oka || !okb {
				return cmp.Or(-cmp.Compare(boolInt(oka), boolInt(okb)), strings.Compare(a, b))
			}
			return cmp.Compare(ra, rb)
		})
		slices.Sort(g.group.Pairs)
		list = append(list, g)
	}
	slices.SortFunc(list, func(a, b *acc) int {
		return cmp.Or(
			-cmp.Compare(boolInt(a.failing), boolInt(b.failing)),
			-cmp.Compare(len(a.group.Pairs), len(b.group.Pairs)),
			strings.Compare(a.group.Template, b.group.Template),
			strings.Compare(a.group.Shape, b.group.Shape),
		)
	})
	for _, g := range list {
		rv.Groups = append(rv.Groups, g.group)
	}
}

// isLibrary tells whether templates/<name> is a library chart at base or
// head.
func isLibrary(name string, sides ...*side) bool {
	for _, s := range sides {
		if s != nil && s.cat.Libraries[name] != nil {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// shapeOf describes a pair's change so that pairs changed alike share it:
// the objects added and removed by kind, the changed objects with their
// changed fields (list indexes dropped, cut at a readable depth), and the
// policies newly failed or no longer failed.
func shapeOf(res *Result) (shape string, newDenials, fixed []string) {
	var parts []string
	switch {
	case len(res.Errors) > 0:
		parts = append(parts, "fail to render or evaluate")
	case res.Change == ChangeUnchanged:
		parts = append(parts, "render no change")
	case res.Change == ChangeAdded:
		parts = append(parts, "add "+kinds(res.Diff, ActionAdded))
	case res.Change == ChangeRemoved:
		parts = append(parts, "remove "+kinds(res.Diff, ActionRemoved))
	default:
		// The template annotation changes on every object when a
		// template's version changes: say so once, not per object.
		var added, removed []ObjectChange
		stamped := false
		for _, c := range res.Diff {
			switch {
			case c.Action == ActionAdded:
				added = append(added, c)
			case c.Action == ActionRemoved:
				removed = append(removed, c)
			case c.ProvenanceOnly():
				stamped = true
			default:
				fields := slices.DeleteFunc(slices.Clone(c.Fields), func(f string) bool { return f == render.TemplateField })
				stamped = stamped || len(fields) < len(c.Fields)
				parts = append(parts, "change "+c.Kind+" "+fieldSummary(fields))
			}
		}
		if len(added) > 0 {
			parts = append(parts, "add "+kinds(added, ActionAdded))
		}
		if len(removed) > 0 {
			parts = append(parts, "remove "+kinds(removed, ActionRemoved))
		}
		if stamped {
			if len(parts) == 0 {
				parts = append(parts, "only change the template version stamped on their objects")
			} else {
				parts = append(parts, "restamp the template version")
			}
		}
	}
	seen := map[string]bool{}
	for _, v := range res.Violations {
		if v.Blocking() && v.State == StateNew && !seen[v.Policy] {
			seen[v.Policy] = true
			newDenials = append(newDenials, v.Policy)
		}
	}
	seen = map[string]bool{}
	for _, v := range res.Fixed {
		if v.Blocking() && !seen[v.Policy] {
			seen[v.Policy] = true
			fixed = append(fixed, v.Policy)
		}
	}
	slices.Sort(newDenials)
	slices.Sort(fixed)
	shape = strings.Join(parts, ", ")
	if len(newDenials) > 0 {
		shape += "; now fail " + strings.Join(newDenials, ", ")
	}
	if len(fixed) > 0 {
		shape += "; no longer fail " + strings.Join(fixed, ", ")
	}
	return shape, newDenials, fixed
}

// kinds lists the kinds of a diff's objects with one action: "Deployment,
// Service, 2 ConfigMap".
func kinds(diff []ObjectChange, action string) string {
	var order []string
	count := map[string]int{}
	for _, c := range diff {
		if c.Action != action {
			continue
		}
		if count[c.Kind] == 0 {
			order = append(order, c.Kind)
		}
		count[c.Kind]++
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = k
		if count[k] > 1 {
			out[i] = fmt.Sprintf("%d %s", count[k], k)
		}
	}
	return strings.Join(out, ", ")
}

var listIndex = regexp.MustCompile(`\[\d+\]`)

// fieldSummary names an object's changed fields: indexes dropped, paths
// cut after five segments, at most maxShapeFields named.
func fieldSummary(fields []string) string {
	var out []string
	seen := map[string]bool{}
	for _, f := range fields {
		f = cutPath(listIndex.ReplaceAllString(f, "[*]"), 5)
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	slices.Sort(out)
	// A path covers the longer ones it prefixes.
	out = slices.DeleteFunc(slices.Clone(out), func(f string) bool {
		for _, g := range out {
			if g != f && (strings.HasPrefix(f, g+".") || strings.HasPrefix(f, g+"[")) {
				return true
			}
		}
		return false
	})
	if len(out) > maxShapeFields {
		return strings.Join(out[:maxShapeFields-1], ", ") + fmt.Sprintf(" and %d more fields", len(out)-maxShapeFields+1)
	}
	return strings.Join(out, ", ")
}

// cutPath keeps the first n segments of a field path; a segment is a name
// or a bracketed key, and list indexes ("[*]") do not count.
func cutPath(p string, n int) string {
	var segs []string
	counted := 0
	for i := 0; i < len(p); {
		if counted == n {
			break
		}
		switch p[i] {
		case '.':
			i++
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				j = len(p) - i - 1
			}
			segs = append(segs, p[i:i+j+1])
			if p[i:i+j+1] != "[*]" {
				counted++
			}
			i += j + 1
		default:
			j := strings.IndexAny(p[i:], ".[")
			if j < 0 {
				j = len(p) - i
			}
			segs = append(segs, p[i:i+j])
			counted++
			i += j
		}
	}
	var b strings.Builder
	for _, s := range segs {
		if b.Len() > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// rolloutPlans are the waves pave serve rolls the change out in: for
// each template of a service the change reaches through what it shares,
// all of the template's services, the ones the change edits first.
func rolloutPlans(head *catalog.Catalog, impact catalog.Impact) []RolloutPlan {
	templates := map[string]bool{}
	for _, id := range impact.Shared {
		if svc, ok := head.Service(id); ok {
			templates[svc.TemplateName()] = true
		}
	}
	var plans []RolloutPlan
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		var members []string
		for _, svc := range head.Services {
			if svc.TemplateName() == name {
				members = append(members, svc.ID())
			}
		}
		r := head.Config.RolloutFor(name)
		plans = append(plans, RolloutPlan{Template: name, Rollout: r.String(), Waves: r.Plan(members, impact.Own)})
	}
	return plans
}
