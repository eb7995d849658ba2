package pipeline

import (
	"fmt"

	"github.com/pave-dev/pave/policy"
)

// Kinds of problem.
const (
	// KindDeny is a denial without exception: it blocks the pair.
	KindDeny = string(policy.Deny)
	// KindWarn is a warning: reported, never blocking.
	KindWarn = string(policy.Warn)
	// KindExcepted is a denial an unexpired exception covers.
	KindExcepted = "excepted"
	// KindError is a failure to validate, render or evaluate: it blocks.
	KindError = "error"
)

// Problem is one thing to tell about a service in an environment: a
// policy result or an error, located at the file and line responsible.
type Problem struct {
	// Service is "team/name"; Environment is empty for what concerns the
	// service as a whole.
	Service     string
	Environment string
	// Kind is KindDeny, KindWarn, KindExcepted or KindError.
	Kind string
	// Policy is the policy's id; empty for errors.
	Policy  string
	File    string
	Line    int
	Message string
}

// ViolationProblem is a policy result as a problem.
func ViolationProblem(service, env string, v policy.Violation) Problem {
	kind := string(v.Severity)
	if v.Excepted {
		kind = KindExcepted
	}
	return Problem{Service: service, Environment: env, Kind: kind, Policy: v.Policy, File: v.File, Line: v.Line, Message: v.Message}
}

// ErrorProblem is an error (validation, render, evaluation) as a problem.
func ErrorProblem(service, env string, e policy.Error) Problem {
	return Problem{Service: service, Environment: env, Kind: KindError, File: e.File, Line: e.Line, Message: e.Message}
}

// Message is the text of a problem, the same in pave check, apply, diff
// and the daemon's status and events:
//
//	services/payments/checkout/service.yaml:8: deny image-tag-pinned: Deployment/checkout: …
//	services/storefront/web/service.yaml:18: error: render: patch spec.patches[0]: …
func Message(p Problem) string { return p.Format(nil, nil) }

// Format is Message with the file location and policy id passed through
// field and the message through text (nil: as they are), for formats that
// must escape what a service's authors wrote.
func (p Problem) Format(field, text func(string) string) string {
	if field == nil {
		field = func(s string) string { return s }
	}
	if text == nil {
		text = func(s string) string { return s }
	}
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Policy == "" {
		return fmt.Sprintf("%s: %s: %s", field(loc), p.Kind, text(p.Message))
	}
	return fmt.Sprintf("%s: %s %s: %s", field(loc), p.Kind, field(p.Policy), text(p.Message))
}

// Label names the pair: "team/name (env)", or "team/name" for what
// concerns the service as a whole.
func (p Problem) Label() string {
	if p.Environment == "" {
		return p.Service
	}
	return p.Service + " (" + p.Environment + ")"
}

// String is the message prefixed with the pair, for lists that mix pairs
// (pave apply and diff print these).
func (p Problem) String() string { return p.Label() + ": " + Message(p) }
