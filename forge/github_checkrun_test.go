package forge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pave-dev/pave/forge"
	"github.com/pave-dev/pave/forge/forgetest"
)

func TestCreateCheckRunWith120Annotations(t *testing.T) {
	srv, gh := newGitHub(t)
	levels := []string{forge.LevelFailure, forge.LevelWarning, forge.LevelNotice}
	var annotations []forge.Annotation
	for i := range 120 {
		annotations = append(annotations, forge.Annotation{
			Path:    fmt.Sprintf("services/svc-%d/service.yaml", i),
			Line:    i, // 0 first: the whole file
			Level:   levels[i%3],
			Title:   fmt.Sprintf("policy-%d", i),
			Message: fmt.Sprintf("finding %d", i),
		})
	}
	posted, err := gh.CreateCheckRun(context.Background(), forge.CheckRun{
		Name: "pave", Conclusion: "failure", Title: "3 new denials", Summary: "## pave\n3 new denials",
		Annotations: annotations,
	})
	if err != nil {
		t.Fatal(err)
	}

	runs := srv.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	run := runs[0]
	if posted.ID != run.ID || posted.URL != fmt.Sprintf("https://github.com/acme/catalog/runs/%d", run.ID) || posted.Updated {
		t.Errorf("posted = %+v for run %d", posted, run.ID)
	}
	if run.Name != "pave" || run.HeadSHA != head || run.Status != "completed" || run.Conclusion != "failure" ||
		run.Title != "3 new denials" || run.Summary != "## pave\n3 new denials" {
		t.Errorf("run = %+v", run)
	}
	if len(run.Annotations) != 120 {
		t.Fatalf("%d annotations, want 120", len(run.Annotations))
	}
	for i, a := range run.Annotations {
		want := forgetest.Annotation{
			Path: annotations[i].Path, StartLine: max(i, 1), EndLine: max(i, 1),
			Level: levels[i%3], Title: annotations[i].Title, Message: annotations[i].Message,
		}
		if a != want {
			t.Errorf("annotation %d = %+v, want %+v", i, a, want)
		}
	}

	// One create and two updates, none over GitHub's 50.
	var calls []string
	for _, r := range srv.Requests() {
		var body struct {
			Output struct {
				Annotations []json.RawMessage `json:"annotations"`
			} `json:"output"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, fmt.Sprintf("%s %s %d", r.Method, r.Path, len(body.Output.Annotations)))
	}
	want := []string{
		"POST /repos/acme/catalog/check-runs 50",
		fmt.Sprintf("PATCH /repos/acme/catalog/check-runs/%d 50", run.ID),
		fmt.Sprintf("PATCH /repos/acme/catalog/check-runs/%d 20", run.ID),
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestCreateCheckRunWithoutAnnotations(t *testing.T) {
	srv, gh := newGitHub(t)
	if _, err := gh.CreateCheckRun(context.Background(), forge.CheckRun{
		Name: "pave", Conclusion: "success", Title: "no denials", Summary: "all clear",
	}); err != nil {
		t.Fatal(err)
	}
	runs := srv.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "success" || len(runs[0].Annotations) != 0 {
		t.Errorf("runs = %+v", runs)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestCreateCheckRunTruncatesTheSummary(t *testing.T) {
	srv, gh := newGitHub(t)
	summary := strings.Repeat("ü", forge.GitHubSummaryMax+10)
	if _, err := gh.CreateCheckRun(context.Background(), forge.CheckRun{
		Name: "pave", Conclusion: "neutral", Title: "t", Summary: summary,
		Annotations: []forge.Annotation{{Path: "a.yaml", Level: forge.LevelNotice, Title: strings.Repeat("x", 300), Message: "m"}},
	}); err != nil {
		t.Fatal(err)
	}
	run := srv.CheckRuns()[0]
	if n := utf8.RuneCountInString(run.Summary); n != forge.GitHubSummaryMax {
		t.Errorf("summary has %d characters, want %d", n, forge.GitHubSummaryMax)
	}
	if !strings.Contains(run.Summary, "truncated") {
		t.Errorf("summary ends %q, want a truncation note", run.Summary[len(run.Summary)-120:])
	}
	if n := utf8.RuneCountInString(run.Annotations[0].Title); n != 255 {
		t.Errorf("annotation title has %d characters, want 255", n)
	}
}

func TestCreateCheckRunRefusesBeforeSending(t *testing.T) {
	ok := forge.CheckRun{Name: "pave", Conclusion: "failure", Title: "t", Summary: "s"}
	for name, tc := range map[string]struct {
		mutate func(*forge.CheckRun)
		want   string
	}{
		"conclusion": {func(r *forge.CheckRun) { r.Conclusion = "failed" }, `conclusion "failed"`},
		"level": {func(r *forge.CheckRun) {
			r.Annotations = []forge.Annotation{{Path: "a.yaml", Line: 3, Level: "error", Message: "m"}}
		}, `annotation 1 (a.yaml:3): level "error"`},
		"absolute path": {func(r *forge.CheckRun) {
			r.Annotations = []forge.Annotation{{Path: "/tmp/a.yaml", Level: "notice", Message: "m"}}
		}, "not a slash path relative"},
		"no message": {func(r *forge.CheckRun) {
			r.Annotations = []forge.Annotation{{Path: "a.yaml", Level: "notice"}}
		}, "no message"},
		"no summary": {func(r *forge.CheckRun) { r.Summary = "" }, "no summary"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, gh := newGitHub(t)
			run := ok
			tc.mutate(&run)
			_, err := gh.CreateCheckRun(context.Background(), run)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestCreateCheckRunNeedsAHeadCommit(t *testing.T) {
	srv := forgetest.NewGitHub(t, "acme", "catalog", token)
	gh, err := forge.NewGitHub(forge.GitHubConfig{Token: token, Repository: "acme/catalog", APIURL: srv.URL(), PR: pr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gh.CreateCheckRun(context.Background(), forge.CheckRun{Name: "pave", Conclusion: "success", Title: "t", Summary: "s"})
	if err == nil || !strings.Contains(err.Error(), "GITHUB_SHA") {
		t.Errorf("err = %v, want a hint at GITHUB_SHA", err)
	}
}

func TestCreateCheckRunForbiddenHintsAtChecksWrite(t *testing.T) {
	srv, gh := newGitHub(t)
	srv.Fail(http.StatusForbidden, "Resource not accessible by integration")
	_, err := gh.CreateCheckRun(context.Background(), forge.CheckRun{Name: "pave", Conclusion: "success", Title: "t", Summary: "s"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`create check run "pave" on acme/catalog@` + head, "403", "checks: write", "personal access token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q in it", err, want)
		}
	}
}

func TestCreateCheckRunFailedUpdateNamesTheRun(t *testing.T) {
	srv, gh := newGitHub(t)
	srv.Fail(http.StatusBadGateway, "Server Error", http.MethodPatch)
	annotations := make([]forge.Annotation, 60)
	for i := range annotations {
		annotations[i] = forge.Annotation{Path: "a.yaml", Line: i + 1, Level: forge.LevelWarning, Message: "m"}
	}
	posted, err := gh.CreateCheckRun(context.Background(), forge.CheckRun{
		Name: "pave", Conclusion: "failure", Title: "t", Summary: "s", Annotations: annotations,
	})
	if err == nil || !strings.Contains(err.Error(), "annotations 51-60 of 60") || !strings.Contains(err.Error(), "502") {
		t.Errorf("err = %v, want annotations 51-60 and 502 named", err)
	}
	if runs := srv.CheckRuns(); len(runs) != 1 || posted.ID != runs[0].ID || len(runs[0].Annotations) != 50 {
		t.Errorf("posted = %+v, runs = %d", posted, len(runs))
	}
}
