package report

import (
	"fmt"
	"github.com/pave-dev/pave/review"
	"slices"
	"strconv"
	"strings"
)

// exceptionsToApprove counts the exceptions a review adds and changes.
func (r *Report) exceptionsToApprove() (added, changed int) {
	if r.Review == nil {
		return 0, 0
	}
	for _, x := range r.Exceptions {
		switch x.Change {
		case review.ChangeAdded:
			added++
		case review.ChangeChanged:
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
