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

const exampleCatalog = "../catalog-repo-example"

const testConfig = `apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
  - {name: prod, cluster: prod}
teams:
  - {name: payments, owners: [a@example.com]}
registries: [registry.example.com]
owners: [platform@example.com]
`

// checkoutYAML's lines matter: the tests expect results on them.
const checkoutYAML = `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  template: web-service
  image: registry.example.com/payments/checkout:1.4.2
  port: 8080
  replicas: 2
  env:
    LOG_LEVEL: info
  patches:
    - target: {kind: Deployment, name: checkout}
      patch: |-
        - {op: add, path: /metadata/annotations/x, value: y}
  environments:
    prod:
      replicas: 3
`

func testConfigValue(t testing.TB) *catalog.Config {
	t.Helper()
	cfg, errs := catalog.ParseConfig("pave.yaml", []byte(testConfig))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return cfg
}

// parseService parses a service.yaml of payments/checkout.
func parseService(t testing.TB, cfg *catalog.Config, yaml string) *catalog.Service {
	t.Helper()
	templates := map[string]*catalog.Template{"web-service": {Name: "web-service", Version: "1.0.0"}}
	svc, errs := catalog.ParseService("services/payments/checkout/service.yaml", []byte(yaml), cfg, templates)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return svc
}

func deploymentObject(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"replicas": int64(2)},
	}}
}

// loadTestPolicies loads one folder of testdata/policies.
func loadTestPolicies(t testing.TB, dir string, opts Options) (*Engine, error) {
	t.Helper()
	if opts.Config == nil {
		opts.Config = testConfigValue(t)
	}
	return Load(os.DirFS("testdata"), "policies/"+dir, opts)
}

func TestLoadExampleBundle(t *testing.T) {
	cat, err := catalog.LoadDir(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	e, err := Load(cat.FS, catalog.PoliciesDir, Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"allowed-registries", "drop-all-capabilities", "image-tag-pinned", "ingress-host-in-team-domain",
		"network-policy-required", "no-external-ips", "no-host-access", "no-ingress-snippets",
		"no-plaintext-secrets", "no-privilege-escalation", "no-privileged", "pdb-required",
		"probes-required", "prod-min-replicas", "rbac-restricted", "readonly-root-filesystem",
		"required-labels", "resources-required", "run-as-non-root", "service-type-restricted",
	}
	var got []string
	for _, p := range e.Policies() {
		got = append(got, p.ID)
		if p.Title == "" || p.Description == "" || p.Remediation == "" {
			t.Errorf("policy %s lacks a title, description or remediation: %+v", p.ID, p)
		}
		if !strings.HasPrefix(p.File, "policies/") || p.Line == 0 {
			t.Errorf("policy %s is located at %s:%d", p.ID, p.File, p.Line)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("policies:\n got %v\nwant %v", got, want)
	}
}

func TestResultShapesAndLocations(t *testing.T) {
	cfg := testConfigValue(t)
	e, err := loadTestPolicies(t, "shapes", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	svc := parseService(t, cfg, checkoutYAML)
	type row struct {
		policy   string
		severity Severity
		msg      string
		field    string
		line     int
		hint     string
	}
	tests := []struct {
		env  string
		want []row
	}{
		{"prod", []row{
			{"shapes", Deny, "a plain message", "spec.template", 7, "Read the shapes test."},
			{"shapes", Deny, "an object on the image", "spec.image", 8, "a hint of its own"},
			{"shapes", Deny, "an object", "spec.patches[0]", 14, "Read the shapes test."},
			{"shapes", Deny, "an object on the prod replicas", "spec.environments.prod.replicas", 19, "Read the shapes test."},
			{"other", Warn, "a warning for another policy", "spec.template", 7, ""},
			{"shapes", Warn, "a warning on env", "spec.env.LOG_LEVEL", 12, "Read the shapes test."},
		}},
		{"staging", []row{
			{"shapes", Deny, "a plain message", "spec.template", 7, "Read the shapes test."},
			{"shapes", Deny, "an object on the image", "spec.image", 8, "a hint of its own"},
			{"shapes", Deny, "an object on the prod replicas", "spec.replicas", 10, "Read the shapes test."},
			{"shapes", Deny, "an object", "spec.patches[0]", 14, "Read the shapes test."},
			{"other", Warn, "a warning for another policy", "spec.template", 7, ""},
			{"shapes", Warn, "a warning on env", "spec.env.LOG_LEVEL", 12, "Read the shapes test."},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			res := e.Evaluate(context.Background(), Input{Service: svc, Environment: tt.env, Objects: []*unstructured.Unstructured{deploymentObject("checkout")}})
			if len(res.Errors) > 0 {
				t.Fatal(res.Errors)
			}
			var got []row
			for _, v := range res.Violations {
				if v.File != svc.File {
					t.Errorf("%q: file %q", v.Message, v.File)
				}
				got = append(got, row{v.Policy, v.Severity, v.Message, v.Field, v.Line, v.Hint})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations:\n got %+v\nwant %+v", got, tt.want)
			}
			if res.Status != StatusFail {
				t.Errorf("status %q", res.Status)
			}
		})
	}
}

func TestMalformedResultIsAnError(t *testing.T) {
	cfg := testConfigValue(t)
	e, err := loadTestPolicies(t, "shapes", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	svc := parseService(t, cfg, checkoutYAML)
	res := e.Evaluate(context.Background(), Input{Service: svc, Environment: "bad"})
	if res.Status != StatusError || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, `policy other: deny {"msg":42}: "msg" must be a string`) {
		t.Errorf("status %s, errors %+v", res.Status, res.Errors)
	}
	if res.Errors[0].File != "policies/shapes/other.rego" || res.Errors[0].Line != 1 {
		t.Errorf("error located at %s:%d", res.Errors[0].File, res.Errors[0].Line)
	}
}

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	_, err := loadTestPolicies(t, "broken", Options{})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CompileError", err)
	}
	if got := ce.Errors.Error(); got != "policies/broken/broken.rego:5:9: undefined function undefined_helper" {
		t.Errorf("error:\n%s", got)
	}
}

func TestNetworkAndRuntimeBuiltinsDoNotCompile(t *testing.T) {
	_, err := loadTestPolicies(t, "network", Options{})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CompileError", err)
	}
	want := "policies/network/network.rego:4:10: http.send is not allowed in pave policies: policies cannot reach the network, read pave's runtime, or give different results on each run"
	if got := ce.Errors.Error(); got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}

	for _, call := range []string{
		`net.lookup_ip_addr("example.com")`,
		`opa.runtime()`,
		`rand.intn("x", 10)`,
		`uuid.rfc4122("x")`,
		`json.match_schema({}, {"$ref": "https://example.com/schema.json"})`,
		`io.jwt.encode_sign({"alg": "HS256"}, {}, {"kty": "oct", "k": "a2V5"})`,
	} {
		name, _, _ := strings.Cut(call, "(")
		src := "package pave.policies.x\n\ndeny contains msg if {\n\tv := " + call + "\n\tmsg := sprintf(\"%v\", [v])\n}\n"
		_, err := Load(mapFS(map[string]string{"policies/x.rego": src}), "policies", Options{})
		if !errors.As(err, &ce) || !strings.Contains(ce.Error(), name+" is not allowed in pave policies") {
			t.Errorf("%s: err = %v", name, err)
		}
	}

	// The clock stays: exceptions and policies may compare dates.
	src := "package pave.policies.x\n\ndeny contains \"late\" if time.now_ns() < 0\n"
	if _, err := Load(mapFS(map[string]string{"policies/x.rego": src}), "policies", Options{}); err != nil {
		t.Errorf("time.now_ns: %v", err)
	}
}

func TestEvaluationTimesOutAndFailsClosed(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, checkoutYAML)
	for _, dir := range []string{"loop", "hugeset"} {
		t.Run(dir, func(t *testing.T) {
			const limit = 300 * time.Millisecond
			e, err := loadTestPolicies(t, dir, Options{Config: cfg, Timeout: limit})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res := e.Evaluate(context.Background(), Input{Service: svc, Environment: "prod"})
			elapsed := time.Since(start)
			if elapsed > limit+time.Second {
				t.Errorf("evaluation took %s with a limit of %s", elapsed, limit)
			}
			if res.Status != StatusError || len(res.Errors) != 1 {
				t.Fatalf("status %s, errors %+v", res.Status, res.Errors)
			}
			if got, want := res.Errors[0].Message, "policy evaluation of payments/checkout (prod) timed out after 300ms"; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
		})
	}
}

func TestDefaultTimeout(t *testing.T) {
	e, err := loadTestPolicies(t, "shapes", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.opts.Timeout != 2*time.Second {
		t.Errorf("default timeout %s", e.opts.Timeout)
	}
}

func TestNoPoliciesChecksNothing(t *testing.T) {
	cfg := testConfigValue(t)
	e, err := Load(mapFS(nil), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	res := e.Evaluate(context.Background(), Input{Service: parseService(t, cfg, checkoutYAML), Environment: "prod"})
	if res.Status != StatusPass || len(res.Violations) != 0 {
		t.Errorf("%+v", res)
	}
}
