// Package forge posts pave's review to code forges: a sticky comment and a
// check run with annotations on a GitHub pull request, a sticky note on a
// GitLab merge request.
//
// A sticky comment carries a marker (an HTML comment such as
// "<!-- pave:review -->"): posting again finds the comment holding the
// marker and edits it, so a pull request has one review that follows its
// pushes instead of one comment per push. The marker is only text anyone
// can post, so only a comment pave's own login posted is ever edited.
//
// Bodies are the caller's to size: one over the forge's limit
// (GitHubCommentMax, GitLabNoteMax) is refused with ErrTooLarge before
// anything is sent.
package forge

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// The forges' limits, in characters (Unicode code points).
const (
	// GitHubCommentMax is the longest issue comment body GitHub accepts.
	GitHubCommentMax = 65536
	// GitHubSummaryMax is the longest check run summary GitHub accepts;
	// CreateCheckRun truncates longer ones.
	GitHubSummaryMax = 65535
	// GitHubAnnotationsPerRequest is how many annotations GitHub takes in
	// one check run request.
	GitHubAnnotationsPerRequest = 50
	// GitLabNoteMax is the longest note body GitLab accepts.
	GitLabNoteMax = 1_000_000
)

// Default API URLs, when the environment names none.
const (
	DefaultGitHubAPIURL = "https://api.github.com/"
	DefaultGitLabAPIURL = "https://gitlab.com/api/v4"
)

// timeout bounds each request of the default HTTP client.
const timeout = 30 * time.Second

// userAgent identifies pave to the forges.
const userAgent = "pave"

// ErrTooLarge is returned, wrapped, for a body over the forge's limit.
var ErrTooLarge = errors.New("body too large")

// Annotation is a finding on one line of a file in the repository.
type Annotation struct {
	Path    string // slash path relative to the repository root
	Line    int    // 1-based; 0 = whole file (use line 1 for GitHub, which requires a line)
	Level   string // "failure" | "warning" | "notice"
	Title   string
	Message string
}

// Annotation levels.
const (
	LevelFailure = "failure"
	LevelWarning = "warning"
	LevelNotice  = "notice"
)

// Posted is what a forge made of a post.
type Posted struct {
	URL     string // web page of the comment, note or check run
	ID      int64
	Updated bool // an existing comment or note was edited
}

// checkBody refuses an empty marker, a body without the marker (the next
// post could not find it) and a body over max characters.
func checkBody(marker, body, forge string, limit int) error {
	if marker == "" {
		return errors.New("empty marker")
	}
	if !strings.Contains(body, marker) {
		return fmt.Errorf("body does not contain the marker %q: the next post could not find it", marker)
	}
	if n := utf8.RuneCountInString(body); n > limit {
		return fmt.Errorf("%w: %d characters, %s takes at most %d", ErrTooLarge, n, forge, limit)
	}
	return nil
}

// truncate cuts s to at most limit characters, ending with note when cut.
func truncate(s string, limit int, note string) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	keep := limit - utf8.RuneCountInString(note)
	i := 0
	for n := 0; n < keep; n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + note
}

// truncateBytes cuts s to at most limit bytes on a character boundary,
// ending with "…" when cut.
func truncateBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// apiURL checks that raw is an absolute http(s) URL.
func apiURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}

// httpClient returns hc, or a client with a timeout when hc is nil.
func httpClient(hc *http.Client) *http.Client {
	if hc != nil {
		return hc
	}
	return &http.Client{Timeout: timeout}
}
