package forgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// GitHub's limits, as its API enforces them.
const (
	githubCommentMax         = 65536 // characters of an issue comment body
	githubOutputMax          = 65535 // characters of a check run summary or text
	githubAnnotationsMax     = 50    // annotations in one check run request
	githubAnnotationTitleMax = 255   // characters of an annotation title
	githubAnnotationBytesMax = 64 << 10
)

// GitHubUser is the login comments are posted as by default: the server's
// token is then an installation token, as the Actions GITHUB_TOKEN is,
// acting as this bot.
const GitHubUser = "github-actions[bot]"

// Comment is an issue comment stored on a pull request.
type Comment struct {
	ID        int64
	PR        int
	Body      string
	User      string
	HTMLURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Annotation is a check run annotation as GitHub stores it.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int
	Level     string
	Title     string
	Message   string
}

// CheckRun is a check run as GitHub stores it, with all its annotations.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	Title       string
	Summary     string
	Text        string
	CompletedAt time.Time
	Annotations []Annotation
}

// GitHub is an in-memory GitHub REST API for one repository: issue
// comments on its pull requests and check runs on their head commits.
//
// It answers as api.github.com does: every request needs the token
// ("Authorization: Bearer <token>" or "token <token>"), else 401; unknown
// repositories, pull requests, comments and check runs are 404; a comment
// body over 65536 characters, more than 50 annotations in one request, a
// check run on an unknown commit, or a missing required field are 422.
// Lists are paginated with per_page (default 30, at most 100), page and
// Link headers, comments in ascending id order. The same API is served
// under /api/v3 too, as GitHub Enterprise Server serves it, with GraphQL
// at /graphql (/api/graphql).
//
// The token acts as GitHubUser, an installation token: GET /user is 403
// "Resource not accessible by integration", and the GraphQL viewer is the
// bot. After SetTokenUser it is a user's token instead. Comments carry
// their author; any comment may be edited, as a token that may write to
// the repository may edit anyone's.
type GitHub struct {
	recorder
	srv         *httptest.Server
	owner, repo string
	token       string
	tokenUser   string // "" for the installation token of GitHubUser
	nextID      int64
	prs         map[int]string // number → head SHA
	comments    []*Comment
	runs        []*CheckRun
	statuses    []CommitStatus
}

// NewGitHub starts a server for owner/repo accepting token; it closes when
// the test ends.
func NewGitHub(t testing.TB, owner, repo, token string) *GitHub {
	t.Helper()
	s := &GitHub{owner: owner, repo: repo, token: token, nextID: 1000, prs: map[int]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the API base URL, as GITHUB_API_URL gives it on github.com.
func (s *GitHub) URL() string { return s.srv.URL }

// AddPullRequest opens pull request number whose head is headSHA; check
// runs may be created on headSHA.
func (s *GitHub) AddPullRequest(number int, headSHA string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prs[number] = headSHA
}

// SetTokenUser makes the server's token a personal access token of
// login: GET /user and the GraphQL viewer answer login, and comments are
// posted as login.
func (s *GitHub) SetTokenUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenUser = login
}

// poster is the login the token posts as; callers hold mu.
func (s *GitHub) poster() string {
	if s.tokenUser != "" {
		return s.tokenUser
	}
	return GitHubUser
}

// AddComment stores a comment by user on pull request pr, as if posted
// through the API, and returns it.
func (s *GitHub) AddComment(pr int, user, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addComment(pr, user, body)
}

// Comments returns the comments on pull request pr, oldest first.
func (s *GitHub) Comments(pr int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.PR == pr {
			out = append(out, *c)
		}
	}
	return out
}

// CheckRuns returns the check runs, oldest first, with all annotations.
func (s *GitHub) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CheckRun, 0, len(s.runs))
	for _, r := range s.runs {
		c := *r
		c.Annotations = slices.Clone(r.Annotations)
		out = append(out, c)
	}
	return out
}

func (s *GitHub) addComment(pr int, user, body string) *Comment {
	s.nextID++
	now := s.now()
	c := &Comment{
		ID: s.nextID, PR: pr, Body: body, User: user,
		HTMLURL:   fmt.Sprintf("https://github.com/%s/%s/pull/%d#issuecomment-%d", s.owner, s.repo, pr, s.nextID),
		CreatedAt: now, UpdatedAt: now,
	}
	s.comments = append(s.comments, c)
	return c
}

// githubError is GitHub's error body.
type githubError struct {
	Message          string             `json:"message"`
	Errors           []githubFieldError `json:"errors,omitempty"`
	DocumentationURL string             `json:"documentation_url,omitempty"`
	Status           string             `json:"status"`
}

type githubFieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func githubFail(w http.ResponseWriter, status int, message string, errs ...githubFieldError) {
	writeJSON(w, status, githubError{
		Message: message, Errors: errs, Status: strconv.Itoa(status),
		DocumentationURL: "https://docs.github.com/rest",
	})
}

func githubInvalid(w http.ResponseWriter, resource, field, code, message string) {
	githubFail(w, http.StatusUnprocessableEntity, "Validation Failed",
		githubFieldError{Resource: resource, Field: field, Code: code, Message: message})
}

func (s *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	body := s.record(r)
	if status, msg := s.failure(r); status != 0 {
		githubFail(w, status, msg)
		return
	}
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+s.token && auth != "token "+s.token {
		githubFail(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	switch p := r.URL.EscapedPath(); {
	case (p == "/graphql" || p == "/api/graphql") && r.Method == http.MethodPost:
		s.graphql(w, body)
		return
	case (p == "/user" || p == "/api/v3/user") && r.Method == http.MethodGet:
		s.mu.Lock()
		login := s.tokenUser
		s.mu.Unlock()
		if login == "" {
			githubFail(w, http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		writeJSON(w, http.StatusOK, githubUserJSON{Login: login, ID: userID(login), Type: "User"})
		return
	}
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v3")
	var seg []string
	for _, e := range strings.Split(strings.Trim(p, "/"), "/") {
		u, err := url.PathUnescape(e)
		if err != nil {
			githubFail(w, http.StatusNotFound, "Not Found")
			return
		}
		seg = append(seg, u)
	}
	if len(seg) < 4 || seg[0] != "repos" || !strings.EqualFold(seg[1], s.owner) || !strings.EqualFold(seg[2], s.repo) {
		githubFail(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	route := seg[3:]
	if len(route) == 2 && route[0] == "statuses" && r.Method == http.MethodPost {
		s.createStatus(w, route[1], body)
		return
	}
	switch {
	case len(route) == 3 && route[0] == "issues" && route[2] == "comments":
		n, err := strconv.Atoi(route[1])
		if _, ok := s.prs[n]; err != nil || !ok {
			githubFail(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.listComments(w, r, n)
			return
		case http.MethodPost:
			s.createComment(w, n, body)
			return
		}
	case len(route) == 3 && route[0] == "issues" && route[1] == "comments":
		c := s.comment(route[2])
		if c == nil {
			githubFail(w, http.StatusNotFound, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.commentJSON(c))
			return
		case http.MethodPatch:
			s.editComment(w, c, body)
			return
		}
	case len(route) == 1 && route[0] == "check-runs" && r.Method == http.MethodPost:
		s.createCheckRun(w, body)
		return
	case len(route) >= 2 && route[0] == "check-runs":
		run := s.checkRun(route[1])
		if run == nil {
			githubFail(w, http.StatusNotFound, "Not Found")
			return
		}
		switch {
		case len(route) == 2 && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, s.checkRunJSON(run))
			return
		case len(route) == 2 && r.Method == http.MethodPatch:
			s.updateCheckRun(w, run, body)
			return
		case len(route) == 3 && route[2] == "annotations" && r.Method == http.MethodGet:
			s.listAnnotations(w, r, run)
			return
		}
	}
	githubFail(w, http.StatusNotFound, "Not Found")
}

// paginate sets GitHub's Link header for page of n items and returns the
// slice bounds.
func paginate(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	page, perPage := pageParams(r, 30)
	lo, hi, pages := pageBounds(n, page, perPage)
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, pages), "prev"))
	}
	if page < pages {
		links = append(links, link(page+1, "next"), link(pages, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}

type githubUserJSON struct {
	Login string `json:"login"`
	ID    int    `json:"id"`
	Type  string `json:"type"`
}

type githubCommentJSON struct {
	ID                int64          `json:"id"`
	NodeID            string         `json:"node_id"`
	URL               string         `json:"url"`
	HTMLURL           string         `json:"html_url"`
	IssueURL          string         `json:"issue_url"`
	Body              string         `json:"body"`
	User              githubUserJSON `json:"user"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	AuthorAssociation string         `json:"author_association"`
}

func (s *GitHub) commentJSON(c *Comment) githubCommentJSON {
	typ := "User"
	if strings.HasSuffix(c.User, "[bot]") {
		typ = "Bot"
	}
	api := fmt.Sprintf("%s/repos/%s/%s", s.srv.URL, s.owner, s.repo)
	return githubCommentJSON{
		ID: c.ID, NodeID: fmt.Sprintf("IC_%d", c.ID),
		URL:      fmt.Sprintf("%s/issues/comments/%d", api, c.ID),
		HTMLURL:  c.HTMLURL,
		IssueURL: fmt.Sprintf("%s/issues/%d", api, c.PR),
		Body:     c.Body, User: githubUserJSON{Login: c.User, ID: userID(c.User), Type: typ},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, AuthorAssociation: "NONE",
	}
}

func (s *GitHub) comment(id string) *Comment {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, c := range s.comments {
		if c.ID == n {
			return c
		}
	}
	return nil
}

func (s *GitHub) listComments(w http.ResponseWriter, r *http.Request, pr int) {
	var on []*Comment
	for _, c := range s.comments {
		if c.PR == pr {
			on = append(on, c)
		}
	}
	lo, hi := paginate(w, r, len(on))
	out := []githubCommentJSON{}
	for _, c := range on[lo:hi] {
		out = append(out, s.commentJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

// commentBody decodes and validates a comment request; it writes the
// error response and returns false when the request is refused.
func commentBody(w http.ResponseWriter, body []byte) (string, bool) {
	var req struct {
		Body *string `json:"body"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		githubFail(w, http.StatusBadRequest, "Problems parsing JSON")
		return "", false
	}
	switch {
	case req.Body == nil || *req.Body == "":
		githubInvalid(w, "IssueComment", "body", "missing_field", "")
		return "", false
	case utf8.RuneCountInString(*req.Body) > githubCommentMax:
		githubInvalid(w, "IssueComment", "data", "unprocessable",
			fmt.Sprintf("Body is too long (maximum is %d characters)", githubCommentMax))
		return "", false
	}
	return *req.Body, true
}

func (s *GitHub) createComment(w http.ResponseWriter, pr int, body []byte) {
	text, ok := commentBody(w, body)
	if !ok {
		return
	}
	c := s.addComment(pr, s.poster(), text)
	w.Header().Set("Location", s.commentJSON(c).URL)
	writeJSON(w, http.StatusCreated, s.commentJSON(c))
}

func (s *GitHub) editComment(w http.ResponseWriter, c *Comment, body []byte) {
	text, ok := commentBody(w, body)
	if !ok {
		return
	}
	c.Body = text
	c.UpdatedAt = s.now()
	writeJSON(w, http.StatusOK, s.commentJSON(c))
}

// graphql answers the one GraphQL query pave sends, the token's viewer,
// and a GraphQL error to anything else.
func (s *GitHub) graphql(w http.ResponseWriter, body []byte) {
	var req struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		githubFail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if strings.Join(strings.Fields(req.Query), " ") != "query { viewer { login } }" {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]string{{"message": "this server answers only query { viewer { login } }"}}})
		return
	}
	s.mu.Lock()
	login := s.poster()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"viewer": map[string]string{"login": login}}})
}

// Check runs.

type githubAnnotationJSON struct {
	Path            string  `json:"path"`
	BlobHRef        string  `json:"blob_href,omitempty"`
	StartLine       *int    `json:"start_line"`
	EndLine         *int    `json:"end_line"`
	StartColumn     *int    `json:"start_column,omitempty"`
	EndColumn       *int    `json:"end_column,omitempty"`
	AnnotationLevel string  `json:"annotation_level"`
	Title           *string `json:"title"`
	Message         string  `json:"message"`
	RawDetails      *string `json:"raw_details"`
}

type githubOutputJSON struct {
	Title            *string                `json:"title"`
	Summary          *string                `json:"summary"`
	Text             *string                `json:"text"`
	AnnotationsCount int                    `json:"annotations_count"`
	AnnotationsURL   string                 `json:"annotations_url,omitempty"`
	Annotations      []githubAnnotationJSON `json:"annotations,omitempty"`
}

type githubCheckRunRequest struct {
	Name        *string           `json:"name"`
	HeadSHA     *string           `json:"head_sha"`
	DetailsURL  *string           `json:"details_url"`
	ExternalID  *string           `json:"external_id"`
	Status      *string           `json:"status"`
	Conclusion  *string           `json:"conclusion"`
	StartedAt   *time.Time        `json:"started_at"`
	CompletedAt *time.Time        `json:"completed_at"`
	Output      *githubOutputJSON `json:"output"`
}

type githubCheckRunJSON struct {
	ID          int64            `json:"id"`
	NodeID      string           `json:"node_id"`
	HeadSHA     string           `json:"head_sha"`
	URL         string           `json:"url"`
	HTMLURL     string           `json:"html_url"`
	Status      string           `json:"status"`
	Conclusion  *string          `json:"conclusion"`
	StartedAt   time.Time        `json:"started_at"`
	CompletedAt *time.Time       `json:"completed_at"`
	Output      githubOutputJSON `json:"output"`
	Name        string           `json:"name"`
	CheckSuite  struct {
		ID int64 `json:"id"`
	} `json:"check_suite"`
	App struct {
		Slug string `json:"slug"`
	} `json:"app"`
	PullRequests []struct {
		Number int `json:"number"`
	} `json:"pull_requests"`
}

var githubConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}

func (s *GitHub) checkRun(id string) *CheckRun {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, r := range s.runs {
		if r.ID == n {
			return r
		}
	}
	return nil
}

func (s *GitHub) checkRunJSON(run *CheckRun) githubCheckRunJSON {
	api := fmt.Sprintf("%s/repos/%s/%s/check-runs/%d", s.srv.URL, s.owner, s.repo, run.ID)
	out := githubCheckRunJSON{
		ID: run.ID, NodeID: fmt.Sprintf("CR_%d", run.ID), HeadSHA: run.HeadSHA,
		URL: api, HTMLURL: fmt.Sprintf("https://github.com/%s/%s/runs/%d", s.owner, s.repo, run.ID),
		Status: run.Status, StartedAt: epoch, Name: run.Name,
		Output: githubOutputJSON{
			Title: &run.Title, Summary: &run.Summary, Text: &run.Text,
			AnnotationsCount: len(run.Annotations), AnnotationsURL: api + "/annotations",
		},
	}
	if run.Conclusion != "" {
		out.Conclusion = &run.Conclusion
		out.CompletedAt = &run.CompletedAt
	}
	out.CheckSuite.ID = run.ID + 1
	out.App.Slug = "github-actions"
	for n, sha := range s.prs {
		if sha == run.HeadSHA {
			out.PullRequests = append(out.PullRequests, struct {
				Number int `json:"number"`
			}{n})
		}
	}
	return out
}

// applyCheckRun validates req and applies it to run; it writes the error
// response and returns false when the request is refused, leaving run as
// it was.
func (s *GitHub) applyCheckRun(w http.ResponseWriter, run *CheckRun, req githubCheckRunRequest) bool {
	next := *run
	if req.Name != nil {
		next.Name = *req.Name
	}
	if next.Name == "" {
		githubInvalid(w, "CheckRun", "name", "missing_field", "")
		return false
	}
	if req.Status != nil {
		if !slices.Contains([]string{"queued", "in_progress", "completed"}, *req.Status) {
			githubInvalid(w, "CheckRun", "status", "invalid", "")
			return false
		}
		next.Status = *req.Status
	}
	if req.Conclusion != nil {
		if !slices.Contains(githubConclusions, *req.Conclusion) {
			githubInvalid(w, "CheckRun", "conclusion", "invalid", "")
			return false
		}
		if *req.Conclusion == "action_required" && req.DetailsURL == nil {
			githubInvalid(w, "CheckRun", "details_url", "missing_field", "")
			return false
		}
		// Giving a conclusion completes the run.
		next.Conclusion, next.Status = *req.Conclusion, "completed"
		next.CompletedAt = s.now()
		if req.CompletedAt != nil {
			next.CompletedAt = *req.CompletedAt
		}
	}
	if next.Status == "completed" && next.Conclusion == "" {
		githubInvalid(w, "CheckRun", "conclusion", "missing_field", "Conclusion can't be blank when status is completed")
		return false
	}
	if o := req.Output; o != nil {
		if o.Title == nil || *o.Title == "" {
			githubInvalid(w, "CheckRun", "output.title", "missing_field", "")
			return false
		}
		if o.Summary == nil || *o.Summary == "" {
			githubInvalid(w, "CheckRun", "output.summary", "missing_field", "")
			return false
		}
		if utf8.RuneCountInString(*o.Summary) > githubOutputMax {
			githubInvalid(w, "CheckRun", "output.summary", "too_long",
				fmt.Sprintf("Output summary is too long (maximum is %d characters)", githubOutputMax))
			return false
		}
		if o.Text != nil && utf8.RuneCountInString(*o.Text) > githubOutputMax {
			githubInvalid(w, "CheckRun", "output.text", "too_long",
				fmt.Sprintf("Output text is too long (maximum is %d characters)", githubOutputMax))
			return false
		}
		if len(o.Annotations) > githubAnnotationsMax {
			githubInvalid(w, "CheckRun", "output.annotations", "too_many",
				fmt.Sprintf("Only %d annotations are allowed per request", githubAnnotationsMax))
			return false
		}
		next.Title, next.Summary = *o.Title, *o.Summary
		if o.Text != nil {
			next.Text = *o.Text
		}
		next.Annotations = slices.Clone(run.Annotations)
		for i, a := range o.Annotations {
			if msg := checkAnnotation(a); msg != "" {
				githubInvalid(w, "CheckRun", fmt.Sprintf("output.annotations[%d]", i), "invalid", msg)
				return false
			}
			var title string
			if a.Title != nil {
				title = *a.Title
			}
			next.Annotations = append(next.Annotations, Annotation{
				Path: a.Path, StartLine: *a.StartLine, EndLine: *a.EndLine,
				Level: a.AnnotationLevel, Title: title, Message: a.Message,
			})
		}
	}
	*run = next
	return true
}

// checkAnnotation returns why GitHub refuses a, or "".
func checkAnnotation(a githubAnnotationJSON) string {
	switch {
	case a.Path == "":
		return "path is missing"
	case a.StartLine == nil || a.EndLine == nil:
		return "start_line and end_line are required"
	case *a.StartLine < 1 || *a.EndLine < *a.StartLine:
		return "start_line must be at least 1 and end_line at least start_line"
	case (a.StartColumn != nil || a.EndColumn != nil) && *a.StartLine != *a.EndLine:
		return "start_column and end_column need start_line == end_line"
	case !slices.Contains([]string{"notice", "warning", "failure"}, a.AnnotationLevel):
		return "annotation_level must be notice, warning or failure"
	case a.Message == "":
		return "message is missing"
	case len(a.Message) > githubAnnotationBytesMax:
		return "message is larger than 64 KB"
	case a.RawDetails != nil && len(*a.RawDetails) > githubAnnotationBytesMax:
		return "raw_details is larger than 64 KB"
	case a.Title != nil && utf8.RuneCountInString(*a.Title) > githubAnnotationTitleMax:
		return fmt.Sprintf("title is longer than %d characters", githubAnnotationTitleMax)
	}
	return ""
}

func decodeCheckRun(w http.ResponseWriter, body []byte) (githubCheckRunRequest, bool) {
	var req githubCheckRunRequest
	if err := json.Unmarshal(body, &req); err != nil {
		githubFail(w, http.StatusBadRequest, "Problems parsing JSON")
		return req, false
	}
	return req, true
}

func (s *GitHub) createCheckRun(w http.ResponseWriter, body []byte) {
	req, ok := decodeCheckRun(w, body)
	if !ok {
		return
	}
	if req.HeadSHA == nil || *req.HeadSHA == "" {
		githubInvalid(w, "CheckRun", "head_sha", "missing_field", "")
		return
	}
	known := false
	for _, sha := range s.prs {
		known = known || sha == *req.HeadSHA
	}
	if !known {
		githubFail(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+*req.HeadSHA)
		return
	}
	run := &CheckRun{HeadSHA: *req.HeadSHA, Status: "queued"}
	if !s.applyCheckRun(w, run, req) {
		return
	}
	s.nextID++
	run.ID = s.nextID
	s.runs = append(s.runs, run)
	writeJSON(w, http.StatusCreated, s.checkRunJSON(run))
}

func (s *GitHub) updateCheckRun(w http.ResponseWriter, run *CheckRun, body []byte) {
	req, ok := decodeCheckRun(w, body)
	if !ok {
		return
	}
	if !s.applyCheckRun(w, run, req) {
		return
	}
	writeJSON(w, http.StatusOK, s.checkRunJSON(run))
}

func (s *GitHub) listAnnotations(w http.ResponseWriter, r *http.Request, run *CheckRun) {
	lo, hi := paginate(w, r, len(run.Annotations))
	out := []githubAnnotationJSON{}
	for _, a := range run.Annotations[lo:hi] {
		out = append(out, githubAnnotationJSON{
			Path: a.Path, StartLine: &a.StartLine, EndLine: &a.EndLine,
			AnnotationLevel: a.Level, Title: &a.Title, Message: a.Message,
			BlobHRef: fmt.Sprintf("https://github.com/%s/%s/blob/%s/%s", s.owner, s.repo, run.HeadSHA, a.Path),
		})
	}
	writeJSON(w, http.StatusOK, out)
}
