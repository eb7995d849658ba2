package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pave-dev/pave/review"
)

// Text prints results grouped by service and environment, for a terminal:
//
//	FAIL payments/checkout (prod)
//	  services/payments/checkout/service.yaml:8: deny image-tag-pinned: ...
//	    hint: ...
//
// With Colour set (a terminal), the words it writes itself — each
// result's status and each line's kind — are coloured; text from the
// catalog never is.
type Text struct {
	Colour bool
}

// Format implements Formatter.
func (t Text) Format(w io.Writer, r *Report) error {
	pal := palette{on: t.Colour}
	if r.Review != nil {
		return reviewText(w, r, pal)
	}
	b := bufio.NewWriter(w)
	exceptionsText(b, r)
	if len(r.Errors) > 0 {
		fmt.Fprintln(b, pal.status("ERROR")+" catalog")
		for _, e := range r.Errors {
			fmt.Fprintf(b, "  %s: %s\n", txt(fileLine(e.File, e.Line)), indentLines(e.Message))
		}
	}
	for _, res := range r.Results {
		fmt.Fprintf(b, "%s %s\n", pal.status(strings.ToUpper(res.Status)), txt(res.label()))
		// Each line is the pipeline's message, as pave apply and the
		// daemon word the same problem.
		for _, e := range res.Errors {
			p := res.errorProblem(e)
			p.Kind = pal.kind(p.Kind)
			fmt.Fprintf(b, "  %s\n", p.Format(txt, indentLines))
		}
		for _, v := range res.Violations {
			p := res.problem(&v)
			p.Kind = pal.kind(p.Kind)
			fmt.Fprintf(b, "  %s\n", p.Format(txt, indentLines))
			switch {
			case v.Excepted:
				fmt.Fprintf(b, "    %s\n", txt(exceptionNote(v.Exception)))
			case v.Hint != "":
				fmt.Fprintf(b, "    hint: %s\n", txt(v.Hint))
			}
		}
	}
	s := r.Summary()
	fmt.Fprintf(b, "\n%s: %s, %s, %s, %s\n", plural(s.Services, "service"), plural(s.Denials, "denial"), plural(s.Warnings, "warning"), fmt.Sprintf("%d excepted", s.Excepted), plural(s.Errors, "error"))
	return b.Flush()
}

// indentLines escapes a message and keeps its continuation lines under
// it.
func indentLines(s string) string { return txtLines(s, "    ") }

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// reviewText prints a review for a terminal: the revisions, the blast
// radius, then every impacted pair with its change, its object diffs and
// its policy results marked new, existing or fixed.
func reviewText(w io.Writer, r *Report, pal palette) error {
	b := bufio.NewWriter(w)
	rv := r.Review
	s := r.ReviewSummary()
	exceptionsText(b, r)
	fmt.Fprintf(b, "base %s → head %s\n", txt(revisionText(rv.Base)), txt(revisionText(rv.Head)))
	for _, t := range rv.Templates {
		fmt.Fprintf(b, "template %s %s: %s\n", txt(t.Name), txt(versionChange(t.From, t.To)), templateReach(t, len(rv.Environments)))
	}
	for _, l := range rv.Libraries {
		fmt.Fprintf(b, "library %s changed%s: used by %s → %s\n", txt(l.Name), txt(libraryVersion(l)), libraryUsers(l.Templates, func(ts []string) string { return txt(strings.Join(ts, ", ")) }), libraryReach(l, len(rv.Environments)))
	}
	if len(rv.Policies) > 0 {
		fmt.Fprintf(b, "policies changed: %s\n", txt(strings.Join(rv.Policies, ", ")))
	}
	if rv.Config {
		fmt.Fprintln(b, "pave.yaml changed: every service is rendered again")
	}
	if rc := rv.Rules; rc != nil {
		for _, p := range rc.Deleted {
			fmt.Fprintf(b, "POLICY DELETED %s (was %s)\n", txt(p.ID), txt(fileLine(p.File, p.Line)))
		}
		for _, p := range rc.Weakened {
			fmt.Fprintf(b, "POLICY WEAKENED %s at %s: %s\n", txt(p.ID), txt(fileLine(p.File, p.Line)), txt(p.Why))
		}
		if len(rc.JudgedByBase) > 0 {
			fmt.Fprintf(b, "also checked against the base's policies and pave.yaml: %s\n", txt(strings.Join(rc.JudgedByBase, ", ")))
		}
		if rc.NotJudged != "" {
			fmt.Fprintf(b, "not checked against the base's rules: %s\n", rc.NotJudged)
		}
	}
	if rv.ConfigDiff != "" {
		fmt.Fprintf(b, "\npave.yaml:\n  %s\n", txtLines(strings.TrimSuffix(rv.ConfigDiff, "\n"), "  "))
	}
	if len(rv.Groups) > 0 {
		fmt.Fprintln(b, "\nblast radius:")
		for _, g := range rv.Groups {
			fmt.Fprintf(b, "  %s: %s\n    %s\n", txt(groupSize(g, rv.Environments)), txt(g.Shape), txt(strings.Join(g.Pairs, ", ")))
		}
	}
	if len(rv.Rollouts) > 0 {
		fmt.Fprintln(b, "\nrollout, in each environment (each wave Ready before the next starts):")
		for _, ro := range rv.Rollouts {
			fmt.Fprintf(b, "  template %s (%s): %s\n", txt(ro.Template), txt(ro.Rollout), txt(wavesLine(ro.Waves, func(s string) string { return s })))
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(b, "\n"+pal.status("ERROR")+" catalog")
		for _, e := range r.Errors {
			fmt.Fprintf(b, "  %s: %s\n", txt(fileLine(e.File, e.Line)), indentLines(e.Message))
		}
	}
	for _, res := range r.Results {
		change := res.Change
		if change == "" {
			change = "service"
		}
		fmt.Fprintf(b, "\n%s %s: %s\n", txt(strings.ToUpper(change)), txt(res.label()), pal.status(res.Status))
		for _, c := range res.Diff {
			if c.ProvenanceOnly() {
				fmt.Fprintf(b, "  restamped %s: only %s changes\n", txt(c.Label()), txt(c.Fields[0]))
				continue
			}
			fmt.Fprintf(b, "  %s %s", c.Action, txt(c.Label()))
			if len(c.Fields) > 0 {
				fmt.Fprintf(b, ": %s", txt(strings.Join(c.Fields, ", ")))
			}
			fmt.Fprintln(b)
			fmt.Fprintf(b, "    %s\n", txtLines(strings.TrimSuffix(c.Diff, "\n"), "    "))
		}
		for _, e := range res.Errors {
			fmt.Fprintf(b, "  %s: %s: %s\n", txt(fileLine(e.File, e.Line)), pal.kind("error"), indentLines(e.Message))
		}
		for _, v := range slices.Concat(res.Violations, res.Fixed) {
			kind := string(v.Severity)
			if v.Excepted {
				kind = "excepted"
			}
			fmt.Fprintf(b, "  %s: %s %s (%s): %s\n", txt(fileLine(v.File, v.Line)), pal.kind(kind), txt(v.Policy), v.State, indentLines(v.Message))
			if v.Hint != "" && !v.Excepted && v.State != review.StateFixed {
				fmt.Fprintf(b, "    hint: %s\n", txt(v.Hint))
			}
		}
	}
	letThrough := ""
	if s.LetThroughDenials > 0 {
		letThrough = fmt.Sprintf(", %d let through by platform edits", s.LetThroughDenials)
	}
	fmt.Fprintf(b, "\n%s impacted: %d added, %d changed, %d removed, %d unchanged; denials: %d new, %d existing, %d fixed%s; %s (fail on %s)\n",
		plural(s.Pairs, "pair"), s.Added, s.Changed, s.Removed, s.Unchanged, s.NewDenials, s.ExistingDenials, s.FixedDenials, letThrough, plural(s.Errors, "error"), rv.FailOn)
	if h := r.exceptionHeadline(); h != "" {
		fmt.Fprintf(b, "⚠ %s\n", h)
	}
	return b.Flush()
}

func revisionText(r review.RevisionInfo) string {
	if r.Commit == "" || r.Commit == r.Ref {
		return r.Ref
	}
	return fmt.Sprintf("%s (%s)", r.Ref, r.Short())
}

// exceptionsText is the text formats' first block.
func exceptionsText(w io.Writer, r *Report) {
	if len(r.Exceptions) == 0 {
		return
	}
	switch {
	case r.Review == nil:
		fmt.Fprintln(w, "EXCEPTIONS")
	case r.exceptionHeadline() != "":
		fmt.Fprintf(w, "⚠ EXCEPTIONS: %s; %s\n", r.exceptionHeadline(), approvalNote)
	default:
		fmt.Fprintln(w, "EXCEPTIONS removed")
	}
	for _, x := range r.Exceptions {
		change := ""
		if x.Change != "" {
			change = x.Change + " "
		}
		fmt.Fprintf(w, "  %s: %s%s\n", fileLine(x.File, x.Line), change, exceptionLine(x))
	}
	if r.Review != nil {
		fmt.Fprintln(w)
	}
}
