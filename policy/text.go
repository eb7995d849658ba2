package policy

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Text prints results grouped by service and environment, for a terminal:
//
//	FAIL payments/checkout (prod)
//	  services/payments/checkout/service.yaml:8: deny image-tag-pinned: ...
//	    hint: ...
type Text struct{}

// Format implements Formatter.
func (Text) Format(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	if len(r.Errors) > 0 {
		fmt.Fprintln(b, "ERROR catalog")
		for _, e := range r.Errors {
			fmt.Fprintf(b, "  %s: %s\n", fileLine(e.File, e.Line), e.Message)
		}
	}
	for _, res := range r.Results {
		fmt.Fprintf(b, "%s %s\n", strings.ToUpper(res.Status), res.label())
		for _, e := range res.Errors {
			fmt.Fprintf(b, "  %s: error: %s\n", fileLine(e.File, e.Line), indentLines(e.Message))
		}
		for _, v := range res.Violations {
			kind := string(v.Severity)
			if v.Excepted {
				kind = "excepted"
			}
			fmt.Fprintf(b, "  %s: %s %s: %s\n", fileLine(v.File, v.Line), kind, v.Policy, indentLines(v.Message))
			switch {
			case v.Excepted:
				fmt.Fprintf(b, "    %s\n", exceptionNote(v.Exception))
			case v.Hint != "":
				fmt.Fprintf(b, "    hint: %s\n", v.Hint)
			}
		}
	}
	s := r.Summary()
	fmt.Fprintf(b, "\n%s: %s, %s, %s, %s\n", plural(s.Services, "service"), plural(s.Denials, "denial"), plural(s.Warnings, "warning"), fmt.Sprintf("%d excepted", s.Excepted), plural(s.Errors, "error"))
	return b.Flush()
}

// indentLines keeps the continuation lines of a message under it.
func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
