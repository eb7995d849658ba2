package policy

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

// Review describes the change a report covers (pave check --base).
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
	// StateLetThrough).
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
		case ChangeAdded:
			s.Added++
		case ChangeChanged:
			s.Changed++
		case ChangeRemoved:
			s.Removed++
		case ChangeUnchanged:
			s.Unchanged++
		}
		if res.Change != "" && res.Change != ChangeUnchanged {
			services[res.Service] = true
		}
		for _, v := range res.Violations {
			if !v.Blocking() {
				continue
			}
			switch v.State {
			case StateNew:
				s.NewDenials++
			case StateLetThrough:
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
