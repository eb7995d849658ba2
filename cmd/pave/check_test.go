package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/pave-dev/pave/report"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestCheckExampleCatalogPassesInEveryFormat(t *testing.T) {
	sch := sarifSchema(t)
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := pave(t, "check", "--catalog", exampleCatalog, "--format", format)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			if !strings.Contains(stdout, "readonly-root-filesystem") {
				t.Errorf("the excepted denial of data/report-builder is not reported:\n%s", stdout)
			}
			if format == "sarif" {
				validateSARIF(t, sch, stdout)
			}
		})
	}
}

func TestCheckWritesReportFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.json")
	code, stdout, stderr := pave(t, "check", "--catalog", exampleCatalog, "-o", "json", "--output-file", out, "payments/checkout")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Results []struct{ Service, Environment, Status string }
		Summary map[string]int
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Results) != 2 || report.Results[0].Service != "payments/checkout" || report.Summary["services"] != 1 {
		t.Errorf("report: %+v", report)
	}
	if !strings.Contains(stderr, "wrote "+out) {
		t.Errorf("stderr %q", stderr)
	}
}

// acceptance breaks payments/checkout one way each.
var acceptance = []struct {
	name   string
	edit   func(string) string
	policy string
	line   int
}{
	{"privileged patch", func(s string) string {
		return s + "  patches:\n    - target: {kind: Deployment, name: checkout}\n      patch: |-\n        - {op: add, path: /spec/template/spec/containers/0/securityContext/privileged, value: true}\n"
	}, "no-privileged", 33},
	{"latest tag", func(s string) string { return strings.Replace(s, ":1.4.2", ":latest", 1) }, "image-tag-pinned", 8},
	{"registry not allowed", func(s string) string {
		return strings.Replace(s, "image: registry.example.com/", "image: docker.io/", 1)
	}, "allowed-registries", 8},
	{"plaintext API_TOKEN", func(s string) string {
		return strings.Replace(s, "    LOG_LEVEL: info\n", "    LOG_LEVEL: info\n    API_TOKEN: tok-123-do-not-print\n", 1)
	}, "no-plaintext-secrets", 14},
}

func TestCheckAcceptance(t *testing.T) {
	sch := sarifSchema(t)
	for _, tc := range acceptance {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyCatalog(t)
			file := filepath.Join(dir, "services/payments/checkout/service.yaml")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(tc.edit(string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("%s:%d", file, tc.line)
			markers := map[string][]string{
				"text":     {where + ": deny " + tc.policy + ": "},
				"markdown": {fmt.Sprintf("**%s** at `%s`", tc.policy, where)},
				"sarif":    {`"ruleId": "` + tc.policy + `"`, `"uri": "file://` + file + `"`, fmt.Sprintf(`"startLine": %d`, tc.line)},
				"junit":    {`name="` + tc.policy + `" classname="payments/checkout.prod" file="` + file + fmt.Sprintf(`" line="%d"`, tc.line), "<failure"},
				"github":   {fmt.Sprintf("::error file=%s,line=%d,title=%s%%3A payments/checkout (prod)::", file, tc.line, tc.policy)},
			}
			for _, format := range report.Formats() {
				code, stdout, stderr := pave(t, "check", "--catalog", dir, "--format", format)
				if code != 1 {
					t.Errorf("%s: exit %d, want 1\n%s", format, code, stderr)
				}
				if strings.Contains(stdout, "tok-123") {
					t.Errorf("%s: the secret value is in the report", format)
				}
				for _, m := range markers[format] {
					if !strings.Contains(stdout, m) {
						t.Errorf("%s: output does not contain %q:\n%s", format, m, stdout)
					}
				}
				switch format {
				case "sarif":
					validateSARIF(t, sch, stdout)
				case "json":
					checkJSONAcceptance(t, stdout, file, tc.policy, tc.line)
				}
			}
		})
	}
}

// checkJSONAcceptance: payments/checkout fails in both environments with
// the policy at the line; every other service passes.
func checkJSONAcceptance(t *testing.T, out, file, policyID string, line int) {
	t.Helper()
	var report struct {
		Results []struct {
			Service, Status string
			Violations      []struct {
				Policy, Severity, File string
				Line                   int
				Excepted               bool
			}
		}
		Summary struct{ Denials int }
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatal(err)
	}
	failing := 0
	for _, r := range report.Results {
		if r.Service != "payments/checkout" {
			if r.Status != "pass" {
				t.Errorf("json: %s is %s", r.Service, r.Status)
			}
			continue
		}
		failing++
		if r.Status != "fail" || len(r.Violations) != 1 {
			t.Errorf("json: checkout: %+v", r)
			continue
		}
		v := r.Violations[0]
		if v.Policy != policyID || v.Severity != "deny" || v.File != file || v.Line != line || v.Excepted {
			t.Errorf("json: violation %+v", v)
		}
	}
	if failing != 2 || report.Summary.Denials != 2 {
		t.Errorf("json: %d failing results, %d denials", failing, report.Summary.Denials)
	}
}

func TestCheckExitCodes(t *testing.T) {
	badConfig := copyCatalog(t)
	if err := os.WriteFile(filepath.Join(badConfig, "pave.yaml"), []byte("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nteams: []\nenvironments: oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	invalid := copyCatalog(t)
	if err := os.WriteFile(filepath.Join(invalid, "services/storefront/web/service.yaml"), []byte("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: web, team: storefront}\nspec:\n  template: web-service\n  image: registry.example.com/storefront/web:1.0.0\n  port: 99999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenPolicy := copyCatalog(t)
	if err := os.WriteFile(filepath.Join(brokenPolicy, "policies/oops.rego"), []byte("package pave.policies.oops\n\ndeny contains msg if {\n\tmsg := http.send({\"method\": \"GET\", \"url\": \"https://example.com\"})\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknownException := copyCatalog(t)
	if err := os.MkdirAll(filepath.Join(unknownException, "exceptions/payments"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unknownException, "exceptions/payments/checkout.yaml"), []byte("apiVersion: pave.dev/v1alpha1\nkind: Exceptions\nmetadata: {team: payments, service: checkout}\nexceptions:\n  - policy: no-such-policy\n    reason: typo\n    approvedBy: security@example.com\n    expires: "+time.Now().AddDate(0, 1, 0).Format("2006-01-02")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"unknown format", []string{"check", "--catalog", exampleCatalog, "--format", "xml"}, 2, `-o: unknown format "xml" (text, json, markdown, sarif, junit, github)`},
		{"unknown environment", []string{"check", "--catalog", exampleCatalog, "--env", "qa"}, 2, `unknown environment "qa"`},
		{"unknown service", []string{"check", "--catalog", exampleCatalog, "payments/nope"}, 2, `no service "payments/nope"`},
		{"not TEAM/NAME", []string{"check", "--catalog", exampleCatalog, "checkout"}, 2, `expected TEAM/NAME`},
		{"invalid pave.yaml", []string{"check", "--catalog", badConfig}, 2, "pave.yaml:4:15: environments: expected a list, got a string"},
		{"invalid service", []string{"check", "--catalog", invalid}, 1, filepath.Join(invalid, "services/storefront/web/service.yaml") + ":7: error: spec.port: 99999 is outside 1-65535"},
		{"invalid service in json", []string{"check", "--catalog", invalid, "--format", "json", "storefront/web"}, 1, `"status": "error"`},
		{"policy does not compile", []string{"check", "--catalog", brokenPolicy}, 1, filepath.Join(brokenPolicy, "policies/oops.rego") + ":4: policy does not compile: http.send is not allowed in pave policies"},
		{"exception for an unknown policy", []string{"check", "--catalog", unknownException, "payments/checkout"}, 1, filepath.Join(unknownException, "exceptions/payments/checkout.yaml") + `:5: error: exceptions[0].policy: unknown policy "no-such-policy"`},
		{"one passing service", []string{"check", "--catalog", exampleCatalog, "--env", "prod", "storefront/web"}, 0, "PASS storefront/web (prod)\n\n1 service: 0 denials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pave(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout+stderr, tt.output) {
				t.Errorf("output does not contain %q:\n%s%s", tt.output, stdout, stderr)
			}
		})
	}
}

func TestCheckLoopingPolicyFailsClosed(t *testing.T) {
	dir := copyCatalog(t)
	if err := os.WriteFile(filepath.Join(dir, "policies/spin.rego"), []byte("package pave.policies.spin\n\ndeny contains \"never\" if {\n\tsome i in numbers.range(1, 100000)\n\tsome j in numbers.range(1, 100000)\n\ti == -j\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, stdout, stderr := pave(t, "check", "--catalog", dir, "--env", "prod", "payments/checkout")
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("took %s; the limit is 2s", elapsed)
	}
	if code != 1 || !strings.Contains(stdout, "policy evaluation of payments/checkout (prod) timed out after 2s") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func appendFile(t *testing.T, file, text string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(data, text...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../../report/testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validateSARIF(t *testing.T, sch *jsonschema.Schema, out string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(out)))
	if err != nil {
		t.Fatalf("sarif: not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("sarif: not valid SARIF 2.1.0: %v", err)
	}
}

// TestOutputFlagIsTheFormat: -o picks the format, as in kubectl, helm and
// conftest; it used to name the report file, so `pave check -o json`
// wrote text to a file named "json".
func TestOutputFlagIsTheFormat(t *testing.T) {
	catalogDir, err := filepath.Abs(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	for _, args := range [][]string{
		{"check", "--catalog", catalogDir, "-o", "json", "payments/checkout"},
		{"check", "--catalog", catalogDir, "--output", "json", "payments/checkout"},
		{"check", "--catalog", catalogDir, "--format", "json", "payments/checkout"},
		{"validate", "--catalog", catalogDir, "-o", "json"},
		{"validate", "--catalog", catalogDir, "--format", "json"},
	} {
		code, stdout, stderr := pave(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Errorf("%v: standard output is not JSON (%v):\n%s", args, err, stdout)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("-o json wrote a file: %v", entries)
	}

	// The old spelling, -o FILE, is refused with a pointer to --output-file.
	code, stdout, stderr := pave(t, "check", "--catalog", catalogDir, "-o", "report.md")
	want := `-o: unknown format "report.md" (text, json, markdown, sarif, junit, github); -o is the output format: write the report to a file with --output-file report.md`
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("-o report.md: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat("report.md"); !os.IsNotExist(err) {
		t.Errorf("-o report.md wrote the file")
	}
}
