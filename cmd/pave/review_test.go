package main

import (
	"encoding/json"
	"github.com/pave-dev/pave/report"
	"github.com/pave-dev/pave/review"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/forge/forgetest"
	"github.com/pave-dev/pave/review/reviewtest"
)

const ingressTLSPolicy = `# METADATA
# title: Ingress serves TLS
# custom:
#   id: ingress-tls-required
#   remediation: Set platform.tlsIssuer in pave.yaml.
package pave.policies.ingress_tls_required

deny contains v if {
	some obj in input.objects
	obj.kind == "Ingress"
	count(object.get(obj.spec, "tls", [])) == 0
	v := {"msg": sprintf("Ingress/%s serves plain HTTP", [obj.metadata.name]), "field": "ingress.host"}
}
`

// templateChange is a git copy of the example catalog whose last commit
// changes the web-service template.
func templateChange(t *testing.T) *reviewtest.Repo {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Replace("templates/web-service/Chart.yaml", "version: 1.0.0", "version: 1.1.0")
	// The pod template is the library's: web-service alone adds to it.
	repo.Replace("templates/web-service/templates/deployment.yaml", `include "pave.deployment" .`, `include "pave.deployment" . | replace "            readOnlyRootFilesystem: true\n" "            readOnlyRootFilesystem: true\n            runAsUser: 10001\n"`)
	repo.Commit("web-service 1.1.0: a fixed non-root user")
	return repo
}

func TestReviewTemplateChangeAcceptance(t *testing.T) {
	repo := templateChange(t)
	t.Chdir(repo.Dir)

	code, stdout, stderr := pave(t, "check", "--base", "HEAD~1", "--format", "markdown")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stdout, report.Marker+"\n## ✅ 3 services change, all policies pass") {
		t.Errorf("first lines:\n%s", firstLines(stdout, 3))
	}
	for _, want := range []string{
		"### Blast radius",
		"**template `web-service` 1.0.0 → 1.1.0**: 3 services × 2 environments",
		"3 services × 2 environments (staging, prod)",
		"securityContext",
		"`payments/checkout`, `storefront/catalog-api`, `storefront/web`",
		"<details><summary><code>storefront/web</code> (prod): changed",
		"```diff\n",
		"runAsUser: 10001\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}

	// The terminal report names objects that only take the new template
	// version instead of diffing them.
	code, stdout, stderr = pave(t, "check", "--base", "HEAD~1")
	if code != 0 || !strings.Contains(stdout, "restamped ServiceAccount payments-prod/checkout: only metadata.annotations[pave.dev/template] changes") || !strings.Contains(stdout, "+          runAsUser: 10001") {
		t.Errorf("text report, exit %d:\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = pave(t, "check", "--base", "HEAD~1", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var rep struct {
		Results []struct {
			Service, Environment, Change string
			Diff                         []struct{ Action, Kind, Diff string }
		}
		Review struct {
			Templates []struct {
				Name, From, To string
				Services       []string
			}
			Groups []struct {
				Shape string
				Pairs []string
			}
		}
		ReviewSummary struct{ Pairs, Changed, NewDenials int }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Review.Templates) != 1 || rep.Review.Templates[0].From != "1.0.0" || rep.Review.Templates[0].To != "1.1.0" || len(rep.Review.Templates[0].Services) != 3 {
		t.Errorf("templates %+v", rep.Review.Templates)
	}
	if rep.ReviewSummary.Pairs != 6 || rep.ReviewSummary.Changed != 6 {
		t.Errorf("summary %+v", rep.ReviewSummary)
	}
	var pairs []string
	for _, g := range rep.Review.Groups {
		pairs = append(pairs, g.Pairs...)
	}
	for _, svc := range []string{"payments/checkout", "storefront/catalog-api", "storefront/web"} {
		for _, env := range []string{"staging", "prod"} {
			if !contains(pairs, svc+" ("+env+")") {
				t.Errorf("blast radius lacks %s (%s): %v", svc, env, pairs)
			}
		}
	}
	for _, res := range rep.Results {
		if res.Change != "changed" || len(res.Diff) == 0 {
			t.Errorf("%s (%s): %s with %d objects", res.Service, res.Environment, res.Change, len(res.Diff))
		}
	}
}

func TestReviewNewServiceDenied(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Write("services/payments/refunds/service.yaml", "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: refunds\n  team: payments\nspec:\n  template: web-service\n  image: registry.example.com/payments/refunds:latest\n  port: 8080\n  replicas: 2\n  healthCheck:\n    path: /healthz\n")
	repo.Commit("add payments/refunds")

	code, stdout, stderr := pave(t, "check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, res := range rep.Results {
		for _, v := range res.Violations {
			if v.Policy == "image-tag-pinned" {
				found = true
				if v.State != review.StateNew || v.Line != 8 || v.File != filepath.Join(repo.Catalog, "services/payments/refunds/service.yaml") {
					t.Errorf("%s (%s): %+v, want new at service.yaml:8", res.Service, res.Environment, v)
				}
			}
		}
	}
	if !found {
		t.Errorf("no image-tag-pinned denial:\n%s", stdout)
	}
}

func TestReviewFailOnNew(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Write("policies/ingress_tls_required.rego", ingressTLSPolicy)
	repo.Commit("ingress TLS policy: checkout and web fail it")
	repo.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.4.3")
	repo.Commit("checkout 1.4.3")

	args := []string{"check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--head", "HEAD"}
	code, stdout, stderr := pave(t, append(args, "--fail-on", "new")...)
	if code != 0 {
		t.Errorf("--fail-on new with existing denials only: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "deny ingress-tls-required (existing)") {
		t.Errorf("the existing denial is still reported:\n%s", stdout)
	}
	if code, _, _ := pave(t, args...); code != 1 {
		t.Errorf("--fail-on any (default): exit %d, want 1", code)
	}
}

func TestReviewPostsOneGitHubComment(t *testing.T) {
	repo := templateChange(t)
	gh := forgetest.NewGitHub(t, "acme", "catalog", "gh-token")
	gh.AddPullRequest(7, "0123456789abcdef0123456789abcdef01234567")
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"pull_request": {"number": 7, "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_TOKEN", "gh-token")
	t.Setenv("GITHUB_REPOSITORY", "acme/catalog")
	t.Setenv("GITHUB_API_URL", gh.URL())
	t.Setenv("GITHUB_EVENT_PATH", event)

	reportFile := filepath.Join(t.TempDir(), "report.md")
	for run := range 2 {
		code, stdout, stderr := pave(t, "check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--format", "markdown", "--output-file", reportFile, "--github-comment", "--github-annotations")
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", run, code, stdout, stderr)
		}
		want := "created pull request comment"
		if run == 1 {
			want = "updated pull request comment"
		}
		if !strings.Contains(stderr, want) {
			t.Errorf("run %d: stderr %q lacks %q", run, stderr, want)
		}
	}
	comments := gh.Comments(7)
	if len(comments) != 1 {
		t.Fatalf("%d comments on the pull request, want one updated", len(comments))
	}
	full, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	if body := comments[0].Body; !strings.HasPrefix(body, report.Marker) || body != string(full) {
		t.Errorf("comment body differs from the report:\n%s", firstLines(body, 5))
	}
	runs := gh.CheckRuns()
	if len(runs) != 2 || runs[1].Conclusion != "success" || runs[1].HeadSHA != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("check runs: %+v", runs)
	}
}

// The author of a pull request can post pave's marker first, with a
// verdict of their own: pave posts and updates its own comment and leaves
// theirs alone, whether it finds its login from the token or is told it.
func TestReviewLeavesAForgedMarkerComment(t *testing.T) {
	repo := templateChange(t)
	for _, tc := range []struct {
		name string
		args []string
		// lookups are the requests that find pave's login, in both runs.
		lookups int
	}{
		{"token login", nil, 4},
		{"--github-comment-author", []string{"--github-comment-author", "github-actions[bot]"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := forgetest.NewGitHub(t, "acme", "catalog", "gh-token")
			gh.AddPullRequest(7, "0123456789abcdef0123456789abcdef01234567")
			forged := report.Marker + "\n## ✅ all policies pass"
			theirs := gh.AddComment(7, "mallory", forged)
			t.Setenv("GITHUB_TOKEN", "gh-token")
			t.Setenv("GITHUB_REPOSITORY", "acme/catalog")
			t.Setenv("GITHUB_API_URL", gh.URL())
			t.Setenv("GITHUB_EVENT_PATH", "")
			for run := range 2 {
				args := append([]string{"check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--pr", "7", "--github-comment", "--output-file", filepath.Join(t.TempDir(), "r.md")}, tc.args...)
				if code, stdout, stderr := pave(t, args...); code != 0 {
					t.Fatalf("run %d: exit %d\n%s%s", run, code, stdout, stderr)
				}
			}
			comments := gh.Comments(7)
			if len(comments) != 2 || comments[0].ID != theirs.ID || comments[0].Body != forged || !comments[0].UpdatedAt.Equal(theirs.UpdatedAt) {
				t.Fatalf("mallory's comment was not left as it was: %+v", comments)
			}
			if c := comments[1]; c.User != forgetest.GitHubUser || !strings.Contains(c.Body, "### Blast radius") || !c.UpdatedAt.After(c.CreatedAt) {
				t.Errorf("pave's comment = %+v, want it created then updated", c)
			}
			lookups := 0
			for _, r := range gh.Requests() {
				if !strings.Contains(r.Path, "/repos/") {
					lookups++
				}
			}
			if lookups != tc.lookups {
				t.Errorf("%d requests for pave's login, want %d", lookups, tc.lookups)
			}
		})
	}
}

func TestReviewAnnotationsOnServiceLines(t *testing.T) {
	repo := reviewtest.NewIn(t, exampleCatalog, "platform")
	repo.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:latest")
	repo.Commit("checkout: latest")
	gh := forgetest.NewGitHub(t, "acme", "catalog", "gh-token")
	gh.AddPullRequest(3, "89abcdef0123456789abcdef0123456789abcdef")
	t.Setenv("GITHUB_TOKEN", "gh-token")
	t.Setenv("GITHUB_REPOSITORY", "acme/catalog")
	t.Setenv("GITHUB_API_URL", gh.URL())
	t.Setenv("GITHUB_EVENT_PATH", "")
	t.Setenv("GITHUB_SHA", "89abcdef0123456789abcdef0123456789abcdef")

	out := filepath.Join(t.TempDir(), "r.txt")
	code, stdout, stderr := pave(t, "check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--pr", "3", "--github-annotations", "--github-comment", "--output-file", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	// The comment names repository paths, the local report paths to open.
	if c := gh.Comments(3); len(c) != 1 || !strings.Contains(c[0].Body, "at `platform/services/payments/checkout/service.yaml:8`") || strings.Contains(c[0].Body, repo.Dir) {
		t.Errorf("comment: %+v", c)
	}
	if local, _ := os.ReadFile(out); !strings.Contains(string(local), filepath.Join(repo.Catalog, "services/payments/checkout/service.yaml")+":8") {
		t.Errorf("local report:\n%s", local)
	}
	runs := gh.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "failure" {
		t.Fatalf("check runs: %+v", runs)
	}
	found := false
	for _, a := range runs[0].Annotations {
		if a.Path == "platform/services/payments/checkout/service.yaml" && a.StartLine == 8 && a.Level == "failure" && strings.Contains(a.Title, "image-tag-pinned") {
			found = true
		}
	}
	if !found {
		t.Errorf("no failure annotation at platform/services/payments/checkout/service.yaml:8: %+v", runs[0].Annotations)
	}
}

func TestReviewPostsOneGitLabNote(t *testing.T) {
	repo := templateChange(t)
	gl := forgetest.NewGitLab(t, "platform/catalog", "gl-token")
	gl.AddMergeRequest(12)
	t.Setenv("GITLAB_TOKEN", "gl-token")
	t.Setenv("CI_API_V4_URL", gl.URL())
	t.Setenv("CI_PROJECT_ID", "platform/catalog")
	t.Setenv("CI_MERGE_REQUEST_IID", "12")
	for run := range 2 {
		code, stdout, stderr := pave(t, "check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--gitlab-note", "--output-file", filepath.Join(t.TempDir(), "r.txt"))
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", run, code, stdout, stderr)
		}
	}
	notes := gl.Notes(12)
	if len(notes) != 1 || !strings.HasPrefix(notes[0].Body, report.Marker) || !strings.Contains(notes[0].Body, "### Blast radius") {
		t.Errorf("notes: %+v", notes)
	}
}

func TestReviewUsageErrors(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--github-comment"}, "--github-comment needs --base"},
		{[]string{"--github-comment-author", "pave-bot"}, "--github-comment-author needs --base"},
		{[]string{"--base", "HEAD", "--fail-on", "some"}, "--fail-on"},
		{[]string{"--base", "origin/main"}, "fetch-depth"},
		{[]string{"--base", "HEAD", "payments/checkout"}, "drop the TEAM/NAME"},
		{[]string{"--base", "HEAD", "--github-comment"}, "GITHUB_TOKEN"},
	} {
		t.Setenv("GITHUB_TOKEN", "")
		code, _, stderr := pave(t, append([]string{"check", "--catalog", repo.Catalog}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// TestCIExamplesUseRealFlags parses the pave commands of the example
// catalog's GitHub Actions workflow and GitLab CI job with the real flag
// set, so the examples cannot drift from the CLI.
func TestCIExamplesUseRealFlags(t *testing.T) {
	for _, file := range []string{".github/workflows/pave-check.yml", ".gitlab-ci.yml"} {
		data, err := os.ReadFile(filepath.Join(exampleCatalog, file))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var commands []string
		collectStrings(doc, func(s string) {
			if strings.HasPrefix(strings.TrimSpace(s), "pave check ") {
				commands = append(commands, s)
			}
		})
		if len(commands) != 1 {
			t.Fatalf("%s: %d pave check commands, want 1", file, len(commands))
		}
		fields := shellFields(commands[0])
		cmd := newCheckCmd()
		if err := cmd.Flags().Parse(fields[2:]); err != nil {
			t.Errorf("%s: %q: %v", file, commands[0], err)
		}
		for _, flag := range []string{"base", "output", "output-file"} {
			if f := cmd.Flags().Lookup(flag); f == nil || !f.Changed {
				t.Errorf("%s: the command does not set --%s", file, flag)
			}
		}
		posting := 0
		cmd.Flags().Visit(func(f *pflag.Flag) {
			if f.Name == "github-comment" || f.Name == "gitlab-note" {
				posting++
			}
		})
		if posting != 1 {
			t.Errorf("%s: the command posts %d times, want once", file, posting)
		}
	}
}

func collectStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			collectStrings(e, f)
		}
	case map[string]any:
		for _, e := range x {
			collectStrings(e, f)
		}
	}
}

var shellWord = regexp.MustCompile(`"[^"]*"|\S+`)

// shellFields splits a command line on blanks, keeping double-quoted
// words whole (and unquoted).
func shellFields(s string) []string {
	words := shellWord.FindAllString(s, -1)
	for i, w := range words {
		words[i] = strings.Trim(w, `"`)
	}
	return words
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestReviewEveryFormat: every format of pave check carries the review —
// the change, the diff and the state of the denials.
func TestReviewEveryFormat(t *testing.T) {
	repo := reviewtest.New(t, exampleCatalog)
	repo.Replace("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:latest")
	repo.Commit("checkout: latest")
	sch := sarifSchema(t)
	want := map[string][]string{
		"text":     {"CHANGED payments/checkout (prod): fail", "+        image: registry.example.com/payments/checkout:latest", "deny image-tag-pinned (new)"},
		"json":     {`"change": "changed"`, `"state": "new"`, `"diff": [`, `"reviewSummary"`},
		"markdown": {report.Marker, "## ❌ 2 new policy denials", "```diff", "🆕 **image-tag-pinned**"},
		"sarif":    {`"baselineState": "new"`, `"change": "changed"`},
		"junit":    {`<testcase name="change"`, "checkout:latest", "(new)"},
		"github":   {"::error file=", "title=image-tag-pinned%3A payments/checkout (prod) (new)", "2 pairs impacted: 0 added, 2 changed"},
	}
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := pave(t, "check", "--catalog", repo.Catalog, "--base", "HEAD~1", "--format", format)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
			}
			for _, w := range want[format] {
				if !strings.Contains(stdout, w) {
					t.Errorf("%s output lacks %q:\n%s", format, w, stdout)
				}
			}
			if format == "sarif" {
				validateSARIF(t, sch, stdout)
			}
		})
	}
}
