package forge

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/google/go-github/v89/github"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// CommitStatus is a status pave sets on a commit: one context per service
// and environment, so that the commit shows where it runs.
type CommitStatus struct {
	// State is StatusSuccess, StatusFailure or StatusPending.
	State       string
	Context     string
	Description string
	TargetURL   string
}

// Commit status states, as pave uses them.
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
	StatusPending = "pending"
)

// GitHub allows 140 characters of description, GitLab 255.
const (
	githubStatusDescriptionMax = 140
	gitlabStatusDescriptionMax = 255
)

// CreateStatus sets a commit status on sha (needs "statuses: write").
func (g *GitHub) CreateStatus(ctx context.Context, sha string, st CommitStatus) error {
	_, _, err := g.client.Repositories.CreateStatus(ctx, g.owner, g.repo, sha, github.RepoStatus{
		State:       github.Ptr(st.State),
		Context:     github.Ptr(st.Context),
		Description: github.Ptr(clip(st.Description, githubStatusDescriptionMax)),
		TargetURL:   nonEmpty(st.TargetURL),
	})
	if err != nil {
		return fmt.Errorf("github: commit status on %s: %w", sha, githubError(err, "statuses: write", ""))
	}
	return nil
}

// SetStatus sets a commit status on sha (needs the api scope).
func (g *GitLab) SetStatus(ctx context.Context, sha string, st CommitStatus) error {
	state := gitlab.Success
	switch st.State {
	case StatusFailure:
		state = gitlab.Failed
	case StatusPending:
		state = gitlab.Running
	}
	_, _, err := g.client.Commits.SetCommitStatus(g.cfg.ProjectID, sha, &gitlab.SetCommitStatusOptions{
		State:       state,
		Name:        gitlab.Ptr(st.Context),
		Description: gitlab.Ptr(clip(st.Description, gitlabStatusDescriptionMax)),
		TargetURL:   nonEmpty(st.TargetURL),
	}, gitlab.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("gitlab: commit status on %s: %w", sha, err)
	}
	return nil
}

// clip cuts s to at most n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
