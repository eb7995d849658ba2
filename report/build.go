package report

import (
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/review"
)

// FromRun is the report of a pipeline run (pave check): every service's
// own problems and every service × environment it evaluated, the
// catalog's errors and the exceptions of the services checked.
func FromRun(run *pipeline.Run) *Report {
	r := &Report{Results: []*Result{}, Policies: run.Policies}
	for _, e := range run.Errors {
		r.Errors = append(r.Errors, policy.ErrorOf(e))
	}
	for _, s := range run.Services {
		if s.Own != nil {
			r.Results = append(r.Results, resultOf(s.Own))
		}
		for _, o := range s.Outcomes {
			r.Results = append(r.Results, resultOf(o.Verdict))
		}
	}
	for _, x := range run.Exceptions {
		r.Exceptions = append(r.Exceptions, ExceptionEntry{Service: x.Service, Exception: x.Exception})
	}
	return r
}

// FromReview is the report of a review (pave check --base).
func FromReview(rv *review.Review) *Report {
	r := &Report{Results: make([]*Result, 0, len(rv.Results)), Errors: rv.Errors, Policies: rv.HeadPolicies, Review: rv}
	for _, res := range rv.Results {
		out := &Result{
			Service: res.Service, Environment: res.Environment, File: res.File, Status: res.Status,
			Violations: reviewViolations(res.Violations), Errors: res.Errors,
			Change: res.Change, Diff: res.Diff, Fixed: reviewViolations(res.Fixed),
		}
		if out.Violations == nil {
			out.Violations = []Violation{}
		}
		r.Results = append(r.Results, out)
	}
	for _, x := range rv.Exceptions {
		r.Exceptions = append(r.Exceptions, ExceptionEntry{Change: x.Change, Service: x.Service, Exception: x.Exception, Before: x.Before})
	}
	return r
}

// FromCompileError is the report of a catalog whose policies do not
// compile: nothing is checked (fail closed), every compile error is
// reported at its file and line.
func FromCompileError(err *policy.CompileError) *Report {
	return &Report{Results: []*Result{}, Errors: err.ResultErrors()}
}

func resultOf(res *policy.Result) *Result {
	out := &Result{Service: res.Service, Environment: res.Environment, File: res.File, Status: res.Status, Violations: make([]Violation, len(res.Violations)), Errors: res.Errors}
	for i, v := range res.Violations {
		out.Violations[i] = violationOf(v, "")
	}
	return out
}

func reviewViolations(vs []review.Violation) []Violation {
	if vs == nil {
		return nil
	}
	out := make([]Violation, len(vs))
	for i, v := range vs {
		out[i] = violationOf(v.Violation, v.State)
	}
	return out
}

func violationOf(v policy.Violation, state string) Violation {
	return Violation{
		Policy: v.Policy, Severity: v.Severity, Message: v.Message, Hint: v.Hint, Object: v.Object,
		Field: v.Field, File: v.File, Line: v.Line, Excepted: v.Excepted, Exception: v.Exception, State: state,
	}
}
