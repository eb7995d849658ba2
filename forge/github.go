package forge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-github/v89/github"
)

// GitHubConfig says where and as whom to post on GitHub.
type GitHubConfig struct {
	Token      string // GITHUB_TOKEN
	Repository string // "owner/name", GITHUB_REPOSITORY
	APIURL     string // GITHUB_API_URL, default https://api.github.com/
	PR         int    // pull request number
	HeadSHA    string // head commit of the pull request (for check runs)
	// CommentAuthor is the login whose comments UpsertComment may edit
	// (PAVE_GITHUB_COMMENT_AUTHOR, --github-comment-author); empty means
	// the token's own login, looked up.
	CommentAuthor string
}

// GitHubConfigFromEnv reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL
// and the event payload at GITHUB_EVENT_PATH (pull_request.number,
// pull_request.head.sha; for other events HeadSHA falls back to
// GITHUB_SHA). pr > 0 overrides the number (the --pr flag); the payload's
// head is then used only when it is the same pull request's.
//
// The error names everything missing at once, and how to provide it.
func GitHubConfigFromEnv(getenv func(string) string, pr int) (GitHubConfig, error) {
	cfg := GitHubConfig{
		Token:      getenv("GITHUB_TOKEN"),
		Repository: getenv("GITHUB_REPOSITORY"),
		APIURL:     getenv("GITHUB_API_URL"),
		PR:         pr,
		HeadSHA:    getenv("GITHUB_SHA"),
		// An explicit login, for a token whose own GitHub cannot tell.
		CommentAuthor: getenv("PAVE_GITHUB_COMMENT_AUTHOR"),
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultGitHubAPIURL
	}
	var errs []error
	if cfg.Token == "" {
		errs = append(errs, errors.New("GITHUB_TOKEN is not set: give the job `permissions: pull-requests: write` and pass env GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"))
	}
	switch {
	case cfg.Repository == "":
		errs = append(errs, errors.New("GITHUB_REPOSITORY is not set: set it to owner/name (GitHub Actions sets it)"))
	case !validRepository(cfg.Repository):
		errs = append(errs, fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", cfg.Repository))
	}
	if pr < 0 {
		errs = append(errs, fmt.Errorf("pull request number %d: must be positive", pr))
	}
	if cfg.CommentAuthor != "" && !validLogin(cfg.CommentAuthor) {
		errs = append(errs, fmt.Errorf("PAVE_GITHUB_COMMENT_AUTHOR %q is not a GitHub login (such as pave-bot or github-actions[bot])", cfg.CommentAuthor))
	}

	path := getenv("GITHUB_EVENT_PATH")
	var eventErr error
	if path != "" {
		ev, err := readPullRequestEvent(path)
		switch {
		case err != nil:
			eventErr = fmt.Errorf("read GITHUB_EVENT_PATH: %w", err)
			errs = append(errs, eventErr)
		case ev != nil && (pr == 0 || pr == ev.Number):
			cfg.PR = ev.Number
			if ev.Head.SHA != "" {
				cfg.HeadSHA = ev.Head.SHA
			}
		}
	}
	if cfg.PR == 0 && eventErr == nil {
		if path == "" {
			errs = append(errs, errors.New("no pull request number: GITHUB_EVENT_PATH is not set; pass --pr N"))
		} else {
			event := getenv("GITHUB_EVENT_NAME")
			if event == "" {
				event = "unknown"
			}
			errs = append(errs, fmt.Errorf("no pull request number: GITHUB_EVENT_PATH holds no pull_request event (event %s); pass --pr N", event))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return GitHubConfig{}, err
	}
	return cfg, nil
}

// pullRequestEvent is the part of a pull_request (or pull_request_target)
// event payload pave reads.
type pullRequestEvent struct {
	Number int `json:"number"`
	Head   struct {
		SHA string `json:"sha"`
	} `json:"head"`
}

// readPullRequestEvent returns the payload's pull request, nil when the
// event is not about one.
func readPullRequestEvent(path string) (*pullRequestEvent, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ev struct {
		PullRequest *pullRequestEvent `json:"pull_request"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ev.PullRequest == nil || ev.PullRequest.Number <= 0 {
		return nil, nil
	}
	return ev.PullRequest, nil
}

// loginPattern is a GitHub login: a user's or organisation's (letters,
// digits and single hyphens, at most 39 characters) or an app's bot
// account, its slug followed by "[bot]".
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$`)

func validLogin(s string) bool { return loginPattern.MatchString(s) }

func validRepository(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.Contains(name, "/")
}

// GitHub posts to one GitHub repository.
type GitHub struct {
	cfg         GitHubConfig
	owner, repo string
	client      *github.Client
	// author is the login pave's comments are posted as, once known.
	author string
}

// NewGitHub returns a client for cfg.Repository at cfg.APIURL (a GitHub
// Enterprise Server URL such as https://ghe.example.com/api/v3 works with
// or without its trailing slash). hc nil means a client with a 30 s
// timeout; hc itself is not modified.
func NewGitHub(cfg GitHubConfig, hc *http.Client) (*GitHub, error) {
	if cfg.Token == "" {
		return nil, errors.New("github: no token")
	}
	if !validRepository(cfg.Repository) {
		return nil, fmt.Errorf("github: repository %q is not owner/name", cfg.Repository)
	}
	if cfg.CommentAuthor != "" && !validLogin(cfg.CommentAuthor) {
		return nil, fmt.Errorf("github: comment author %q is not a GitHub login", cfg.CommentAuthor)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultGitHubAPIURL
	}
	if err := apiURL(cfg.APIURL); err != nil {
		return nil, fmt.Errorf("github: API URL: %w", err)
	}
	client, err := github.NewClient(
		github.WithHTTPClient(httpClient(hc)),
		github.WithAuthToken(cfg.Token),
		// WithURLs adds the trailing slash go-github needs and, unlike
		// WithEnterpriseURLs, keeps the URL's path as GITHUB_API_URL has it.
		github.WithURLs(&cfg.APIURL, nil),
		github.WithUserAgent(userAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	owner, repo, _ := strings.Cut(cfg.Repository, "/")
	return &GitHub{cfg: cfg, owner: owner, repo: repo, client: client}, nil
}

// githubError adds to err the HTTP status's likely cause: what the token
// lacks for a 401, 403 or 404 (permission is the job permission the call
// needs, such as "pull-requests: write"; extra says more).
func githubError(err error, permission, extra string) error {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return err
	}
	var hint string
	switch er.Response.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w (the token is invalid or expired)", err)
	case http.StatusForbidden:
		hint = fmt.Sprintf("the token lacks permission: give the job `permissions: %s`; on pull requests from forks GITHUB_TOKEN is read-only", permission)
	case http.StatusNotFound:
		hint = fmt.Sprintf("the repository or pull request does not exist, or the token cannot see it: give the job `permissions: %s`", permission)
	default:
		return err
	}
	if extra != "" {
		hint += "; " + extra
	}
	return fmt.Errorf("%w (%s)", err, hint)
}
