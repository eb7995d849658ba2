// Package report is the model of what pave check and a review report, and
// its output formats: text, json, markdown, sarif, junit, github (one file
// each, behind Formatter) and the pull-request comment (comment.go).
//
// FromRun builds a report from a pipeline run (pave check), FromReview
// from a review (pave check --base), FromCompileError from policies that
// do not compile. The JSON format is a user contract: its shape only
// grows.
package report

import (
	"path/filepath"

	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/review"
)

// The engine's values, as reports hold them.
type (
	Policy    = policy.Policy
	Exception = policy.Exception
	ObjectRef = policy.ObjectRef
	Error     = policy.Error
	Severity  = policy.Severity
)

// Severities and statuses, as the engine gives them.
const (
	Deny        = policy.Deny
	Warn        = policy.Warn
	StatusPass  = policy.StatusPass
	StatusFail  = policy.StatusFail
	StatusError = policy.StatusError
)

// Report is the outcome of checking a catalog, or of reviewing a change.
type Report struct {
	// Results are sorted by service, then environment in delivery order. A
	// result without environment holds a service's own problems: invalid
	// service.yaml, unknown or stale exceptions.
	Results []*Result `json:"results"`
	// Errors concern the catalog as a whole (policies that do not compile,
	// broken templates).
	Errors []Error `json:"errors,omitempty"`
	// Policies are the catalog's policies, sorted by id.
	Policies []*Policy `json:"-"`
	// Review is set by pave check --base: the results then cover the
	// service × environment pairs a change impacts, each with its Change
	// and Diff, and violations carry their State against the base.
	Review *review.Review `json:"-"`
	// Exceptions are, in a review, the exceptions the change adds, changes
	// or removes; otherwise every exception of the services checked.
	Exceptions []ExceptionEntry `json:"exceptions,omitempty"`
}

// Result is one service checked in one environment.
type Result struct {
	Service     string      `json:"service"`
	Environment string      `json:"environment"`
	File        string      `json:"file"`
	Status      string      `json:"status"`
	Violations  []Violation `json:"violations"`
	Errors      []Error     `json:"errors"`
	// Change is what a reviewed change does to this pair: added, changed,
	// removed or unchanged (rendered output identical). Empty outside a
	// review and for a service's own problems.
	Change string `json:"change,omitempty"`
	// Diff lists the objects added, removed or changed, base → head.
	Diff []review.ObjectChange `json:"diff,omitempty"`
	// Fixed are the base's violations the change removes (state "fixed").
	Fixed []Violation `json:"fixed,omitempty"`
}

// Violation is one deny or warn result of a policy.
type Violation struct {
	Policy   string   `json:"policy"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
	// Object is the rendered object concerned, when the policy names one.
	Object *ObjectRef `json:"object,omitempty"`
	// Field is the service.yaml path responsible, e.g. "spec.image".
	Field string `json:"field,omitempty"`
	File  string `json:"file"`
	Line  int    `json:"line"`
	// Excepted means an unexpired exception of the service covers it.
	Excepted  bool       `json:"excepted"`
	Exception *Exception `json:"exception,omitempty"`
	// State compares the violation with the base of a review: new (absent
	// at base), existing, fixed (gone at head) or let-through.
	State string `json:"state,omitempty"`
}

// ExceptionEntry is an exception as a report lists it, apart from the
// violations it covers. pave check lists every exception of the services
// it checked; a review lists those the change adds, changes or removes,
// the first thing every format shows: each needs one of pave.yaml's
// exceptions.approvers to approve the pull request.
type ExceptionEntry struct {
	// Change is added, changed or removed in a review; empty otherwise.
	Change  string `json:"change,omitempty"`
	Service string `json:"service"`
	Exception
	// Before is the base's version of a changed exception.
	Before *Exception `json:"before,omitempty"`
}

// Summary counts a report's results.
type Summary struct {
	Services int `json:"services"`
	Denials  int `json:"denials"`
	Warnings int `json:"warnings"`
	Excepted int `json:"excepted"`
	Errors   int `json:"errors"`
}

// Blocking reports whether the violation fails its service.
func (v *Violation) Blocking() bool { return v.Severity == Deny && !v.Excepted }

// status derives a result's status from its violations and errors.
func (r *Result) status() string {
	if len(r.Errors) > 0 {
		return StatusError
	}
	for i := range r.Violations {
		if r.Violations[i].Blocking() {
			return StatusFail
		}
	}
	return StatusPass
}

// problem is a violation as the pipeline words it.
func (r *Result) problem(v *Violation) pipeline.Problem {
	return pipeline.ViolationProblem(r.Service, r.Environment, policy.Violation{
		Policy: v.Policy, Severity: v.Severity, Message: v.Message, File: v.File, Line: v.Line, Excepted: v.Excepted,
	})
}

// errorProblem is an error as the pipeline words it.
func (r *Result) errorProblem(e Error) pipeline.Problem {
	return pipeline.ErrorProblem(r.Service, r.Environment, e)
}

// Summary counts services, denials (not excepted), warnings, excepted
// denials and errors.
func (r *Report) Summary() Summary {
	s := Summary{Errors: len(r.Errors)}
	seen := map[string]bool{}
	for _, res := range r.Results {
		if !seen[res.Service] {
			seen[res.Service] = true
			s.Services++
		}
		s.Errors += len(res.Errors)
		for _, v := range res.Violations {
			switch {
			case v.Excepted:
				s.Excepted++
			case v.Severity == Deny:
				s.Denials++
			default:
				s.Warnings++
			}
		}
	}
	return s
}

// Failed reports whether anything blocks: an error, or a denial — in a
// review with --fail-on new, only a denial the change introduces.
func (r *Report) Failed() bool {
	s := r.Summary()
	if s.Errors > 0 {
		return true
	}
	for _, res := range r.Results {
		for i := range res.Violations {
			if r.Blocks(&res.Violations[i]) {
				return true
			}
		}
	}
	return false
}

// Blocks reports whether a violation fails the report: a denial without
// exception, and in a review with --fail-on new one marked new.
func (r *Report) Blocks(v *Violation) bool {
	if !v.Blocking() {
		return false
	}
	return r.Review == nil || r.Review.FailOn != review.FailOnNew || v.State == review.StateNew || v.State == review.StateLetThrough
}

// RelocateFiles joins every file path with dir, so that a report names
// files as the user who ran pave from elsewhere can open them.
func (r *Report) RelocateFiles(dir string) {
	r.MapFiles(func(f string) string { return filepath.Join(dir, filepath.FromSlash(f)) })
}

// MapFiles rewrites every file path of the report (empty ones stay
// empty).
func (r *Report) MapFiles(m func(string) string) {
	join := func(f string) string {
		if f == "" {
			return f
		}
		return m(f)
	}
	for i := range r.Errors {
		r.Errors[i].File = join(r.Errors[i].File)
	}
	for _, res := range r.Results {
		res.File = join(res.File)
		for i := range res.Violations {
			res.Violations[i].File = join(res.Violations[i].File)
			if x := res.Violations[i].Exception; x != nil {
				x.File = join(x.File)
			}
		}
		for i := range res.Fixed {
			res.Fixed[i].File = join(res.Fixed[i].File)
			if x := res.Fixed[i].Exception; x != nil {
				x.File = join(x.File)
			}
		}
		for i := range res.Errors {
			res.Errors[i].File = join(res.Errors[i].File)
		}
	}
	for _, p := range r.Policies {
		p.File = join(p.File)
	}
	for i := range r.Exceptions {
		x := &r.Exceptions[i]
		x.File = join(x.File)
		if x.Before != nil {
			x.Before.File = join(x.Before.File)
		}
	}
}

// ReviewSummary counts what a review found.
type ReviewSummary struct {
	// Pairs counts the impacted service × environment pairs; Added,
	// Changed, Removed and Unchanged split them.
	Pairs     int `json:"pairs"`
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
	// Services counts the services with an added, changed or removed pair.
	Services int `json:"services"`
	// NewDenials, ExistingDenials and FixedDenials count denials without
	// exception by state.
	NewDenials      int `json:"newDenials"`
	ExistingDenials int `json:"existingDenials"`
	FixedDenials    int `json:"fixedDenials"`
	// LetThroughDenials count the denials only the base's rules give (see
	// review.StateLetThrough).
	LetThroughDenials int `json:"letThroughDenials"`
	Errors            int `json:"errors"`
}

// ReviewSummary counts the report's pairs by change and its denials by
// state.
func (r *Report) ReviewSummary() ReviewSummary {
	var s ReviewSummary
	s.Errors = r.Summary().Errors
	services := map[string]bool{}
	for _, res := range r.Results {
		switch res.Change {
		case review.ChangeAdded:
			s.Added++
		case review.ChangeChanged:
			s.Changed++
		case review.ChangeRemoved:
			s.Removed++
		case review.ChangeUnchanged:
			s.Unchanged++
		}
		if res.Change != "" && res.Change != review.ChangeUnchanged {
			services[res.Service] = true
		}
		for _, v := range res.Violations {
			if !v.Blocking() {
				continue
			}
			switch v.State {
			case review.StateNew:
				s.NewDenials++
			case review.StateLetThrough:
				s.LetThroughDenials++
			default:
				s.ExistingDenials++
			}
		}
		for _, v := range res.Fixed {
			if v.Blocking() {
				s.FixedDenials++
			}
		}
	}
	s.Pairs = s.Added + s.Changed + s.Removed + s.Unchanged
	s.Services = len(services)
	return s
}
