package report

import (
	"bufio"
	"fmt"
	"github.com/pave-dev/pave/review"
	"io"
	"strings"
)

// Markdown prints a pull-request comment: a summary table of every service
// and environment, one section per failing one with its fix hints, then
// the warnings and the exceptions in use. A review (pave check --base)
// prints what the change does instead: see reviewMarkdown. Limit, when
// set, bounds a review comment's length (CommentLimit for GitHub).
type Markdown struct {
	Limit int
}

var statusIcon = map[string]string{StatusPass: "✅", StatusFail: "❌", StatusError: "⚠️"}

// Format implements Formatter.
func (m Markdown) Format(w io.Writer, r *Report) error {
	if r.Review != nil {
		return reviewMarkdown(w, r, m.Limit)
	}
	b := bufio.NewWriter(w)
	s := r.Summary()
	verdict := "passed"
	if r.Failed() {
		verdict = "failed"
	}
	fmt.Fprintf(b, "## pave check %s\n\n", verdict)
	fmt.Fprintf(b, "%s, %s, %s, %d excepted, %s.\n", plural(s.Services, "service"), plural(s.Denials, "denial"), plural(s.Warnings, "warning"), s.Excepted, plural(s.Errors, "error"))
	title, rows := exceptionsMarkdown(r)
	if len(rows) > 0 {
		b.WriteString(title + strings.Join(rows, ""))
	}

	if len(r.Errors) > 0 {
		fmt.Fprintf(b, "\n### ⚠️ catalog\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(b, "- %s: %s\n", mdCode(fileLine(e.File, e.Line)), mdText(e.Message))
		}
	}

	if len(r.Results) > 0 {
		fmt.Fprintf(b, "\n| service | environment | status | denials | warnings | excepted |\n|---|---|---|---:|---:|---:|\n")
		for _, res := range r.Results {
			var deny, warn, exc int
			for _, v := range res.Violations {
				switch {
				case v.Excepted:
					exc++
				case v.Severity == Deny:
					deny++
				default:
					warn++
				}
			}
			fmt.Fprintf(b, "| %s | %s | %s | %d | %d | %d |\n", mdText(res.Service), mdText(orDash(res.Environment)), statusIcon[res.Status]+" "+res.Status, deny, warn, exc)
		}
	}

	for _, res := range r.Results {
		if res.Status == StatusPass {
			continue
		}
		fmt.Fprintf(b, "\n### %s %s\n\n", statusIcon[res.Status], mdText(res.label()))
		for _, e := range res.Errors {
			fmt.Fprintf(b, "- **error** at %s: %s\n", mdCode(fileLine(e.File, e.Line)), mdText(e.Message))
		}
		for _, v := range res.Violations {
			if !v.Blocking() {
				continue
			}
			fmt.Fprintf(b, "- **%s** at %s: %s\n", mdText(v.Policy), mdCode(fileLine(v.File, v.Line)), mdText(v.Message))
			if v.Hint != "" {
				fmt.Fprintf(b, "  - fix: %s\n", mdText(v.Hint))
			}
		}
	}

	var warnings, excepted []string
	for _, res := range r.Results {
		for _, v := range res.Violations {
			switch {
			case v.Excepted:
				x := v.Exception
				excepted = append(excepted, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |", mdText(res.Service), mdText(orDash(res.Environment)), mdCellCode(v.Policy), mdCellCode(fileLine(v.File, v.Line)), mdText(x.Reason), mdText(x.ApprovedBy), mdText(x.Expires)))
			case v.Severity == Warn:
				line := fmt.Sprintf("- %s: **%s** at %s: %s", mdText(res.label()), mdText(v.Policy), mdCode(fileLine(v.File, v.Line)), mdText(v.Message))
				if v.Hint != "" {
					line += "\n  - fix: " + mdText(v.Hint)
				}
				warnings = append(warnings, line)
			}
		}
	}
	if len(warnings) > 0 {
		fmt.Fprintf(b, "\n### Warnings\n\n%s\n", strings.Join(warnings, "\n"))
	}
	if len(excepted) > 0 {
		fmt.Fprintf(b, "\n### Exceptions in use\n\n| service | environment | policy | location | reason | approved by | expires |\n|---|---|---|---|---|---|---|\n%s\n", strings.Join(excepted, "\n"))
	}
	return b.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
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
	icon := map[string]string{review.ChangeAdded: "🆕 added", review.ChangeChanged: "✏️ changed", review.ChangeRemoved: "removed"}
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
