package render

import (
	"crypto/sha256"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
)

// checkCRDs refuses a chart (or subchart) with a crds/ folder, unless
// pave.yaml's customResources declares every kind it defines. Helm
// installs those once, before the release, and never upgrades or deletes
// them; pave applies and prunes each service's objects on every pass, and a
// CustomResourceDefinition is cluster-wide, shared by every service using
// it, and takes its custom resources with it when deleted. So the platform
// installs CRDs itself and declares them in customResources; a chart's
// crds/ folder holding only declared kinds is then left out, knowingly.
func (g *goldenPath) checkCRDs(declared []catalog.CustomResource) error {
	for _, f := range g.chart.CRDObjects() {
		docs, err := parseManifests(string(f.File.Data))
		if err != nil {
			return fmt.Errorf("%s: %w", g.file(f.Filename), err)
		}
		for _, d := range docs {
			group, _, _ := unstructured.NestedString(d.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(d.Object, "spec", "names", "kind")
			known := slices.ContainsFunc(declared, func(c catalog.CustomResource) bool { return c.Group == group && c.Kind == kind })
			if d.GetKind() != "CustomResourceDefinition" || !known {
				return fmt.Errorf("%s: pave does not install the CustomResourceDefinitions of a chart's crds/ folder: a CRD is cluster-wide, shared by every service using it, and deleting it deletes its resources, so the platform installs it outside pave and lists its kinds in pave.yaml customResources (%s %s is not there), and pave then leaves crds/ out; or remove crds/ from the template, or add it to .helmignore", g.file(f.Filename), group, kind)
			}
		}
	}
	return nil
}

// KubeVersionRequirement is a chart's Chart.yaml kubeVersion: the
// Kubernetes versions it supports.
type KubeVersionRequirement struct {
	Chart      string // chart name
	File       string // its Chart.yaml, relative to the catalog root
	Constraint string
}

// kubeVersionRequirements reads the kubeVersion of the chart and of every
// chart it includes, refusing one that is not a version constraint.
func (g *goldenPath) kubeVersionRequirements() ([]KubeVersionRequirement, error) {
	var out []KubeVersionRequirement
	var walk func(ch *chart.Chart) error
	walk = func(ch *chart.Chart) error {
		if c := ch.Metadata.KubeVersion; c != "" {
			file := g.file(path.Join(ch.ChartFullPath(), "Chart.yaml"))
			if _, err := semver.NewConstraint(c); err != nil {
				return fmt.Errorf("%s: kubeVersion %q is not a version constraint: %v", file, c, err)
			}
			out = append(out, KubeVersionRequirement{Chart: ch.Name(), File: file, Constraint: c})
		}
		for _, sub := range ch.Dependencies() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(g.chart)
}

// CheckKubeVersion tells whether every chart of the template supports a
// Kubernetes version (as a cluster reports it: v1.31.4-eks-1234 is
// 1.31.4). where says whose version it is, for the message.
func (r *Result) CheckKubeVersion(version, where string) error {
	return checkKubeVersion(r.KubeVersions, version, where)
}

func checkKubeVersion(reqs []KubeVersionRequirement, version, where string) error {
	if len(reqs) == 0 {
		return nil
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return fmt.Errorf("%s: Kubernetes version %q: %v", where, version, err)
	}
	// A provider's build suffix is no pre-release: compare the release.
	release := semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
	for _, req := range reqs {
		c, err := semver.NewConstraint(req.Constraint)
		if err != nil {
			return fmt.Errorf("%s: kubeVersion %q: %v", req.File, req.Constraint, err)
		}
		if !c.Check(release) {
			return fmt.Errorf("%s: chart %s supports Kubernetes %s (kubeVersion), but %s runs %s", req.File, req.Chart, req.Constraint, where, version)
		}
	}
	return nil
}

// capabilities are what templates see as .Capabilities: the environment's
// Kubernetes version when pave.yaml gives it, else the newest pave knows.
func capabilities(env catalog.Environment) chartutil.Capabilities {
	caps := *chartutil.DefaultCapabilities
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.37.0", Major: "1", Minor: "37"}
	if env.KubeVersion != "" {
		if v, err := catalog.ParseKubeVersion(env.KubeVersion); err == nil {
			caps.KubeVersion = chartutil.KubeVersion{
				Version: fmt.Sprintf("v%d.%d.%d", v.Major(), v.Minor(), v.Patch()),
				Major:   fmt.Sprint(v.Major()),
				Minor:   fmt.Sprint(v.Minor()),
			}
		}
	}
	return caps
}

// subchartSchema is a subchart's compiled values schema and its file.
type subchartSchema struct {
	schema *jsonschema.Schema
	file   string // relative to the catalog root
}

// subchartSchemas compiles the values.schema.json of every chart the
// template includes, by the hash of its bytes (Helm renames an aliased
// subchart when it processes the dependencies, and shares the schema).
func (g *goldenPath) subchartSchemas() (map[[32]byte]subchartSchema, error) {
	out := map[[32]byte]subchartSchema{}
	var walk func(ch *chart.Chart) error
	walk = func(ch *chart.Chart) error {
		for _, sub := range ch.Dependencies() {
			if len(sub.Schema) > 0 {
				key := sha256.Sum256(sub.Schema)
				if _, ok := out[key]; !ok {
					file := g.file(path.Join(sub.ChartFullPath(), "values.schema.json"))
					s, err := compileSchema(file, sub.Schema)
					if err != nil {
						return err
					}
					out[key] = subchartSchema{s, file}
				}
			}
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(g.chart)
}

// subchartViolation is a subchart's schema failure.
type subchartViolation struct {
	file string // the subchart's values.schema.json
	schemaViolation
}

// validateSubcharts checks the values each enabled subchart receives
// (its part of the values Helm renders with) against its own schema, as
// Helm does and as pave checks the template's.
func (g *goldenPath) validateSubcharts(ch *chart.Chart, vals map[string]any, prefix []string) []subchartViolation {
	var out []subchartViolation
	for _, sub := range ch.Dependencies() {
		at := append(append([]string{}, prefix...), sub.Name())
		raw, ok := vals[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		file := g.file(path.Join(sub.ChartFullPath(), "values.schema.json"))
		var schema *jsonschema.Schema
		if len(sub.Schema) > 0 {
			if s, ok := g.subSchemas[sha256.Sum256(sub.Schema)]; ok {
				schema, file = s.schema, s.file
			}
		}
		sv, ok := raw.(map[string]any)
		if v, isValues := raw.(chartutil.Values); isValues {
			sv, ok = v, true
		}
		if !ok {
			out = append(out, subchartViolation{file, schemaViolation{path: at, message: fmt.Sprintf("got %T, want the values of subchart %s (an object)", raw, sub.Name())}})
			continue
		}
		if schema != nil {
			for _, v := range validateSchema(schema, sv) {
				v.path = append(append([]string{}, at...), v.path...)
				out = append(out, subchartViolation{file, v})
			}
		}
		out = append(out, g.validateSubcharts(sub, sv, at)...)
	}
	return out
}

// subchartErrors words subchart schema failures for the service: the
// values come from the template (its values.yaml, or what it passes on),
// so they are reported at spec.template with the subchart's schema file.
func subchartErrors(svc *catalog.Service, env string, gp *goldenPath, vs []subchartViolation) []*Error {
	errs := make([]*Error, 0, len(vs))
	for _, v := range vs {
		errs = append(errs, &Error{
			Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: v.file,
			Message: fmt.Sprintf("%s: %s (subchart schema of template %s)", strings.Join(v.path, "."), v.message, gp.ID()),
		})
	}
	return errs
}
