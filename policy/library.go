package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/pave-dev/pave/catalog"
)

// How a policy package is run.
type mode int

const (
	// modeService is pave's own: input is the rendered service.
	modeService mode = iota
	// modeObject is conftest's: input is one rendered object.
	modeObject
	// modeGatekeeper is a constraint template's: input.review.object and
	// input.parameters.
	modeGatekeeper
)

func (m mode) String() string {
	switch m {
	case modeObject:
		return "conftest"
	case modeGatekeeper:
		return "Gatekeeper"
	}
	return "pave"
}

// resultRuleRE is the rules whose sets are results, as conftest names
// them: deny, violation and warn, alone or with a _suffix.
var resultRuleRE = regexp.MustCompile(`^(deny|violation|warn)(_[A-Za-z0-9_]+)?$`)

// ruleSeverity is the severity of a result rule's name; ok is false for
// any other rule.
func ruleSeverity(name string) (Severity, bool) {
	m := resultRuleRE.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	if m[1] == "warn" {
		return Warn, true
	}
	return Deny, true
}

// manifestFile is OPA's bundle manifest, which says a bundle's (here a
// folder's) Rego version.
const manifestFile = ".manifest"

// regoFile is one .rego file to parse, with the version it is read as.
type regoFile struct {
	path    string
	version ast.RegoVersion
	// said is who said the version ("" for the default, v1).
	said string
}

// parseModules reads every .rego file under dir, refusing symlinks. A
// file is Rego v1 unless pave.yaml's policies.regoVersion or the nearest
// OPA .manifest says v0. A v1 file that only parses as v0 is one error
// saying so.
func parseModules(fsys fs.FS, dir string, cfg *catalog.Config) (map[string]*ast.Module, error) {
	modules, _, err := parsePolicies(fsys, dir, cfg)
	return modules, err
}

// parsePolicies is parseModules with the Gatekeeper ConstraintTemplates
// (YAML) found, by the key of their Rego module.
func parsePolicies(fsys fs.FS, dir string, cfg *catalog.Config) (map[string]*ast.Module, map[string]*constraintTemplate, error) {
	modules := map[string]*ast.Module{}
	templates := map[string]*constraintTemplate{}
	var errs catalog.ErrorList
	var files, yamlFiles []string
	manifests := map[string]*bundle.Manifest{} // by folder
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			errs = append(errs, &catalog.Error{File: p, Message: "symlinks are not allowed in the catalog"})
			return nil
		}
		switch {
		case d.IsDir():
		case path.Base(p) == manifestFile:
			m, err := readManifest(fsys, p)
			if err != nil {
				errs = append(errs, &catalog.Error{File: p, Message: err.Error()})
				return nil
			}
			manifests[path.Dir(p)] = m
		case strings.HasSuffix(p, ".rego"):
			files = append(files, p)
		case strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml"):
			yamlFiles = append(yamlFiles, p)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return modules, templates, nil // a catalog without policies checks nothing
		}
		return nil, nil, fmt.Errorf("read policies: %w", err)
	}
	for _, p := range yamlFiles {
		data, err := catalog.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &catalog.Error{File: p, Message: err.Error()})
			continue
		}
		t, ok, terrs := readConstraintTemplate(p, data)
		errs = append(errs, terrs...)
		if !ok || t == nil {
			continue
		}
		for i, src := range t.sources {
			m, perrs := parseModule(regoFile{path: src.key, version: src.version, said: "Gatekeeper (a template's Rego is v0 unless its code[].source.version is v1)"}, src.text)
			if perrs != nil {
				errs = append(errs, perrs...)
				continue
			}
			modules[src.key] = m
			if i == 0 {
				templates[src.key] = t
			}
		}
	}
	errs = append(errs, unusedRegoVersions(cfg, dir, files)...)
	for _, p := range files {
		f := versionOf(p, dir, cfg, manifests)
		data, err := catalog.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &catalog.Error{File: p, Message: err.Error()})
			continue
		}
		m, perrs := parseModule(f, string(data))
		if perrs != nil {
			errs = append(errs, perrs...)
			continue
		}
		modules[p] = m
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, nil, &CompileError{Errors: errs}
	}
	return modules, templates, nil
}

// unusedRegoVersions reports the policies.regoVersion entries of
// pave.yaml that name no .rego file under policies/: a typo would leave
// the library's v0 files undeclared, or a moved folder's entry behind.
func unusedRegoVersions(cfg *catalog.Config, dir string, files []string) catalog.ErrorList {
	if cfg == nil {
		return nil
	}
	var errs catalog.ErrorList
	for key := range cfg.Policies.RegoVersion {
		k := strings.Trim(path.Clean(key), "/")
		used := false
		for _, f := range files {
			rel := strings.TrimPrefix(f, dir+"/")
			used = used || k == "." || rel == k || strings.HasPrefix(rel, k+"/")
		}
		if !used {
			field := "policies.regoVersion." + key
			errs = append(errs, &catalog.Error{File: catalog.ConfigFile, Position: cfg.Position(field + "#key"), Message: fmt.Sprintf("policies.regoVersion: no .rego file under %s", path.Join(dir, k))})
		}
	}
	return errs
}

func readManifest(fsys fs.FS, p string) (*bundle.Manifest, error) {
	data, err := catalog.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	var m bundle.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not an OPA bundle manifest: %v", err)
	}
	check := func(v int, where string) error {
		if v != 0 && v != 1 {
			return fmt.Errorf("%s: Rego version %d; want 0 or 1", where, v)
		}
		return nil
	}
	if m.RegoVersion != nil {
		if err := check(*m.RegoVersion, "rego_version"); err != nil {
			return nil, err
		}
	}
	for k, v := range m.FileRegoVersions {
		if err := check(v, "file_rego_versions "+k); err != nil {
			return nil, err
		}
		if _, err := path.Match(strings.TrimPrefix(k, "/"), ""); err != nil {
			return nil, fmt.Errorf("file_rego_versions: %q is not a path pattern", k)
		}
	}
	return &m, nil
}

// versionOf is the Rego version a file is read as: pave.yaml's
// policies.regoVersion (the most specific path), else the nearest
// .manifest that says, else v1.
func versionOf(p, root string, cfg *catalog.Config, manifests map[string]*bundle.Manifest) regoFile {
	f := regoFile{path: p, version: ast.RegoV1}
	if cfg != nil {
		if v, key := cfg.Policies.RegoVersionOf(p); v != "" {
			f.said = fmt.Sprintf("%s (policies.regoVersion %q)", catalog.ConfigFile, key)
			if v == catalog.RegoV0 {
				f.version = ast.RegoV0
			}
			return f
		}
	}
	for d := path.Dir(p); ; d = path.Dir(d) {
		if m, ok := manifests[d]; ok {
			rel := strings.TrimPrefix(p, d+"/")
			for k, v := range m.FileRegoVersions {
				if ok, _ := path.Match(strings.TrimPrefix(k, "/"), rel); ok {
					f.said = path.Join(d, manifestFile)
					f.version = regoVersion(v)
					return f
				}
			}
			if m.RegoVersion != nil {
				f.said = path.Join(d, manifestFile)
				f.version = regoVersion(*m.RegoVersion)
				return f
			}
		}
		if d == root || d == "." || d == "/" {
			break
		}
	}
	return f
}

func regoVersion(v int) ast.RegoVersion {
	if v == 0 {
		return ast.RegoV0
	}
	return ast.RegoV1
}

// parseModule parses one file as its version. A v1 file that parses as
// v0 (or a v0 file that parses as v1) is one error that says so, not the
// parser's errors.
func parseModule(f regoFile, src string) (*ast.Module, catalog.ErrorList) {
	m, err := ast.ParseModuleWithOpts(f.path, src, ast.ParserOptions{RegoVersion: f.version, ProcessAnnotation: true})
	if err == nil {
		return m, nil
	}
	var astErrs ast.Errors
	if !errors.As(err, &astErrs) || len(astErrs) == 0 {
		return nil, catalog.ErrorList{{File: f.path, Message: err.Error()}}
	}
	errs := astErrors(astErrs)
	other := ast.RegoV0
	if f.version == ast.RegoV0 {
		other = ast.RegoV1
	}
	if _, err := ast.ParseModuleWithOpts(f.path, src, ast.ParserOptions{RegoVersion: other}); err != nil {
		return nil, errs
	}
	first := errs[0]
	if other == ast.RegoV0 {
		first.Message = fmt.Sprintf("this file is Rego v0; add %s to pave.yaml's policies block, or an OPA .manifest with {\"rego_version\": 0} to its folder", regoV0Hint(f.path))
	} else {
		first.Message = fmt.Sprintf("this file is Rego v1, but %s says v0: say v1 for it there", f.said)
	}
	return nil, catalog.ErrorList{first}
}

// regoV0Hint is the policies.regoVersion entry that makes a file v0: its
// top folder under policies/ (a library is usually v0 throughout), or the
// file itself: "regoVersion: {conftest: v0}".
func regoV0Hint(p string) string {
	rel := strings.TrimPrefix(p, catalog.PoliciesDir+"/")
	if top, _, ok := strings.Cut(rel, "/"); ok {
		rel = top
	}
	return fmt.Sprintf("regoVersion: {%s: v0}", rel)
}

// resultRule says whether a rule named like a result rule is one, and
// reports one pave cannot read as a set: a complete rule (deny := …,
// deny if …) or, under Rego v1, deny[msg] if (a map). Functions named
// like result rules, and single values with a suffix (warn_threshold :=
// 5), are helpers, not results.
func resultRule(m *ast.Module, name string, r *ast.Rule) (bool, *catalog.Error) {
	if len(r.Head.Args) > 0 {
		return false, nil
	}
	ref := r.Head.Ref()
	switch {
	case r.Head.RuleKind() == ast.MultiValue && len(ref) == 1:
		return true, nil
	case len(ref) == 1 && strings.Contains(name, "_"):
		return false, nil
	}
	head := ref.String()
	if r.Head.Location != nil && len(r.Head.Location.Text) > 0 {
		// As written, before OPA renamed its variables.
		head, _, _ = strings.Cut(strings.TrimSpace(string(r.Head.Location.Text)), "\n")
	}
	var msg string
	switch {
	case len(ref) > 1 && m.RegoVersion() != ast.RegoV0:
		msg = fmt.Sprintf("%s makes %s a map under Rego v1, not a set of results: write \"%s contains msg if\" (or mark the file as Rego v0 in pave.yaml's policies.regoVersion)", head, name, name)
	case len(ref) > 1:
		msg = fmt.Sprintf("%s is not a set of results: write %s[msg] { … }", head, name)
	default:
		msg = fmt.Sprintf("%s is a single value (a complete rule), not a set of results: write \"%s contains msg if { … }\", one element per result", name, name)
	}
	f, pos := sourcePosition(r.Location)
	return false, &catalog.Error{File: f, Position: pos, Message: msg}
}

// serviceInput are the keys of pave's input for its own packages.
var serviceInput = []string{"service", "environment", "namespace", "objects"}

// foreignKey says whether a package of a mode reading input.<key> reads
// an input it is never given: pave's own packages get only serviceInput;
// conftest and Gatekeeper packages get a Kubernetes object (or a review
// of one), which never has pave's keys at its top.
func foreignKey(m mode, key string) bool {
	if m == modeService {
		return !slices.Contains(serviceInput, key)
	}
	return slices.Contains(serviceInput, key)
}

// inputChecker finds the packages that read an input their mode never
// gives them, themselves or through the packages they use: pave's own
// reading input.kind or input.review (written for conftest or
// Gatekeeper), or a conftest package reading input.objects (written for
// pave). They could never fire.
type inputChecker struct {
	byPkg map[string][]*ast.Module
	refs  map[string]ast.Ref
	pkgs  []string
	// found is the first foreign read of each package and mode, with its
	// dependencies; nil when none.
	found map[modePkg]*ast.Location
}

type modePkg struct {
	mode mode
	pkg  string
}

func newInputChecker(compiler *ast.Compiler) *inputChecker {
	c := &inputChecker{byPkg: map[string][]*ast.Module{}, refs: map[string]ast.Ref{}, found: map[modePkg]*ast.Location{}}
	for _, m := range compiler.Modules {
		p := m.Package.Path.String()
		if _, ok := c.byPkg[p]; !ok {
			c.pkgs = append(c.pkgs, p)
			c.refs[p] = m.Package.Path
		}
		c.byPkg[p] = append(c.byPkg[p], m)
	}
	slices.Sort(c.pkgs)
	for _, mods := range c.byPkg {
		slices.SortFunc(mods, func(a, b *ast.Module) int { return strings.Compare(a.Package.Location.File, b.Package.Location.File) })
	}
	return c
}

// check is the error of a package that reads an input its mode never has.
func (c *inputChecker) check(pkg string, m mode) *catalog.Error {
	loc := c.foreign(modePkg{m, pkg}, map[string]bool{})
	if loc == nil {
		return nil
	}
	name := strings.TrimPrefix(pkg, "data.")
	var msg string
	if m == modeService {
		msg = fmt.Sprintf("package %s reads %s, which pave's input for its own policies never has (input.service, .environment, .namespace, .objects): "+
			"list it in pave.yaml's policies.packages to run it once per object (conftest), or name it in a policies.constraints entry (Gatekeeper)", name, loc.Text)
	} else {
		msg = fmt.Sprintf("package %s is run as %s (input is one object), but reads %s, which only pave's input for its own policies has: "+
			"move it out of package main and policies.packages, or read the object itself", name, m, loc.Text)
	}
	f, pos := sourcePosition(loc)
	return &catalog.Error{File: f, Position: pos, Message: msg}
}

func (c *inputChecker) foreign(mp modePkg, visiting map[string]bool) *ast.Location {
	if loc, done := c.found[mp]; done {
		return loc
	}
	if visiting[mp.pkg] {
		return nil
	}
	visiting[mp.pkg] = true
	var found *ast.Location
	var deps []string
	for _, m := range c.byPkg[mp.pkg] {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if found != nil || len(r) < 2 {
				return found != nil
			}
			switch {
			case r[0].Equal(ast.InputRootDocument):
				key, ok := r[1].Value.(ast.String)
				if ok && foreignKey(mp.mode, string(key)) {
					loc := *r[0].Location
					loc.Text = []byte("input." + string(key))
					found = &loc
				}
			case r[0].Equal(ast.DefaultRootDocument):
				for _, other := range c.pkgs {
					if other != mp.pkg && !slices.Contains(deps, other) && (r.HasPrefix(c.refs[other]) || c.refs[other].HasPrefix(r)) {
						deps = append(deps, other)
					}
				}
			}
			return false
		})
		if found != nil {
			break
		}
	}
	for _, d := range deps {
		if found != nil {
			break
		}
		found = c.foreign(modePkg{mp.mode, d}, visiting)
	}
	c.found[mp] = found
	return found
}
