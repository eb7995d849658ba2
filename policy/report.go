package policy

import (
	"path/filepath"

	"github.com/pave-dev/pave/render"
)

// Severity is the rule a result came from.
type Severity string

const (
	// Deny results block the service.
	Deny Severity = "deny"
	// Warn results are reported and do not block.
	Warn Severity = "warn"
)

// Status of one service in one environment.
const (
	StatusPass  = "pass"
	StatusFail  = "fail"
	StatusError = "error"
)

// Report is the outcome of checking a catalog.
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
	Review *Review `json:"-"`
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
	Diff []render.ObjectChange `json:"diff,omitempty"`
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
	// at base), existing, or fixed (gone at head).
	State string `json:"state,omitempty"`
}

// ObjectRef names a rendered object.
type ObjectRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Exception is a service's exception, as it applied to a result.
type Exception struct {
	Policy string `json:"policy"`
	// Environments it holds in; all when empty.
	Environments []string `json:"environments,omitempty"`
	Reason       string   `json:"reason"`
	ApprovedBy   string   `json:"approvedBy"`
	Expires      string   `json:"expires"`
	Expired      bool     `json:"expired"`
	// File is the exceptions file (exceptions/<team>/<service>.yaml),
	// Field where in it the exception is written, e.g. "exceptions[0]".
	File  string `json:"file"`
	Field string `json:"field"`
	Line  int    `json:"line"`
}

// Error is a problem that stopped a check: a validation or render error,
// a policy that timed out or failed.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
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
	return r.Review == nil || r.Review.FailOn != FailOnNew || v.State == StateNew || v.State == StateLetThrough
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
