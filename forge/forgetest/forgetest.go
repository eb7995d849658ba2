// Package forgetest serves in-memory GitHub and GitLab REST APIs for tests:
// the few endpoints pave posts its review to, with the wire formats,
// pagination, authentication and validation of the real forges, so that
// a client that passes against them has spoken the real protocol.
package forgetest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Request is one request a server received.
type Request struct {
	Method string
	// Path is the escaped path, as sent (project paths stay %2F-encoded).
	Path  string
	Query string
	Body  []byte
}

// epoch is the servers' clock start: every write advances the clock one
// second, so creation times are distinct and tests are deterministic.
var epoch = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// recorder holds what every server shares: the lock, the request log, the
// logical clock and the injected failure.
type recorder struct {
	mu       sync.Mutex
	requests []Request
	ticks    int
	fail     int
	failMsg  string
	failOn   []string
}

// record logs r with its body and returns the body.
func (rec *recorder) record(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests = append(rec.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: body})
	return body
}

// now advances the clock; callers hold mu.
func (rec *recorder) now() time.Time {
	rec.ticks++
	return epoch.Add(time.Duration(rec.ticks) * time.Second)
}

// Requests returns the requests received so far, oldest first.
func (rec *recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]Request, len(rec.requests))
	copy(out, rec.requests)
	return out
}

// Fail makes every later request with one of methods (any method when
// none is given), authenticated or not, answer status with message in
// the forge's error format, until Fail(0, ""): an outage, a token that
// may read but not write.
func (rec *recorder) Fail(status int, message string, methods ...string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.fail, rec.failMsg, rec.failOn = status, message, methods
}

// failure returns the status and message r is to fail with, 0 if none.
func (rec *recorder) failure(r *http.Request) (int, string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.failOn) > 0 && !slices.Contains(rec.failOn, r.Method) {
		return 0, ""
	}
	return rec.fail, rec.failMsg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pageParams reads page and per_page as the forges do: bad or missing
// values fall back to the defaults, per_page is capped at 100.
func pageParams(r *http.Request, defaultPerPage int) (page, perPage int) {
	page, perPage = 1, defaultPerPage
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
		page = p
	}
	if p, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && p > 0 {
		perPage = min(p, 100)
	}
	return page, perPage
}

// pageBounds returns the slice bounds of page and the number of pages.
func pageBounds(n, page, perPage int) (lo, hi, pages int) {
	pages = max(1, (n+perPage-1)/perPage)
	lo = min(n, (page-1)*perPage)
	hi = min(n, lo+perPage)
	return lo, hi, pages
}

// userID derives a user's id from its name, so one name is one user.
func userID(name string) int {
	id := 1
	for _, c := range name {
		id = id*31 + int(c)
	}
	return id & 0x7fffffff
}
