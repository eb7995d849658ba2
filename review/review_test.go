package review_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/report"
	"github.com/pave-dev/pave/review"
	"github.com/pave-dev/pave/review/reviewtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const exampleCatalog = "../catalog-repo-example"

// now is the clock exceptions expire by, fixed so goldens stay valid.
func now() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

const ingressTLSPolicy = `# METADATA
# title: Ingress serves TLS
# description: Every Ingress terminates TLS.
# custom:
#   id: ingress-tls-required
#   remediation: Set platform.tlsIssuer in pave.yaml so the template adds a certificate.
package pave.policies.ingress_tls_required

deny contains v if {
	some obj in input.objects
	obj.kind == "Ingress"
	count(object.get(obj.spec, "tls", [])) == 0
	v := {
		"msg": sprintf("Ingress/%s serves plain HTTP", [obj.metadata.name]),
		"object": {"kind": obj.kind, "name": obj.metadata.name},
		"field": "ingress.host",
	}
}
`

// scenarios are pull requests against the example catalog: the edits of
// the head commit and what the review must say about them.
var scenarios = []struct {
	name string
	// base, when set, is committed before edit: the base of the review.
	base   func(r *reviewtest.Repo)
	edit   func(r *reviewtest.Repo)
	failOn string
	check  func(t *testing.T, rep *report.Report)
}{
	{
		name: "add-service",
		edit: func(r *reviewtest.Repo) {
			r.Write("services/payments/refunds/service.yaml", "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: refunds\n  team: payments\nspec:\n  template: web-service\n  image: registry.example.com/payments/refunds:2.0.1\n  port: 8080\n  replicas: 2\n  healthCheck:\n    path: /healthz\n")
		},
		check: func(t *testing.T, rep *report.Report) {
			wantPairs(t, rep, map[string]string{"payments/refunds (staging)": review.ChangeAdded, "payments/refunds (prod)": review.ChangeAdded})
			wantPass(t, rep)
		},
	},
	{
		name: "change-image",
		edit: func(r *reviewtest.Repo) {
			r.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.5.0")
		},
		check: func(t *testing.T, rep *report.Report) {
			wantPairs(t, rep, map[string]string{"payments/checkout (staging)": review.ChangeChanged, "payments/checkout (prod)": review.ChangeChanged})
			res := result(t, rep, "payments/checkout", "prod")
			if len(res.Diff) != 1 || res.Diff[0].Kind != "Deployment" || !strings.Contains(res.Diff[0].Diff, "+") || !strings.Contains(res.Diff[0].Diff, "checkout:1.5.0") {
				t.Errorf("diff of payments/checkout (prod): %+v", res.Diff)
			}
			wantPass(t, rep)
		},
	},
	{
		name: "prod-replicas",
		edit: func(r *reviewtest.Repo) {
			r.Edit("services/storefront/web/service.yaml", func(s string) string { return s + "    prod:\n      replicas: 5\n" })
		},
		check: func(t *testing.T, rep *report.Report) {
			wantPairs(t, rep, map[string]string{"storefront/web (staging)": review.ChangeUnchanged, "storefront/web (prod)": review.ChangeChanged})
			res := result(t, rep, "storefront/web", "prod")
			if len(res.Diff) != 1 || !slices.Equal(res.Diff[0].Fields, []string{"spec.replicas"}) {
				t.Errorf("storefront/web (prod) diff: %+v", res.Diff)
			}
		},
	},
	{
		name: "template-change",
		edit: func(r *reviewtest.Repo) {
			r.Replace("templates/web-service/Chart.yaml", "version: 1.0.0", "version: 1.1.0")
			// The Deployment is the library's: web-service alone adds to it.
			r.Replace("templates/web-service/templates/deployment.yaml", `include "pave.deployment" .`, `include "pave.deployment" . | replace "  revisionHistoryLimit: 5\n" "  revisionHistoryLimit: 5\n  progressDeadlineSeconds: 300\n"`)
		},
		check: func(t *testing.T, rep *report.Report) {
			rv := rep.Review
			if len(rv.Templates) != 1 || rv.Templates[0].Name != "web-service" || rv.Templates[0].From != "1.0.0" || rv.Templates[0].To != "1.1.0" {
				t.Fatalf("templates: %+v", rv.Templates)
			}
			users := rv.Templates[0].Services
			if !slices.Equal(users, []string{"payments/checkout", "storefront/catalog-api", "storefront/web"}) {
				t.Errorf("web-service users: %v", users)
			}
			for _, res := range rep.Results {
				if res.Change != review.ChangeChanged || !slices.Contains(users, res.Service) {
					t.Errorf("%s (%s): %s, want only web-service users, changed", res.Service, res.Environment, res.Change)
				}
			}
			if len(rep.Results) != 6 {
				t.Errorf("%d impacted pairs, want 6", len(rep.Results))
			}
			wantPass(t, rep)
		},
	},
	{
		name: "library-change",
		edit: func(r *reviewtest.Repo) {
			r.Replace("templates/_lib/Chart.yaml", "version: 1.0.0", "version: 1.1.0")
			r.Replace("templates/_lib/templates/_helpers.tpl", "  terminationGracePeriodSeconds: 30\n", "  terminationGracePeriodSeconds: 45\n")
		},
		check: func(t *testing.T, rep *report.Report) {
			rv := rep.Review
			if len(rv.Templates) != 0 {
				t.Errorf("templates: %+v, want none (only the library changed)", rv.Templates)
			}
			all := []string{"data/events-consumer", "data/report-builder", "payments/checkout", "payments/ledger-worker", "payments/settlement", "storefront/catalog-api", "storefront/search-indexer", "storefront/web"}
			if len(rv.Libraries) != 1 {
				t.Fatalf("libraries: %+v", rv.Libraries)
			}
			l := rv.Libraries[0]
			if l.Name != "_lib" || l.From != "1.0.0" || l.To != "1.1.0" || !slices.Equal(l.Templates, []string{"cron-job", "web-service", "worker"}) || !slices.Equal(l.Services, all) || l.Pairs != 16 {
				t.Errorf("library change: %+v", l)
			}
			if len(rep.Results) != 16 {
				t.Errorf("%d impacted pairs, want every service × 2 environments", len(rep.Results))
			}
			for _, res := range rep.Results {
				if res.Change != review.ChangeChanged {
					t.Errorf("%s (%s): %s, want changed", res.Service, res.Environment, res.Change)
				}
			}
			var text bytes.Buffer
			if err := (report.Text{}).Format(&text, rep); err != nil {
				t.Fatal(err)
			}
			if want := "library _lib changed (1.0.0 → 1.1.0): used by templates cron-job, web-service, worker → 8 services × 2 environments\n"; !strings.Contains(text.String(), want) {
				t.Errorf("text report lacks %q:\n%s", want, text.String())
			}
			wantPass(t, rep)
		},
	},
	{
		name: "new-policy",
		edit: func(r *reviewtest.Repo) {
			r.Write("policies/ingress_tls_required.rego", ingressTLSPolicy)
		},
		check: func(t *testing.T, rep *report.Report) {
			s := rep.ReviewSummary()
			if s.NewDenials != 4 || s.Changed+s.Added+s.Removed != 0 || s.Unchanged != 16 {
				t.Errorf("summary %+v: want 4 new denials (2 services × 2 environments) and 16 unchanged pairs", s)
			}
			res := result(t, rep, "storefront/web", "prod")
			v := find(res.Violations, "ingress-tls-required")
			if v == nil || v.State != review.StateNew || v.Line == 0 || !strings.HasSuffix(v.File, "services/storefront/web/service.yaml") {
				t.Errorf("storefront/web (prod) violation: %+v", v)
			}
			if !rep.Failed() {
				t.Error("new denials must fail the review")
			}
		},
	},
	{
		name: "new-policy-fail-on-new-existing-only",
		edit: func(r *reviewtest.Repo) {
			// The base already has the policy; the head only changes an
			// image of a service that keeps failing it.
			r.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.4.3")
		},
		failOn: review.FailOnNew,
		check: func(t *testing.T, rep *report.Report) {
			s := rep.ReviewSummary()
			if s.NewDenials != 0 || s.ExistingDenials != 2 {
				t.Errorf("summary %+v: want the 2 ingress denials of checkout, existing", s)
			}
			if rep.Failed() {
				t.Error("--fail-on new must pass with existing denials only")
			}
		},
	},
	{
		name: "exception-added",
		edit: func(r *reviewtest.Repo) {
			r.Write("exceptions/storefront/web.yaml", webException("security@example.com", "2026-12-31"))
		},
		check: func(t *testing.T, rep *report.Report) {
			res := result(t, rep, "storefront/web", "prod")
			v := find(res.Violations, "ingress-tls-required")
			if v == nil || !v.Excepted || v.State != review.StateExisting {
				t.Errorf("storefront/web (prod): %+v, want the existing denial excepted", v)
			}
			if res.Change != review.ChangeUnchanged {
				t.Errorf("an exception changes no object: %s", res.Change)
			}
			if rep.ReviewSummary().ExistingDenials != 0 {
				t.Errorf("no denial is left for storefront/web: %+v", rep.ReviewSummary())
			}
			if len(rep.Exceptions) != 1 || rep.Exceptions[0].Change != review.ChangeAdded || rep.Exceptions[0].Service != "storefront/web" ||
				rep.Exceptions[0].File != "exceptions/storefront/web.yaml" || rep.Exceptions[0].Line != 5 {
				t.Errorf("exceptions %+v, want the added one", rep.Exceptions)
			}
			wantExceptionFirst(t, rep, "exceptions/storefront/web.yaml")
		},
	},
	{
		// The developer approves their own exception: refused at the line,
		// and still the first thing the review shows.
		name: "exception-self-approved",
		edit: func(r *reviewtest.Repo) {
			r.Write("exceptions/storefront/web.yaml", webException("storefront-team@example.com", "2099-01-01"))
		},
		check: func(t *testing.T, rep *report.Report) {
			res := result(t, rep, "storefront/web", "")
			var got []string
			for _, e := range res.Errors {
				got = append(got, fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message))
			}
			want := []string{
				`exceptions/storefront/web.yaml:8: exceptions[0].approvedBy: "storefront-team@example.com" owns team storefront; an exception is approved by someone outside the team that needs it (pave.yaml exceptions.approvers: @example/platform-team, security@example.com)`,
				"exceptions/storefront/web.yaml:9: exceptions[0].expires: 2099-01-01 is more than 365d away (pave.yaml exceptions.maxLifetime); the latest expiry allowed today is 2027-06-01",
			}
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !rep.Failed() {
				t.Error("a self-approved exception fails the review")
			}
			for _, env := range []string{"staging", "prod"} {
				for _, r := range rep.Results {
					if r.Service == "storefront/web" && r.Environment == env {
						t.Errorf("storefront/web (%s) is evaluated with an invalid exception: %+v", env, r)
					}
				}
			}
			wantExceptionFirst(t, rep, "exceptions/storefront/web.yaml")
		},
	},
	{
		// One pull request adds a registry to pave.yaml, deletes a policy
		// and adds a service change that needs both: it is judged by the
		// base's rules too, and fails.
		name: "platform-weakened",
		edit: func(r *reviewtest.Repo) {
			r.Replace("pave.yaml", "registries:\n  - registry.example.com\n", "registries:\n  - registry.example.com\n  - quay.example.net\n")
			r.Remove("policies/no_privileged.rego")
			r.Remove("policies/no_privileged_test.rego")
			r.Replace("services/payments/checkout/service.yaml", "registry.example.com/payments/checkout:1.4.2", "quay.example.net/payments/checkout:1.4.2")
			r.Replace("services/payments/checkout/service.yaml", "  environments:\n", "  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /spec/template/spec/containers/0/securityContext/privileged, value: true}\n  environments:\n")
		},
		failOn: review.FailOnNew,
		check: func(t *testing.T, rep *report.Report) {
			if !rep.Failed() {
				t.Fatal("a change that weakens the rules it needs must fail, even with --fail-on new")
			}
			for _, env := range []string{"staging", "prod"} {
				res := result(t, rep, "payments/checkout", env)
				for _, id := range []string{"allowed-registries", "no-privileged"} {
					v := find(res.Violations, id)
					if v == nil || v.State != review.StateLetThrough || !v.Blocking() {
						t.Errorf("payments/checkout (%s): %s = %+v, want a let-through denial", env, id, v)
					}
				}
				if res.Status != policy.StatusFail {
					t.Errorf("payments/checkout (%s): status %s", env, res.Status)
				}
			}
			// Services the change does not edit are not judged by the base.
			for _, res := range rep.Results {
				if res.Service == "payments/checkout" {
					continue
				}
				for _, v := range res.Violations {
					if v.State == review.StateLetThrough {
						t.Errorf("%s (%s): %s let through, but the change does not edit it", res.Service, res.Environment, v.Policy)
					}
				}
			}
			rc := rep.Review.Rules
			if rc == nil || len(rc.Deleted) != 1 || rc.Deleted[0].ID != "no-privileged" || !strings.HasSuffix(rc.Deleted[0].File, "policies/no_privileged.rego") {
				t.Fatalf("rules change %+v: want no-privileged deleted", rc)
			}
			if !slices.Equal(rc.JudgedByBase, []string{"payments/checkout"}) {
				t.Errorf("judged by base: %v", rc.JudgedByBase)
			}
			if !strings.Contains(rep.Review.ConfigDiff, "+  - quay.example.net") {
				t.Errorf("pave.yaml diff:\n%s", rep.Review.ConfigDiff)
			}
			if s := rep.ReviewSummary(); s.LetThroughDenials < 4 {
				t.Errorf("summary %+v: want at least 4 let-through denials", s)
			}
		},
	},
	{
		// The base has a policy that cannot run on the edited service; the
		// head deletes it. The service cannot be judged by the base's
		// rules, and that fails the review instead of passing unseen.
		name: "base-rules-error",
		edit: func(r *reviewtest.Repo) {
			r.Remove("policies/one_kind.rego")
			r.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.4.3")
		},
		base: func(r *reviewtest.Repo) {
			// A complete rule with more than one value is an error when
			// it is evaluated, not when it compiles.
			r.Write("policies/one_kind.rego", "package pave.policies.one_kind\n\nkind := o.kind if {\n\tsome o in input.objects\n}\n\ndeny contains \"never\" if kind == \"Never\"\n")
		},
		check: func(t *testing.T, rep *report.Report) {
			res := result(t, rep, "payments/checkout", "prod")
			if res.Status != policy.StatusError || len(res.Errors) == 0 || !strings.HasPrefix(res.Errors[0].Message, "the base's rules: ") {
				t.Fatalf("payments/checkout (prod): status %s, errors %+v; want an error from the base's rules", res.Status, res.Errors)
			}
			if !rep.Failed() {
				t.Error("a service the base's rules cannot judge must fail the review")
			}
		},
	},
	{
		// Deleting a policy alone: nothing fails, and the comment says
		// so first.
		name: "policy-deleted",
		edit: func(r *reviewtest.Repo) {
			r.Remove("policies/no_privileged.rego")
			r.Remove("policies/no_privileged_test.rego")
		},
		check: func(t *testing.T, rep *report.Report) {
			rc := rep.Review.Rules
			if rc == nil || len(rc.Deleted) != 1 || rc.Deleted[0].ID != "no-privileged" {
				t.Fatalf("rules change %+v: want no-privileged deleted", rc)
			}
			var md bytes.Buffer
			if err := (report.Markdown{}).Format(&md, rep); err != nil {
				t.Fatal(err)
			}
			if first := strings.SplitN(md.String(), "\n", 3)[1]; !strings.Contains(first, "weakens the platform's rules") {
				t.Errorf("verdict line %q must say the rules are weakened", first)
			}
		},
	},
	{
		// A policy that only warns from now on, and a service change that
		// relies on it in the same pull request.
		name: "policy-weakened",
		edit: func(r *reviewtest.Repo) {
			r.Replace("policies/no_privileged.rego", "deny contains", "warn contains")
			r.Replace("services/payments/checkout/service.yaml", "  environments:\n", "  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /spec/template/spec/containers/0/securityContext/privileged, value: true}\n  environments:\n")
		},
		check: func(t *testing.T, rep *report.Report) {
			rc := rep.Review.Rules
			if rc == nil || len(rc.Weakened) != 1 || rc.Weakened[0].ID != "no-privileged" || !strings.Contains(rc.Weakened[0].Why, "only warns") {
				t.Fatalf("rules change %+v: want no-privileged weakened to a warning", rc)
			}
			v := find(result(t, rep, "payments/checkout", "prod").Violations, "no-privileged")
			if v == nil {
				t.Fatal("payments/checkout (prod): no no-privileged result")
			}
			if !rep.Failed() {
				t.Error("the base's rules deny the privileged container: the review must fail")
			}
		},
	},
	{
		name: "service-deleted",
		edit: func(r *reviewtest.Repo) {
			r.Remove("services/data/events-consumer")
		},
		check: func(t *testing.T, rep *report.Report) {
			wantPairs(t, rep, map[string]string{"data/events-consumer (staging)": review.ChangeRemoved, "data/events-consumer (prod)": review.ChangeRemoved})
			for _, res := range rep.Results {
				for _, c := range res.Diff {
					if c.Action != "removed" {
						t.Errorf("%s: %s %s", res.Service, c.Action, c.Label())
					}
				}
				if len(res.Diff) == 0 {
					t.Errorf("%s (%s): removed with no objects", res.Service, res.Environment)
				}
			}
		},
	},
	{
		name: "invalid-service",
		edit: func(r *reviewtest.Repo) {
			r.Replace("services/payments/settlement/service.yaml", "spec:\n", "spec:\n  replicaz: 3\n")
			r.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.5.0")
		},
		check: func(t *testing.T, rep *report.Report) {
			res := result(t, rep, "payments/settlement", "")
			if len(res.Errors) == 0 || res.Errors[0].Line == 0 || !strings.Contains(res.Errors[0].Message, "replicaz") {
				t.Errorf("payments/settlement: %+v, want an error at the replicaz line", res.Errors)
			}
			if r := result(t, rep, "payments/checkout", "prod"); r.Change != review.ChangeChanged {
				t.Errorf("payments/checkout (prod) is still diffed: %s", r.Change)
			}
			if !rep.Failed() {
				t.Error("an invalid service fails the review")
			}
		},
	},
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			repo := reviewtest.New(t, exampleCatalog)
			if strings.HasPrefix(sc.name, "new-policy-fail-on-new") || strings.HasPrefix(sc.name, "exception-") {
				repo.Write("policies/ingress_tls_required.rego", ingressTLSPolicy)
				repo.Commit("ingress TLS policy")
			}
			if sc.base != nil {
				sc.base(repo)
				repo.Commit("base")
			}
			sc.edit(repo)
			repo.Commit(sc.name)
			rep := run(t, repo, "HEAD~1", "HEAD", sc.failOn)
			sc.check(t, rep)
			golden(t, sc.name, rep)
		})
	}
}

// TestWorkTreeHead reviews uncommitted edits: the head is the catalog
// folder on disk, here inside a repository subfolder.
func TestWorkTreeHead(t *testing.T) {
	repo := reviewtest.NewIn(t, exampleCatalog, "platform/catalog")
	repo.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.5.0")
	r, err := review.Open(repo.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prefix != "platform/catalog" {
		t.Errorf("prefix %q", r.Prefix)
	}
	base, err := r.Revision("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.WorkTree()
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	changed, err := review.Changed(base, head)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []string{"services/payments/checkout/service.yaml"}) {
		t.Errorf("changed %v", changed)
	}
	rv, err := review.Run(context.Background(), base, head, review.Options{Changed: changed, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	rep := report.FromReview(rv)
	wantPairs(t, rep, map[string]string{"payments/checkout (staging)": review.ChangeChanged, "payments/checkout (prod)": review.ChangeChanged})
	if rep.Review.Head.Ref != review.WorkTree || rep.Review.Head.Commit != "" {
		t.Errorf("head %+v", rep.Review.Head)
	}
}

// TestCommitsInSubfolder diffs two commits whose catalog is a subfolder:
// changes elsewhere in the repository impact nothing.
func TestCommitsInSubfolder(t *testing.T) {
	repo := reviewtest.NewIn(t, exampleCatalog, "platform/catalog")
	if err := os.WriteFile(filepath.Join(repo.Dir, "README.md"), []byte("other things\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo.Replace("services/storefront/web/service.yaml", "replicas: 3", "replicas: 4")
	repo.Commit("head")
	r, err := review.Open(repo.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := r.Revision("HEAD~1")
	head, _ := r.Revision("HEAD")
	changed, err := review.Changed(base, head)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []string{"services/storefront/web/service.yaml"}) {
		t.Errorf("changed %v", changed)
	}
}

func TestUnknownRevision(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	r, err := review.Open(repo.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Revision("origin/main")
	if err == nil || !strings.Contains(err.Error(), "fetch-depth") {
		t.Errorf("err = %v, want a hint to fetch the base", err)
	}
}

// TestInvalidConfigAtHead: a broken pave.yaml is reported at its line and
// nothing else is reviewed.
func TestInvalidConfigAtHead(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Replace("pave.yaml", "  small:\n", "  small:\n    bogus: 1\n")
	repo.Commit("break pave.yaml")
	rep := run(t, repo, "HEAD~1", "HEAD", "")
	if len(rep.Errors) == 0 || rep.Errors[0].File != "pave.yaml" || rep.Errors[0].Line == 0 || !rep.Failed() {
		t.Errorf("errors %+v", rep.Errors)
	}
}

// TestPolicyCompileErrorAtHead fails closed and still shows the diff.
func TestPolicyCompileErrorAtHead(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Write("policies/broken.rego", "package pave.policies.broken\n\ndeny contains v if {\n")
	repo.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.5.0")
	repo.Commit("broken policy")
	rep := run(t, repo, "HEAD~1", "HEAD", "")
	if len(rep.Errors) == 0 || !strings.Contains(rep.Errors[0].Message, "does not compile") || !rep.Failed() {
		t.Errorf("errors %+v", rep.Errors)
	}
	if res := result(t, rep, "payments/checkout", "prod"); res.Change != review.ChangeChanged || len(res.Diff) == 0 {
		t.Errorf("payments/checkout (prod): %s %v", res.Change, res.Diff)
	}
}

// TestPolicyCompileErrorAtBase: the head mends the base's broken policy;
// the base is still rendered for the diff and every head denial is new.
func TestPolicyCompileErrorAtBase(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Write("policies/broken.rego", "package pave.policies.broken\n\ndeny contains v if {\n")
	repo.Commit("broken policy")
	repo.Remove("policies/broken.rego")
	repo.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:latest")
	repo.Commit("mend the policy; checkout: latest")
	rep := run(t, repo, "HEAD~1", "HEAD", review.FailOnNew)
	res := result(t, rep, "payments/checkout", "prod")
	if res.Change != review.ChangeChanged || len(res.Diff) == 0 {
		t.Errorf("payments/checkout (prod): %s %v", res.Change, res.Diff)
	}
	if v := find(res.Violations, "image-tag-pinned"); v == nil || v.State != review.StateNew {
		t.Errorf("image-tag-pinned: %+v, want new", v)
	}
	if s := rep.ReviewSummary(); s.ExistingDenials != 0 || s.FixedDenials != 0 || !rep.Failed() {
		t.Errorf("summary %+v, failed %v", s, rep.Failed())
	}
}

// webException is exceptions/storefront/web.yaml: an exception to the
// ingress TLS policy, approved by approver until expires.
func webException(approver, expires string) string {
	return fmt.Sprintf(`apiVersion: pave.dev/v1alpha1
kind: Exceptions
metadata: {team: storefront, service: web}
exceptions:
  - policy: ingress-tls-required
    reason: TLS terminates at the CDN until the certificate migration (PLAT-123)
    environments: [staging, prod]
    approvedBy: %s
    expires: %s
`, approver, expires)
}

// wantExceptionFirst: every format of the review starts with the
// exception the pull request adds, before the verdict's details.
func wantExceptionFirst(t *testing.T, rep *report.Report, file string) {
	t.Helper()
	for _, format := range report.Formats() {
		f, _ := report.Get(format)
		var b bytes.Buffer
		if err := f.Format(&b, rep); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		var first string
		switch format {
		case "text":
			first, _, _ = strings.Cut(out, "\n")
			if !strings.HasPrefix(first, "⚠ EXCEPTIONS: 1 new exception — needs platform approval") {
				t.Errorf("text starts with %q", first)
			}
		case "markdown":
			lines := strings.SplitN(out, "\n", 5)
			if !strings.HasPrefix(lines[1], "## ⚠️ ") || !strings.Contains(lines[1], "1 new exception — needs platform approval") || lines[3] != "### ⚠️ Exceptions" || strings.Contains(lines[1], "✅") {
				t.Errorf("markdown starts with:\n%s", strings.Join(lines[:4], "\n"))
			}
		case "json":
			if !strings.HasPrefix(out, "{\n  \"exceptions\": [") {
				t.Errorf("json starts with %.40q", out)
			}
		case "sarif":
			if i, j := strings.Index(out, `"ruleId"`), strings.Index(out, `"ruleId": "pave-exception"`); i < 0 || i != j {
				t.Errorf("the first SARIF result is not the exception")
			}
		case "junit":
			if i := strings.Index(out, "<testsuite "); i < 0 || !strings.HasPrefix(out[i:], `<testsuite name="exceptions"`) {
				t.Errorf("the first JUnit suite is not the exceptions")
			}
		case "github":
			first, _, _ = strings.Cut(out, "\n")
			if !strings.HasPrefix(first, "::warning file="+file+",") {
				t.Errorf("github starts with %q", first)
			}
		}
	}
}

func run(t *testing.T, repo *reviewtest.Repo, baseRef, headRef, failOn string) *report.Report {
	t.Helper()
	r, err := review.Open(repo.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	base, err := r.Revision(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Revision(headRef)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := review.Changed(base, head)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := review.Run(context.Background(), base, head, review.Options{Changed: changed, FailOn: failOn, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return report.FromReview(rv)
}

func wantPairs(t *testing.T, rep *report.Report, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, res := range rep.Results {
		if res.Environment != "" {
			got[res.Service+" ("+res.Environment+")"] = res.Change
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s is impacted (%s): unexpected", k, got[k])
		}
	}
}

func wantPass(t *testing.T, rep *report.Report) {
	t.Helper()
	if rep.Failed() {
		var b bytes.Buffer
		_ = report.Text{}.Format(&b, rep)
		t.Errorf("review fails:\n%s", b.String())
	}
}

func result(t *testing.T, rep *report.Report, service, env string) *report.Result {
	t.Helper()
	for _, res := range rep.Results {
		if res.Service == service && res.Environment == env {
			return res
		}
	}
	t.Fatalf("no result for %s (%s)", service, env)
	return nil
}

func find(vs []report.Violation, id string) *report.Violation {
	for i := range vs {
		if vs[i].Policy == id {
			return &vs[i]
		}
	}
	return nil
}

// golden compares the markdown and JSON reports with
// testdata/golden/<name>.{md,json}; commit hashes are replaced by BASE
// and HEAD, which depend on the example catalog's content.
func golden(t *testing.T, name string, rep *report.Report) {
	t.Helper()
	for _, f := range []struct {
		ext       string
		formatter report.Formatter
	}{{"md", report.Markdown{Limit: report.CommentLimit}}, {"json", report.JSON{}}} {
		var b bytes.Buffer
		if err := f.formatter.Format(&b, rep); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		for label, commit := range map[string]string{"BASE": rep.Review.Base.Commit, "HEAD": rep.Review.Head.Commit} {
			if commit != "" {
				got = strings.ReplaceAll(got, commit, label)
				got = strings.ReplaceAll(got, commit[:12], label)
			}
		}
		file := filepath.Join("testdata", "golden", name+"."+f.ext)
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test ./review -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the golden file (go test ./review -update, then review the diff):\n%s", file, got)
		}
	}
}

// TestSecretValuesNeverShown: a template that renders a Secret, changed
// by the pull request; neither value appears in any report, while the
// review still says the Secret changed.
func TestSecretValuesNeverShown(t *testing.T) {
	const secret = `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Values.pave.service }}-webhook
stringData:
  token: %s
`
	repo := reviewtest.New(t, exampleCatalog)
	repo.Write("templates/web-service/templates/secret.yaml", strings.Replace(secret, "%s", "base-s3cret-value", 1))
	repo.Commit("web-service: webhook secret")
	repo.Write("templates/web-service/templates/secret.yaml", strings.Replace(secret, "%s", "head-s3cret-value", 1))
	repo.Commit("rotate the webhook secret")
	rep := run(t, repo, "HEAD~1", "HEAD", "")
	res := result(t, rep, "payments/checkout", "prod")
	var secretChange *review.ObjectChange
	for i, c := range res.Diff {
		if c.Kind == "Secret" {
			secretChange = &res.Diff[i]
		}
	}
	if secretChange == nil || !slices.Contains(secretChange.Fields, "stringData.token") || !strings.Contains(secretChange.Diff, "<redacted: changed>") {
		t.Fatalf("the Secret's change is not reported: %+v", res.Diff)
	}
	for _, f := range []report.Formatter{report.Text{}, report.JSON{}, report.Markdown{}, report.SARIF{}, report.JUnit{}, report.GitHub{}} {
		var b bytes.Buffer
		if err := f.Format(&b, rep); err != nil {
			t.Fatal(err)
		}
		for _, value := range []string{"s3cret-value", base64.StdEncoding.EncodeToString([]byte("base-s3cret-value")), base64.StdEncoding.EncodeToString([]byte("head-s3cret-value"))} {
			if strings.Contains(b.String(), value) {
				t.Errorf("%T shows a secret value (%s)", f, value)
			}
		}
	}
}
