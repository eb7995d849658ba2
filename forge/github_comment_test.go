package forge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pave-dev/pave/forge"
	"github.com/pave-dev/pave/forge/forgetest"
)

const (
	marker = "<!-- pave:review -->"
	token  = "ghs_test"
	pr     = 7
	head   = "0123456789abcdef0123456789abcdef01234567"
)

// newGitHub starts a fake GitHub with pull request 7 and a client for it.
func newGitHub(t *testing.T) (*forgetest.GitHub, *forge.GitHub) {
	t.Helper()
	srv := forgetest.NewGitHub(t, "acme", "catalog", token)
	srv.AddPullRequest(pr, head)
	gh, err := forge.NewGitHub(forge.GitHubConfig{
		Token: token, Repository: "acme/catalog", APIURL: srv.URL(), PR: pr, HeadSHA: head,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, gh
}

func TestUpsertCommentCreatesThenUpdates(t *testing.T) {
	srv, gh := newGitHub(t)
	ctx := context.Background()

	first, err := gh.UpsertComment(ctx, marker, marker+"\nfirst review")
	if err != nil {
		t.Fatal(err)
	}
	if first.Updated || first.ID == 0 {
		t.Errorf("first post = %+v, want a new comment", first)
	}
	wantURL := fmt.Sprintf("https://github.com/acme/catalog/pull/7#issuecomment-%d", first.ID)
	if first.URL != wantURL {
		t.Errorf("URL = %q, want %q", first.URL, wantURL)
	}

	second, err := gh.UpsertComment(ctx, marker, marker+"\nsecond review")
	if err != nil {
		t.Fatal(err)
	}
	if !second.Updated || second.ID != first.ID || second.URL != first.URL {
		t.Errorf("second post = %+v, want the first comment updated (%+v)", second, first)
	}

	comments := srv.Comments(pr)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1: %+v", len(comments), comments)
	}
	c := comments[0]
	if c.Body != marker+"\nsecond review" || c.User != forgetest.GitHubUser {
		t.Errorf("comment = %+v", c)
	}
	if !c.UpdatedAt.After(c.CreatedAt) {
		t.Errorf("updated_at %v not after created_at %v", c.UpdatedAt, c.CreatedAt)
	}
	var methods []string
	for _, r := range srv.Requests() {
		methods = append(methods, r.Method+" "+r.Path)
	}
	want := []string{
		"GET /repos/acme/catalog/issues/7/comments",
		"POST /repos/acme/catalog/issues/7/comments",
		"GET /repos/acme/catalog/issues/7/comments",
		// A comment holds the marker: whose? GET /user refuses the
		// installation token, GraphQL names its bot.
		"GET /user",
		"POST /graphql",
		fmt.Sprintf("PATCH /repos/acme/catalog/issues/comments/%d", first.ID),
	}
	if strings.Join(methods, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(methods, "\n"), strings.Join(want, "\n"))
	}
}

func TestUpsertCommentFindsMarkerOnALaterPage(t *testing.T) {
	srv, gh := newGitHub(t)
	for i := range 150 {
		srv.AddComment(pr, "reviewer", fmt.Sprintf("comment %d", i))
	}
	ours := srv.AddComment(pr, forgetest.GitHubUser, marker+"\nold review")
	srv.AddComment(pr, "reviewer", "after the review")

	posted, err := gh.UpsertComment(context.Background(), marker, marker+"\nnew review")
	if err != nil {
		t.Fatal(err)
	}
	if !posted.Updated || posted.ID != ours.ID {
		t.Errorf("posted = %+v, want comment %d updated", posted, ours.ID)
	}
	comments := srv.Comments(pr)
	if len(comments) != 152 {
		t.Errorf("%d comments, want 152", len(comments))
	}
	for _, c := range comments {
		if c.ID == ours.ID && c.Body != marker+"\nnew review" {
			t.Errorf("review comment = %q", c.Body)
		}
	}
	var pages []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/comments") {
			pages = append(pages, r.Query)
		}
	}
	if want := []string{"per_page=100", "page=2&per_page=100"}; strings.Join(pages, " ") != strings.Join(want, " ") {
		t.Errorf("listed pages %q, want %q", pages, want)
	}
}

func TestUpsertCommentUpdatesTheOldestMarkerComment(t *testing.T) {
	srv, gh := newGitHub(t)
	srv.AddComment(pr, "reviewer", "looks good")
	oldest := srv.AddComment(pr, forgetest.GitHubUser, marker+"\nreview 1")
	newer := srv.AddComment(pr, forgetest.GitHubUser, marker+"\nreview 2")

	posted, err := gh.UpsertComment(context.Background(), marker, marker+"\nreview 3")
	if err != nil {
		t.Fatal(err)
	}
	if posted.ID != oldest.ID || !posted.Updated {
		t.Errorf("posted = %+v, want the oldest, %d, updated", posted, oldest.ID)
	}
	for _, c := range srv.Comments(pr) {
		switch c.ID {
		case oldest.ID:
			if c.Body != marker+"\nreview 3" {
				t.Errorf("oldest = %q", c.Body)
			}
		case newer.ID:
			if c.Body != marker+"\nreview 2" {
				t.Errorf("newer marker comment changed: %q", c.Body)
			}
		}
	}
}

func TestUpsertCommentRefusesBeforeSending(t *testing.T) {
	srv, gh := newGitHub(t)
	tooLong := marker + strings.Repeat("é", forge.GitHubCommentMax)
	_, err := gh.UpsertComment(context.Background(), marker, tooLong)
	if !errors.Is(err, forge.ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	if err != nil && !strings.Contains(err.Error(), "65536") {
		t.Errorf("err = %v, want the limit named", err)
	}
	if _, err := gh.UpsertComment(context.Background(), marker, "no marker here"); err == nil {
		t.Error("a body without the marker was accepted")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}

	// The limit itself fits, in characters, not bytes.
	exact := marker + strings.Repeat("é", forge.GitHubCommentMax-len(marker))
	if _, err := gh.UpsertComment(context.Background(), marker, exact); err != nil {
		t.Errorf("a body of exactly %d characters: %v", forge.GitHubCommentMax, err)
	}
}

func TestUpsertCommentWrongToken(t *testing.T) {
	srv := forgetest.NewGitHub(t, "acme", "catalog", token)
	srv.AddPullRequest(pr, head)
	gh, err := forge.NewGitHub(forge.GitHubConfig{Token: "wrong", Repository: "acme/catalog", APIURL: srv.URL(), PR: pr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gh.UpsertComment(context.Background(), marker, marker)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "acme/catalog#7") {
		t.Errorf("err = %v, want a 401 naming acme/catalog#7", err)
	}
}

func TestUpsertCommentForbiddenHintsAtPermissions(t *testing.T) {
	srv := forgetest.NewGitHub(t, "acme", "catalog", token)
	srv.AddPullRequest(pr, head)
	gh, err := forge.NewGitHub(forge.GitHubConfig{
		Token: token, Repository: "acme/catalog", APIURL: srv.URL(), PR: pr, CommentAuthor: forgetest.GitHubUser,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours := srv.AddComment(pr, forgetest.GitHubUser, marker)
	// A read-only token, as on a pull request from a fork: listing works,
	// the edit is refused.
	srv.Fail(http.StatusForbidden, "Resource not accessible by integration", http.MethodPatch, http.MethodPost)
	_, err = gh.UpsertComment(context.Background(), marker, marker+" v2")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		fmt.Sprintf("update comment %d on acme/catalog#7: ", ours.ID),
		"403", "Resource not accessible by integration", "permissions: pull-requests: write",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q in it", err, want)
		}
	}
}

func TestUpsertCommentUnknownPullRequest(t *testing.T) {
	srv := forgetest.NewGitHub(t, "acme", "catalog", token)
	gh, err := forge.NewGitHub(forge.GitHubConfig{Token: token, Repository: "acme/catalog", APIURL: srv.URL(), PR: 99}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gh.UpsertComment(context.Background(), marker, marker)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "#99") {
		t.Errorf("err = %v, want a 404 naming #99", err)
	}
}

func TestGitHubEnterpriseURL(t *testing.T) {
	for _, suffix := range []string{"/api/v3", "/api/v3/"} {
		t.Run(suffix, func(t *testing.T) {
			srv := forgetest.NewGitHub(t, "acme", "catalog", token)
			srv.AddPullRequest(pr, head)
			gh, err := forge.NewGitHub(forge.GitHubConfig{
				Token: token, Repository: "acme/catalog", APIURL: srv.URL() + suffix, PR: pr,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := gh.UpsertComment(context.Background(), marker, marker); err != nil {
				t.Fatal(err)
			}
			for _, r := range srv.Requests() {
				if !strings.HasPrefix(r.Path, "/api/v3/repos/acme/catalog/") {
					t.Errorf("request to %s, want under /api/v3/", r.Path)
				}
			}
			if n := len(srv.Comments(pr)); n != 1 {
				t.Errorf("%d comments, want 1", n)
			}
		})
	}
}

// A pull request's author can post pave's marker before pave does, with
// a verdict of their own: pave leaves their comment alone and posts and
// then updates its own.
func TestUpsertCommentLeavesAnotherUsersMarkerComment(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tokenUser string // "" for the installation token of GitHubUser
		author    string // GitHubConfig.CommentAuthor
		apiPath   string // of GITHUB_API_URL
		lookups   []string
	}{
		{name: "installation token", lookups: []string{"GET /user", "POST /graphql"}},
		{name: "enterprise server", apiPath: "/api/v3", lookups: []string{"GET /api/v3/user", "POST /api/graphql"}},
		{name: "personal access token", tokenUser: "pave-bot", lookups: []string{"GET /user"}},
		{name: "explicit author", author: forgetest.GitHubUser},
		{name: "explicit author any case", author: "GitHub-Actions[bot]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := forgetest.NewGitHub(t, "acme", "catalog", token)
			srv.AddPullRequest(pr, head)
			if tc.tokenUser != "" {
				srv.SetTokenUser(tc.tokenUser)
			}
			gh, err := forge.NewGitHub(forge.GitHubConfig{Token: token, Repository: "acme/catalog", APIURL: srv.URL() + tc.apiPath, PR: pr, CommentAuthor: tc.author}, nil)
			if err != nil {
				t.Fatal(err)
			}
			forged := marker + "\n## ✅ all policies pass"
			theirs := srv.AddComment(pr, "mallory", forged)
			// A bot's comment is not pave's either when pave is a user.
			other := srv.AddComment(pr, "renovate[bot]", marker+"\nby another bot")
			ctx := context.Background()

			first, err := gh.UpsertComment(ctx, marker, marker+"\nreview 1")
			if err != nil {
				t.Fatal(err)
			}
			if first.Updated || first.ID == theirs.ID || first.ID == other.ID {
				t.Errorf("first post = %+v, want a new comment", first)
			}
			second, err := gh.UpsertComment(ctx, marker, marker+"\nreview 2")
			if err != nil {
				t.Fatal(err)
			}
			if !second.Updated || second.ID != first.ID {
				t.Errorf("second post = %+v, want comment %d updated", second, first.ID)
			}
			comments := srv.Comments(pr)
			if len(comments) != 3 {
				t.Fatalf("%d comments, want 3: %+v", len(comments), comments)
			}
			if c := comments[0]; c.ID != theirs.ID || c.Body != forged || !c.UpdatedAt.Equal(theirs.UpdatedAt) {
				t.Errorf("mallory's comment was touched: %+v", c)
			}
			if c := comments[1]; c.Body != other.Body {
				t.Errorf("the other bot's comment was touched: %+v", c)
			}
			if c := comments[2]; c.Body != marker+"\nreview 2" {
				t.Errorf("pave's comment = %+v", c)
			}
			var lookups []string
			for _, r := range srv.Requests() {
				if !strings.Contains(r.Path, "/repos/") {
					lookups = append(lookups, r.Method+" "+r.Path)
				}
			}
			// The login is looked up once per client.
			if strings.Join(lookups, ", ") != strings.Join(tc.lookups, ", ") {
				t.Errorf("identity requests %q, want %q", lookups, tc.lookups)
			}
		})
	}
}

func TestUpsertCommentNeedsPavesLogin(t *testing.T) {
	srv, gh := newGitHub(t)
	srv.AddComment(pr, "mallory", marker)
	// Neither GET /user nor GraphQL tells the login: pave does not guess,
	// and says how to name it.
	srv.Fail(http.StatusBadGateway, "GraphQL is down", http.MethodPost)
	_, err := gh.UpsertComment(context.Background(), marker, marker+"\nreview")
	if err == nil || !strings.Contains(err.Error(), "--github-comment-author") || !strings.Contains(err.Error(), "502") {
		t.Errorf("err = %v, want a 502 and the flag to set", err)
	}
	if c := srv.Comments(pr); len(c) != 1 || c[0].Body != marker {
		t.Errorf("comments = %+v", c)
	}
}

func TestGitHubCommentAuthorMustBeALogin(t *testing.T) {
	for _, login := range []string{"pave bot", "a/b", "-x", "x[bot][bot]", strings.Repeat("a", 40)} {
		_, err := forge.NewGitHub(forge.GitHubConfig{Token: token, Repository: "acme/catalog", PR: pr, CommentAuthor: login}, nil)
		if err == nil || !strings.Contains(err.Error(), "not a GitHub login") {
			t.Errorf("%q: err = %v", login, err)
		}
	}
}
