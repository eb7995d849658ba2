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

// gitlabNoteMax is GitLab's limit on a note body, in characters.
const gitlabNoteMax = 1_000_000

// GitLabUser is the username notes are posted as with the server's token.
const GitLabUser = "pave-bot"

// Note is a merge request note as GitLab stores it.
type Note struct {
	ID        int
	MR        int // merge request IID
	Body      string
	Author    string
	System    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GitLab is an in-memory GitLab REST API (v4) for one project: its merge
// requests and their notes.
//
// It answers as gitlab.com does: every request needs the token in the
// PRIVATE-TOKEN header (or "Authorization: Bearer"), else 401; GET /user
// is the token's user, GitLabUser; the project
// is addressed by the id it was started with, a path URL-encoded as one
// segment (group%2Fproject); unknown projects, merge requests and notes
// are 404; only its author can edit a note (403 otherwise), or any
// Maintainer after SetMaintainer; a note body
// over 1,000,000 characters is 400. Note lists are sorted by created_at
// descending unless sort and order_by say otherwise, and paginated with
// per_page (default 20, at most 100), page and the X-Page, X-Per-Page,
// X-Total, X-Total-Pages, X-Next-Page, X-Prev-Page and Link headers.
type GitLab struct {
	recorder
	srv       *httptest.Server
	projectID string
	token     string
	nextID    int
	mrs       map[int]bool
	notes     []*Note
	statuses  []CommitStatus
	// maintainer lets the token's user edit anyone's notes.
	maintainer bool
}

// SetMaintainer gives the token's user the Maintainer role, with which
// GitLab lets it edit anyone's note.
func (s *GitLab) SetMaintainer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maintainer = true
}

// NewGitLab starts a server for the project projectID (a number or a path
// like group/project) accepting token; it closes when the test ends.
func NewGitLab(t testing.TB, projectID, token string) *GitLab {
	t.Helper()
	s := &GitLab{projectID: projectID, token: token, nextID: 500, mrs: map[int]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the API base URL, as CI_API_V4_URL gives it.
func (s *GitLab) URL() string { return s.srv.URL + "/api/v4" }

// AddMergeRequest opens merge request iid.
func (s *GitLab) AddMergeRequest(iid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mrs[iid] = true
}

// AddNote stores a note by author on merge request iid, as if posted
// through the API, and returns it.
func (s *GitLab) AddNote(iid int, author, body string) Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addNote(iid, author, body)
}

// Notes returns the notes on merge request iid, oldest first.
func (s *GitLab) Notes(iid int) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.notes {
		if n.MR == iid {
			out = append(out, *n)
		}
	}
	return out
}

// MergeRequestURL is the web URL of merge request iid.
func (s *GitLab) MergeRequestURL(iid int) string {
	path := s.projectID
	if !strings.Contains(path, "/") {
		path = "group/project-" + path
	}
	return fmt.Sprintf("https://gitlab.example.com/%s/-/merge_requests/%d", path, iid)
}

func (s *GitLab) addNote(iid int, author, body string) *Note {
	s.nextID++
	now := s.now()
	n := &Note{ID: s.nextID, MR: iid, Body: body, Author: author, CreatedAt: now, UpdatedAt: now}
	s.notes = append(s.notes, n)
	return n
}

func gitlabFail(w http.ResponseWriter, status int, message any) {
	writeJSON(w, status, map[string]any{"message": message})
}

func (s *GitLab) serve(w http.ResponseWriter, r *http.Request) {
	body := s.record(r)
	if status, msg := s.failure(r); status != 0 {
		gitlabFail(w, status, msg)
		return
	}
	if r.Header.Get("PRIVATE-TOKEN") != s.token && r.Header.Get("Authorization") != "Bearer "+s.token {
		gitlabFail(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	p, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v4/")
	if !ok {
		gitlabFail(w, http.StatusNotFound, "404 Not Found")
		return
	}
	var seg []string
	for _, e := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		u, err := url.PathUnescape(e)
		if err != nil {
			gitlabFail(w, http.StatusNotFound, "404 Not Found")
			return
		}
		seg = append(seg, u)
	}
	if len(seg) == 1 && seg[0] == "user" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, gitlabUser(GitLabUser))
		return
	}
	if len(seg) < 2 || seg[0] != "projects" {
		gitlabFail(w, http.StatusNotFound, "404 Not Found")
		return
	}
	if seg[1] != s.projectID {
		gitlabFail(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	route := seg[2:]
	if len(route) == 2 && route[0] == "statuses" && r.Method == http.MethodPost {
		s.setStatus(w, r, route[1], body)
		return
	}
	if len(route) < 2 || route[0] != "merge_requests" {
		gitlabFail(w, http.StatusNotFound, "404 Not Found")
		return
	}
	iid, err := strconv.Atoi(route[1])
	if err != nil || !s.mrs[iid] {
		gitlabFail(w, http.StatusNotFound, "404 Not found")
		return
	}
	switch {
	case len(route) == 2 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.mergeRequestJSON(iid))
		return
	case len(route) == 3 && route[2] == "notes" && r.Method == http.MethodGet:
		s.listNotes(w, r, iid)
		return
	case len(route) == 3 && route[2] == "notes" && r.Method == http.MethodPost:
		text, ok := noteBody(w, r, body)
		if !ok {
			return
		}
		writeJSON(w, http.StatusCreated, s.noteJSON(s.addNote(iid, GitLabUser, text)))
		return
	case len(route) == 4 && route[2] == "notes":
		n := s.note(iid, route[3])
		if n == nil {
			gitlabFail(w, http.StatusNotFound, "404 Not found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.noteJSON(n))
			return
		case http.MethodPut:
			if n.System || n.Author != GitLabUser && !s.maintainer {
				gitlabFail(w, http.StatusForbidden, "403 Forbidden")
				return
			}
			text, ok := noteBody(w, r, body)
			if !ok {
				return
			}
			n.Body, n.UpdatedAt = text, s.now()
			writeJSON(w, http.StatusOK, s.noteJSON(n))
			return
		}
	}
	gitlabFail(w, http.StatusNotFound, "404 Not Found")
}

func (s *GitLab) note(iid int, id string) *Note {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil
	}
	for _, note := range s.notes {
		if note.ID == n && note.MR == iid {
			return note
		}
	}
	return nil
}

// noteBody reads body from a JSON or form request, as GitLab accepts
// both; it writes the error response and returns false when refused.
func noteBody(w http.ResponseWriter, r *http.Request, body []byte) (string, bool) {
	var text string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var req struct {
			Body string `json:"body"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			gitlabFail(w, http.StatusBadRequest, "400 Bad request - invalid JSON")
			return "", false
		}
		text = req.Body
	} else {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			gitlabFail(w, http.StatusBadRequest, "400 Bad request")
			return "", false
		}
		text = q.Get("body")
	}
	switch {
	case text == "":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is missing"})
		return "", false
	case utf8.RuneCountInString(text) > gitlabNoteMax:
		gitlabFail(w, http.StatusBadRequest, map[string][]string{
			"note": {fmt.Sprintf("is too long (maximum is %d characters)", gitlabNoteMax)},
		})
		return "", false
	}
	return text, true
}

type gitlabUserJSON struct {
	ID       int    `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	State    string `json:"state"`
	WebURL   string `json:"web_url"`
}

type gitlabNoteJSON struct {
	ID           int            `json:"id"`
	Type         *string        `json:"type"`
	Body         string         `json:"body"`
	Attachment   *string        `json:"attachment"`
	Author       gitlabUserJSON `json:"author"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	System       bool           `json:"system"`
	NoteableID   int            `json:"noteable_id"`
	NoteableType string         `json:"noteable_type"`
	NoteableIID  int            `json:"noteable_iid"`
	Resolvable   bool           `json:"resolvable"`
	Confidential bool           `json:"confidential"`
	Internal     bool           `json:"internal"`
}

func gitlabUser(username string) gitlabUserJSON {
	return gitlabUserJSON{
		ID: userID(username), Username: username, Name: username, State: "active",
		WebURL: "https://gitlab.example.com/" + username,
	}
}

func (s *GitLab) noteJSON(n *Note) gitlabNoteJSON {
	return gitlabNoteJSON{
		ID: n.ID, Body: n.Body, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, System: n.System,
		Author:     gitlabUser(n.Author),
		NoteableID: 10000 + n.MR, NoteableType: "MergeRequest", NoteableIID: n.MR,
	}
}

func (s *GitLab) mergeRequestJSON(iid int) map[string]any {
	return map[string]any{
		"id": 10000 + iid, "iid": iid, "title": fmt.Sprintf("Merge request %d", iid),
		"state": "opened", "web_url": s.MergeRequestURL(iid),
		"source_branch": fmt.Sprintf("change-%d", iid), "target_branch": "main",
	}
}

func (s *GitLab) listNotes(w http.ResponseWriter, r *http.Request, iid int) {
	q := r.URL.Query()
	var on []*Note
	for _, n := range s.notes {
		if n.MR == iid {
			on = append(on, n)
		}
	}
	key := func(n *Note) time.Time { return n.CreatedAt }
	if q.Get("order_by") == "updated_at" {
		key = func(n *Note) time.Time { return n.UpdatedAt }
	}
	slices.SortStableFunc(on, func(a, b *Note) int {
		if c := key(a).Compare(key(b)); c != 0 {
			return c
		}
		return a.ID - b.ID
	})
	if q.Get("sort") != "asc" {
		slices.Reverse(on)
	}

	page, perPage := pageParams(r, 20)
	lo, hi, pages := pageBounds(len(on), page, perPage)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(len(on)))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page > 1 && page <= pages {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))

	out := []gitlabNoteJSON{}
	for _, n := range on[lo:hi] {
		out = append(out, s.noteJSON(n))
	}
	writeJSON(w, http.StatusOK, out)
}
