package policy

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pave-dev/pave/catalog"
)

// ExceptionEntry is an exception as a report lists it, apart from the
// violations it covers. pave check lists every exception of the services
// it checked; a review lists those the change adds, changes or removes,
// the first thing every format shows: each needs one of pave.yaml's
// exceptions.approvers to approve the pull request.
type ExceptionEntry struct {
	// Change is added, changed or removed in a review; empty otherwise.
	Change  string `json:"change,omitempty"`
	Service string `json:"service"`
	Exception
	// Before is the base's version of a changed exception.
	Before *Exception `json:"before,omitempty"`
}

// ExceptionEntries lists every exception of svc (with its expiry judged
// by the engine's clock), in the order of its exceptions file.
func (e *Engine) ExceptionEntries(svc *catalog.Service) []ExceptionEntry {
	var out []ExceptionEntry
	for _, x := range exceptionsOf(svc, "", e.opts.Now()) {
		out = append(out, ExceptionEntry{Service: svc.ID(), Exception: x})
	}
	return out
}

// FileExceptions lists every exception of an exceptions file, valid or
// not, with its expiry judged on now: what a review compares.
func FileExceptions(xf *catalog.Exceptions, now time.Time) []ExceptionEntry {
	service := strings.TrimSuffix(strings.TrimPrefix(xf.File, catalog.ExceptionsDir+"/"), ".yaml")
	var out []ExceptionEntry
	for _, x := range fileExceptions(xf, "", now) {
		out = append(out, ExceptionEntry{Service: service, Exception: x})
	}
	return out
}

// SortExceptions orders entries by service, file and line.
func SortExceptions(xs []ExceptionEntry) {
	slices.SortStableFunc(xs, func(a, b ExceptionEntry) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Change, b.Change))
	})
}

// exceptionsToApprove counts the exceptions a review adds and changes.
func (r *Report) exceptionsToApprove() (added, changed int) {
	if r.Review == nil {
		return 0, 0
	}
	for _, x := range r.Exceptions {
		switch x.Change {
		case ChangeAdded:
			added++
		case ChangeChanged:
			changed++
		}
	}
	return added, changed
}

// exceptionHeadline is "1 new exception — needs platform approval" (or
// "2 new exceptions, 1 changed exception — …"); "" when the review adds
// or changes none.
func (r *Report) exceptionHeadline() string {
	added, changed := r.exceptionsToApprove()
	var parts []string
	if added > 0 {
		parts = append(parts, plural(added, "new exception"))
	}
	if changed > 0 {
		parts = append(parts, plural(changed, "changed exception"))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ") + " — needs platform approval"
}

// approvalNote says who must approve a review's exceptions.
const approvalNote = "one of pave.yaml's exceptions.approvers (the owners of exceptions/ in CODEOWNERS) must approve this change"

func environmentsText(envs []string) string {
	if len(envs) == 0 {
		return "all environments"
	}
	return strings.Join(envs, ", ")
}

// quoted prints a string the service's authors wrote on one line, its
// control characters escaped, so that it cannot start a line of its own
// (a CI workflow command, a forged result).
func quoted(s string) string { return quietCI(strconv.QuoteToGraphic(s)) }

// plain escapes an identifier-like string as the text format does.
func plain(s string) string { return txt(s) }

// exceptionLine describes one entry for text and annotations:
// `data/report-builder readonly-root-filesystem in all environments,
// approved by "security@example.com" until 2027-05-31: "reason"`.
func exceptionLine(x ExceptionEntry) string {
	s := fmt.Sprintf("%s %s in %s, approved by %s until %s", plain(x.Service), plain(x.Policy), plain(environmentsText(x.Environments)), quoted(x.ApprovedBy), plain(x.Expires))
	if x.Expired {
		s += " (expired)"
	}
	s += ": " + quoted(x.Reason)
	if b := x.Before; b != nil {
		var was []string
		if !slices.Equal(b.Environments, x.Environments) {
			was = append(was, "in "+plain(environmentsText(b.Environments)))
		}
		if b.ApprovedBy != x.ApprovedBy {
			was = append(was, "approved by "+quoted(b.ApprovedBy))
		}
		if b.Expires != x.Expires {
			was = append(was, "until "+plain(b.Expires))
		}
		if b.Reason != x.Reason {
			was = append(was, "reason "+quoted(b.Reason))
		}
		if len(was) > 0 {
			s += " (was: " + strings.Join(was, ", ") + ")"
		}
	}
	return s
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

// exceptionsMarkdown is the block under a comment's verdict: its title
// and table header, and a row per exception a review adds, changes or
// removes, or per exception in effect.
func exceptionsMarkdown(r *Report) (string, []string) {
	if len(r.Exceptions) == 0 {
		return "", nil
	}
	var title string
	switch {
	case r.Review == nil:
		title = "\n### Exceptions in effect\n\n"
	case r.exceptionHeadline() != "":
		title = fmt.Sprintf("\n### ⚠️ Exceptions\n\nThis change adds or changes exceptions to the platform's policies: %s.\n\n", approvalNote)
	default:
		title = "\n### Exceptions removed\n\n"
	}
	change := r.Review != nil
	if change {
		title += "| change | service | policy | environments | reason | approved by | expires | file |\n|---|---|---|---|---|---|---|---|\n"
	} else {
		title += "| service | policy | environments | reason | approved by | expires | file |\n|---|---|---|---|---|---|---|\n"
	}
	icon := map[string]string{ChangeAdded: "🆕 added", ChangeChanged: "✏️ changed", ChangeRemoved: "removed"}
	var rows []string
	for _, x := range r.Exceptions {
		was := func(now, before string) string {
			if now == before {
				return now
			}
			return now + " (was " + before + ")"
		}
		envs, approver, expires, reason := mdText(environmentsText(x.Environments)), mdCellCode(x.ApprovedBy), mdText(x.Expires), mdText(x.Reason)
		if b := x.Before; b != nil {
			envs = was(envs, mdText(environmentsText(b.Environments)))
			approver = was(approver, mdCellCode(b.ApprovedBy))
			expires = was(expires, mdText(b.Expires))
			reason = was(reason, mdText(b.Reason))
		}
		if x.Expired {
			expires += " (expired)"
		}
		row := ""
		if change {
			row = "| " + icon[x.Change] + " "
		}
		row += fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |\n", mdCellCode(x.Service), mdCellCode(x.Policy), envs, reason, approver, expires, mdCellCode(fileLine(x.File, x.Line)))
		rows = append(rows, row)
	}
	return title, rows
}

// githubExceptions annotates the exceptions files: a warning for each
// exception a review adds or changes, a notice for the others.
func githubExceptions(w io.Writer, r *Report) {
	for _, x := range r.Exceptions {
		level, title := "notice", "exception: "+x.Policy+" ("+x.Service+")"
		switch x.Change {
		case ChangeAdded, ChangeChanged:
			level, title = "warning", x.Change+" exception needs platform approval: "+x.Policy+" ("+x.Service+")"
		case ChangeRemoved:
			title = "removed exception: " + x.Policy + " (" + x.Service + ")"
		}
		githubCommand(w, level, x.File, x.Line, title, exceptionLine(x))
	}
}

// exceptionRuleID is the SARIF rule of exception entries.
const exceptionRuleID = "pave-exception"

// sarifExceptions adds a rule and one result per exception entry: a
// warning for each one a review adds or changes, a note for the others.
func sarifExceptions(r *Report, driver *sarifDriver) []sarifResult {
	if len(r.Exceptions) == 0 {
		return nil
	}
	index := len(driver.Rules)
	driver.Rules = append(driver.Rules, sarifRule{
		ID:                   exceptionRuleID,
		Name:                 exceptionRuleID,
		ShortDescription:     &sarifMessage{Text: "An exception to a policy, approved by one of pave.yaml's exceptions.approvers"},
		DefaultConfiguration: sarifRuleLevel{Level: "note"},
	})
	var out []sarifResult
	for _, x := range r.Exceptions {
		level, text := "note", exceptionLine(x)
		switch x.Change {
		case ChangeAdded, ChangeChanged:
			level, text = "warning", x.Change+" exception — needs platform approval: "+text
		case ChangeRemoved:
			text = "removed exception: " + text
		}
		props := map[string]string{"service": x.Service, "policy": x.Policy}
		if x.Change != "" {
			props["change"] = x.Change
		}
		out = append(out, sarifResult{
			RuleID: exceptionRuleID, RuleIndex: index, Level: level,
			Message:    sarifMessage{Text: text},
			Locations:  sarifLocations(x.File, x.Line),
			Properties: props,
		})
	}
	return out
}

// junitExceptions is the first test suite: one skipped case per exception
// entry, its message saying whether it needs approval.
func junitExceptions(r *Report) []junitSuite {
	if len(r.Exceptions) == 0 {
		return nil
	}
	s := junitSuite{Name: "exceptions"}
	for _, x := range r.Exceptions {
		msg := "exception in effect"
		switch x.Change {
		case ChangeAdded, ChangeChanged:
			msg = x.Change + " exception — needs platform approval"
		case ChangeRemoved:
			msg = "removed exception"
		}
		s.Cases = append(s.Cases, junitCase{
			Name: x.Service + " " + x.Policy, ClassName: "exceptions", File: x.File, Line: x.Line,
			Skipped:   &junitSkipped{Message: msg + ": " + exceptionLine(x)},
			SystemOut: fileLine(x.File, x.Line) + ": " + exceptionLine(x),
		})
	}
	return []junitSuite{s}
}
