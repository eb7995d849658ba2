package report

import (
	"bufio"
	"fmt"
	"github.com/pave-dev/pave/review"
	"io"
	"strings"
)

// GitHub prints GitHub Actions workflow commands, which annotate the
// pull request's files: ::error for denials and errors, ::warning for
// warnings, ::notice for excepted denials.
type GitHub struct{}

// Format implements Formatter.
func (GitHub) Format(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	githubExceptions(b, r)
	for _, e := range r.Errors {
		githubCommand(b, "error", e.File, e.Line, "pave: catalog", e.Message)
	}
	for _, res := range r.Results {
		for _, e := range res.Errors {
			githubCommand(b, "error", e.File, e.Line, "pave: "+res.label(), e.Message)
		}
		for _, v := range res.Violations {
			title := fmt.Sprintf("%s: %s", v.Policy, res.label())
			if v.State != "" {
				title += " (" + v.State + ")"
			}
			msg := v.Message
			level := "error"
			switch {
			case v.Excepted:
				level = "notice"
				title += " (excepted)"
				msg += "\n" + exceptionNote(v.Exception)
			case v.Severity == Warn, !r.Blocks(&v):
				level = "warning"
			}
			if v.Hint != "" && !v.Excepted {
				msg += "\nhint: " + v.Hint
			}
			githubCommand(b, level, v.File, v.Line, title, msg)
		}
	}
	if r.Review != nil && r.Review.Rules != nil {
		for _, p := range r.Review.Rules.Deleted {
			githubCommand(b, "warning", p.File, p.Line, "pave: policy "+p.ID+" deleted", "this pull request deletes policy "+p.ID)
		}
		for _, p := range r.Review.Rules.Weakened {
			githubCommand(b, "warning", p.File, p.Line, "pave: policy "+p.ID+" weakened", p.Why)
		}
	}
	s := r.Summary()
	fmt.Fprintf(b, "%s: %s, %s, %d excepted, %s\n", plural(s.Services, "service"), plural(s.Denials, "denial"), plural(s.Warnings, "warning"), s.Excepted, plural(s.Errors, "error"))
	if r.Review != nil {
		rs := r.ReviewSummary()
		letThrough := ""
		if rs.LetThroughDenials > 0 {
			letThrough = fmt.Sprintf(", %d let through by platform edits", rs.LetThroughDenials)
		}
		fmt.Fprintf(b, "%s impacted: %d added, %d changed, %d removed, %d unchanged; denials: %d new, %d existing, %d fixed%s\n", plural(rs.Pairs, "pair"), rs.Added, rs.Changed, rs.Removed, rs.Unchanged, rs.NewDenials, rs.ExistingDenials, rs.FixedDenials, letThrough)
	}
	return b.Flush()
}

func githubCommand(w io.Writer, level, file string, line int, title, msg string) {
	var props []string
	if file != "" {
		props = append(props, "file="+githubProperty(file))
		if line > 0 {
			props = append(props, fmt.Sprintf("line=%d", line))
		}
	}
	props = append(props, "title="+githubProperty(title))
	fmt.Fprintf(w, "::%s %s::%s\n", level, strings.Join(props, ","), githubData(msg))
}

// githubExceptions annotates the exceptions files: a warning for each
// exception a review adds or changes, a notice for the others.
func githubExceptions(w io.Writer, r *Report) {
	for _, x := range r.Exceptions {
		level, title := "notice", "exception: "+x.Policy+" ("+x.Service+")"
		switch x.Change {
		case review.ChangeAdded, review.ChangeChanged:
			level, title = "warning", x.Change+" exception needs platform approval: "+x.Policy+" ("+x.Service+")"
		case review.ChangeRemoved:
			title = "removed exception: " + x.Policy + " (" + x.Service + ")"
		}
		githubCommand(w, level, x.File, x.Line, title, exceptionLine(x))
	}
}
