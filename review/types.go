package review

import (
	"github.com/pave-dev/pave/policy"
)

// Change of a service × environment between the base and the head of a
// review.
const (
	ChangeAdded     = "added"
	ChangeChanged   = "changed"
	ChangeRemoved   = "removed"
	ChangeUnchanged = "unchanged"
)

// State of a violation against the base of a review.
const (
	StateNew      = "new"
	StateExisting = "existing"
	StateFixed    = "fixed"
	// StateLetThrough marks a denial the base's rules (its policies and
	// pave.yaml) give a service the pull request changes, and the head's
	// rules do not: the platform edits of the same pull request let it
	// through. It blocks like a new denial.
	StateLetThrough = "let-through"
)

// What fails a review (pave check --fail-on).
const (
	// FailOnAny fails on any denial in an impacted pair.
	FailOnAny = "any"
	// FailOnNew fails only on denials the change introduces.
	FailOnNew = "new"
)

// Review is what Run finds: the change between two revisions (what its
// JSON says under "review") and, apart from it, the impacted pairs judged
// on both sides.
type Review struct {
	Base RevisionInfo `json:"base"`
	Head RevisionInfo `json:"head"`
	// FailOn is FailOnAny or FailOnNew.
	FailOn string `json:"failOn"`
	// Environments are the head's environments, in delivery order.
	Environments []string `json:"environments"`
	// Changed are the catalog files that differ, relative to the catalog
	// root.
	Changed []string `json:"changed"`
	// Templates are the golden-path templates the change touches.
	Templates []TemplateChange `json:"templates,omitempty"`
	// Libraries are the library charts under templates/ whose files
	// changed: each reaches every template that depends on it.
	Libraries []LibraryChange `json:"libraries,omitempty"`
	// Policies are the policy files the change touches.
	Policies []string `json:"policies,omitempty"`
	// Rollouts are the waves pave serve rolls the change out in, per
	// template, in each environment: set when the change reaches services
	// through their template, pave.yaml or the policies.
	Rollouts []RolloutPlan `json:"rollouts,omitempty"`
	// Config is set when pave.yaml changed: every service is impacted.
	Config bool `json:"config,omitempty"`
	// ConfigDiff is the unified diff of pave.yaml, base → head.
	ConfigDiff string `json:"configDiff,omitempty"`
	// Rules tells how the change alters the platform's rules.
	Rules *RulesChange `json:"rules,omitempty"`
	// Groups gather the impacted pairs by the shape of their change, the
	// largest first: the blast radius.
	Groups []Group `json:"groups"`
	// Unimpacted counts the head's service × environment pairs the change
	// does not touch.
	Unimpacted int `json:"unimpacted"`

	// Results are the impacted pairs, sorted by service, then environment
	// in delivery order; a result without environment holds a service's
	// own problems (invalid service.yaml, unknown or stale exceptions).
	Results []*Result `json:"-"`
	// Errors concern the head's catalog as a whole (pave.yaml, policies
	// that do not compile, broken templates).
	Errors []policy.Error `json:"-"`
	// HeadPolicies are the head's policies, sorted by id.
	HeadPolicies []*policy.Policy `json:"-"`
	// Exceptions are those the change adds, changes or removes.
	Exceptions []ExceptionChange `json:"-"`
}

// Result is one impacted service × environment, judged at head against
// the base.
type Result struct {
	Service     string
	Environment string
	File        string
	// Status is policy.StatusPass, StatusFail or StatusError.
	Status     string
	Violations []Violation
	Errors     []policy.Error
	// Change is what the change does to the pair: ChangeAdded,
	// ChangeChanged, ChangeRemoved or ChangeUnchanged (rendered output
	// identical). Empty for a service's own problems.
	Change string
	// Diff lists the objects added, removed or changed, base → head.
	Diff []ObjectChange
	// Fixed are the base's violations the change removes (StateFixed).
	Fixed []Violation
}

// Violation is a policy result with its state against the base.
type Violation struct {
	policy.Violation
	// State is StateNew, StateExisting, StateFixed or StateLetThrough.
	State string
}

// ExceptionChange is an exception the change adds, changes or removes.
type ExceptionChange struct {
	// Change is ChangeAdded, ChangeChanged or ChangeRemoved.
	Change string
	// Service is "team/name".
	Service string
	policy.Exception
	// Before is the base's version of a changed exception.
	Before *policy.Exception
}

// resultOf is a head or base evaluation as a review result, its
// violations without state yet.
func resultOf(r *policy.Result) *Result {
	out := &Result{Service: r.Service, Environment: r.Environment, File: r.File, Status: r.Status, Violations: make([]Violation, len(r.Violations)), Errors: r.Errors}
	for i, v := range r.Violations {
		out.Violations[i] = Violation{Violation: v}
	}
	if out.Errors == nil {
		out.Errors = []policy.Error{}
	}
	return out
}

// RulesChange is what a pull request does to the rules it is judged by:
// set when it changes pave.yaml, policies/ or templates/.
type RulesChange struct {
	// Deleted are the policies the base has and the head does not.
	Deleted []PolicyChange `json:"deleted,omitempty"`
	// Weakened are policies the change keeps but makes less strict.
	Weakened []PolicyChange `json:"weakened,omitempty"`
	// JudgedByBase lists the services the change edits that were also
	// checked against the base's policies and pave.yaml, because the same
	// change edits them; their denials only the base's rules give are
	// marked "let-through".
	JudgedByBase []string `json:"judgedByBase,omitempty"`
	// NotJudged says why the services could not be checked against the
	// base's rules (its policies do not compile, say).
	NotJudged string `json:"notJudged,omitempty"`
}

// PolicyChange is a deleted or weakened policy.
type PolicyChange struct {
	ID   string `json:"id"`
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Why says how it was weakened.
	Why string `json:"why,omitempty"`
}

// Weakens reports whether the change deletes or weakens a policy, or
// lets a denial through.
func (c *RulesChange) Weakens() bool {
	return c != nil && (len(c.Deleted) > 0 || len(c.Weakened) > 0)
}

// RevisionInfo names one side of a review.
type RevisionInfo struct {
	// Ref is what the user asked for: "origin/main", "HEAD~1", or
	// "working tree".
	Ref string `json:"ref"`
	// Commit is the commit hash; empty for the working tree.
	Commit  string `json:"commit,omitempty"`
	Message string `json:"message,omitempty"`
}

// Short is the commit shortened to 12 digits, or the ref.
func (r RevisionInfo) Short() string {
	if len(r.Commit) >= 12 {
		return r.Commit[:12]
	}
	if r.Commit != "" {
		return r.Commit
	}
	return r.Ref
}

// TemplateChange is a template whose files changed.
type TemplateChange struct {
	Name string `json:"name"`
	// From and To are the chart versions at base and head; empty where the
	// template does not exist.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Services using the template at base or head, and the pairs impacted.
	Services []string `json:"services"`
	Pairs    int      `json:"pairs"`
}

// RolloutPlan is how a change reaching a template's services through
// something they share rolls out over them, in every environment.
type RolloutPlan struct {
	Template string `json:"template"`
	// Rollout is the template's rollout as pave.yaml writes it ("1, 10%,
	// 100% (soak 5m0s)").
	Rollout string `json:"rollout"`
	// Waves are the services of each wave, in order; the services the
	// change also edits themselves are in the first.
	Waves [][]string `json:"waves"`
}

// LibraryChange is a library chart of the catalog (templates/<name>,
// type: library) whose files changed.
type LibraryChange struct {
	Name string `json:"name"`
	// From and To are the chart versions at base and head; empty where the
	// library does not exist.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Templates depending on the library at base or head, sorted.
	Templates []string `json:"templates"`
	// Services using those templates at base or head, and the pairs
	// impacted.
	Services []string `json:"services"`
	Pairs    int      `json:"pairs"`
}

// Group is a set of impacted pairs whose changes have the same shape.
type Group struct {
	// Shape describes the change, e.g. "change Deployment
	// spec.template.spec.securityContext; now fail readonly-root-filesystem".
	Shape string `json:"shape"`
	// Template the pairs use (at head; at base for removed services).
	Template string `json:"template,omitempty"`
	// Services and Environments the pairs span; Pairs are "team/name
	// (environment)", sorted.
	Services     []string `json:"services"`
	Environments []string `json:"environments"`
	Pairs        []string `json:"pairs"`
	// NewDenials are the policies the pairs newly fail; Fixed those they
	// no longer fail.
	NewDenials []string `json:"newDenials,omitempty"`
	Fixed      []string `json:"fixed,omitempty"`
}
