package policy

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

// Result is one service evaluated in one environment; without
// environment, what concerns the service as a whole (see ServiceResult).
type Result struct {
	Service     string      `json:"service"`
	Environment string      `json:"environment"`
	File        string      `json:"file"`
	Status      string      `json:"status"`
	Violations  []Violation `json:"violations"`
	Errors      []Error     `json:"errors"`
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

// Error is a problem that stopped an evaluation: a validation or render
// error, a policy that timed out or failed.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	// TimedOut: the evaluation ran out of time (Options.Timeout) before a
	// verdict; another try may reach one (pave serve retries it).
	TimedOut bool `json:"timedOut,omitempty"`
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
