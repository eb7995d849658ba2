package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/format")

// sampleReport has one of everything a report can hold.
func sampleReport() *Report {
	r := &Report{
		Policies: []*Policy{
			{ID: "image-tag-pinned", Title: "Images are pinned", Description: "Every image names an explicit tag or a digest.", Remediation: "Set image to an explicit version.", Package: "data.pave.policies.image_tag_pinned", File: "policies/image_tag_pinned.rego", Line: 1},
			{ID: "prod-min-replicas", Title: "At least two replicas in production", Package: "data.pave.policies.prod_min_replicas", File: "policies/prod_min_replicas.rego", Line: 1},
			{ID: "readonly-root-filesystem", Package: "data.pave.policies.readonly_root_filesystem", File: "policies/readonly_root_filesystem.rego", Line: 1},
		},
		Errors: []Error{{File: "templates/broken/Chart.yaml", Line: 1, Message: "chart version is required"}},
	}
	exception := &Exception{Policy: "readonly-root-filesystem", Reason: "PDF engine writes to /var/cache", ApprovedBy: "security@example.com", Expires: "2027-06-30", File: "exceptions/data/report-builder.yaml", Field: "exceptions[0]", Line: 10}
	stale := &Exception{Policy: "prod-min-replicas", Environments: []string{"prod"}, Reason: "old", ApprovedBy: "security@example.com", Expires: "2027-01-31", File: "exceptions/data/report-builder.yaml", Field: "exceptions[1]", Line: 14}
	r.Exceptions = []ExceptionEntry{{Service: "data/report-builder", Exception: *exception}, {Service: "data/report-builder", Exception: *stale}}
	r.Results = []*Result{
		{Service: "data/report-builder", File: "services/data/report-builder/service.yaml", Violations: []Violation{
			{Policy: "prod-min-replicas", Severity: Warn, Message: "stale exception: prod-min-replicas denies nothing in this service; remove the exception", Hint: "delete this exception from exceptions/data/report-builder.yaml", Field: "exceptions[1]", File: "exceptions/data/report-builder.yaml", Line: 14,
				Exception: stale},
		}, Errors: []Error{}},
		{Service: "data/report-builder", Environment: "prod", File: "services/data/report-builder/service.yaml", Violations: []Violation{
			{Policy: "readonly-root-filesystem", Severity: Deny, Message: `CronJob/report-builder: container "report-builder" has a writable root filesystem`, Hint: "Keep readOnlyRootFilesystem true.", Object: &ObjectRef{Kind: "CronJob", Name: "report-builder"}, Field: "spec.patches[0]", File: "services/data/report-builder/service.yaml", Line: 16, Excepted: true, Exception: exception},
		}, Errors: []Error{}},
		{Service: "payments/checkout", Environment: "staging", File: "services/payments/checkout/service.yaml", Violations: []Violation{}, Errors: []Error{}},
		{Service: "payments/checkout", Environment: "prod", File: "services/payments/checkout/service.yaml", Violations: []Violation{
			{Policy: "image-tag-pinned", Severity: Deny, Message: `Deployment/checkout: container "checkout" uses image "registry.example.com/payments/checkout:latest", which is tagged latest`, Hint: "Set image to an explicit version.", Object: &ObjectRef{Kind: "Deployment", Name: "checkout"}, Field: "spec.image", File: "services/payments/checkout/service.yaml", Line: 8},
			{Policy: "prod-min-replicas", Severity: Warn, Message: "100% of <pods>, a|b: one\nsecond line", Field: "spec.environments.prod.replicas", File: "services/payments/checkout/service.yaml", Line: 27},
		}, Errors: []Error{}},
		{Service: "storefront/web", Environment: "prod", File: "services/storefront/web/service.yaml", Violations: []Violation{}, Errors: []Error{
			{File: "services/storefront/web/service.yaml", Line: 18, Message: "render: patch spec.patches[0]: target {kind: StatefulSet} matches no rendered object"},
		}},
	}
	for _, res := range r.Results {
		res.Status = res.status()
	}
	return r
}

// passingReport is what a clean catalog gives.
func passingReport() *Report {
	r := &Report{Policies: sampleReport().Policies, Results: []*Result{
		{Service: "payments/checkout", Environment: "staging", File: "services/payments/checkout/service.yaml", Status: StatusPass, Violations: []Violation{}, Errors: []Error{}},
		{Service: "payments/checkout", Environment: "prod", File: "services/payments/checkout/service.yaml", Status: StatusPass, Violations: []Violation{}, Errors: []Error{}},
	}}
	return r
}

var formatCases = []struct {
	name   string
	report func() *Report
}{
	{"sample", sampleReport},
	{"passing", passingReport},
	{"review-exceptions", exceptionsReviewReport},
}

// testFormat compares a format's output for each report with its golden
// file, testdata/format/FORMAT-CASE.golden (go test -update rewrites them).
func testFormat(t *testing.T, format string, check func(t *testing.T, out []byte)) {
	t.Helper()
	f, err := Get(format)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range formatCases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := f.Format(&buf, tc.report()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "format", format+"-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("%s output differs from %s:\n%s", format, golden, got)
			}
			if check != nil {
				check(t, buf.Bytes())
			}
		})
	}
}

func TestGetUnknownFormat(t *testing.T) {
	if _, err := Get("xml"); err == nil || !strings.Contains(err.Error(), "text, json, markdown, sarif, junit, github") {
		t.Errorf("err = %v", err)
	}
	for _, f := range Formats() {
		if _, err := Get(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
