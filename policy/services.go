package policy

import (
	"fmt"
	"strings"

	"github.com/pave-dev/pave/catalog"
)

// ServiceResult reports what concerns a service rather than one of its
// environments, given its results in the environments evaluated:
// exceptions naming unknown policies (errors), and exceptions that matched
// nothing (stale warnings). An exception is only stale when every
// environment it holds in was evaluated without error and none used it;
// allEnvironments says whether results cover every environment of the
// catalog. The result has no environment; nil when there is nothing to say.
func (e *Engine) ServiceResult(svc *catalog.Service, results []*Result, allEnvironments bool) *Result {
	res := &Result{Service: svc.ID(), File: svc.File, Violations: []Violation{}}
	used := map[string]bool{}
	evaluated := map[string]bool{}
	for _, r := range results {
		if len(r.Errors) == 0 {
			evaluated[r.Environment] = true
		}
		for _, v := range r.Violations {
			if v.Exception != nil && v.Severity == Deny {
				used[v.Exception.Field] = true
			}
		}
	}
	allEvaluated := allEnvironments
	for _, r := range results {
		allEvaluated = allEvaluated && evaluated[r.Environment]
	}
	for _, err := range e.UnknownExceptions(svc) {
		res.Errors = append(res.Errors, ErrorOf(err))
	}
	for _, x := range exceptionsOf(svc, "", e.opts.Now()) {
		if _, known := e.byID[x.Policy]; !known {
			continue
		}
		checked := allEvaluated
		if len(x.Environments) > 0 {
			checked = true
			for _, env := range x.Environments {
				checked = checked && evaluated[env]
			}
		}
		if checked && !used[x.Field] {
			xc := x
			res.Violations = append(res.Violations, Violation{
				Policy:    x.Policy,
				Severity:  Warn,
				Message:   fmt.Sprintf("stale exception: %s denies nothing in this service; remove the exception", x.Policy),
				Hint:      "delete this exception from " + x.File,
				Field:     x.Field,
				File:      x.File,
				Line:      x.Line,
				Exception: &xc,
			})
		}
	}
	if len(res.Errors) == 0 && len(res.Violations) == 0 {
		return nil
	}
	if res.Errors == nil {
		res.Errors = []Error{}
	}
	sortViolations(res.Violations)
	res.Status = res.status()
	return res
}

// UnknownExceptions reports the exceptions of a service that name a policy
// the catalog does not have: a validation error at the exception's line in
// its exceptions file.
func (e *Engine) UnknownExceptions(svc *catalog.Service) catalog.ErrorList {
	xf := svc.ExceptionFile
	if xf == nil {
		return nil
	}
	var errs catalog.ErrorList
	for i, x := range xf.Exceptions {
		if _, known := e.byID[x.Policy]; !known {
			field := fmt.Sprintf("exceptions[%d].policy", i)
			msg := fmt.Sprintf("%s: unknown policy %q (policies: %s)", field, x.Policy, strings.Join(e.policyIDs(), ", "))
			errs = append(errs, &catalog.Error{File: xf.File, Position: xf.Position(field), Message: msg})
		}
	}
	return errs
}

func (e *Engine) policyIDs() []string {
	ids := make([]string, len(e.policies))
	for i, p := range e.policies {
		ids[i] = p.ID
	}
	return ids
}

// ErrorOf is a catalog error as a result's error (its column dropped).
func ErrorOf(e *catalog.Error) Error {
	return Error{File: e.File, Line: e.Line, Message: e.Message}
}
