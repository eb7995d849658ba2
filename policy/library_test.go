package policy

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
)

// configWith is the test pave.yaml with a policies: block.
func configWith(t testing.TB, policies string) *catalog.Config {
	t.Helper()
	cfg, errs := catalog.ParseConfig("pave.yaml", []byte(testConfig+policies))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return cfg
}

// compileErrors loads files as policies/ and returns the compile errors.
func compileErrors(t *testing.T, cfg *catalog.Config, files map[string]string) string {
	t.Helper()
	_, err := Load(mapFS(files), "policies", Options{Config: cfg})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CompileError", err)
	}
	return ce.Errors.Error()
}

func podDeployment(name, image string, labels map[string]any) *unstructured.Unstructured {
	md := map[string]any{"name": name, "namespace": "payments-prod"}
	if labels != nil {
		md["labels"] = labels
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": md,
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": name, "image": image}}},
			},
		},
	}}
}

func serviceObject(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": "payments-prod"},
		"spec":     map[string]any{"type": "ClusterIP"},
	}}
}

type libRow struct {
	policy   string
	severity Severity
	object   string
	line     int
	msg      string
}

func libRows(t *testing.T, res *Result) []libRow {
	t.Helper()
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	var out []libRow
	for _, v := range res.Violations {
		obj := ""
		if v.Object != nil {
			obj = v.Object.Kind + "/" + v.Object.Name
		}
		out = append(out, libRow{v.Policy, v.Severity, obj, v.Line, v.Message})
	}
	return out
}

// TestConftestPackagesRunPerObject: a conftest-style package main (deny,
// violation, warn and their _suffix variants, input = one object) fires
// under pave, each result on its object, at the patch that made it or at
// spec.template. Before, its rules ran over pave's service input and
// never fired, and violation and deny_* were not read at all.
func TestConftestPackagesRunPerObject(t *testing.T) {
	cfg := testConfigValue(t)
	src := `package main

deny contains msg if {
	input.kind == "Deployment"
	input.spec.replicas < 3
	msg := sprintf("%s has %d replicas", [input.metadata.name, input.spec.replicas])
}

deny_latest contains msg if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses latest", [c.name])
}

violation contains {"msg": "services must not be ClusterIP", "details": {"x": 1}} if input.spec.type == "ClusterIP"

warn_labels contains "no labels" if not input.metadata.labels

# A helper function, or a single value with a suffix, named like a rule
# is left alone.
deny_reason(x) := x

warn_threshold := 5
`
	e, err := Load(mapFS(map[string]string{"policies/conftest/main.rego": src}), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	svc := parseService(t, cfg, checkoutYAML)
	objs := []*unstructured.Unstructured{podDeployment("checkout", "registry.example.com/x:latest", nil), serviceObject("checkout")}
	res := e.Evaluate(context.Background(), Input{Service: svc, Environment: "prod", Objects: objs})
	// checkoutYAML's patch (line 14) targets Deployment/checkout; the
	// Service comes from the template (line 7).
	want := []libRow{
		{"main", Deny, "Service/checkout", 7, "Service/checkout: services must not be ClusterIP"},
		{"main", Deny, "Deployment/checkout", 14, "Deployment/checkout: checkout has 2 replicas"},
		{"main", Deny, "Deployment/checkout", 14, "Deployment/checkout: container checkout uses latest"},
		{"main", Warn, "Service/checkout", 7, "Service/checkout: no labels"},
		{"main", Warn, "Deployment/checkout", 14, "Deployment/checkout: no labels"},
	}
	if got := libRows(t, res); !slices.Equal(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}
	if p, ok := e.Policy("main"); !ok || p.File != "policies/conftest/main.rego" || p.Line != 1 {
		t.Errorf("policy main: %+v", p)
	}
}

// TestListedPackagesRunPerObject: pave.yaml's policies.packages names
// more conftest packages (and the packages under them); others stay
// pave's own, with pave's input.
func TestListedPackagesRunPerObject(t *testing.T) {
	files := map[string]string{
		"policies/lib/k8s/deny.rego":  "package k8s.security.limits\n\ndeny contains \"no limits\" if not input.spec.template.spec.containers[0].resources.limits\n",
		"policies/pave/replicas.rego": "package pave.policies.replicas\n\ndeny contains \"too few\" if input.service.replicas < 3\n",
	}
	cfg := configWith(t, "policies:\n  packages: [k8s.security]\n")
	e, err := Load(mapFS(files), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	svc := parseService(t, cfg, checkoutYAML)
	res := e.Evaluate(context.Background(), Input{Service: svc, Environment: "staging", Objects: []*unstructured.Unstructured{podDeployment("checkout", "registry.example.com/x:1", nil)}})
	want := []libRow{
		{"replicas", Deny, "", 7, "too few"},
		{"limits", Deny, "Deployment/checkout", 14, "Deployment/checkout: no limits"},
	}
	if got := libRows(t, res); !slices.Equal(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}
}

// TestGatekeeperConstraints: a constraint template's Rego runs with the
// parameters pave.yaml gives each constraint, on the kinds it names, with
// the Pod a workload's template implies when it names Pod; its
// enforcementAction warn makes warnings.
func TestGatekeeperConstraints(t *testing.T) {
	files := map[string]string{
		"policies/gk/requiredlabels.rego": `package k8srequiredlabels

violation contains {"msg": msg, "details": {"missing_labels": missing}} if {
	provided := {label | input.review.object.metadata.labels[label]}
	required := {label | label := input.parameters.labels[_].key}
	missing := required - provided
	count(missing) > 0
	msg := sprintf("you must provide labels: %v", [missing])
}
`,
		"policies/gk/allowedrepos.rego": `package k8sallowedrepos

violation contains {"msg": msg} if {
	input.review.kind.kind == "Pod"
	container := input.review.object.spec.containers[_]
	not strings.any_prefix_match(container.image, input.parameters.repos)
	msg := sprintf("container <%v> has an invalid image repo <%v> in %v", [container.name, container.image, input.review.namespace])
}
`,
	}
	cfg := configWith(t, `policies:
  constraints:
    - name: owner-label
      template: k8srequiredlabels
      kinds: [Deployment]
      parameters: {labels: [{key: owner}]}
    - name: cost-label
      template: k8srequiredlabels
      enforcementAction: warn
      parameters: {labels: [{key: cost-center}]}
    - name: payments-repos
      template: k8sallowedrepos
      kinds: [Pod]
      parameters: {repos: [registry.example.com/payments/]}
`)
	e, err := Load(mapFS(files), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range e.Policies() {
		ids = append(ids, p.ID)
	}
	if want := []string{"cost-label", "owner-label", "payments-repos"}; !slices.Equal(ids, want) {
		t.Errorf("policies %v, want %v", ids, want)
	}
	svc := parseService(t, cfg, checkoutYAML)
	objs := []*unstructured.Unstructured{podDeployment("checkout", "docker.io/library/nginx:1", map[string]any{"owner": "payments"}), serviceObject("checkout")}
	res := e.Evaluate(context.Background(), Input{Service: svc, Environment: "prod", Namespace: "payments-prod", Objects: objs})
	want := []libRow{
		{"payments-repos", Deny, "Deployment/checkout", 14, "Deployment/checkout (pod template): container <checkout> has an invalid image repo <docker.io/library/nginx:1> in payments-prod"},
		{"cost-label", Warn, "Service/checkout", 7, `Service/checkout: you must provide labels: {"cost-center"}`},
		{"cost-label", Warn, "Deployment/checkout", 14, `Deployment/checkout: you must provide labels: {"cost-center"}`},
	}
	if got := libRows(t, res); !slices.Equal(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}
	if sev := e.Severities("cost-label"); !slices.Equal(sev, []Severity{Warn}) {
		t.Errorf("cost-label severities %v", sev)
	}

	// A constraint naming a template the policies do not have is an
	// error at its line of pave.yaml.
	cfg = configWith(t, "policies:\n  constraints:\n    - name: owner-label\n      template: k8srequiredlabelz\n")
	got := compileErrors(t, cfg, files)
	if want := "pave.yaml:13:17: policies.constraints[0].template: no policy package k8srequiredlabelz has a violation rule\n"; !strings.HasPrefix(got, want) {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
}

// TestRuleShapesPaveCannotUse: a result rule that is not a set is a load
// error at its line. Before, a complete deny := … or a Rego v1
// deny[msg] if (a map) compiled and never reported anything.
func TestRuleShapesPaveCannotUse(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"complete", "package main\n\ndeny := \"always\"\n",
			`policies/x.rego:3:1: deny is a single value (a complete rule), not a set of results: write "deny contains msg if { … }", one element per result`},
		{"boolean", "package pave.policies.x\n\nwarn if input.service.replicas > 1\n",
			`policies/x.rego:3:1: warn is a single value (a complete rule), not a set of results: write "warn contains msg if { … }", one element per result`},
		{"suffixed map under v1", "package main\n\ndeny_latest[msg] if {\n\tmsg := \"x\"\n}\n",
			`policies/x.rego:3:1: deny_latest[msg] makes deny_latest a map under Rego v1, not a set of results: write "deny_latest contains msg if" (or mark the file as Rego v0 in pave.yaml's policies.regoVersion)`},
		{"default", "package main\n\ndefault deny := false\n",
			`policies/x.rego:3:1: deny is a single value (a complete rule), not a set of results: write "deny contains msg if { … }", one element per result`},
		{"map under v1", "package main\n\nviolation[msg] if {\n\tmsg := \"x\"\n}\n",
			`policies/x.rego:3:1: violation[msg] makes violation a map under Rego v1, not a set of results: write "violation contains msg if" (or mark the file as Rego v0 in pave.yaml's policies.regoVersion)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compileErrors(t, testConfigValue(t), map[string]string{"policies/x.rego": tt.src}); got != tt.want {
				t.Errorf("error:\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

const v0Main = `package main

deny[msg] {
	input.kind == "Deployment"
	msg := sprintf("%s: v0 denial", [input.metadata.name])
}
`

// TestRegoV0: a v0 file is refused with one error saying so and how to
// declare it, unless pave.yaml's policies.regoVersion or an OPA .manifest
// says v0; then it runs. Before, it was the parser's v1 errors, and every
// policy stopped without a word about v0.
func TestRegoV0(t *testing.T) {
	refused := compileErrors(t, testConfigValue(t), map[string]string{"policies/conftest/main.rego": v0Main})
	if want := `policies/conftest/main.rego:3:1: this file is Rego v0; add regoVersion: {conftest: v0} to pave.yaml's policies block, or an OPA .manifest with {"rego_version": 0} to its folder`; refused != want {
		t.Errorf("error:\n%s\nwant\n%s", refused, want)
	}

	tests := []struct {
		name     string
		policies string
		files    map[string]string
	}{
		{"pave.yaml folder", "policies:\n  regoVersion: {conftest: v0}\n", nil},
		{"pave.yaml file", "policies:\n  regoVersion: {conftest/main.rego: v0, conftest: v1}\n", nil},
		{"manifest", "", map[string]string{"policies/conftest/.manifest": `{"rego_version": 0}`}},
		{"manifest file versions", "", map[string]string{"policies/.manifest": `{"rego_version": 1, "file_rego_versions": {"/conftest/*.rego": 0}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configWith(t, tt.policies)
			files := map[string]string{"policies/conftest/main.rego": v0Main, "policies/pave.rego": "package pave.policies.v1\n\nwarn contains \"v1 still runs\" if input.environment == \"prod\"\n"}
			for k, v := range tt.files {
				files[k] = v
			}
			e, err := Load(mapFS(files), "policies", Options{Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			res := e.Evaluate(context.Background(), Input{Service: parseService(t, cfg, checkoutYAML), Environment: "prod", Objects: []*unstructured.Unstructured{deploymentObject("checkout")}})
			want := []libRow{{"main", Deny, "Deployment/checkout", 14, "Deployment/checkout: checkout: v0 denial"}, {"v1", Warn, "", 7, "v1 still runs"}}
			if got := libRows(t, res); !slices.Equal(got, want) {
				t.Errorf("results:\n got %+v\nwant %+v", got, want)
			}
		})
	}

	// A v1 file declared v0 says so, too.
	cfg := configWith(t, "policies:\n  regoVersion: {conftest: v0}\n")
	got := compileErrors(t, cfg, map[string]string{"policies/conftest/main.rego": "package main\n\ndeny contains \"x\" if input.kind == \"Pod\"\n"})
	if want := `policies/conftest/main.rego:3:1: this file is Rego v1, but pave.yaml (policies.regoVersion "conftest") says v0: say v1 for it there`; got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
	// A bad manifest is an error at the manifest.
	got = compileErrors(t, testConfigValue(t), map[string]string{"policies/conftest/.manifest": `{"rego_version": 2}`, "policies/conftest/main.rego": v0Main})
	if !strings.HasPrefix(got, "policies/conftest/.manifest: rego_version: Rego version 2; want 0 or 1") {
		t.Errorf("error:\n%s", got)
	}
}

// TestPavePackageReadingAnotherInput: a package run the pave way that
// reads conftest's or Gatekeeper's input (itself or through a library)
// could never fire: it is a load error saying how to run it.
func TestPavePackageReadingAnotherInput(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"conftest", map[string]string{"policies/k.rego": "package kubernetes.security\n\ndeny contains \"privileged\" if input.spec.privileged\n"},
			"policies/k.rego:3:31: package kubernetes.security reads input.spec, "},
		{"gatekeeper through a library", map[string]string{
			"policies/lib.rego": "package lib.core\n\nresource := input.review.object\n",
			"policies/gk.rego":  "package k8sblocknodeport\n\nimport data.lib.core\n\nviolation contains {\"msg\": \"NodePort\"} if core.resource.spec.type == \"NodePort\"\n",
		}, "policies/lib.rego:3:13: package k8sblocknodeport reads input.review, "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compileErrors(t, testConfigValue(t), tt.files)
			if !strings.HasPrefix(got, tt.want) || !strings.Contains(got, "list it in pave.yaml's policies.packages") {
				t.Errorf("error:\n%s\nwant prefix %s", got, tt.want)
			}
		})
	}
}

func TestRuleShapeQuotesTheHead(t *testing.T) {
	got := compileErrors(t, testConfigValue(t), map[string]string{"policies/x.rego": "package main\n\nviolation[{\"msg\": msg}] if {\n\tmsg := \"x\"\n}\n"})
	if want := `policies/x.rego:3:1: violation[{"msg": msg}] makes violation a map`; !strings.HasPrefix(got, want) {
		t.Errorf("error:\n%s\nwant prefix\n%s", got, want)
	}
}

// TestConftestPackageReadingPaveInput: a pave-style policy written in
// package main (reading input.objects) would now run once per object and
// never fire: it is a load error instead of a silent loss.
func TestConftestPackageReadingPaveInput(t *testing.T) {
	files := map[string]string{
		"policies/lib.rego":  "package lib.svc\n\nworkloads contains o if {\n\tsome o in input.objects\n\to.kind == \"Deployment\"\n}\n",
		"policies/main.rego": "package main\n\nimport data.lib.svc\n\ndeny contains \"no workload\" if count(svc.workloads) == 0\n",
	}
	got := compileErrors(t, testConfigValue(t), files)
	want := "policies/lib.rego:4:12: package main is run as conftest (input is one object), but reads input.objects, which only pave's input for its own policies has: move it out of package main and policies.packages, or read the object itself"
	if got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
}

// TestConftestEvaluationTimesOut: the per-object evaluations share the
// service's timeout and fail closed.
func TestConftestEvaluationTimesOut(t *testing.T) {
	cfg := testConfigValue(t)
	src := "package main\n\ndeny contains \"never\" if {\n\tsome i in numbers.range(1, 100000)\n\tsome j in numbers.range(1, 100000)\n\ti == -j\n}\n"
	e, err := Load(mapFS(map[string]string{"policies/main.rego": src}), "policies", Options{Config: cfg, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{deploymentObject("a"), deploymentObject("b"), deploymentObject("c")}
	start := time.Now()
	res := e.Evaluate(context.Background(), Input{Service: parseService(t, cfg, checkoutYAML), Environment: "prod", Objects: objs})
	if elapsed := time.Since(start); elapsed > 1300*time.Millisecond {
		t.Errorf("took %s with a limit of 300ms", elapsed)
	}
	if res.Status != StatusError || len(res.Errors) != 1 || res.Errors[0].Message != "policy evaluation of payments/checkout (prod) timed out after 300ms" {
		t.Errorf("status %s, errors %+v", res.Status, res.Errors)
	}
}

// TestLibraryResultQuotingTheImage: a library result that quotes the
// service's image points at the image line that set it, the
// environment's override included, rather than at the template.
func TestLibraryResultQuotingTheImage(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, strings.Replace(checkoutYAML, "    prod:\n      replicas: 3\n", "    prod:\n      replicas: 3\n      image: registry.example.com/payments/checkout:1.5.0\n", 1))
	src := "package main\n\ndeny contains msg if {\n\tsome c in input.spec.template.spec.containers\n\tmsg := sprintf(\"image %s is not signed\", [c.image])\n}\n"
	e, err := Load(mapFS(map[string]string{"policies/main.rego": src}), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for env, want := range map[string]libRow{
		"staging": {"main", Deny, "StatefulSet/checkout", 8, "StatefulSet/checkout: image registry.example.com/payments/checkout:1.4.2 is not signed"},
		"prod":    {"main", Deny, "StatefulSet/checkout", 20, "StatefulSet/checkout: image registry.example.com/payments/checkout:1.5.0 is not signed"},
	} {
		obj := podDeployment("checkout", svc.ForEnvironment(env).Image, nil)
		obj.SetKind("StatefulSet")
		res := e.Evaluate(context.Background(), Input{Service: svc, Environment: env, Objects: []*unstructured.Unstructured{obj}})
		if got := libRows(t, res); !slices.Equal(got, []libRow{want}) {
			t.Errorf("%s: %+v, want %+v", env, got, want)
		}
	}
}

// TestPoliciesBlockNamingNothing: a package or a regoVersion path of
// pave.yaml that matches nothing is an error at its line, not a library
// that silently never runs.
func TestPoliciesBlockNamingNothing(t *testing.T) {
	files := map[string]string{"policies/redhat-cop/p.rego": "package ocp.bestpractices.p\n\nviolation contains \"x\" if input.kind == \"Pod\"\n"}
	got := compileErrors(t, configWith(t, "policies:\n  packages: [ocp.bestpracitces]\n"), files)
	if want := "pave.yaml:11:14: policies.packages[0]: no policy package ocp.bestpracitces (or under it) has deny, violation or warn rules\n"; !strings.HasPrefix(got, want) {
		t.Errorf("error:\n%s\nwant prefix\n%s", got, want)
	}
	got = compileErrors(t, configWith(t, "policies:\n  packages: [ocp.bestpractices]\n  regoVersion:\n    redhat: v0\n"), files)
	if want := "pave.yaml:13:5: policies.regoVersion: no .rego file under policies/redhat"; got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
}

const annotationsTemplate = "testdata/libraries/gatekeeper-library/policies/gatekeeper-library/templates/requiredannotations.yaml"

// TestConstraintTemplateYAML: a Gatekeeper ConstraintTemplate as
// published (YAML, its Rego v0 inside) runs without a regoVersion entry;
// its parameter schema checks the constraint's parameters at their
// pave.yaml lines; a Rego error inside it is at its line of the YAML file.
func TestConstraintTemplateYAML(t *testing.T) {
	data, err := os.ReadFile(annotationsTemplate)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"policies/gk/requiredannotations.yaml": string(data), "policies/gk/notes.yaml": "just: data\n"}
	cfg := configWith(t, "policies:\n  constraints:\n    - name: owner-annotation\n      template: k8srequiredannotations\n      parameters:\n        annotations: [{key: a8r.io/owner}]\n")
	e, err := Load(mapFS(files), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	res := e.Evaluate(context.Background(), Input{Service: parseService(t, cfg, checkoutYAML), Environment: "prod", Objects: []*unstructured.Unstructured{serviceObject("checkout")}})
	want := []libRow{{"owner-annotation", Deny, "Service/checkout", 7, `Service/checkout: you must provide annotation(s): {"a8r.io/owner"}`}}
	if got := libRows(t, res); !slices.Equal(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}

	cfg = configWith(t, "policies:\n  constraints:\n    - name: owner-annotation\n      template: k8srequiredannotations\n      parameters:\n        message: 42\n        annotations:\n          - key: [a8r.io/owner]\n")
	got := compileErrors(t, cfg, files)
	if want := "pave.yaml:15:18: policies.constraints[0].parameters.message: got number, want string (the template's parameter schema)\n" +
		"pave.yaml:17:18: policies.constraints[0].parameters.annotations[0].key: got array, want string (the template's parameter schema)"; got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}

	broken := strings.Replace(string(data), "count(missing) > 0", "count(missing) > undefined_limit()", 1)
	got = compileErrors(t, cfg, map[string]string{"policies/gk/requiredannotations.yaml": broken})
	if want := "policies/gk/requiredannotations.yaml:48: undefined function undefined_limit"; got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
}

// TestGatekeeperConstraintFileRefused: a Gatekeeper constraint (YAML)
// dropped into policies/ would do nothing: it is an error saying where
// constraints go.
func TestGatekeeperConstraintFileRefused(t *testing.T) {
	constraint := "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata:\n  name: must-have-owner\nspec:\n  parameters:\n    labels: [{key: owner}]\n"
	got := compileErrors(t, testConfigValue(t), map[string]string{"policies/gk/constraint.yaml": constraint})
	if want := "policies/gk/constraint.yaml:1:1: pave does not read Gatekeeper constraints from policies/: write this one in pave.yaml as policies.constraints: [{name: must-have-owner, template: k8srequiredlabels, kinds: […], parameters: {…}}]"; got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
}
