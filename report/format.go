package report

import (
	"fmt"
	"io"
	"strings"
)

// Formatter prints a report in one output format.
type Formatter interface {
	Format(w io.Writer, r *Report) error
}

var formatters = map[string]Formatter{
	"text":     Text{},
	"json":     JSON{},
	"markdown": Markdown{},
	"sarif":    SARIF{},
	"junit":    JUnit{},
	"github":   GitHub{},
}

// Formats lists the output formats, in the order help text shows them.
func Formats() []string {
	return []string{"text", "json", "markdown", "sarif", "junit", "github"}
}

// Get returns the formatter for a format name.
func Get(format string) (Formatter, error) {
	f, ok := formatters[format]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (%s)", format, strings.Join(Formats(), ", "))
	}
	return f, nil
}

// location is "file:line", or "file" when the line is unknown.
func fileLine(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// label names a result: "team/name (env)", or "team/name" for a service's
// own problems.
func (r *Result) label() string {
	if r.Environment == "" {
		return r.Service
	}
	return r.Service + " (" + r.Environment + ")"
}

// exceptionNote describes the exception that covers a violation.
func exceptionNote(x *Exception) string {
	return fmt.Sprintf("excepted until %s, approved by %s: %s", x.Expires, x.ApprovedBy, x.Reason)
}
