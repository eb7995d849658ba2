package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"github.com/pave-dev/pave/review"
	"strings"
	"testing"
)

// craftedReason is what a developer could write as an exception's reason
// to forge output: a new line holding a workflow command, a mention and a
// link.
const craftedReason = "TLS at the CDN\n::error file=x::forged\r@example/everyone [docs](https://evil.example)"

// exceptionsReviewReport is a pull request that adds, changes and removes
// an exception, and whose only impacted pair passes thanks to the new one.
func exceptionsReviewReport() *Report {
	added := Exception{Policy: "ingress-tls-required", Reason: craftedReason, ApprovedBy: "security@example.com", Expires: "2026-12-31", File: "exceptions/storefront/web.yaml", Field: "exceptions[0]", Line: 6}
	r := &Report{
		Policies: []*Policy{{ID: "ingress-tls-required", Package: "data.pave.policies.ingress_tls_required", File: "policies/ingress_tls_required.rego", Line: 1}},
		Review: &review.Review{
			Base: review.RevisionInfo{Ref: "origin/main", Commit: "1111111111111111111111111111111111111111"}, Head: review.RevisionInfo{Ref: "HEAD", Commit: "2222222222222222222222222222222222222222"},
			FailOn: review.FailOnAny, Environments: []string{"prod"}, Groups: []review.Group{},
			Changed: []string{"exceptions/data/report-builder.yaml", "exceptions/payments/checkout.yaml", "exceptions/storefront/web.yaml"},
		},
		Exceptions: []ExceptionEntry{
			{Change: review.ChangeChanged, Service: "data/report-builder", Exception: Exception{Policy: "readonly-root-filesystem", Environments: []string{"prod"}, Reason: "PDF engine writes to /var/cache", ApprovedBy: "security@example.com", Expires: "2027-03-31", File: "exceptions/data/report-builder.yaml", Field: "exceptions[0]", Line: 10},
				Before: &Exception{Policy: "readonly-root-filesystem", Reason: "PDF engine writes to /var/cache", ApprovedBy: "@example/platform-team", Expires: "2026-12-31", File: "exceptions/data/report-builder.yaml", Field: "exceptions[0]", Line: 10}},
			{Change: review.ChangeRemoved, Service: "payments/checkout", Exception: Exception{Policy: "image-tag-pinned", Reason: "old", ApprovedBy: "security@example.com", Expires: "2026-09-30", File: "exceptions/payments/checkout.yaml", Field: "exceptions[0]", Line: 7}},
			{Change: review.ChangeAdded, Service: "storefront/web", Exception: added},
		},
		Results: []*Result{{
			Service: "storefront/web", Environment: "prod", File: "services/storefront/web/service.yaml", Change: review.ChangeUnchanged, Errors: []Error{},
			Violations: []Violation{{Policy: "ingress-tls-required", Severity: Deny, Message: "Ingress/web serves plain HTTP", Field: "spec.ingress.host", File: "services/storefront/web/service.yaml", Line: 12, Excepted: true, Exception: &added, State: review.StateExisting}},
		}},
	}
	for _, res := range r.Results {
		res.Status = res.status()
	}
	return r
}

// TestReviewShowsExceptionsFirst: a pull request that adds or changes an
// exception says so before anything else, in every format, and never
// says plainly that all policies pass.
func TestReviewShowsExceptionsFirst(t *testing.T) {
	firstContent := map[string]func(t *testing.T, out string){
		"text": func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "⚠ EXCEPTIONS: 1 new exception, 1 changed exception — needs platform approval") {
				t.Errorf("text starts with %q", firstLine(out))
			}
		},
		"markdown": func(t *testing.T, out string) {
			lines := strings.Split(out, "\n")
			if lines[0] != Marker || lines[1] != "## ⚠️ 1 new exception, 1 changed exception — needs platform approval; no rendered change, all policies pass with the exceptions" || lines[3] != "### ⚠️ Exceptions" {
				t.Errorf("markdown starts with:\n%s", strings.Join(lines[:4], "\n"))
			}
			if strings.Contains(out, "✅") {
				t.Error("a review that adds an exception must not show ✅")
			}
			if !strings.Contains(out, "| 🆕 added | `storefront/web` | `ingress-tls-required` | all environments |") ||
				!strings.Contains(out, "| ✏️ changed | `data/report-builder` | `readonly-root-filesystem` | prod (was all environments) |") ||
				!strings.Contains(out, "`security@example.com` (was `@example/platform-team`) | 2027-03-31 (was 2026-12-31) |") {
				t.Errorf("markdown exception rows:\n%s", out)
			}
		},
		"json": func(t *testing.T, out string) {
			dec := json.NewDecoder(strings.NewReader(out))
			if tok, _ := dec.Token(); tok != json.Delim('{') {
				t.Fatalf("json starts with %v", tok)
			}
			if tok, _ := dec.Token(); tok != "exceptions" {
				t.Errorf("first json field %v, want exceptions", tok)
			}
			var doc struct {
				Exceptions []ExceptionEntry
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Exceptions) != 3 || doc.Exceptions[0].Before == nil || doc.Exceptions[2].Change != review.ChangeAdded {
				t.Errorf("json exceptions %+v (%v)", doc.Exceptions, err)
			}
		},
		"sarif": func(t *testing.T, out string) {
			var log sarifLog
			if err := json.Unmarshal([]byte(out), &log); err != nil {
				t.Fatal(err)
			}
			res := log.Runs[0].Results
			if len(res) < 3 || res[0].RuleID != exceptionRuleID || res[2].Level != "warning" || res[1].Level != "note" ||
				res[2].Locations[0].PhysicalLocation.ArtifactLocation.URI != "exceptions/storefront/web.yaml" ||
				!strings.HasPrefix(res[2].Message.Text, "added exception — needs platform approval: storefront/web ingress-tls-required") {
				t.Errorf("sarif results start with %+v", res[:min(3, len(res))])
			}
			if rule := log.Runs[0].Tool.Driver.Rules[res[0].RuleIndex]; rule.ID != exceptionRuleID {
				t.Errorf("rule index %d is %s", res[0].RuleIndex, rule.ID)
			}
		},
		"junit": func(t *testing.T, out string) {
			var suites junitSuites
			if err := xml.Unmarshal([]byte(out), &suites); err != nil {
				t.Fatal(err)
			}
			s := suites.Suites[0]
			if s.Name != "exceptions" || len(s.Cases) != 3 || s.Cases[2].Skipped == nil || !strings.HasPrefix(s.Cases[2].Skipped.Message, "added exception — needs platform approval") {
				t.Errorf("first suite %+v", s)
			}
		},
		"github": func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "::warning file=exceptions/data/report-builder.yaml,line=10,title=changed exception needs platform approval") {
				t.Errorf("github starts with %q", firstLine(out))
			}
		},
	}
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			f, _ := Get(format)
			var b bytes.Buffer
			if err := f.Format(&b, exceptionsReviewReport()); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			firstContent[format](t, out)
			// The reason is the developer's: it never starts a line (a
			// workflow command) nor mentions anyone.
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "::error file=x") || strings.HasPrefix(strings.TrimSpace(line), "@example/everyone") {
					t.Errorf("%s: the reason forged a line: %q", format, line)
				}
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
