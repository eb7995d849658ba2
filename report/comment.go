package report

import (
	"cmp"
	"fmt"
	"github.com/pave-dev/pave/review"
	"io"
	"slices"
	"strings"

	"github.com/pave-dev/pave/render"
)

// Marker is the hidden line that identifies pave's pull-request comment,
// so that a bot updates one sticky comment instead of adding new ones.
const Marker = "<!-- pave-check -->"

// CommentLimit is GitHub's limit on a comment's length, in characters.
const CommentLimit = 65536

// Bounds that keep a review comment readable at a thousand services.
const (
	mdGroups       = 20 // blast-radius groups listed
	mdExamples     = 3  // services named in a group's line
	mdFoldServices = 1000
	mdListItems    = 100 // denials, errors, warnings per list
	mdAllDiffs     = 20  // more diffs than this: examples first
	mdTableRows    = 200 // more rows than this: only those not passing
)

// reviewMarkdown prints the pull-request comment of a review: a first line
// a reviewer can act on, the blast radius, the policy results marked new,
// existing or fixed, a table of the impacted pairs and the diffs folded in
// <details>. With a limit it stays under it, cutting what does not fit
// and saying so.
func reviewMarkdown(w io.Writer, r *Report, limit int) error {
	rv := r.Review
	d := &mdDoc{limit: limit, reserve: 600}
	s := r.ReviewSummary()

	d.must(Marker + "\n")
	d.must("## " + reviewVerdict(r, s) + "\n")
	// Exceptions first: each needs a platform approver.
	xTitle, xRows := exceptionsMarkdown(r)
	d.list(xTitle, xRows, "exceptions", 0)
	d.must("\n" + reviewMeta(r, s) + "\n")

	// Errors first: they block whatever --fail-on says.
	var errs []string
	for _, e := range r.Errors {
		errs = append(errs, fmt.Sprintf("- %s: %s\n", mdCode(fileLine(e.File, e.Line)), mdText(e.Message)))
	}
	for _, res := range r.Results {
		for _, e := range res.Errors {
			errs = append(errs, fmt.Sprintf("- %s at %s: %s\n", res.mdLabel(), mdCode(fileLine(e.File, e.Line)), mdText(e.Message)))
		}
	}
	d.list("\n### ⚠️ Errors\n\n", errs, "errors", mdListItems)

	// What the change does to the rules it is judged by.
	if rc := rv.Rules; rc != nil {
		var items []string
		for _, p := range rc.Deleted {
			items = append(items, fmt.Sprintf("- 🗑️ **policy %s deleted** (was %s)\n", mdCode(p.ID), mdCode(fileLine(p.File, p.Line))))
		}
		for _, p := range rc.Weakened {
			items = append(items, fmt.Sprintf("- ⚠️ **policy %s weakened** at %s: %s\n", mdCode(p.ID), mdCode(fileLine(p.File, p.Line)), mdText(p.Why)))
		}
		if len(rc.JudgedByBase) > 0 {
			items = append(items, fmt.Sprintf("- this change edits the platform's rules and %s at once: %s also checked against the base's policies and pave.yaml\n", plural(len(rc.JudgedByBase), "service"), verbFor(len(rc.JudgedByBase))))
		}
		if rc.NotJudged != "" {
			items = append(items, fmt.Sprintf("- the services this change edits could not be checked against the base's rules: %s\n", mdText(rc.NotJudged)))
		}
		if rv.ConfigDiff != "" {
			items = append(items, fmt.Sprintf("\n<details open><summary><b>pave.yaml</b> changes</summary>\n\n%s\n</details>\n", mdFence("diff", rv.ConfigDiff)))
		}
		d.list("\n### ⚠️ Platform rules changed by this pull request\n\n", items, "rule changes", 0)
	}

	// Policy results.
	denials := groupDenials(r)
	for _, sec := range []struct {
		state, title string
	}{
		{review.StateLetThrough, "\n### 🛑 Denied by the base's rules, let through by this change's platform edits\n\n"},
		{review.StateNew, "\n### ❌ New policy denials\n\n"},
		{review.StateExisting, "\n### Existing policy denials\n\n"},
		{review.StateFixed, "\n### ✅ Fixed policy denials\n\n"},
	} {
		var items []string
		for _, dn := range denials {
			if dn.state == sec.state {
				items = append(items, dn.markdown(r))
			}
		}
		title := sec.title
		if sec.state == review.StateExisting && rv.FailOn == review.FailOnNew && len(items) > 0 {
			title = "\n### Existing policy denials (not blocking with `--fail-on new`)\n\n"
		}
		d.list(title, items, sec.state+" denials", mdListItems)
	}

	// Blast radius.
	if len(rv.Templates) > 0 || len(rv.Libraries) > 0 || len(rv.Policies) > 0 || rv.Config || len(rv.Groups) > 1 {
		var items []string
		for _, t := range rv.Templates {
			items = append(items, fmt.Sprintf("- **template %s %s**: %s\n", mdCode(t.Name), mdText(versionChange(t.From, t.To)), templateReach(t, len(rv.Environments))))
		}
		for _, l := range rv.Libraries {
			items = append(items, fmt.Sprintf("- **library %s changed%s**: used by %s → %s\n", mdCode(l.Name), mdText(libraryVersion(l)), libraryUsers(l.Templates, mdCodeList), libraryReach(l, len(rv.Environments))))
		}
		if len(rv.Policies) > 0 {
			shown := rv.Policies
			more := ""
			if len(shown) > 10 {
				shown, more = shown[:10], fmt.Sprintf(" and %d more", len(rv.Policies)-10)
			}
			items = append(items, fmt.Sprintf("- **policies changed**: %s%s — every service is checked again\n", mdCodeList(shown), more))
		}
		if rv.Config {
			items = append(items, "- **pave.yaml changed** — every service is rendered again\n")
		}
		for _, ro := range rv.Rollouts {
			items = append(items, fmt.Sprintf("- **rolls out in waves** over the services of %s (%s), in each environment: %s\n", mdCode(ro.Template), mdText(ro.Rollout), wavesLine(ro.Waves, mdCode)))
		}
		if len(items) > 0 {
			items = append(items, "\n")
		}
		for i, g := range rv.Groups {
			if i == mdGroups {
				items = append(items, fmt.Sprintf("- … and %d more groups (all of them are in the JSON report)\n", len(rv.Groups)-mdGroups))
				break
			}
			items = append(items, groupMarkdown(g, rv.Environments))
		}
		d.list("\n### Blast radius\n\n", items, "blast-radius lines", 0)
	}

	// With many diffs, one example per blast-radius group comes first: it
	// shows what each shape of change looks like before the budget runs out.
	var withDiff []*Result
	byLabel := map[string]*Result{}
	for _, res := range r.Results {
		if len(res.Diff) > 0 {
			withDiff = append(withDiff, res)
			byLabel[res.Service+" ("+res.Environment+")"] = res
		}
	}
	shown := map[*Result]bool{}
	if len(withDiff) > mdAllDiffs {
		var examples []string
		for i, g := range rv.Groups {
			if i == mdGroups {
				break
			}
			for _, p := range g.Pairs {
				if res := byLabel[p]; res != nil {
					examples = append(examples, diffMarkdown(res))
					shown[res] = true
					break
				}
			}
		}
		d.list("\n### Example diffs (one per blast-radius group)\n\n", examples, "example diffs", 0)
	}

	// Impacted pairs. Those that render no change and keep passing are
	// only counted; past mdTableRows, so are all that pass every policy.
	var rows, notPassing []string
	quiet := 0
	for _, res := range r.Results {
		if res.Environment == "" {
			continue
		}
		cell := policyCell(r, res)
		if res.Change == review.ChangeUnchanged && cell == "✅ pass" {
			quiet++
			continue
		}
		row := fmt.Sprintf("| %s | %s | %s | %s | %s |\n", mdCellCode(res.Service), mdText(res.Environment), res.Change, objectsCell(res.Diff), cell)
		rows = append(rows, row)
		if cell != "✅ pass" && cell != "—" {
			notPassing = append(notPassing, row)
		}
	}
	if len(rows) > mdTableRows {
		quiet += len(rows) - len(notPassing)
		rows = notPassing
	}
	d.list("\n### Impacted services\n\n| service | environment | change | objects | policies |\n|---|---|---|---|---|\n", rows, "table rows", 0)
	switch {
	case quiet > 0 && len(rows) == 0:
		d.must(fmt.Sprintf("\nAll %s pass every policy; the blast radius groups their changes.\n", plural(quiet, "impacted pair")))
	case quiet > 0:
		d.must(fmt.Sprintf("\n%s pass every policy; the blast radius groups their changes.\n", plural(quiet, "more impacted pair")))
	}

	// Diffs.
	var diffs []string
	for _, res := range withDiff {
		if !shown[res] {
			diffs = append(diffs, diffMarkdown(res))
		}
	}
	title := "\n### Diffs\n\n"
	if len(shown) > 0 {
		title = "\n### Other diffs\n\n"
	}
	d.list(title, diffs, "diffs", 0)

	// Warnings the change introduces.
	var warns []string
	for _, res := range r.Results {
		for _, v := range res.Violations {
			if v.Severity == Warn && !v.Excepted && v.State == review.StateNew {
				warns = append(warns, fmt.Sprintf("- **%s** — %s at %s: %s\n", mdText(v.Policy), res.mdLabel(), mdCode(fileLine(v.File, v.Line)), mdText(v.Message)))
			}
		}
	}
	d.list("\n### New warnings\n\n", warns, "warnings", mdListItems)

	if len(d.omitted) > 0 {
		d.b.WriteString(fmt.Sprintf("\n---\n_This comment was cut to fit: %s not shown. %s writes the full report._\n", strings.Join(d.omitted, ", "), mdCode("pave check --base "+rv.Base.Ref+" -o markdown --output-file report.md")))
	}
	_, err := io.WriteString(w, d.b.String())
	return err
}

// mdDoc builds a document within a length limit, keeping reserve bytes
// for the closing note. Bytes bound characters from above.
type mdDoc struct {
	b       strings.Builder
	limit   int
	reserve int
	omitted []string
}

func (d *mdDoc) fits(n int) bool { return d.limit <= 0 || d.b.Len()+n+d.reserve <= d.limit }

// must writes what every comment has.
func (d *mdDoc) must(s string) { d.b.WriteString(s) }

// list writes a section: its title with the first item, then every item
// that fits, at most most of them (0: no bound); what is left out is
// counted in the closing note.
func (d *mdDoc) list(title string, items []string, what string, most int) {
	if len(items) == 0 {
		return
	}
	if !d.fits(len(title) + len(items[0])) {
		d.omitted = append(d.omitted, fmt.Sprintf("%d %s", len(items), what))
		return
	}
	d.b.WriteString(title)
	capped := len(items)
	if most > 0 {
		capped = min(capped, most)
	}
	for i, it := range items[:capped] {
		if !d.fits(len(it)) {
			d.omitted = append(d.omitted, fmt.Sprintf("%d of %d %s", len(items)-i, len(items), what))
			return
		}
		d.b.WriteString(it)
	}
	if capped < len(items) {
		d.b.WriteString(fmt.Sprintf("- … and %d more\n", len(items)-capped))
	}
}

// reviewVerdict is the comment's first visible line.
func reviewVerdict(r *Report, s ReviewSummary) string {
	if r.Failed() {
		var parts []string
		if s.LetThroughDenials > 0 {
			parts = append(parts, plural(s.LetThroughDenials, "denial")+" by the base's rules that this change's platform edits let through")
		}
		switch {
		case s.NewDenials > 0:
			parts = append(parts, plural(s.NewDenials, "new policy denial"))
		case r.Review.FailOn == review.FailOnAny && s.ExistingDenials > 0:
			parts = append(parts, plural(s.ExistingDenials, "policy denial")+" (none new)")
		}
		if s.Errors > 0 {
			parts = append(parts, plural(s.Errors, "error"))
		}
		if h := r.exceptionHeadline(); h != "" {
			parts = append(parts, h)
		}
		icon := "❌"
		if s.NewDenials == 0 && s.ExistingDenials == 0 && s.LetThroughDenials == 0 {
			icon = "⚠️"
		}
		return icon + " " + strings.Join(parts, ", ")
	}
	// New or changed exceptions come before everything: no plain "all
	// policies pass" when a policy passes only because of one.
	icon, lead := "✅ ", ""
	policies := "all policies pass"
	if h := r.exceptionHeadline(); h != "" {
		icon, lead = "⚠️ ", h+"; "
		added, changed := r.exceptionsToApprove()
		policies = "all policies pass with " + pluralWord(added+changed, "the exception")
	}
	if s.ExistingDenials > 0 {
		policies = fmt.Sprintf("no new policy denials (%d existing)", s.ExistingDenials)
	}
	if rc := r.Review.Rules; rc.Weakens() {
		n := len(rc.Deleted) + len(rc.Weakened)
		return fmt.Sprintf("⚠️ %s the platform's rules — %s", plural(n, "policy change weakens"), policies)
	}
	if s.Services == 0 {
		if lead != "" {
			return icon + lead + "no rendered change, " + policies
		}
		return icon + "No rendered change, " + policies
	}
	verb := "change"
	if s.Services == 1 {
		verb = "changes"
	}
	return fmt.Sprintf("%s%s%s %s, %s", icon, lead, plural(s.Services, "service"), verb, policies)
}

// reviewMeta is the line under the verdict: the revisions and the counts.
func reviewMeta(r *Report, s ReviewSummary) string {
	rv := r.Review
	head := mdCode(rv.Head.Ref)
	if rv.Head.Commit != "" {
		head += " (" + mdCode(rv.Head.Short()) + ")"
	}
	base := mdCode(rv.Base.Ref)
	if rv.Base.Commit != "" && rv.Base.Ref != rv.Base.Commit {
		base += " (" + mdCode(rv.Base.Short()) + ")"
	}
	line := fmt.Sprintf("Base %s → head %s: %s impacted (service × environment): %d added, %d changed, %d removed, %d unchanged",
		base, head, plural(s.Pairs, "pair"), s.Added, s.Changed, s.Removed, s.Unchanged)
	if rv.Unimpacted > 0 {
		line += fmt.Sprintf("; %d not impacted", rv.Unimpacted)
	}
	line += fmt.Sprintf(". Policies: %d new, %d existing, %d fixed %s", s.NewDenials, s.ExistingDenials, s.FixedDenials, pluralWord(s.NewDenials+s.ExistingDenials+s.FixedDenials, "denial"))
	if s.LetThroughDenials > 0 {
		line += fmt.Sprintf(", %d let through by platform edits", s.LetThroughDenials)
	}
	if s.Errors > 0 {
		line += ", " + plural(s.Errors, "error")
	}
	return line + "."
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func versionChange(from, to string) string {
	switch {
	case from == "":
		return "(new) " + to
	case to == "":
		return from + " (removed)"
	case from == to:
		return from + " (version unchanged)"
	}
	return from + " → " + to
}

// libraryVersion is " (1.0.0 → 1.1.0)", " (new)", " (removed)" or
// nothing when the library's version did not change.
func libraryVersion(l review.LibraryChange) string {
	switch {
	case l.From == l.To:
		return ""
	case l.From == "":
		return " (new)"
	case l.To == "":
		return " (removed)"
	}
	return " (" + l.From + " → " + l.To + ")"
}

// libraryUsers is "templates a, b" or "no template".
func libraryUsers(templates []string, list func([]string) string) string {
	switch len(templates) {
	case 0:
		return "no template"
	case 1:
		return "template " + list(templates)
	}
	return "templates " + list(templates)
}

// libraryReach counts a library change's impacted pairs, as templateReach.
func libraryReach(l review.LibraryChange, envs int) string {
	return templateReach(review.TemplateChange{Services: l.Services, Pairs: l.Pairs}, envs)
}

// templateReach counts a template change's impacted pairs: "14 services ×
// 2 environments", or "14 services, 27 impacted pairs" when they are not
// all in every environment.
func templateReach(t review.TemplateChange, envs int) string {
	if envs > 1 && t.Pairs == len(t.Services)*envs {
		return fmt.Sprintf("%s × %d environments", plural(len(t.Services), "service"), envs)
	}
	return fmt.Sprintf("%s, %s", plural(len(t.Services), "service"), plural(t.Pairs, "impacted pair"))
}

// wavesLine writes a rollout's waves on one line: "wave 1: a/b → wave 2:
// c/d, e/f → wave 3: 18 services"; name formats a service.
func wavesLine(waves [][]string, name func(string) string) string {
	const shown = 3
	var parts []string
	for i, w := range waves {
		var names []string
		for _, id := range w[:min(len(w), shown)] {
			names = append(names, name(id))
		}
		list := strings.Join(names, ", ")
		if len(w) > shown {
			list = fmt.Sprintf("%s (%s, …)", plural(len(w), "service"), list)
		}
		parts = append(parts, fmt.Sprintf("wave %d: %s", i+1, list))
	}
	return strings.Join(parts, " → ")
}

// groupMarkdown is one blast-radius line: how many pairs, their shape, a
// few examples and every pair behind a fold.
func groupMarkdown(g review.Group, envs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **%s**", mdText(groupSize(g, envs)))
	if g.Template != "" {
		fmt.Fprintf(&b, " (%s)", mdCode(g.Template))
	}
	fmt.Fprintf(&b, ": %s", mdText(g.Shape))
	examples := g.Services
	if len(examples) > mdExamples {
		examples = examples[:mdExamples]
	}
	fmt.Fprintf(&b, " — %s", mdCodeList(examples))
	if len(g.Services) > mdExamples {
		fmt.Fprintf(&b, " and %d more", len(g.Services)-mdExamples)
	}
	b.WriteString("\n")
	if len(g.Services) > mdExamples || len(g.Pairs) != len(g.Services)*len(g.Environments) {
		pairs := g.Pairs
		more := ""
		if len(pairs) > mdFoldServices {
			pairs, more = pairs[:mdFoldServices], fmt.Sprintf(", … %d more", len(g.Pairs)-mdFoldServices)
		}
		fmt.Fprintf(&b, "  <details><summary>all %s</summary>\n\n  %s%s\n\n  </details>\n", plural(len(g.Pairs), "pair"), mdText(strings.Join(pairs, ", ")), more)
	}
	return b.String()
}

// groupSize counts a group: "12 services × 2 environments", "2 services in
// prod" or "5 pairs across 4 services".
func groupSize(g review.Group, envs []string) string {
	if len(g.Pairs) == len(g.Services)*len(g.Environments) {
		if len(g.Environments) == 1 {
			return plural(len(g.Services), "service") + " in " + g.Environments[0]
		}
		return fmt.Sprintf("%s × %s (%s)", plural(len(g.Services), "service"), plural(len(g.Environments), "environment"), strings.Join(g.Environments, ", "))
	}
	return fmt.Sprintf("%s across %s", plural(len(g.Pairs), "pair"), plural(len(g.Services), "service"))
}

// objectsCell summarises a pair's diff: "~Deployment, +PodDisruptionBudget,
// 5 restamped".
func objectsCell(diff []review.ObjectChange) string {
	if len(diff) == 0 {
		return "—"
	}
	return strings.Join(objectLabels(diff, 3, func(c review.ObjectChange) string {
		sign := map[string]string{review.ActionAdded: "+", review.ActionRemoved: "−", review.ActionChanged: "~"}
		return sign[c.Action] + mdText(c.Kind)
	}), ", ")
}

// objectLabels names up to n objects of a diff, those that change more
// than the template annotation first, and counts the rest.
func objectLabels(diff []review.ObjectChange, n int, label func(review.ObjectChange) string) []string {
	var out []string
	stamped, more := 0, 0
	for _, c := range diff {
		switch {
		case c.ProvenanceOnly():
			stamped++
		case len(out) < n:
			out = append(out, label(c))
		default:
			more++
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("%d more", more))
	}
	if stamped > 0 {
		out = append(out, fmt.Sprintf("%d restamped", stamped))
	}
	return out
}

// policyCell is a pair's policy column.
func policyCell(r *Report, res *Result) string {
	if len(res.Errors) > 0 {
		return "⚠️ " + plural(len(res.Errors), "error")
	}
	var news, existing, fixed int
	for _, v := range res.Violations {
		if !v.Blocking() {
			continue
		}
		switch v.State {
		case review.StateNew, review.StateLetThrough:
			news++
		default:
			existing++
		}
	}
	for _, v := range res.Fixed {
		if v.Blocking() {
			fixed++
		}
	}
	var parts []string
	if news > 0 {
		parts = append(parts, "❌ "+plural(news, "new denial"))
	}
	if existing > 0 {
		icon := "❌ "
		if r.Review.FailOn == review.FailOnNew {
			icon = ""
		}
		parts = append(parts, icon+plural(existing, "existing denial"))
	}
	if fixed > 0 {
		parts = append(parts, "✅ "+fmt.Sprintf("%d fixed", fixed))
	}
	if len(parts) == 0 {
		if res.Change == review.ChangeRemoved {
			return "—"
		}
		return "✅ pass"
	}
	return strings.Join(parts, ", ")
}

// diffMarkdown folds a pair's diff.
func diffMarkdown(res *Result) string {
	var b strings.Builder
	labels := objectLabels(res.Diff, 4, func(c review.ObjectChange) string { return c.Action + " " + mdHTML(c.Kind) })
	fmt.Fprintf(&b, "<details><summary><code>%s</code> (%s): %s — %s</summary>\n\n", mdHTML(res.Service), mdHTML(res.Environment), res.Change, strings.Join(labels, ", "))
	// Objects that only change the template annotation (a template's
	// version bump) are named, not diffed: the JSON report has them.
	var text strings.Builder
	var stamped []string
	for _, c := range res.Diff {
		if c.ProvenanceOnly() {
			stamped = append(stamped, c.Kind)
			continue
		}
		text.WriteString(c.Diff)
		if !strings.HasSuffix(c.Diff, "\n") {
			text.WriteString("\n")
		}
	}
	if text.Len() > 0 {
		fmt.Fprintf(&b, "%s\n", mdFence("diff", text.String()))
	}
	if len(stamped) > 0 {
		fmt.Fprintf(&b, "%s only change the `%s` annotation.\n\n", mdText(strings.Join(stamped, ", ")), render.AnnotationTemplate)
	}
	b.WriteString("</details>\n")
	return b.String()
}

// denial is one policy result across the environments it occurs in.
type denial struct {
	state, policy, service, file, message, hint string
	line                                        int
	envs                                        []string
}

func (dn *denial) markdown(r *Report) string {
	icon := map[string]string{review.StateLetThrough: "🛑 ", review.StateNew: "🆕 ", review.StateExisting: "", review.StateFixed: "✅ "}[dn.state]
	var b strings.Builder
	fmt.Fprintf(&b, "- %s**%s** — %s (%s) at %s: %s\n", icon, mdText(dn.policy), mdCode(dn.service), mdText(strings.Join(dn.envs, ", ")), mdCode(fileLine(dn.file, dn.line)), mdText(dn.message))
	if dn.hint != "" && dn.state != review.StateFixed {
		fmt.Fprintf(&b, "  - fix: %s\n", mdText(dn.hint))
	}
	return b.String()
}

// groupDenials merges the denials without exception that are the same in
// several environments, new ones first.
func groupDenials(r *Report) []*denial {
	var out []*denial
	index := map[string]*denial{}
	add := func(res *Result, v Violation) {
		if !v.Blocking() {
			return
		}
		key := strings.Join([]string{v.State, v.Policy, res.Service, v.File, fmt.Sprint(v.Line), v.Message}, "\x00")
		if dn, ok := index[key]; ok {
			if res.Environment != "" {
				dn.envs = append(dn.envs, res.Environment)
			}
			return
		}
		dn := &denial{state: v.State, policy: v.Policy, service: res.Service, file: v.File, line: v.Line, message: v.Message, hint: v.Hint}
		if res.Environment != "" {
			dn.envs = []string{res.Environment}
		}
		index[key] = dn
		out = append(out, dn)
	}
	for _, res := range r.Results {
		for _, v := range res.Violations {
			add(res, v)
		}
		for _, v := range res.Fixed {
			add(res, v)
		}
	}
	rank := map[string]int{review.StateLetThrough: -1, review.StateNew: 0, review.StateExisting: 1, review.StateFixed: 2, "": 1}
	slices.SortStableFunc(out, func(a, b *denial) int { return cmp.Compare(rank[a.state], rank[b.state]) })
	return out
}

// mdLabel is "`team/name` (env)".
func (r *Result) mdLabel() string {
	if r.Environment == "" {
		return mdCode(r.Service)
	}
	return mdCode(r.Service) + " (" + mdText(r.Environment) + ")"
}

// mdCodeList prints values as code spans separated by commas.
func mdCodeList(values []string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = mdCode(v)
	}
	return strings.Join(out, ", ")
}

// verbFor is "it was" or "they were".
func verbFor(n int) string {
	if n == 1 {
		return "it was"
	}
	return "they were"
}
