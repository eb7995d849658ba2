package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v89/github"
)

// UpsertComment finds pave's own comment on the pull request — one that
// contains marker and was posted by pave's login — and edits it to body,
// or creates one. When several qualify, the oldest is edited and the rest
// left alone. A comment holding the marker but posted by anyone else (a
// pull request's author can post the marker first) is never edited: the
// token may edit any comment of the repository, the marker is only text.
// The comments are listed in full, page by page, in the ascending id
// order GitHub lists them in.
//
// pave's login is GitHubConfig.CommentAuthor when set, else the token's:
// GET /user for a user's token; for an installation token (GitHub Actions'
// GITHUB_TOKEN, a GitHub App's), which GET /user refuses, the GraphQL
// viewer, a bot whose login ends in "[bot]" (github-actions[bot]). It is
// looked up only when a comment holds the marker.
//
// body must contain marker and have at most GitHubCommentMax characters.
func (g *GitHub) UpsertComment(ctx context.Context, marker, body string) (Posted, error) {
	target := fmt.Sprintf("%s#%d", g.cfg.Repository, g.cfg.PR)
	if g.cfg.PR <= 0 {
		return Posted{}, fmt.Errorf("comment on %s: no pull request number", g.cfg.Repository)
	}
	if err := checkBody(marker, body, "GitHub", GitHubCommentMax); err != nil {
		return Posted{}, fmt.Errorf("comment on %s: %w", target, err)
	}
	existing, err := g.findComment(ctx, marker)
	if err != nil {
		return Posted{}, fmt.Errorf("find pave's comment on %s: %w", target, err)
	}
	if existing != nil {
		c, _, err := g.client.Issues.EditComment(ctx, g.owner, g.repo, existing.GetID(), &github.IssueComment{Body: &body})
		if err != nil {
			return Posted{}, fmt.Errorf("update comment %d on %s: %w", existing.GetID(), target,
				githubError(err, "pull-requests: write", ""))
		}
		return Posted{URL: c.GetHTMLURL(), ID: c.GetID(), Updated: true}, nil
	}
	c, _, err := g.client.Issues.CreateComment(ctx, g.owner, g.repo, g.cfg.PR, &github.IssueComment{Body: &body})
	if err != nil {
		return Posted{}, fmt.Errorf("create comment on %s: %w", target, githubError(err, "pull-requests: write", ""))
	}
	return Posted{URL: c.GetHTMLURL(), ID: c.GetID()}, nil
}

// findComment returns the oldest comment on the pull request containing
// marker and posted by pave's login, nil when there is none.
func (g *GitHub) findComment(ctx context.Context, marker string) (*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := g.client.Issues.ListComments(ctx, g.owner, g.repo, g.cfg.PR, opts)
		if err != nil {
			return nil, fmt.Errorf("list comments: %w", githubError(err, "pull-requests: read", ""))
		}
		for _, c := range comments {
			if !strings.Contains(c.GetBody(), marker) {
				continue
			}
			author, err := g.commentAuthor(ctx)
			if err != nil {
				return nil, err
			}
			if strings.EqualFold(c.GetUser().GetLogin(), author) {
				return c, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		if resp.NextPage <= opts.Page {
			return nil, errors.New("list comments: pagination does not advance")
		}
		opts.Page = resp.NextPage
	}
}

// commentAuthor returns the login pave's comments are posted as.
func (g *GitHub) commentAuthor(ctx context.Context) (string, error) {
	if g.author != "" {
		return g.author, nil
	}
	if g.cfg.CommentAuthor != "" {
		g.author = g.cfg.CommentAuthor
		return g.author, nil
	}
	user, resp, err := g.client.Users.Get(ctx, "")
	switch {
	case err == nil && user.GetLogin() != "":
		g.author = user.GetLogin()
		return g.author, nil
	case err != nil && (resp == nil || resp.StatusCode != http.StatusForbidden):
		return "", fmt.Errorf("get the token's login: %w", githubError(err, "pull-requests: read", "or set --github-comment-author"))
	}
	// GET /user is refused to an installation token ("Resource not
	// accessible by integration"); GraphQL tells its bot.
	login, err := g.viewerLogin(ctx)
	if err != nil {
		return "", fmt.Errorf("get the token's login: GET /user refuses an installation token and the GraphQL viewer failed: %w; set --github-comment-author (PAVE_GITHUB_COMMENT_AUTHOR) to the login pave comments as, such as github-actions[bot]", err)
	}
	if !strings.HasSuffix(login, "[bot]") {
		// Some GraphQL answers name a bot by its slug alone; its comments'
		// REST login has the suffix.
		login += "[bot]"
	}
	g.author = login
	return g.author, nil
}

// viewerLogin asks GitHub's GraphQL API (at /graphql on github.com,
// /api/graphql on GitHub Enterprise Server, next to the REST API's
// /api/v3) for the token's login.
func (g *GitHub) viewerLogin(ctx context.Context) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(g.cfg.APIURL, "/") + "/")
	if err != nil {
		return "", err
	}
	endpoint := base.ResolveReference(&url.URL{Path: "../graphql"}).String()
	req, err := g.client.NewRequest(ctx, http.MethodPost, endpoint, map[string]string{"query": "query { viewer { login } }"})
	if err != nil {
		return "", err
	}
	var out struct {
		Data struct {
			Viewer struct {
				Login string `json:"login"`
			} `json:"viewer"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if _, err := g.client.Do(req, &out); err != nil {
		return "", err
	}
	if len(out.Errors) > 0 {
		return "", fmt.Errorf("graphql: %s", out.Errors[0].Message)
	}
	if !validLogin(out.Data.Viewer.Login) {
		return "", fmt.Errorf("graphql: viewer login %q is not a GitHub login", out.Data.Viewer.Login)
	}
	return out.Data.Viewer.Login, nil
}
