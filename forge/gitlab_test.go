package forge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/forge"
	"github.com/pave-dev/pave/forge/forgetest"
)

const (
	glToken = "glpat-test"
	mr      = 12
)

// newGitLab starts a fake GitLab for group/catalog with merge request 12
// and a client for it.
func newGitLab(t *testing.T) (*forgetest.GitLab, *forge.GitLab) {
	t.Helper()
	srv := forgetest.NewGitLab(t, "group/catalog", glToken)
	srv.AddMergeRequest(mr)
	gl, err := forge.NewGitLab(forge.GitLabConfig{
		Token: glToken, APIURL: srv.URL(), ProjectID: "group/catalog", MergeRequestIID: mr,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, gl
}

func TestUpsertNoteCreatesThenUpdates(t *testing.T) {
	srv, gl := newGitLab(t)
	ctx := context.Background()
	first, err := gl.UpsertNote(ctx, marker, marker+"\nfirst")
	if err != nil {
		t.Fatal(err)
	}
	if first.Updated || first.URL != fmt.Sprintf("%s#note_%d", srv.MergeRequestURL(mr), first.ID) {
		t.Errorf("first = %+v", first)
	}
	second, err := gl.UpsertNote(ctx, marker, marker+"\nsecond")
	if err != nil {
		t.Fatal(err)
	}
	if !second.Updated || second.ID != first.ID {
		t.Errorf("second = %+v, want note %d updated", second, first.ID)
	}
	notes := srv.Notes(mr)
	if len(notes) != 1 || notes[0].Body != marker+"\nsecond" || notes[0].Author != forgetest.GitLabUser {
		t.Errorf("notes = %+v", notes)
	}
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "/api/v4/projects/") && !strings.HasPrefix(r.Path, "/api/v4/projects/group%2Fcatalog/merge_requests/12") {
			t.Errorf("request to %s", r.Path)
		}
	}
}

func TestUpsertNoteFindsMarkerOnALaterPage(t *testing.T) {
	srv, gl := newGitLab(t)
	oldest := srv.AddNote(mr, forgetest.GitLabUser, marker+"\nreview 1")
	for i := range 150 {
		srv.AddNote(mr, "reviewer", fmt.Sprintf("note %d", i))
	}
	newer := srv.AddNote(mr, forgetest.GitLabUser, marker+"\nreview 2")

	posted, err := gl.UpsertNote(context.Background(), marker, marker+"\nreview 3")
	if err != nil {
		t.Fatal(err)
	}
	if !posted.Updated || posted.ID != int64(oldest.ID) {
		t.Errorf("posted = %+v, want the oldest, %d, updated", posted, oldest.ID)
	}
	for _, n := range srv.Notes(mr) {
		if n.ID == newer.ID && n.Body != marker+"\nreview 2" {
			t.Errorf("newer marker note changed: %q", n.Body)
		}
		if n.ID == oldest.ID && n.Body != marker+"\nreview 3" {
			t.Errorf("oldest = %q", n.Body)
		}
	}
}

func TestUpsertNotePaginates(t *testing.T) {
	srv, gl := newGitLab(t)
	for i := range 250 {
		srv.AddNote(mr, "reviewer", fmt.Sprintf("note %d", i))
	}
	ours := srv.AddNote(mr, forgetest.GitLabUser, marker)
	posted, err := gl.UpsertNote(context.Background(), marker, marker+" v2")
	if err != nil {
		t.Fatal(err)
	}
	if posted.ID != int64(ours.ID) {
		t.Errorf("posted = %+v, want note %d", posted, ours.ID)
	}
	var pages []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/notes") {
			pages = append(pages, r.Query)
		}
	}
	if len(pages) != 3 || !strings.Contains(pages[2], "page=3") {
		t.Errorf("listed %q, want 3 pages", pages)
	}
}

func TestUpsertNoteLeavesOtherUsersNotes(t *testing.T) {
	srv, gl := newGitLab(t)
	theirs := srv.AddNote(mr, "old-bot", marker+"\nby an earlier token")
	posted, err := gl.UpsertNote(context.Background(), marker, marker+"\nnew")
	if err != nil {
		t.Fatal(err)
	}
	if posted.Updated || posted.ID == int64(theirs.ID) {
		t.Errorf("posted = %+v, want a new note", posted)
	}
	if n := len(srv.Notes(mr)); n != 2 {
		t.Errorf("%d notes, want 2", n)
	}
}

// A merge request's author can post pave's marker first; with a
// Maintainer's token pave could edit their note, and does not: it posts
// and then updates its own.
func TestUpsertNoteLeavesTheMarkerNoteOfTheAuthor(t *testing.T) {
	srv, gl := newGitLab(t)
	srv.SetMaintainer()
	forged := marker + "\n## ✅ all policies pass"
	theirs := srv.AddNote(mr, "mallory", forged)
	ctx := context.Background()
	first, err := gl.UpsertNote(ctx, marker, marker+"\nreview 1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := gl.UpsertNote(ctx, marker, marker+"\nreview 2")
	if err != nil {
		t.Fatal(err)
	}
	if first.Updated || first.ID == int64(theirs.ID) || !second.Updated || second.ID != first.ID {
		t.Errorf("posts %+v then %+v, want a note of pave's created then updated", first, second)
	}
	notes := srv.Notes(mr)
	if len(notes) != 2 || notes[0].Body != forged || !notes[0].UpdatedAt.Equal(theirs.UpdatedAt) || notes[1].Body != marker+"\nreview 2" {
		t.Errorf("notes = %+v", notes)
	}
}

func TestUpsertNoteNumericAndEncodedProjectIDs(t *testing.T) {
	for _, tc := range []struct{ server, config, path string }{
		{"4711", "4711", "/api/v4/projects/4711/"},
		{"group/sub/catalog", "group%2Fsub%2Fcatalog", "/api/v4/projects/group%2Fsub%2Fcatalog/"},
	} {
		t.Run(tc.config, func(t *testing.T) {
			srv := forgetest.NewGitLab(t, tc.server, glToken)
			srv.AddMergeRequest(3)
			gl, err := forge.NewGitLab(forge.GitLabConfig{Token: glToken, APIURL: srv.URL() + "/", ProjectID: tc.config, MergeRequestIID: 3}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := gl.UpsertNote(context.Background(), marker, marker); err != nil {
				t.Fatal(err)
			}
			last := srv.Requests()[len(srv.Requests())-1]
			if !strings.HasPrefix(last.Path, tc.path) {
				t.Errorf("posted to %s, want under %s", last.Path, tc.path)
			}
		})
	}
}

func TestUpsertNoteErrors(t *testing.T) {
	t.Run("wrong token", func(t *testing.T) {
		srv := forgetest.NewGitLab(t, "group/catalog", glToken)
		srv.AddMergeRequest(mr)
		gl, err := forge.NewGitLab(forge.GitLabConfig{Token: "nope", APIURL: srv.URL(), ProjectID: "group/catalog", MergeRequestIID: mr}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = gl.UpsertNote(context.Background(), marker, marker)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("err = %v, want 401", err)
		}
	})
	t.Run("unknown merge request", func(t *testing.T) {
		srv := forgetest.NewGitLab(t, "group/catalog", glToken)
		gl, err := forge.NewGitLab(forge.GitLabConfig{Token: glToken, APIURL: srv.URL(), ProjectID: "group/catalog", MergeRequestIID: 99}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = gl.UpsertNote(context.Background(), marker, marker)
		if err == nil || !strings.Contains(err.Error(), "group/catalog!99") || !strings.Contains(err.Error(), "404") {
			t.Errorf("err = %v, want a 404 naming group/catalog!99", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		srv, gl := newGitLab(t)
		_, err := gl.UpsertNote(context.Background(), marker, marker+strings.Repeat("x", forge.GitLabNoteMax))
		if !errors.Is(err, forge.ErrTooLarge) {
			t.Errorf("err = %v, want ErrTooLarge", err)
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests sent, want none", n)
		}
	})
	t.Run("server error fails fast", func(t *testing.T) {
		srv, gl := newGitLab(t)
		srv.Fail(http.StatusInternalServerError, "500 Internal Server Error")
		start := time.Now()
		_, err := gl.UpsertNote(context.Background(), marker, marker)
		if err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("err = %v, want 500", err)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1: no retries", n)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		srv, gl := newGitLab(t)
		srv.Fail(http.StatusForbidden, "403 Forbidden", http.MethodPost)
		_, err := gl.UpsertNote(context.Background(), marker, marker)
		if err == nil || !strings.Contains(err.Error(), "create note on group/catalog!12") || !strings.Contains(err.Error(), "CI_JOB_TOKEN") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestGitLabConfigFromEnv(t *testing.T) {
	cfg, err := forge.GitLabConfigFromEnv(env(map[string]string{
		"GITLAB_TOKEN":         "glpat-a",
		"PAVE_GITLAB_TOKEN":    "glpat-b",
		"CI_API_V4_URL":        "https://gitlab.example.com/api/v4",
		"CI_PROJECT_ID":        "4711",
		"CI_MERGE_REQUEST_IID": "12",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := forge.GitLabConfig{Token: "glpat-b", APIURL: "https://gitlab.example.com/api/v4", ProjectID: "4711", MergeRequestIID: 12}
	if cfg != want {
		t.Errorf("cfg = %+v, want %+v", cfg, want)
	}

	cfg, err = forge.GitLabConfigFromEnv(env(map[string]string{"GITLAB_TOKEN": "glpat-a", "CI_PROJECT_ID": "4711"}), 3)
	if err != nil {
		t.Fatal(err)
	}
	want = forge.GitLabConfig{Token: "glpat-a", APIURL: "https://gitlab.com/api/v4", ProjectID: "4711", MergeRequestIID: 3}
	if cfg != want {
		t.Errorf("cfg = %+v, want %+v", cfg, want)
	}
}

func TestGitLabConfigErrors(t *testing.T) {
	_, err := forge.GitLabConfigFromEnv(env(map[string]string{"CI_JOB_TOKEN": "job"}), 0)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"no GitLab token: set PAVE_GITLAB_TOKEN (or GITLAB_TOKEN)", "api scope", "CI_JOB_TOKEN cannot write merge request notes",
		"CI_PROJECT_ID is not set",
		"no merge request: CI_MERGE_REQUEST_IID is not set", "pass --mr N",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant %q in it", err, want)
		}
	}
	_, err = forge.GitLabConfigFromEnv(env(map[string]string{"GITLAB_TOKEN": "t", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": "x"}), 0)
	if err == nil || !strings.Contains(err.Error(), `CI_MERGE_REQUEST_IID "x"`) {
		t.Errorf("err = %v", err)
	}
}
