package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

// exceptionPolicies: "demo" denies the Deployment everywhere, "prod-only"
// only in prod, "quiet" never.
var exceptionPolicies = map[string]string{
	"policies/demo.rego": `package pave.policies.demo

deny contains {"msg": "demo denies", "object": {"kind": "Deployment", "name": input.service.name}}
`,
	"policies/prod_only.rego": `package pave.policies.prod_only

deny contains "prod only denies" if input.environment == "prod"
`,
	"policies/quiet.rego": `package pave.policies.quiet

deny contains "never" if false
`,
}

// fakeRenderer renders every service as one Deployment.
type fakeRenderer struct{ fail string }

func (f fakeRenderer) Render(svc *catalog.Service, env string) (*render.Result, error) {
	if svc.ID() == f.fail {
		return nil, &render.Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: "templates/web-service/templates/deployment.yaml:3:5", Message: "boom"}
	}
	return &render.Result{Service: svc.ID(), Environment: env, Namespace: svc.Metadata.Team + "-" + env, Objects: []*unstructured.Unstructured{deploymentObject(svc.Metadata.Name)}}, nil
}

// exceptionCatalog is a catalog of payments/checkout with the given
// exceptions file (none when empty), loaded on the day of now.
func exceptionCatalog(t *testing.T, exceptions, now string) *catalog.Catalog {
	t.Helper()
	files := map[string]string{
		"pave.yaml":                        testConfig,
		"templates/web-service/Chart.yaml": "apiVersion: v2\nname: web-service\nversion: 1.0.0\n",
		// What the chart takes (it is never rendered here).
		"templates/web-service/values.schema.json": `{"type": "object", "properties": {"image": {}, "port": {}}}`,
		"services/payments/checkout/service.yaml": `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  template: web-service
  image: registry.example.com/payments/checkout:1.4.2
  port: 8080
`,
	}
	if exceptions != "" {
		files["exceptions/payments/checkout.yaml"] = `apiVersion: pave.dev/v1alpha1
kind: Exceptions
metadata: {team: payments, service: checkout}
exceptions:
` + exceptions
	}
	for k, v := range exceptionPolicies {
		files[k] = v
	}
	cat, err := catalog.LoadWith(mapFS(files), catalog.LoadOptions{Now: func() time.Time { return day(now) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	return cat
}

func day(s string) time.Time {
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return d
}

const exceptionsFile = "exceptions/payments/checkout.yaml"

func TestExceptions(t *testing.T) {
	const demoException = `  - policy: demo
    reason: legacy image
    approvedBy: platform@example.com
    expires: 2030-01-01
`
	type want struct {
		excepted, blocking int
		warnings           []string // "file:line: message"
		errors             []string // "file:line: message"
		status             string
	}
	tests := []struct {
		name       string
		exceptions string
		loaded     string // the day the catalog was loaded (bounds expiries)
		now        string
		env        string
		want       want
	}{
		{"unexpired", demoException, "2029-12-01T00:00:00Z", "2029-12-31T12:00:00Z", "staging", want{excepted: 1, status: policy.StatusPass}},
		{"valid through its expiry day", demoException, "2029-12-01T00:00:00Z", "2030-01-01T23:59:00Z", "staging", want{excepted: 1, status: policy.StatusPass}},
		{"expired", demoException, "2029-12-01T00:00:00Z", "2030-01-02T00:00:00Z", "staging", want{blocking: 1, status: policy.StatusFail,
			warnings: []string{exceptionsFile + ":5: exception for demo expired on 2030-01-01; the denial applies again"}}},
		{"unknown policy", `  - policy: no-such-policy
    reason: typo
    approvedBy: platform@example.com
    expires: 2030-01-01
`, "2029-12-01T00:00:00Z", "2029-12-01T00:00:00Z", "", want{blocking: 3, status: policy.StatusError,
			errors: []string{exceptionsFile + `:5: exceptions[0].policy: unknown policy "no-such-policy" (policies: demo, prod-only, quiet)`}}},
		{"stale", `  - policy: quiet
    reason: nothing to except
    approvedBy: platform@example.com
    expires: 2030-01-01
`, "2029-12-01T00:00:00Z", "2029-12-01T00:00:00Z", "", want{blocking: 3, status: policy.StatusFail,
			warnings: []string{exceptionsFile + ":5: stale exception: quiet denies nothing in this service; remove the exception"}}},
		{"exception used in prod only is not stale", `  - policy: prod-only
    reason: single replica until the migration
    approvedBy: platform@example.com
    expires: 2030-01-01
`, "2029-12-01T00:00:00Z", "2029-12-01T00:00:00Z", "", want{blocking: 2, excepted: 1, status: policy.StatusFail}},
		{"environment exception", `  - policy: demo
    environments: [prod]
    reason: prod only
    approvedBy: platform@example.com
    expires: 2030-01-01
`, "2029-12-01T00:00:00Z", "2029-12-01T00:00:00Z", "", want{blocking: 2, excepted: 1, status: policy.StatusFail}},
		{"environment exception, only staging checked", `  - policy: demo
    environments: [prod]
    reason: prod only
    approvedBy: platform@example.com
    expires: 2030-01-01
`, "2029-12-01T00:00:00Z", "2029-12-01T00:00:00Z", "staging", want{blocking: 1, status: policy.StatusFail}},
		{"environment exception unused in its environment is stale", `  - policy: prod-only
    environments: [staging]
    reason: wrong environment
    approvedBy: platform@example.com
    expires: 2030-01-01
`, "2029-12-01T00:00:00Z", "2029-12-01T00:00:00Z", "", want{blocking: 3, status: policy.StatusFail,
			warnings: []string{exceptionsFile + ":5: stale exception: prod-only denies nothing in this service; remove the exception"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := exceptionCatalog(t, tt.exceptions, tt.loaded)
			e, err := policy.Load(cat.FS, "policies", policy.Options{Config: cat.Config, Now: func() time.Time { return day(tt.now) }})
			if err != nil {
				t.Fatal(err)
			}
			rep := report.FromRun(pipeline.New(cat, fakeRenderer{}, e).Run(context.Background(), pipeline.Options{Environment: tt.env}))
			var got want
			for _, res := range rep.Results {
				for _, v := range res.Violations {
					switch {
					case v.Excepted:
						got.excepted++
						if x := v.Exception; x == nil || x.Reason == "" || x.ApprovedBy != "platform@example.com" || x.Expires != "2030-01-01" || x.File != exceptionsFile || x.Line != 5 {
							t.Errorf("excepted without its exception: %+v", v.Exception)
						}
					case v.Blocking():
						got.blocking++
					default:
						got.warnings = append(got.warnings, fmt.Sprintf("%s:%d: %s", v.File, v.Line, v.Message))
					}
				}
				for _, e := range res.Errors {
					got.errors = append(got.errors, fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message))
				}
			}
			got.status = overall(rep)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// pave check lists the service's exceptions, whatever they do.
			if len(rep.Exceptions) != 1 && tt.env == "" {
				t.Errorf("report exceptions: %+v", rep.Exceptions)
			}
			for _, x := range rep.Exceptions {
				if x.Service != "payments/checkout" || x.File != exceptionsFile || x.Line != 5 || x.Change != "" {
					t.Errorf("report exception %+v", x)
				}
			}
		})
	}
}

// TestNoExceptionsWithoutTheFile: the same denial with no exceptions file
// blocks, and the report lists no exception.
func TestNoExceptionsWithoutTheFile(t *testing.T) {
	cat := exceptionCatalog(t, "", "2029-12-01T00:00:00Z")
	e, err := policy.Load(cat.FS, "policies", policy.Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.FromRun(pipeline.New(cat, fakeRenderer{}, e).Run(context.Background(), pipeline.Options{}))
	if s := rep.Summary(); s.Denials != 3 || s.Excepted != 0 || len(rep.Exceptions) != 0 {
		t.Errorf("summary %+v, exceptions %v", s, rep.Exceptions)
	}
}

// overall is the worst status of a rep.
func overall(r *report.Report) string {
	status := policy.StatusPass
	for _, res := range r.Results {
		switch {
		case res.Status == policy.StatusError:
			return policy.StatusError
		case res.Status == policy.StatusFail:
			status = policy.StatusFail
		}
	}
	return status
}
