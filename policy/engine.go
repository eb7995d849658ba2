// Package policy checks rendered services against the platform's baseline
// policies, written in Rego in the catalog's policies/ folder, and against
// policy libraries written for conftest or Gatekeeper, unmodified.
//
// Load compiles every module once (Rego v1, or v0 where pave.yaml's
// policies.regoVersion or an OPA .manifest says so), with the builtins
// that could reach the network, read the environment or make results
// non-deterministic taken out, and refuses result rules it cannot read as
// sets. Engine.Evaluate then checks one service in one environment: pave's
// own packages' deny and warn rules run once over the service's settings
// and rendered objects; conftest packages (main and pave.yaml's
// policies.packages) once per rendered object; Gatekeeper constraint
// templates once per object of each constraint's kinds, with its
// parameters. It applies the service's exceptions and places every result
// on the line of service.yaml that caused it. ServiceResult reports
// what concerns a service as a whole (exceptions naming unknown policies,
// exceptions that deny nothing), and Test runs the policies' own Rego unit
// tests (pave policy test).
//
// policy is the engine only: it knows no renderer (Input carries the
// rendered objects) and no output format. The pipeline package runs it
// over a catalog; the report package prints what it finds.
package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/pave-dev/pave/catalog"
)

// DefaultTimeout bounds the evaluation of one service in one environment.
const DefaultTimeout = 2 * time.Second

// Options configure an Engine.
type Options struct {
	// Config is the catalog configuration (pave.yaml), given to policies as
	// data.pave: registries, sizes, environments, teams and defaults.
	Config *catalog.Config
	// Timeout bounds each evaluation; DefaultTimeout when zero.
	Timeout time.Duration
	// Now is the clock exceptions expire by; time.Now when nil.
	Now func() time.Time
	// MemoPairs bounds the service × environment pairs whose last
	// evaluation the engine keeps, to replay when the same pair comes
	// with the same input (DefaultMemoPairs when zero; none when
	// negative). Policies that read the clock are never replayed.
	MemoPairs int
}

// Policy is one baseline policy, described by its METADATA annotation.
type Policy struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Remediation string `json:"remediation,omitempty"`
	// Package is the Rego package, e.g. "data.pave.policies.no_privileged".
	Package string `json:"package"`
	// File and Line locate the package in the catalog.
	File string `json:"file"`
	Line int    `json:"line"`
}

// Engine evaluates the policies of one catalog. It is safe for concurrent
// use.
type Engine struct {
	fsys     fs.FS
	opts     Options
	policies []*Policy
	byID     map[string]*Policy
	// service are pave's own packages' rules, evaluated once per service
	// over all its objects.
	service querySet
	// object are conftest packages' rules, evaluated once per object.
	object querySet
	// constraints run Gatekeeper constraint templates.
	constraints []*constraint
	// memo keeps the last results of each pair; nil when the policies
	// read the clock.
	memo *memo
	// fingerprint of the modules: an engine with the same one may share
	// its memo (ShareResults).
	fingerprint [32]byte
}

// querySet is rules bound to the variables of one prepared query.
type querySet struct {
	rules []ruleRef
	query rego.PreparedEvalQuery
}

// ruleRef is one package's result rule (deny, violation_x, warn …),
// bound to a query variable.
type ruleRef struct {
	pkg      *packageInfo
	name     string
	severity Severity
	variable string
}

type packageInfo struct {
	path string // data.pave.policies.no_privileged
	mode mode
	// policy is the package's policy (from its annotations or its name).
	policy *Policy
}

// constraint is a Gatekeeper constraint: a template's rules run with its
// parameters over the objects of its kinds.
type constraint struct {
	policy     *Policy
	kinds      []string
	severity   Severity
	parameters ast.Value
	template   *querySet
}

// CompileError means the policies do not compile: no service can be
// checked, so evaluation stops for the whole catalog.
type CompileError struct {
	Errors catalog.ErrorList
}

func (e *CompileError) Error() string {
	return "policies do not compile:\n" + e.Errors.Error()
}

// ResultErrors are the compile errors as a check or review reports them,
// each at its file and line.
func (e *CompileError) ResultErrors() []Error {
	out := make([]Error, len(e.Errors))
	for i, ce := range e.Errors {
		out[i] = Error{File: ce.File, Line: ce.Line, Message: "policy does not compile: " + ce.Message}
	}
	return out
}

// Load parses and compiles every .rego file under dir of the catalog fsys
// (the *_test.rego unit tests included, so that a broken test is caught
// too) and prepares its queries: one over pave's own packages, one over
// the conftest packages, one per Gatekeeper constraint template. A parse
// or compile error, or a result rule pave cannot read, is a *CompileError
// naming file and line.
func Load(fsys fs.FS, dir string, opts Options) (*Engine, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	modules, gkTemplates, err := parsePolicies(fsys, dir, opts.Config)
	if err != nil {
		return nil, err
	}
	sum := fingerprint(modules)
	compiler := newCompiler().WithEnablePrintStatements(false)
	if compiler.Compile(modules); compiler.Failed() {
		return nil, compileError(compiler.Errors)
	}
	e := &Engine{fsys: fsys, opts: opts, byID: map[string]*Policy{}, fingerprint: sum}
	templates, err := e.collectPolicies(compiler, gkTemplates)
	if err != nil {
		return nil, err
	}
	store, err := dataStore(opts.Config)
	if err != nil {
		return nil, err
	}
	for _, qs := range append([]*querySet{&e.service, &e.object}, templates...) {
		if err := qs.prepare(compiler, store); err != nil {
			return nil, err
		}
	}
	if !timeDependent(compiler) {
		e.memo = newMemo(opts.MemoPairs)
	}
	return e, nil
}

// prepare binds every rule of the set to its variable in one query.
func (qs *querySet) prepare(compiler *ast.Compiler, store storage.Store) error {
	if len(qs.rules) == 0 {
		return nil
	}
	exprs := make([]string, len(qs.rules))
	for i, r := range qs.rules {
		exprs[i] = fmt.Sprintf("%s = %s.%s", r.variable, r.pkg.path, r.name)
	}
	var err error
	qs.query, err = rego.New(
		rego.Query(strings.Join(exprs, "; ")),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.StrictBuiltinErrors(false),
	).PrepareForEval(context.Background())
	if err != nil {
		if ce := compileErrorOf(err); ce != err {
			return ce
		}
		return fmt.Errorf("prepare policies: %w", err)
	}
	return nil
}

func (qs *querySet) add(pkg *packageInfo, name string, sev Severity) {
	qs.rules = append(qs.rules, ruleRef{pkg: pkg, name: name, severity: sev, variable: fmt.Sprintf("r%d", len(qs.rules))})
}

// Severities lists the kinds of rules (deny, warn) a policy has; nil for
// an unknown policy.
func (e *Engine) Severities(id string) []Severity {
	var out []Severity
	for _, qs := range []*querySet{&e.service, &e.object} {
		for _, r := range qs.rules {
			if r.pkg.policy.ID == id && !slices.Contains(out, r.severity) {
				out = append(out, r.severity)
			}
		}
	}
	for _, c := range e.constraints {
		if c.policy.ID == id && !slices.Contains(out, c.severity) {
			out = append(out, c.severity)
		}
	}
	return out
}

// Policies returns the catalog's policies, sorted by id.
func (e *Engine) Policies() []*Policy { return e.policies }

// Policy returns the policy with the given id.
func (e *Engine) Policy(id string) (*Policy, bool) {
	p, ok := e.byID[id]
	return p, ok
}

// modeOf says how a package is run: a constraint's template is
// Gatekeeper's, main and pave.yaml's policies.packages (and the packages
// under them) conftest's, anything else pave's own.
func modeOf(cfg *catalog.Config, pkg string) mode {
	pkg = strings.TrimPrefix(pkg, "data.")
	var pc catalog.PolicyConfig
	if cfg != nil {
		pc = cfg.Policies
	}
	for _, c := range pc.Constraints {
		if c.Template == pkg {
			return modeGatekeeper
		}
	}
	for _, p := range pc.ObjectPackages() {
		if pkg == p || strings.HasPrefix(pkg, p+".") {
			return modeObject
		}
	}
	return modeService
}

// collectPolicies finds the packages with result rules, their policy
// metadata and their mode, refuses result rules that are not sets, and
// binds the Gatekeeper constraints of pave.yaml to their templates. It
// returns the templates' query sets, to prepare.
func (e *Engine) collectPolicies(compiler *ast.Compiler, gkTemplates map[string]*constraintTemplate) ([]*querySet, error) {
	pkgs := map[string]*packageInfo{}
	// The result rules of each package, in order of first definition.
	type ruleName struct {
		name string
		sev  Severity
	}
	rules := map[string][]ruleName{}
	files := make([]string, 0, len(compiler.Modules))
	for f := range compiler.Modules {
		files = append(files, f)
	}
	slices.Sort(files)
	var errs catalog.ErrorList
	for _, f := range files {
		m := compiler.Modules[f]
		pkgPath := m.Package.Path.String()
		for _, r := range m.Rules {
			name := r.Head.Ref()[0].Value.(ast.Var).String()
			sev, ok := ruleSeverity(name)
			if !ok || len(r.Head.Args) > 0 {
				continue
			}
			isResult, err := resultRule(m, name, r)
			if err != nil {
				errs = append(errs, err)
			}
			if !isResult {
				continue
			}
			pi, ok := pkgs[pkgPath]
			if !ok {
				pi = &packageInfo{path: pkgPath, mode: modeOf(e.opts.Config, pkgPath)}
				pkgs[pkgPath] = pi
			}
			if !slices.ContainsFunc(rules[pkgPath], func(rn ruleName) bool { return rn.name == name }) {
				rules[pkgPath] = append(rules[pkgPath], ruleName{name, sev})
			}
		}
	}
	// Metadata: a package-scoped annotation, else a rule annotation with
	// an id, else the package's last name with "-" for "_".
	for _, f := range files {
		m := compiler.Modules[f]
		pi, ok := pkgs[m.Package.Path.String()]
		if !ok {
			continue
		}
		for _, a := range m.Annotations {
			id, _ := a.Custom["id"].(string)
			if a.Scope != "package" && (a.Scope != "rule" || id == "") {
				continue
			}
			if pi.policy != nil && a.Scope != "package" {
				continue
			}
			if id == "" {
				id = defaultID(m.Package.Path)
			}
			if pi.policy != nil && pi.policy.ID != id {
				errs = append(errs, &catalog.Error{File: sourceFile(f), Position: location(a.Location), Message: fmt.Sprintf("package %s is annotated with two policy ids (%s and %s)", pi.path, pi.policy.ID, id)})
				continue
			}
			remediation, _ := a.Custom["remediation"].(string)
			pi.policy = &Policy{ID: id, Title: a.Title, Description: a.Description, Remediation: strings.TrimSpace(remediation), Package: pi.path, File: sourceFile(f), Line: location(a.Location).Line}
		}
	}
	inputs := newInputChecker(compiler)
	paths := make([]string, 0, len(pkgs))
	for p := range pkgs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		pi := pkgs[p]
		if pi.policy == nil {
			var file string
			var line int
			for _, f := range files {
				if m := compiler.Modules[f]; m.Package.Path.String() == pi.path {
					file, line = sourceFile(f), m.Package.Location.Row
					break
				}
			}
			pi.policy = &Policy{ID: defaultID(ast.MustParseRef(pi.path)), Package: pi.path, File: file, Line: line}
		}
		if err := inputs.check(pi.path, pi.mode); err != nil {
			errs = append(errs, err)
			continue
		}
		if pi.mode == modeGatekeeper {
			continue // its constraints are the policies
		}
		e.addPolicy(pi.policy, &errs)
	}
	templates := map[string]*querySet{}
	var sets []*querySet
	if cfg := e.opts.Config; cfg != nil {
		// A listed package that runs nothing is a typo, not a choice.
		for i, name := range cfg.Policies.Packages {
			found := false
			for p, pi := range pkgs {
				p = strings.TrimPrefix(p, "data.")
				found = found || (pi.mode == modeObject && (p == name || strings.HasPrefix(p, name+".")))
			}
			if !found {
				field := fmt.Sprintf("policies.packages[%d]", i)
				errs = append(errs, &catalog.Error{File: catalog.ConfigFile, Position: cfg.Position(field), Message: fmt.Sprintf("%s: no policy package %s (or under it) has deny, violation or warn rules", field, name)})
			}
		}
		for i, c := range cfg.Policies.Constraints {
			field := fmt.Sprintf("policies.constraints[%d]", i)
			pi, ok := pkgs["data."+c.Template]
			if !ok {
				errs = append(errs, &catalog.Error{File: catalog.ConfigFile, Position: cfg.Position(field + ".template"), Message: fmt.Sprintf("%s.template: no policy package %s has a violation rule", field, c.Template)})
				continue
			}
			qs, ok := templates[pi.path]
			if !ok {
				qs = &querySet{}
				for _, rn := range rules[pi.path] {
					qs.add(pi, rn.name, rn.sev)
				}
				templates[pi.path] = qs
				sets = append(sets, qs)
			}
			for f, t := range gkTemplates {
				if m := compiler.Modules[f]; m != nil && m.Package.Path.String() == pi.path && t.schema != nil {
					errs = append(errs, parameterErrors(cfg, field+".parameters", t.schema, jsonValue(c.Parameters))...)
				}
			}
			tp := pi.policy
			pol := &Policy{ID: c.Name, Title: tp.Title, Description: tp.Description, Remediation: tp.Remediation, Package: tp.Package, File: tp.File, Line: tp.Line}
			if pol.Title == "" {
				pol.Title = fmt.Sprintf("Gatekeeper constraint %s (template %s)", c.Name, c.Template)
			}
			sev := Deny
			if c.EnforcementAction == string(Warn) {
				sev = Warn
			}
			params, err := ast.InterfaceToValue(jsonValue(c.Parameters))
			if err != nil {
				errs = append(errs, &catalog.Error{File: catalog.ConfigFile, Position: cfg.Position(field + ".parameters"), Message: fmt.Sprintf("%s.parameters: %v", field, err)})
				continue
			}
			e.constraints = append(e.constraints, &constraint{policy: pol, kinds: c.Kinds, severity: sev, parameters: params, template: qs})
			e.addPolicy(pol, &errs)
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, &CompileError{Errors: errs}
	}
	slices.SortFunc(e.policies, func(a, b *Policy) int { return cmp.Compare(a.ID, b.ID) })
	for _, p := range e.policies {
		pi, ok := pkgs[p.Package]
		if !ok || pi.policy != p {
			continue // a constraint
		}
		qs := &e.service
		if pi.mode == modeObject {
			qs = &e.object
		}
		for _, sev := range []Severity{Deny, Warn} {
			for _, rn := range rules[p.Package] {
				if rn.sev == sev {
					qs.add(pi, rn.name, sev)
				}
			}
		}
	}
	return sets, nil
}

// addPolicy adds a policy, refusing a second one with its id.
func (e *Engine) addPolicy(p *Policy, errs *catalog.ErrorList) {
	if other, dup := e.byID[p.ID]; dup {
		*errs = append(*errs, &catalog.Error{File: p.File, Position: catalog.Position{Line: p.Line}, Message: fmt.Sprintf("policy id %q is also used by %s (%s)", p.ID, other.Package, other.File)})
		return
	}
	e.byID[p.ID] = p
	e.policies = append(e.policies, p)
}

// jsonValue is v as plain JSON values (what OPA's input holds).
func jsonValue(v any) any {
	if v == nil {
		return map[string]any{}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

// defaultID names a policy after its package: pave.policies.no_privileged
// is "no-privileged".
func defaultID(pkg ast.Ref) string {
	last := pkg[len(pkg)-1].Value
	s, ok := last.(ast.String)
	if !ok {
		return strings.ReplaceAll(last.String(), "_", "-")
	}
	return strings.ReplaceAll(string(s), "_", "-")
}

// deniedBuiltins are taken out of the compiler's capabilities: they reach
// the network, read pave's environment, or make results differ between
// runs. Policies calling them do not compile.
var deniedBuiltins = []string{"http.send", "opa.runtime"}

var deniedPrefixes = []string{"net.", "rand.", "uuid.", "io.jwt.encode_sign", "json.match_schema", "json.verify_schema"}

func allowedBuiltin(name string) bool {
	if slices.Contains(deniedBuiltins, name) {
		return false
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

// capabilities are OPA's, without the denied builtins. time.now_ns stays:
// exceptions expire, and policies may compare dates too.
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		if !allowedBuiltin(b.Name) {
			return true
		}
		// Anything else OPA marks non-deterministic (a new builtin in a
		// later OPA) is out too, unless it is the clock.
		return b.Nondeterministic && b.Name != "time.now_ns"
	})
	caps.AllowNet = []string{}
	return caps
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		WithUseTypeCheckAnnotations(false)
}

func compileError(errs ast.Errors) error {
	return &CompileError{Errors: astErrors(errs)}
}

// compileErrorOf maps OPA's compile errors to a *CompileError and leaves
// other errors as they are.
func compileErrorOf(err error) error {
	var astErrs ast.Errors
	if errors.As(err, &astErrs) {
		return compileError(astErrs)
	}
	return err
}

var undefinedFunction = "undefined function "

// astErrors turns OPA's errors into catalog errors, explaining builtins
// that pave takes out.
func astErrors(errs ast.Errors) catalog.ErrorList {
	out := make(catalog.ErrorList, 0, len(errs))
	for _, e := range errs {
		msg := e.Message
		if name, ok := strings.CutPrefix(msg, undefinedFunction); ok && !allowedBuiltin(name) {
			msg = fmt.Sprintf("%s is not allowed in pave policies: policies cannot reach the network, read pave's runtime, or give different results on each run", name)
		}
		ce := &catalog.Error{Message: msg}
		ce.File, ce.Position = sourcePosition(e.Location)
		out = append(out, ce)
	}
	out.Sort()
	return out
}

func location(l *ast.Location) catalog.Position {
	if l == nil {
		return catalog.Position{}
	}
	return catalog.Position{Line: l.Row, Column: l.Col}
}

// Data is what policies see as data.pave.
func Data(cfg *catalog.Config) map[string]any {
	if cfg == nil {
		return map[string]any{}
	}
	d := map[string]any{
		"registries":   cfg.Registries,
		"sizes":        cfg.Sizes,
		"environments": cfg.Environments,
		"teams":        cfg.Teams,
		"defaults":     cfg.Defaults,
	}
	if cfg.Registries == nil {
		d["registries"] = []string{}
	}
	// Round-trip through JSON: the store holds plain JSON values.
	var out map[string]any
	data, _ := json.Marshal(d)
	_ = json.Unmarshal(data, &out)
	return out
}

func dataStore(cfg *catalog.Config) (storage.Store, error) {
	return inmem.NewFromObjectWithOpts(map[string]any{"pave": Data(cfg)}, inmem.OptRoundTripOnWrite(false)), nil
}
