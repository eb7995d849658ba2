package forgetest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pave-dev/pave/forge/forgetest"
)

// call sends one request and returns the status, headers and body.
func call(t *testing.T, method, url string, header map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func annotations(n int) string {
	var as []string
	for i := range n {
		as = append(as, fmt.Sprintf(`{"path":"a.yaml","start_line":%d,"end_line":%d,"annotation_level":"warning","message":"m"}`, i+1, i+1))
	}
	return "[" + strings.Join(as, ",") + "]"
}

func TestGitHubRejects(t *testing.T) {
	s := forgetest.NewGitHub(t, "acme", "catalog", "tok")
	s.AddPullRequest(7, "abc")
	auth := map[string]string{"Authorization": "Bearer tok"}
	repo := s.URL() + "/repos/acme/catalog"
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		want               string
	}{
		{"no token", "GET", "/issues/7/comments", nil, "", 401, "Bad credentials"},
		{"wrong token", "GET", "/issues/7/comments", map[string]string{"Authorization": "Bearer nope"}, "", 401, "Bad credentials"},
		{"unknown PR", "GET", "/issues/8/comments", auth, "", 404, "Not Found"},
		{"unknown repo", "GET", "@/repos/acme/other/issues/7/comments", auth, "", 404, "Not Found"},
		{"empty comment", "POST", "/issues/7/comments", auth, `{"body":""}`, 422, "missing_field"},
		{"comment too long", "POST", "/issues/7/comments", auth, fmt.Sprintf(`{"body":%q}`, strings.Repeat("x", 65537)), 422, "maximum is 65536"},
		{"unknown comment", "PATCH", "/issues/comments/1", auth, `{"body":"x"}`, 404, "Not Found"},
		{"unknown commit", "POST", "/check-runs", auth, `{"name":"pave","head_sha":"def"}`, 422, "No commit found for SHA: def"},
		{"no name", "POST", "/check-runs", auth, `{"head_sha":"abc"}`, 422, `"field":"name"`},
		{"completed without conclusion", "POST", "/check-runs", auth, `{"name":"pave","head_sha":"abc","status":"completed"}`, 422, "conclusion"},
		{"output without summary", "POST", "/check-runs", auth, `{"name":"pave","head_sha":"abc","output":{"title":"t"}}`, 422, "output.summary"},
		{"51 annotations", "POST", "/check-runs", auth,
			`{"name":"pave","head_sha":"abc","conclusion":"failure","output":{"title":"t","summary":"s","annotations":` + annotations(51) + `}}`,
			422, "Only 50 annotations"},
		{"bad level", "POST", "/check-runs", auth,
			`{"name":"pave","head_sha":"abc","conclusion":"failure","output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":1,"annotation_level":"error","message":"m"}]}}`,
			422, "annotation_level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := repo + tc.path
			if p, ok := strings.CutPrefix(tc.path, "@"); ok { // outside the repository
				url = s.URL() + p
			}
			status, _, body := call(t, tc.method, url, tc.header, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want %d with %q", status, body, tc.status, tc.want)
			}
		})
	}
	if runs := s.CheckRuns(); len(runs) != 0 {
		t.Errorf("refused requests stored %d check runs", len(runs))
	}
}

func TestGitHubCheckRunAnnotationsAppend(t *testing.T) {
	s := forgetest.NewGitHub(t, "acme", "catalog", "tok")
	s.AddPullRequest(7, "abc")
	auth := map[string]string{"Authorization": "token tok"}
	status, _, body := call(t, "POST", s.URL()+"/repos/acme/catalog/check-runs", auth,
		`{"name":"pave","head_sha":"abc","status":"completed","conclusion":"success","output":{"title":"t","summary":"s","annotations":`+annotations(50)+`}}`)
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	var run struct {
		ID     int64 `json:"id"`
		Output struct {
			AnnotationsCount int `json:"annotations_count"`
		} `json:"output"`
		PullRequests []struct{ Number int } `json:"pull_requests"`
	}
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	if run.Output.AnnotationsCount != 50 || len(run.PullRequests) != 1 || run.PullRequests[0].Number != 7 {
		t.Errorf("run = %+v", run)
	}
	url := fmt.Sprintf("%s/repos/acme/catalog/check-runs/%d", s.URL(), run.ID)
	status, _, body = call(t, "PATCH", url, auth, `{"output":{"title":"t2","summary":"s2","annotations":`+annotations(5)+`}}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	got := s.CheckRuns()[0]
	if len(got.Annotations) != 55 || got.Title != "t2" || got.Conclusion != "success" {
		t.Errorf("run = %+v with %d annotations", got, len(got.Annotations))
	}
	status, h, body := call(t, "GET", url+"/annotations?per_page=20&page=3", auth, "")
	if status != 200 || strings.Count(body, `"path"`) != 15 || !strings.Contains(h.Get("Link"), `rel="prev"`) || strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("annotations page 3: %d, Link %q, %d annotations", status, h.Get("Link"), strings.Count(body, `"path"`))
	}
}

func TestGitHubCommentPagination(t *testing.T) {
	s := forgetest.NewGitHub(t, "acme", "catalog", "tok")
	s.AddPullRequest(7, "abc")
	for i := range 65 {
		s.AddComment(7, "someone", fmt.Sprintf("c%d", i))
	}
	auth := map[string]string{"Authorization": "Bearer tok"}
	status, h, body := call(t, "GET", s.URL()+"/api/v3/repos/acme/catalog/issues/7/comments", auth, "")
	if status != 200 || strings.Count(body, `"id"`) != 30+30 { // comment and user ids
		t.Errorf("first page: %d, %d ids", status, strings.Count(body, `"id"`))
	}
	link := h.Get("Link")
	if !strings.Contains(link, `page=2&per_page=30>; rel="next"`) || !strings.Contains(link, `page=3&per_page=30>; rel="last"`) {
		t.Errorf("Link = %q", link)
	}
	var comments []struct {
		ID   int64  `json:"id"`
		Body string `json:"body"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
		HTMLURL string `json:"html_url"`
	}
	_, h, body = call(t, "GET", s.URL()+"/repos/acme/catalog/issues/7/comments?per_page=50&page=2", auth, "")
	if err := json.Unmarshal([]byte(body), &comments); err != nil {
		t.Fatal(err)
	}
	if len(comments) != 15 || comments[0].Body != "c50" || comments[0].User.Login != "someone" || h.Get("Link") == "" {
		t.Errorf("page 2 of 50: %d comments, first %+v", len(comments), comments[0])
	}
}

func TestGitLabNotes(t *testing.T) {
	s := forgetest.NewGitLab(t, "group/catalog", "tok")
	s.AddMergeRequest(3)
	for i := range 45 {
		s.AddNote(3, "someone", fmt.Sprintf("n%d", i))
	}
	base := s.URL() + "/projects/group%2Fcatalog/merge_requests/3/notes"
	auth := map[string]string{"PRIVATE-TOKEN": "tok"}

	status, h, body := call(t, "GET", base, auth, "")
	var notes []struct {
		ID     int    `json:"id"`
		Body   string `json:"body"`
		Author struct {
			Username string `json:"username"`
		} `json:"author"`
	}
	if err := json.Unmarshal([]byte(body), &notes); err != nil {
		t.Fatal(err)
	}
	if status != 200 || len(notes) != 20 || notes[0].Body != "n44" {
		t.Errorf("default page: %d, %d notes, first %+v; want 20, newest first", status, len(notes), notes[0])
	}
	if h.Get("X-Total") != "45" || h.Get("X-Total-Pages") != "3" || h.Get("X-Next-Page") != "2" || h.Get("X-Page") != "1" {
		t.Errorf("headers %v", h)
	}
	_, h, body = call(t, "GET", base+"?sort=asc&per_page=20&page=3", auth, "")
	if err := json.Unmarshal([]byte(body), &notes); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 5 || notes[0].Body != "n40" || h.Get("X-Next-Page") != "" || h.Get("X-Prev-Page") != "2" {
		t.Errorf("last page ascending: %+v, headers %v", notes, h)
	}

	for _, tc := range []struct {
		name, method, url string
		header            map[string]string
		body              string
		status            int
		want              string
	}{
		{"no token", "GET", base, nil, "", 401, "401 Unauthorized"},
		{"unencoded project path", "GET", s.URL() + "/projects/group/catalog/merge_requests/3/notes", auth, "", 404, "404"},
		{"unknown project", "GET", s.URL() + "/projects/other/merge_requests/3/notes", auth, "", 404, "Project Not Found"},
		{"unknown MR", "GET", s.URL() + "/projects/group%2Fcatalog/merge_requests/4/notes", auth, "", 404, "404"},
		{"empty body", "POST", base, auth, `{}`, 400, "body is missing"},
		{"too long", "POST", base, auth, fmt.Sprintf(`{"body":%q}`, strings.Repeat("x", 1_000_001)), 400, "too long"},
		{"someone else's note", "PUT", fmt.Sprintf("%s/%d", base, notes[0].ID), auth, `{"body":"x"}`, 403, "403 Forbidden"},
		{"unknown note", "PUT", base + "/1", auth, `{"body":"x"}`, 404, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := call(t, tc.method, tc.url, tc.header, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want %d with %q", status, body, tc.status, tc.want)
			}
		})
	}

	status, _, body = call(t, "POST", base, map[string]string{"Authorization": "Bearer tok"}, `{"body":"mine"}`)
	var n struct{ ID int }
	if err := json.Unmarshal([]byte(body), &n); status != 201 || err != nil {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := call(t, "PUT", fmt.Sprintf("%s/%d", base, n.ID), auth, `{"body":"mine, edited"}`); status != 200 {
		t.Errorf("edit own note: %d %s", status, body)
	}
	got := s.Notes(3)
	if last := got[len(got)-1]; last.Body != "mine, edited" || last.Author != forgetest.GitLabUser {
		t.Errorf("last note = %+v", last)
	}
}
