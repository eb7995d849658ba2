package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"github.com/pave-dev/pave/review"
	"io"
	"strings"
)

// JUnit prints a JUnit XML report: one test suite per service and
// environment, one test case per policy. A denial is a failure, an
// excepted denial is skipped with the exception's reason, warnings are
// kept in the test case's output, and a service that could not be
// validated, rendered or evaluated has an "error" test case.
type JUnit struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// Format implements Formatter.
func (JUnit) Format(w io.Writer, r *Report) error {
	out := junitSuites{Name: "pave check", Suites: junitExceptions(r)}
	if len(r.Errors) > 0 {
		s := junitSuite{Name: "catalog"}
		for _, e := range r.Errors {
			s.Cases = append(s.Cases, junitCase{Name: "catalog", ClassName: "catalog", File: e.File, Line: e.Line,
				Error: &junitProblem{Message: e.Message, Type: "error", Text: fileLine(e.File, e.Line) + ": " + e.Message}})
		}
		out.Suites = append(out.Suites, s)
	}
	for _, res := range r.Results {
		s := junitSuite{Name: res.label()}
		class := res.Service
		if res.Environment != "" {
			class += "." + res.Environment
		}
		if len(res.Errors) > 0 {
			lines := make([]string, len(res.Errors))
			for i, e := range res.Errors {
				lines[i] = fileLine(e.File, e.Line) + ": " + e.Message
			}
			s.Cases = append(s.Cases, junitCase{Name: "error", ClassName: class, File: res.File,
				Error: &junitProblem{Message: res.Errors[0].Message, Type: "error", Text: strings.Join(lines, "\n")}})
		}
		byPolicy := map[string][]Violation{}
		var order []string
		for _, v := range res.Violations {
			if _, seen := byPolicy[v.Policy]; !seen {
				order = append(order, v.Policy)
			}
			byPolicy[v.Policy] = append(byPolicy[v.Policy], v)
		}
		if res.Environment != "" && len(res.Errors) == 0 {
			// Every policy ran: one case each.
			order = order[:0]
			for _, p := range r.Policies {
				order = append(order, p.ID)
			}
		}
		for _, id := range order {
			s.Cases = append(s.Cases, junitPolicyCase(r, id, class, res.File, byPolicy[id]))
		}
		if res.Change != "" {
			// A review: the change and its diff, for the record.
			var out strings.Builder
			fmt.Fprintf(&out, "%s %s\n", res.Change, res.label())
			for _, c := range res.Diff {
				out.WriteString(c.Diff)
			}
			for _, v := range res.Fixed {
				fmt.Fprintf(&out, "fixed %s: %s\n", v.Policy, v.Message)
			}
			s.Cases = append(s.Cases, junitCase{Name: "change", ClassName: class, File: res.File, SystemOut: out.String()})
		}
		out.Suites = append(out.Suites, s)
	}
	for i := range out.Suites {
		s := &out.Suites[i]
		s.Tests = len(s.Cases)
		for _, c := range s.Cases {
			switch {
			case c.Error != nil:
				s.Errors++
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
	}
	// The encoder escapes markup and newlines and writes U+FFFD for the
	// characters XML cannot hold; quietEncoded escapes what it leaves
	// (C1 and bidirectional controls) and keeps a CI log from running
	// what a string holds.
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	buf.WriteString("\n")
	_, err := w.Write(quietEncoded(buf.Bytes(), func(r rune) string { return fmt.Sprintf("&#x%X;", r) }, "&#91;"))
	return err
}

// junitPolicyCase is one policy's test case for one service and
// environment.
func junitPolicyCase(r *Report, id, class, file string, vs []Violation) junitCase {
	c := junitCase{Name: id, ClassName: class, File: file}
	var failures, skips, output []string
	for _, v := range vs {
		text := fmt.Sprintf("%s: %s", fileLine(v.File, v.Line), v.Message)
		if v.State != "" {
			text += " (" + v.State + ")"
		}
		switch {
		case r.Blocks(&v):
			if v.Hint != "" {
				text += "\nhint: " + v.Hint
			}
			failures = append(failures, text)
			if c.Failure == nil {
				c.Failure = &junitProblem{Message: v.Message, Type: string(Deny)}
				c.Line = v.Line
			}
		case v.Excepted:
			skips = append(skips, text+"\n"+exceptionNote(v.Exception))
			if c.Skipped == nil {
				c.Skipped = &junitSkipped{Message: "excepted: " + v.Exception.Reason}
				c.Line = v.Line
			}
		default:
			output = append(output, string(v.Severity)+": "+text)
		}
	}
	if c.Failure != nil {
		c.Failure.Text = strings.Join(failures, "\n")
		c.Skipped = nil
	}
	if c.Skipped != nil {
		output = append(output, skips...)
	}
	c.SystemOut = strings.Join(output, "\n")
	return c
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
		case review.ChangeAdded, review.ChangeChanged:
			msg = x.Change + " exception — needs platform approval"
		case review.ChangeRemoved:
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
