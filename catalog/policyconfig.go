package catalog

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// PolicyConfig is pave.yaml's `policies:` block: how pave runs policy
// libraries written for other tools (conftest, Gatekeeper), unmodified.
type PolicyConfig struct {
	// Packages are run the conftest way: once per rendered object, with
	// input = the object. A name covers its package and every package
	// under it ("ocp.bestpractices"). "main" is always one of them.
	Packages []string `yaml:"packages" json:"packages,omitempty"`
	// RegoVersion says which folders or files under policies/ are written
	// in Rego v0 ("gatekeeper: v0"); everything else is Rego v1. The most
	// specific path wins.
	RegoVersion map[string]string `yaml:"regoVersion" json:"regoVersion,omitempty"`
	// Constraints run Gatekeeper constraint templates' Rego.
	Constraints []Constraint `yaml:"constraints" json:"constraints,omitempty"`
}

// Constraint is a Gatekeeper constraint: a constraint template's Rego
// package, run with parameters over the rendered objects of some kinds.
type Constraint struct {
	// Name is the policy id its results and exceptions use.
	Name string `yaml:"name" json:"name"`
	// Template is the constraint template's Rego package
	// ("k8srequiredlabels").
	Template string `yaml:"template" json:"template"`
	// Kinds are the kinds it checks (every kind when empty); Pod also
	// checks the pod template of every workload (Gatekeeper's expansion).
	Kinds []string `yaml:"kinds" json:"kinds,omitempty"`
	// EnforcementAction is deny (default) or warn.
	EnforcementAction string `yaml:"enforcementAction" json:"enforcementAction,omitempty"`
	// Parameters are the constraint's spec.parameters (input.parameters).
	Parameters map[string]any `yaml:"parameters" json:"parameters,omitempty"`
}

// Rego versions of policies.regoVersion.
const (
	RegoV0 = "v0"
	RegoV1 = "v1"
)

// DefaultPolicyPackage is the package conftest runs by default.
const DefaultPolicyPackage = "main"

var regoPackageRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// ObjectPackages are the packages run once per rendered object: main and
// policies.packages.
func (p PolicyConfig) ObjectPackages() []string {
	out := []string{DefaultPolicyPackage}
	for _, pkg := range p.Packages {
		if !slices.Contains(out, pkg) {
			out = append(out, pkg)
		}
	}
	return out
}

// RegoVersionOf is the Rego version policies.regoVersion gives a file
// (its path under the catalog, "policies/gatekeeper/src.rego"), with the
// key that says so; "" when none does.
func (p PolicyConfig) RegoVersionOf(file string) (version, key string) {
	rel, ok := strings.CutPrefix(file, PoliciesDir+"/")
	if !ok {
		return "", ""
	}
	best := -1
	for k, v := range p.RegoVersion {
		k = strings.Trim(path.Clean(k), "/")
		if k == "." {
			k = ""
		}
		if (k == "" || rel == k || strings.HasPrefix(rel, k+"/")) && len(k) > best {
			best, version, key = len(k), v, k
		}
	}
	return version, key
}

func (v *validator) policies(c *Config) {
	pc := &c.Policies
	for i, pkg := range pc.Packages {
		p := fmt.Sprintf("policies.packages[%d]", i)
		pc.Packages[i] = strings.TrimPrefix(pkg, "data.")
		if !regoPackageRE.MatchString(pc.Packages[i]) {
			v.errorf(p, "%s: %q is not a Rego package name (write it as in the package line: main, kubernetes.admission)", p, pkg)
		}
	}
	for k, ver := range pc.RegoVersion {
		p := "policies.regoVersion." + k
		switch {
		case ver != RegoV0 && ver != RegoV1:
			v.errorf(p, "%s: %q must be v0 or v1", p, ver)
		case k == "" || path.IsAbs(k) || slices.Contains(strings.Split(k, "/"), ".."):
			v.errorf(p+"#key", "policies.regoVersion: %q must be a folder or file under policies/ (\"gatekeeper\", \"conftest/main.rego\")", k)
		}
	}
	seen := map[string]bool{}
	for i := range pc.Constraints {
		cn := &pc.Constraints[i]
		p := fmt.Sprintf("policies.constraints[%d]", i)
		v.dnsLabel(p+".name", cn.Name, true)
		if seen[cn.Name] && cn.Name != "" {
			v.errorf(p+".name", "%s.name: constraint %q is defined twice", p, cn.Name)
		}
		seen[cn.Name] = true
		cn.Template = strings.TrimPrefix(cn.Template, "data.")
		switch {
		case cn.Template == "":
			v.missing(p+".template", "%s: template is required (the constraint template's Rego package, e.g. k8srequiredlabels)", p)
		case !regoPackageRE.MatchString(cn.Template):
			v.errorf(p+".template", "%s.template: %q is not a Rego package name", p, cn.Template)
		}
		for j, k := range cn.Kinds {
			if k == "" || strings.ContainsAny(k, " /.") {
				v.errorf(fmt.Sprintf("%s.kinds[%d]", p, j), "%s.kinds[%d]: %q is not a kind (write Deployment, Pod, Service …)", p, j, k)
			}
		}
		switch cn.EnforcementAction {
		case "":
			cn.EnforcementAction = "deny"
		case "deny", "warn":
		default:
			v.errorf(p+".enforcementAction", "%s.enforcementAction: %q must be deny or warn", p, cn.EnforcementAction)
		}
	}
}
