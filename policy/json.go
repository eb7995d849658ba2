package policy

import (
	"encoding/json"
	"io"
)

// JSON prints the report for programs:
//
//	{"results": [{"service", "environment", "file", "status", "violations", "errors"}],
//	 "errors": [...], "summary": {"services", "denials", "warnings", "excepted", "errors"}}
type JSON struct{}

type jsonReport struct {
	Results []*Result `json:"results"`
	Errors  []Error   `json:"errors"`
	Summary Summary   `json:"summary"`
}

// Format implements Formatter.
func (JSON) Format(w io.Writer, r *Report) error {
	out := jsonReport{Results: r.Results, Errors: r.Errors, Summary: r.Summary()}
	if out.Results == nil {
		out.Results = []*Result{}
	}
	if out.Errors == nil {
		out.Errors = []Error{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
