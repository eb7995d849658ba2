package forge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// GitLabConfig says where and as whom to post on GitLab.
type GitLabConfig struct {
	// Token is PAVE_GITLAB_TOKEN, else GITLAB_TOKEN: a project or personal
	// access token with the api scope (CI_JOB_TOKEN cannot write notes).
	Token           string
	APIURL          string // CI_API_V4_URL, default https://gitlab.com/api/v4
	ProjectID       string // CI_PROJECT_ID: a number or a path such as group/project
	MergeRequestIID int    // CI_MERGE_REQUEST_IID
}

// GitLabConfigFromEnv reads PAVE_GITLAB_TOKEN (else GITLAB_TOKEN),
// CI_API_V4_URL, CI_PROJECT_ID and CI_MERGE_REQUEST_IID; mr > 0 overrides
// the merge request (the --mr flag).
//
// The error names everything missing at once, and how to provide it.
func GitLabConfigFromEnv(getenv func(string) string, mr int) (GitLabConfig, error) {
	cfg := GitLabConfig{
		Token:           getenv("PAVE_GITLAB_TOKEN"),
		APIURL:          getenv("CI_API_V4_URL"),
		ProjectID:       getenv("CI_PROJECT_ID"),
		MergeRequestIID: mr,
	}
	if cfg.Token == "" {
		cfg.Token = getenv("GITLAB_TOKEN")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultGitLabAPIURL
	}
	var errs []error
	if cfg.Token == "" {
		errs = append(errs, errors.New("no GitLab token: set PAVE_GITLAB_TOKEN (or GITLAB_TOKEN) to a project or personal access token with the api scope, as a masked CI/CD variable; CI_JOB_TOKEN cannot write merge request notes"))
	}
	if cfg.ProjectID == "" {
		errs = append(errs, errors.New("CI_PROJECT_ID is not set: run in a GitLab CI job or set it to the project's id or path (group/project)"))
	}
	switch iid := getenv("CI_MERGE_REQUEST_IID"); {
	case mr < 0:
		errs = append(errs, fmt.Errorf("merge request %d: must be positive", mr))
	case mr > 0:
	case iid == "":
		errs = append(errs, errors.New(`no merge request: CI_MERGE_REQUEST_IID is not set, the job does not run in a merge request pipeline (add rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"); pass --mr N`))
	default:
		n, err := strconv.Atoi(iid)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("CI_MERGE_REQUEST_IID %q is not a merge request number", iid))
		}
		cfg.MergeRequestIID = n
	}
	if err := errors.Join(errs...); err != nil {
		return GitLabConfig{}, err
	}
	return cfg, nil
}

// GitLab posts to one GitLab project.
type GitLab struct {
	cfg    GitLabConfig
	client *gitlab.Client
}

// NewGitLab returns a client for cfg.ProjectID at cfg.APIURL. It does not
// retry: a failing server fails the post at once. hc nil means a client
// with a 30 s timeout.
func NewGitLab(cfg GitLabConfig, hc *http.Client) (*GitLab, error) {
	if cfg.Token == "" {
		return nil, errors.New("gitlab: no token")
	}
	if cfg.ProjectID == "" {
		return nil, errors.New("gitlab: no project")
	}
	if strings.Contains(cfg.ProjectID, "%") {
		// An encoded path, group%2Fproject: the client encodes it again.
		id, err := url.PathUnescape(cfg.ProjectID)
		if err != nil {
			return nil, fmt.Errorf("gitlab: project %q: %w", cfg.ProjectID, err)
		}
		cfg.ProjectID = id
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultGitLabAPIURL
	}
	if err := apiURL(cfg.APIURL); err != nil {
		return nil, fmt.Errorf("gitlab: API URL: %w", err)
	}
	client, err := gitlab.NewClient(cfg.Token,
		gitlab.WithURLWarningLogger(slog.New(slog.DiscardHandler)), // apiURL checked it
		gitlab.WithBaseURL(cfg.APIURL),
		gitlab.WithHTTPClient(httpClient(hc)),
		gitlab.WithoutRetries(),
		gitlab.WithUserAgent(userAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return &GitLab{cfg: cfg, client: client}, nil
}

// UpsertNote finds the merge request's note containing marker and edits
// it to body, or creates one. When several carry the marker, the oldest
// is edited and the rest left alone. GitLab lets only its author edit a
// note, so only the token user's notes are considered: a marker note by
// another user (an earlier token) is left alone and a new one created.
//
// body must contain marker and have at most GitLabNoteMax characters.
func (g *GitLab) UpsertNote(ctx context.Context, marker, body string) (Posted, error) {
	target := fmt.Sprintf("%s!%d", g.cfg.ProjectID, g.cfg.MergeRequestIID)
	if g.cfg.MergeRequestIID <= 0 {
		return Posted{}, fmt.Errorf("note on %s: no merge request", g.cfg.ProjectID)
	}
	if err := checkBody(marker, body, "GitLab", GitLabNoteMax); err != nil {
		return Posted{}, fmt.Errorf("note on %s: %w", target, err)
	}
	reqCtx := gitlab.WithContext(ctx)
	iid := int64(g.cfg.MergeRequestIID)

	user, resp, err := g.client.Users.CurrentUser(reqCtx)
	if err != nil {
		return Posted{}, fmt.Errorf("get the token's user: %w", gitlabError(err, resp))
	}
	mr, resp, err := g.client.MergeRequests.GetMergeRequest(g.cfg.ProjectID, iid, nil, reqCtx)
	if err != nil {
		return Posted{}, fmt.Errorf("get merge request %s: %w", target, gitlabError(err, resp))
	}
	existing, err := g.findNote(reqCtx, user.ID, marker)
	if err != nil {
		return Posted{}, fmt.Errorf("list notes on %s: %w", target, err)
	}
	if existing != nil {
		n, resp, err := g.client.Notes.UpdateMergeRequestNote(g.cfg.ProjectID, iid, existing.ID,
			&gitlab.UpdateMergeRequestNoteOptions{Body: &body}, reqCtx)
		if err != nil {
			return Posted{}, fmt.Errorf("update note %d on %s: %w", existing.ID, target, gitlabError(err, resp))
		}
		return Posted{URL: noteURL(mr.WebURL, n.ID), ID: n.ID, Updated: true}, nil
	}
	n, resp, err := g.client.Notes.CreateMergeRequestNote(g.cfg.ProjectID, iid,
		&gitlab.CreateMergeRequestNoteOptions{Body: &body}, reqCtx)
	if err != nil {
		return Posted{}, fmt.Errorf("create note on %s: %w", target, gitlabError(err, resp))
	}
	return Posted{URL: noteURL(mr.WebURL, n.ID), ID: n.ID}, nil
}

// findNote returns the oldest note by user userID containing marker, nil
// when there is none.
func (g *GitLab) findNote(reqCtx gitlab.RequestOptionFunc, userID int64, marker string) (*gitlab.Note, error) {
	opts := &gitlab.ListMergeRequestNotesOptions{
		ListOptions: gitlab.ListOptions{PerPage: 100, Page: 1},
		OrderBy:     gitlab.Ptr("created_at"),
		Sort:        gitlab.Ptr("asc"),
	}
	for {
		notes, resp, err := g.client.Notes.ListMergeRequestNotes(g.cfg.ProjectID, int64(g.cfg.MergeRequestIID), opts, reqCtx)
		if err != nil {
			return nil, gitlabError(err, resp)
		}
		for _, n := range notes {
			if !n.System && n.Author.ID == userID && strings.Contains(n.Body, marker) {
				return n, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		if resp.NextPage <= opts.Page {
			return nil, errors.New("pagination does not advance")
		}
		opts.Page = resp.NextPage
	}
}

func noteURL(mergeRequestURL string, id int64) string {
	if mergeRequestURL == "" {
		return ""
	}
	return fmt.Sprintf("%s#note_%d", mergeRequestURL, id)
}

// gitlabError adds to err the HTTP status's likely cause.
func gitlabError(err error, resp *gitlab.Response) error {
	if resp == nil || resp.Response == nil {
		return err
	}
	var hint string
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		hint = "the token is invalid, expired or revoked"
	case http.StatusForbidden:
		hint = "the token needs the api scope and a role that may comment on the merge request; CI_JOB_TOKEN cannot write notes"
	case http.StatusNotFound:
		hint = "the project or merge request does not exist, or the token cannot see it"
	default:
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}
