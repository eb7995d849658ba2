// Package policy checks rendered services against the platform's baseline
// policies, written in Rego (v1) in the catalog's policies/ folder.
//
// Load compiles every module once, with the builtins that could reach the
// network, read the environment or make results non-deterministic taken
// out. Engine.Evaluate then checks one service in one environment: it runs
// every policy package's `deny` and `warn` rules over the service's settings
// and rendered objects, applies the service's exceptions, and places every
// result on the line of service.yaml that caused it. ServiceResult reports
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
	// rules are the deny/warn rules the prepared query binds, in order.
	rules []ruleRef
	query rego.PreparedEvalQuery
}

// ruleRef is one package's deny or warn set, bound to a query variable.
type ruleRef struct {
	pkg      *packageInfo
	severity Severity
	variable string
}

type packageInfo struct {
	path string // data.pave.policies.no_privileged
	// policy is the package's policy (from its annotations or its name).
	policy *Policy
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
// too) and prepares one query over every package's deny and warn rules.
// A parse or compile error is a *CompileError naming file and line.
func Load(fsys fs.FS, dir string, opts Options) (*Engine, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	modules, err := parseModules(fsys, dir)
	if err != nil {
		return nil, err
	}
	compiler := newCompiler().WithEnablePrintStatements(false)
	if compiler.Compile(modules); compiler.Failed() {
		return nil, compileError(compiler.Errors)
	}
	e := &Engine{fsys: fsys, opts: opts, byID: map[string]*Policy{}}
	if err := e.collectPolicies(compiler); err != nil {
		return nil, err
	}
	store, err := dataStore(opts.Config)
	if err != nil {
		return nil, err
	}
	if len(e.rules) == 0 {
		return e, nil
	}
	exprs := make([]string, len(e.rules))
	for i, r := range e.rules {
		exprs[i] = fmt.Sprintf("%s = %s.%s", r.variable, r.pkg.path, r.severity)
	}
	e.query, err = rego.New(
		rego.Query(strings.Join(exprs, "; ")),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.StrictBuiltinErrors(false),
	).PrepareForEval(context.Background())
	if err != nil {
		if ce := compileErrorOf(err); ce != err {
			return nil, ce
		}
		return nil, fmt.Errorf("prepare policies: %w", err)
	}
	return e, nil
}

// Severities lists the kinds of rules (deny, warn) a policy has; nil for
// an unknown policy.
func (e *Engine) Severities(id string) []Severity {
	var out []Severity
	for _, r := range e.rules {
		if r.pkg.policy.ID == id && !slices.Contains(out, r.severity) {
			out = append(out, r.severity)
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

// parseModules reads every .rego file under dir, refusing symlinks.
func parseModules(fsys fs.FS, dir string) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	var errs catalog.ErrorList
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			errs = append(errs, &catalog.Error{File: p, Message: "symlinks are not allowed in the catalog"})
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		data, err := catalog.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &catalog.Error{File: p, Message: err.Error()})
			return nil
		}
		m, err := ast.ParseModuleWithOpts(p, string(data), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			var astErrs ast.Errors
			if errors.As(err, &astErrs) {
				errs = append(errs, astErrors(astErrs)...)
				return nil
			}
			errs = append(errs, &catalog.Error{File: p, Message: err.Error()})
			return nil
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return modules, nil // a catalog without policies checks nothing
		}
		return nil, fmt.Errorf("read policies: %w", err)
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, &CompileError{Errors: errs}
	}
	return modules, nil
}

// collectPolicies finds the packages with deny or warn rules and their
// policy metadata.
func (e *Engine) collectPolicies(compiler *ast.Compiler) error {
	pkgs := map[string]*packageInfo{}
	severities := map[string]map[Severity]bool{}
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
			name := Severity(r.Head.Ref()[0].Value.(ast.Var))
			if name != Deny && name != Warn {
				continue
			}
			pi, ok := pkgs[pkgPath]
			if !ok {
				pi = &packageInfo{path: pkgPath}
				pkgs[pkgPath] = pi
				severities[pkgPath] = map[Severity]bool{}
			}
			severities[pkgPath][name] = true
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
				errs = append(errs, &catalog.Error{File: f, Position: location(a.Location), Message: fmt.Sprintf("package %s is annotated with two policy ids (%s and %s)", pi.path, pi.policy.ID, id)})
				continue
			}
			remediation, _ := a.Custom["remediation"].(string)
			pi.policy = &Policy{ID: id, Title: a.Title, Description: a.Description, Remediation: strings.TrimSpace(remediation), Package: pi.path, File: f, Line: location(a.Location).Line}
		}
	}
	for _, pi := range pkgs {
		if pi.policy == nil {
			var file string
			var line int
			for _, f := range files {
				if m := compiler.Modules[f]; m.Package.Path.String() == pi.path {
					file, line = f, m.Package.Location.Row
					break
				}
			}
			pi.policy = &Policy{ID: defaultID(ast.MustParseRef(pi.path)), Package: pi.path, File: file, Line: line}
		}
		if other, dup := e.byID[pi.policy.ID]; dup {
			errs = append(errs, &catalog.Error{File: pi.policy.File, Position: catalog.Position{Line: pi.policy.Line}, Message: fmt.Sprintf("policy id %q is also used by %s (%s)", pi.policy.ID, other.Package, other.File)})
			continue
		}
		e.byID[pi.policy.ID] = pi.policy
		e.policies = append(e.policies, pi.policy)
	}
	if len(errs) > 0 {
		errs.Sort()
		return &CompileError{Errors: errs}
	}
	slices.SortFunc(e.policies, func(a, b *Policy) int { return cmp.Compare(a.ID, b.ID) })
	for _, p := range e.policies {
		pi := pkgs[p.Package]
		for _, sev := range []Severity{Deny, Warn} {
			if severities[p.Package][sev] {
				e.rules = append(e.rules, ruleRef{pkg: pi, severity: sev, variable: fmt.Sprintf("r%d", len(e.rules))})
			}
		}
	}
	return nil
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
		if e.Location != nil {
			ce.File = e.Location.File
			ce.Position = location(e.Location)
		}
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
