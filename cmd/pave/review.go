package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/pave-dev/pave/report"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pave-dev/pave/forge"
	"github.com/pave-dev/pave/review"
)

// checkRunName names pave's check run on GitHub.
const checkRunName = "pave check"

// review runs check --base: the change from the base revision to the
// head, reported in the chosen format and posted where asked.
func (o *checkOptions) review(ctx context.Context, stdout, stderr io.Writer) error {
	if o.failOn != review.FailOnAny && o.failOn != review.FailOnNew {
		return flagError("--fail-on: want %s or %s, got %q", review.FailOnAny, review.FailOnNew, o.failOn)
	}
	// Check the forge settings before the work, so a misconfigured job
	// fails at once with what to set.
	var gh *forge.GitHub
	if o.githubComment || o.githubAnnotations {
		cfg, err := forge.GitHubConfigFromEnv(os.Getenv, o.pr)
		if err != nil {
			return usageError("--github-comment/--github-annotations: %v", err)
		}
		if o.githubAuthor != "" {
			// pave edits only comments this login posted.
			cfg.CommentAuthor = o.githubAuthor
		}
		if gh, err = forge.NewGitHub(cfg, nil); err != nil {
			return usageError("github: %v", err)
		}
	}
	var gl *forge.GitLab
	if o.gitlabNote {
		cfg, err := forge.GitLabConfigFromEnv(os.Getenv, o.pr)
		if err != nil {
			return usageError("--gitlab-note: %v", err)
		}
		if gl, err = forge.NewGitLab(cfg, nil); err != nil {
			return usageError("gitlab: %v", err)
		}
	}

	repo, err := review.Open(o.catalogDir)
	if err != nil {
		return usageError("--base: %v", err)
	}
	base, err := repo.Revision(o.base)
	if err != nil {
		return usageError("--base: %v", err)
	}
	defer base.Close()
	var head *review.Side
	if o.head != "" {
		head, err = repo.Revision(o.head)
		if err != nil {
			return usageError("--head: %v", err)
		}
	} else if head, err = repo.WorkTree(); err != nil {
		return usageError("%v", err)
	}
	defer head.Close()
	changed, err := review.Changed(base, head)
	if err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	prog := o.progress(stderr, "reviewing "+plural(len(changed), "changed file"), "", 0)
	rv, err := review.Run(ctx, base, head, review.Options{Changed: changed, FailOn: o.failOn, Environment: o.env})
	prog.end()
	if err != nil {
		return usageError("%v", err)
	}
	rep := report.FromReview(rv)

	// What is posted names repository paths (the catalog sits at
	// repo.Prefix); the report printed here names files as the user who
	// ran pave can open them.
	rep.MapFiles(func(f string) string { return path.Join(repo.Prefix, f) })
	annotations := annotationsOf(rep)
	var comment bytes.Buffer
	if gh != nil || gl != nil {
		if err := (report.Markdown{Limit: report.CommentLimit}).Format(&comment, rep); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	}
	rep.MapFiles(func(f string) string {
		rel := strings.TrimPrefix(f, repo.Prefix+"/")
		if repo.Prefix == "" {
			rel = f
		}
		return filepath.Join(o.catalogDir, filepath.FromSlash(rel))
	})

	formatter, _ := report.Get(o.out.format)
	if o.out.format == "markdown" && o.out.file == "" {
		formatter = report.Markdown{Limit: report.CommentLimit}
	}
	// The report first: a forge that fails to take it must not hide it.
	if err := o.write(stdout, stderr, formatter, rep); err != nil {
		return err
	}
	if o.githubComment {
		posted, err := gh.UpsertComment(ctx, report.Marker, comment.String())
		if err != nil {
			return &exitError{code: exitInternal, err: err}
		}
		fmt.Fprintf(stderr, "%s pull request comment %s\n", verb(posted.Updated), posted.URL)
	}
	if o.githubAnnotations {
		conclusion := "success"
		if rep.Failed() {
			conclusion = "failure"
		}
		s := rep.ReviewSummary()
		title := fmt.Sprintf("%d pairs impacted, %d new denials, %d errors", s.Pairs, s.NewDenials, s.Errors)
		posted, err := gh.CreateCheckRun(ctx, forge.CheckRun{Name: checkRunName, Conclusion: conclusion, Title: title, Summary: comment.String(), Annotations: annotations})
		if err != nil {
			return &exitError{code: exitInternal, err: err}
		}
		fmt.Fprintf(stderr, "created check run %s with %d annotations\n", posted.URL, len(annotations))
	}
	if o.gitlabNote {
		posted, err := gl.UpsertNote(ctx, report.Marker, comment.String())
		if err != nil {
			return &exitError{code: exitInternal, err: err}
		}
		fmt.Fprintf(stderr, "%s merge request note %s\n", verb(posted.Updated), posted.URL)
	}
	if rep.Failed() {
		return silentExit(exitFailure)
	}
	return nil
}

func verb(updated bool) string {
	if updated {
		return "updated"
	}
	return "created"
}

// annotationsOf turns the report's errors and policy results into
// annotations on their files (repository paths): failures
// for what blocks, warnings for warnings and denials that do not block
// (existing ones with --fail-on new).
func annotationsOf(r *report.Report) []forge.Annotation {
	var out []forge.Annotation
	for _, e := range r.Errors {
		out = append(out, forge.Annotation{Path: e.File, Line: e.Line, Level: "failure", Title: "pave: catalog", Message: e.Message})
	}
	for _, res := range r.Results {
		label := res.Service
		if res.Environment != "" {
			label += " (" + res.Environment + ")"
		}
		for _, e := range res.Errors {
			out = append(out, forge.Annotation{Path: e.File, Line: e.Line, Level: "failure", Title: "pave: " + label, Message: e.Message})
		}
		for i := range res.Violations {
			v := &res.Violations[i]
			if v.Excepted {
				continue
			}
			level := "warning"
			if r.Blocks(v) {
				level = "failure"
			}
			msg := v.Message
			if v.Hint != "" {
				msg += "\nfix: " + v.Hint
			}
			out = append(out, forge.Annotation{Path: v.File, Line: v.Line, Level: level, Title: fmt.Sprintf("%s: %s (%s)", v.Policy, label, v.State), Message: msg})
		}
	}
	return out
}
