package forge

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v89/github"
)

// CheckRun is a completed check run to create on the pull request's head.
type CheckRun struct {
	Name       string // the check's name, as required status checks match it
	Conclusion string // "success" | "failure" | "neutral"
	Title      string
	Summary    string // markdown; truncated to GitHubSummaryMax characters with a note
	// Annotations appear on the pull request's files. A title is cut to
	// 255 characters and a message to 64 KB, GitHub's limits.
	Annotations []Annotation
}

// GitHub's annotation limits.
const (
	annotationTitleMax = 255    // characters
	annotationBytesMax = 64_000 // bytes of a message: GitHub says 64 KB
)

// summaryTruncated ends a summary cut to GitHub's limit.
const summaryTruncated = "\n\n… (truncated: the summary is longer than GitHub's 65535 characters; the full report is in the job log)"

// CreateCheckRun creates a completed check run on HeadSHA. GitHub takes at
// most 50 annotations per request: the first 50 go with the create, the
// rest in updates of 50, which GitHub appends.
//
// Everything is validated before the first request. When an update
// fails, the check run exists with the annotations sent so far: Posted
// names it alongside the error.
func (g *GitHub) CreateCheckRun(ctx context.Context, run CheckRun) (Posted, error) {
	target := fmt.Sprintf("check run %q on %s@%s", run.Name, g.cfg.Repository, g.cfg.HeadSHA)
	annotations, err := g.checkRun(run)
	if err != nil {
		return Posted{}, fmt.Errorf("%s: %w", target, err)
	}
	summary := truncate(run.Summary, GitHubSummaryMax, summaryTruncated)
	// GitHub requires the title and summary with every output; it appends
	// each request's annotations to the run's.
	output := func(batch []*github.CheckRunAnnotation) *github.CheckRunOutput {
		return &github.CheckRunOutput{Title: &run.Title, Summary: &summary, Annotations: batch}
	}
	batches := slices.Collect(slices.Chunk(annotations, GitHubAnnotationsPerRequest))
	var first []*github.CheckRunAnnotation
	if len(batches) > 0 {
		first = batches[0]
	}
	now := github.Timestamp{Time: time.Now()}
	created, _, err := g.client.Checks.CreateCheckRun(ctx, g.owner, g.repo, github.CreateCheckRunOptions{
		Name:        run.Name,
		HeadSHA:     g.cfg.HeadSHA,
		Status:      github.Ptr("completed"),
		Conclusion:  &run.Conclusion,
		StartedAt:   &now,
		CompletedAt: &now,
		Output:      output(first),
	})
	if err != nil {
		return Posted{}, fmt.Errorf("create %s: %w", target, githubError(err, "checks: write",
			"check runs need a GitHub App token such as the Actions GITHUB_TOKEN: a personal access token cannot create them"))
	}
	posted := Posted{URL: created.GetHTMLURL(), ID: created.GetID()}
	sent := len(first)
	for _, batch := range batches[min(1, len(batches)):] {
		_, _, err := g.client.Checks.UpdateCheckRun(ctx, g.owner, g.repo, posted.ID, github.UpdateCheckRunOptions{
			Name:   run.Name,
			Output: output(batch),
		})
		if err != nil {
			return posted, fmt.Errorf("add annotations %d-%d of %d to %s (id %d): %w",
				sent+1, sent+len(batch), len(annotations), target, posted.ID, githubError(err, "checks: write", ""))
		}
		sent += len(batch)
	}
	return posted, nil
}

// checkRun validates run and returns its annotations in GitHub's form.
func (g *GitHub) checkRun(run CheckRun) ([]*github.CheckRunAnnotation, error) {
	switch {
	case g.cfg.HeadSHA == "":
		return nil, errors.New("no head commit: set GITHUB_SHA or run on a pull_request event")
	case run.Name == "":
		return nil, errors.New("no name")
	case run.Title == "":
		return nil, errors.New("no title")
	case run.Summary == "":
		return nil, errors.New("no summary")
	}
	switch run.Conclusion {
	case "success", "failure", "neutral":
	default:
		return nil, fmt.Errorf("conclusion %q is not success, failure or neutral", run.Conclusion)
	}
	out := make([]*github.CheckRunAnnotation, 0, len(run.Annotations))
	for i, a := range run.Annotations {
		ga, err := githubAnnotation(a)
		if err != nil {
			return nil, fmt.Errorf("annotation %d (%s:%d): %w", i+1, a.Path, a.Line, err)
		}
		out = append(out, ga)
	}
	return out, nil
}

func githubAnnotation(a Annotation) (*github.CheckRunAnnotation, error) {
	p := path.Clean(a.Path)
	switch {
	case a.Path == "":
		return nil, errors.New("no path")
	case strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(a.Path, `\`):
		return nil, fmt.Errorf("path %q is not a slash path relative to the repository root", a.Path)
	case a.Line < 0:
		return nil, fmt.Errorf("line %d", a.Line)
	case a.Message == "":
		return nil, errors.New("no message")
	}
	switch a.Level {
	case LevelFailure, LevelWarning, LevelNotice:
	default:
		return nil, fmt.Errorf("level %q is not failure, warning or notice", a.Level)
	}
	line := max(a.Line, 1) // GitHub requires a line; 1 stands for the whole file
	ga := &github.CheckRunAnnotation{
		Path:            &p,
		StartLine:       &line,
		EndLine:         &line,
		AnnotationLevel: github.Ptr(a.Level),
		Message:         github.Ptr(truncateBytes(a.Message, annotationBytesMax)),
	}
	if a.Title != "" {
		title := a.Title
		if utf8.RuneCountInString(title) > annotationTitleMax {
			title = truncate(title, annotationTitleMax, "…")
		}
		ga.Title = &title
	}
	return ga, nil
}
