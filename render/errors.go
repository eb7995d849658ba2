package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pave-dev/pave/catalog"
)

// Error is a failure to render one service for one environment. It points
// at the developer's file and line (the service.yaml field, or a patch
// file) and, when a template failed, at the template file and line too.
type Error struct {
	Service     string // team/name
	Environment string
	// File is the service.yaml, or the patch file, relative to the catalog root.
	File string
	catalog.Position
	// Template is the template file and line that failed, e.g.
	// "templates/web-service/templates/deployment.yaml:12:5", when known.
	Template string
	Message  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	fmt.Fprintf(&b, ": render %s (%s): ", e.Service, e.Environment)
	if e.Template != "" {
		b.WriteString(e.Template + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

var (
	// Helm reports execution errors as
	// `template: web-service/templates/x.yaml:12:5: executing "..." at <...>: msg`
	helmExecError = regexp.MustCompile(`template: ([^:\s]+):(\d+)(?::(\d+))?: (.*)$`)
	// parse errors as `parse error at (web-service/templates/x.yaml:3): msg`
	helmParseError = regexp.MustCompile(`parse error at \(([^:\s]+):(\d+)\): (.*)$`)
	// and `required`/`fail` as `execution error at (web-service/templates/x.yaml:6:13): msg`
	helmExecutionError = regexp.MustCompile(`execution error at \(([^:\s]+):(\d+):(\d+)\): (.*)$`)
)

// templateLocation splits a Helm error into the template file (relative to
// the catalog root, by file) with its line, and the message. Columns are those of
// the template as written, before pave added its checkpoints (ic).
func templateLocation(err error, ic *instrumentedChart, file func(string) string) (location, message string) {
	msg := err.Error()
	col := func(name, line, column string) string {
		l, _ := strconv.Atoi(line)
		c, _ := strconv.Atoi(column)
		return strconv.Itoa(ic.column(name, l, c))
	}
	if m := helmExecutionError.FindStringSubmatch(msg); m != nil {
		return file(m[1]) + ":" + m[2] + ":" + col(m[1], m[2], m[3]), m[4]
	}
	if m := helmExecError.FindStringSubmatch(msg); m != nil {
		loc := file(m[1]) + ":" + m[2]
		if m[3] != "" {
			loc += ":" + col(m[1], m[2], m[3])
		}
		return loc, simplifyHelmMessage(m[4])
	}
	if m := helmParseError.FindStringSubmatch(msg); m != nil {
		return file(m[1]) + ":" + m[2], m[3]
	}
	return "", msg
}

var executingPrefix = regexp.MustCompile(`^executing "[^"]*" at <([^>]*)>: `)

// simplifyHelmMessage turns `executing "x" at <.Values.y>: error calling
// required: msg` into `<.Values.y>: error calling required: msg`.
func simplifyHelmMessage(msg string) string {
	if m := executingPrefix.FindStringSubmatch(msg); m != nil {
		return "at <" + m[1] + ">: " + msg[len(m[0]):]
	}
	return msg
}
