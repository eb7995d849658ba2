package pipeline_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/report"
)

func TestCheckExampleCatalogPasses(t *testing.T) {
	rep := checkCatalog(t, exampleWith(t, nil), pipeline.Options{})
	if rep.Failed() {
		var b strings.Builder
		_ = report.Text{}.Format(&b, rep)
		t.Fatalf("the example catalog does not pass:\n%s", b.String())
	}
	if s := rep.Summary(); s != (report.Summary{Services: 8, Excepted: 2}) {
		t.Errorf("summary %+v", s)
	}
	if len(rep.Results) != 16 {
		t.Errorf("%d results, want 8 services × 2 environments", len(rep.Results))
	}
	for _, res := range rep.Results {
		for _, v := range res.Violations {
			if res.Service != "data/report-builder" || v.Policy != "readonly-root-filesystem" || !v.Excepted {
				t.Errorf("%s: unexpected %+v", label(res), v)
			}
			// The patch that makes the root filesystem writable.
			if v.Field != "spec.patches[0]" || v.Line != 16 || v.Exception.File != "exceptions/data/report-builder.yaml" || v.Exception.Line != 10 {
				t.Errorf("%s: located at %s line %d, exception at %s:%d", label(res), v.Field, v.Line, v.Exception.File, v.Exception.Line)
			}
		}
	}
	// pave check lists the exceptions in effect, apart from what they cover.
	if len(rep.Exceptions) != 1 || rep.Exceptions[0].Service != "data/report-builder" || rep.Exceptions[0].ApprovedBy != "security@example.com" {
		t.Errorf("exceptions: %+v", rep.Exceptions)
	}
}

const checkoutFile = "services/payments/checkout/service.yaml"

func exampleService(t testing.TB, file string) string {
	t.Helper()
	data, err := os.ReadFile(exampleCatalog + "/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// acceptanceCases are the issue's: each breaks one service one way.
func acceptanceCases(t testing.TB) []struct {
	name, file, content, policy string
	line                        int
} {
	checkout := exampleService(t, checkoutFile)
	replace := func(old, new string) string {
		if !strings.Contains(checkout, old) {
			t.Fatalf("checkout's service.yaml has no %q", old)
		}
		return strings.Replace(checkout, old, new, 1)
	}
	return []struct {
		name, file, content, policy string
		line                        int
	}{
		{"privileged patch", checkoutFile, checkout + `  patches:
    - target: {kind: Deployment, name: checkout}
      patch: |-
        - {op: add, path: /spec/template/spec/containers/0/securityContext/privileged, value: true}
`, "no-privileged", 33},
		{"latest tag", checkoutFile, replace(":1.4.2", ":latest"), "image-tag-pinned", 8},
		{"registry not allowed", checkoutFile, replace("registry.example.com/payments/checkout", "ghcr.io/payments/checkout"), "allowed-registries", 8},
		{"plaintext API_TOKEN", checkoutFile, replace("    LOG_LEVEL: info\n", "    LOG_LEVEL: info\n    API_TOKEN: tok-123-do-not-print\n"), "no-plaintext-secrets", 14},
	}
}

func TestCheckAcceptance(t *testing.T) {
	for _, tc := range acceptanceCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			rep := checkCatalog(t, exampleWith(t, map[string]string{tc.file: tc.content}), pipeline.Options{})
			if !rep.Failed() {
				t.Fatal("the report does not fail")
			}
			for _, res := range rep.Results {
				if res.Service != "payments/checkout" {
					if res.Status != policy.StatusPass {
						t.Errorf("%s: %s %+v %+v", label(res), res.Status, res.Violations, res.Errors)
					}
					continue
				}
				if res.Status != policy.StatusFail {
					t.Errorf("%s: status %s", label(res), res.Status)
				}
				var found bool
				for _, v := range res.Violations {
					if !v.Blocking() || v.Policy != tc.policy {
						t.Errorf("%s: unexpected %s %s at line %d: %s", label(res), v.Severity, v.Policy, v.Line, v.Message)
						continue
					}
					found = true
					if v.Line != tc.line || v.File != tc.file {
						t.Errorf("%s: %s at %s:%d, want line %d", label(res), v.Policy, v.File, v.Line, tc.line)
					}
					if strings.Contains(v.Message, "tok-123") || strings.Contains(v.Hint, "tok-123") {
						t.Errorf("the secret value is in the report: %q", v.Message)
					}
				}
				if !found {
					t.Errorf("%s: no %s denial in %+v", label(res), tc.policy, res.Violations)
				}
			}
		})
	}
}

func TestCheckReportsInvalidAndUnrenderableServices(t *testing.T) {
	cat := exampleWith(t, map[string]string{
		checkoutFile: strings.Replace(exampleService(t, checkoutFile), "port: 8080", `port: "8080"`, 1),
		"services/storefront/web/service.yaml": strings.Replace(exampleService(t, "services/storefront/web/service.yaml"),
			"ingress:\n    host: shop.example.com\n", "ingress:\n    host: shop.example.com\n  patches:\n    - target: {kind: StatefulSet}\n      patch: '[{op: add, path: /x, value: 1}]'\n", 1),
	})
	rep := checkCatalog(t, cat, pipeline.Options{Environment: "prod"})
	byLabel := map[string]*report.Result{}
	for _, res := range rep.Results {
		byLabel[label(res)] = res
	}
	invalid := byLabel["payments/checkout"]
	if invalid == nil || invalid.Status != policy.StatusError || len(invalid.Errors) != 1 || invalid.Errors[0].Line != 9 || !strings.Contains(invalid.Errors[0].Message, "expected an integer") {
		t.Errorf("invalid service: %+v", invalid)
	}
	if _, evaluated := byLabel["payments/checkout (prod)"]; evaluated {
		t.Error("an invalid service was evaluated")
	}
	broken := byLabel["storefront/web (prod)"]
	if broken == nil || broken.Status != policy.StatusError || len(broken.Errors) == 0 || !strings.Contains(broken.Errors[0].Message, "render: ") || broken.Errors[0].Line != 18 {
		t.Errorf("unrenderable service: %+v", broken)
	}
	if _, other := byLabel["storefront/web (staging)"]; other {
		t.Error("--env prod checked staging")
	}
	if res := byLabel["payments/ledger-worker (prod)"]; res == nil || res.Status != policy.StatusPass {
		t.Errorf("the other services must still pass: %+v", res)
	}
	if s := rep.Summary(); s.Errors != 2 || s.Denials != 0 {
		t.Errorf("summary %+v", s)
	}
}

func TestCheckSelectedServices(t *testing.T) {
	rep := checkCatalog(t, exampleWith(t, nil), pipeline.Options{Services: []string{"data/report-builder"}, Environment: "staging"})
	if len(rep.Results) != 1 || label(rep.Results[0]) != "data/report-builder (staging)" {
		for _, r := range rep.Results {
			t.Log(label(r))
		}
		t.Fatal("wrong selection")
	}
}
