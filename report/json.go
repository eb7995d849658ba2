package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/pave-dev/pave/review"
	"io"
)

// JSON prints the report for programs:
//
//	{"results": [{"service", "environment", "file", "status", "violations", "errors"}],
//	 "errors": [...], "summary": {"services", "denials", "warnings", "excepted", "errors"}}
//
// "exceptions" lists the exceptions of the services checked. A review
// (pave check --base) lists there those the change adds, changes or
// removes (each with "change" and, when changed, "before"), and adds to each result "change", "diff" (the
// objects added, removed or changed, each with its changed fields and a
// unified diff) and "fixed", to each violation "state", and to the report
// "review" (revisions, templates and policies changed, blast-radius
// groups) and "reviewSummary".
type JSON struct{}

type jsonReport struct {
	// Exceptions come first: in a review, those the change adds, changes
	// or removes; otherwise those of the services checked.
	Exceptions []ExceptionEntry `json:"exceptions,omitempty"`
	Results    []*Result        `json:"results"`
	Errors     []Error          `json:"errors"`
	Summary    Summary          `json:"summary"`
	// Review and ReviewSummary are set by pave check --base.
	Review        *review.Review `json:"review,omitempty"`
	ReviewSummary *ReviewSummary `json:"reviewSummary,omitempty"`
}

// Format implements Formatter.
func (JSON) Format(w io.Writer, r *Report) error {
	out := jsonReport{Exceptions: r.Exceptions, Results: r.Results, Errors: r.Errors, Summary: r.Summary(), Review: r.Review}
	if r.Review != nil {
		s := r.ReviewSummary()
		out.ReviewSummary = &s
	}
	if out.Results == nil {
		out.Results = []*Result{}
	}
	if out.Errors == nil {
		out.Errors = []Error{}
	}
	return encodeJSON(w, out)
}

// encodeJSON writes v as indented JSON. The encoder escapes control
// characters and HTML; quietEncoded escapes what it leaves (C1 and
// bidirectional controls) and keeps a CI log from running what a string
// holds.
func encodeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(quietEncoded(buf.Bytes(), func(r rune) string { return fmt.Sprintf(`\u%04x`, r) }, `\u005b`))
	return err
}
