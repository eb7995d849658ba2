package forge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v89/github"
)

// UpsertComment finds the pull request's comment containing marker and
// edits it to body, or creates one. When several carry the marker, the
// oldest is edited and the rest left alone. The comments are listed in
// full, page by page, in the ascending id order GitHub lists them in.
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
		return Posted{}, fmt.Errorf("list comments on %s: %w", target, err)
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
// marker, nil when there is none.
func (g *GitHub) findComment(ctx context.Context, marker string) (*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := g.client.Issues.ListComments(ctx, g.owner, g.repo, g.cfg.PR, opts)
		if err != nil {
			return nil, githubError(err, "pull-requests: read", "")
		}
		for _, c := range comments {
			if strings.Contains(c.GetBody(), marker) {
				return c, nil
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
