package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
	"github.com/pave-dev/pave/review"
)

type checkOptions struct {
	catalogDir string
	env        string
	out        outputFlags

	// Review of a change (--base).
	base              string
	head              string
	failOn            string
	githubComment     bool
	githubAuthor      string
	githubAnnotations bool
	gitlabNote        bool
	pr                int
	getenv            func(string) string

	con *console
}

func newCheckCmd() *cobra.Command {
	o := checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [TEAM/NAME ...]",
		Short: "Validate, render and check services against the catalog's policies",
		Long: `Check validates the catalog, renders every service (or the named ones) in
every environment (or --env), and evaluates the rendered objects against
the Rego policies in the catalog's policies/ folder. Every result points at
the service.yaml line responsible, with a hint how to fix it; denials that
an unexpired exception (exceptions/<team>/<name>.yaml) covers are reported
as excepted, and every exception of the services checked is listed first.

Formats (-o): text (grouped by service and environment), json, markdown
(a pull request comment), sarif (SARIF 2.1.0), junit and github (workflow
commands that annotate the pull request). --output-file FILE writes the
report to FILE instead of standard output.

With --base REF, check reviews a change instead (a pull request): it reads
the base revision and the head (--head REF, or the catalog folder as it is
on disk) straight from git, finds the service × environment pairs the
change impacts (a service folder or its exceptions file → that service;
a template → its users; policies or pave.yaml → every service; deleted
services), renders and evaluates both sides and reports for each pair
whether it is added, changed, removed or unchanged, the objects that
differ with a unified diff (Secret values never shown), and every policy
result marked new, existing or fixed. The exceptions the change adds,
changes or removes come first in every format: each needs one of
pave.yaml's exceptions.approvers. The blast radius groups the impacted services by the
shape of their change. -o markdown is the pull-request comment, cut to
fit GitHub's 65,536 characters (--output-file writes it whole);
--github-comment posts it as one sticky comment, --github-annotations as a
check run with annotations on the service.yaml lines, --gitlab-note as a
merge request note.

Exit status: 0 when nothing is denied (warnings allowed), 1 when a policy
denies a service or a service is invalid, fails to render or to evaluate
(or the policies do not compile) — with --fail-on new, only denials the
change introduces count —, 2 for usage errors or an invalid pave.yaml
(at head, in a review, it is exit 1: the change broke it).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			o.con = consoleOf(cmd)
			return o.run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	cmd.Flags().StringVar(&o.catalogDir, "catalog", ".", "catalog folder (holds pave.yaml)")
	cmd.Flags().StringVar(&o.env, "env", "", "check only this environment")
	o.out.bind(cmd.Flags(), report.Formats(), true)
	cmd.Flags().StringVar(&o.base, "base", "", "review the change from this git revision (e.g. origin/main, HEAD~1)")
	cmd.Flags().StringVar(&o.head, "head", "", "head git revision of the review (default: the catalog folder as it is on disk)")
	cmd.Flags().StringVar(&o.failOn, "fail-on", review.FailOnAny, "with --base: fail on any denial in an impacted pair (any) or only on denials the change introduces (new)")
	cmd.Flags().BoolVar(&o.githubComment, "github-comment", false, "with --base: create or update pave's comment on the pull request (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH)")
	cmd.Flags().StringVar(&o.githubAuthor, "github-comment-author", "", "with --github-comment: the login pave's comment is posted as, when the token cannot tell (default: the token's login; PAVE_GITHUB_COMMENT_AUTHOR)")
	cmd.Flags().BoolVar(&o.githubAnnotations, "github-annotations", false, "with --base: create a check run with annotations on the service.yaml lines")
	cmd.Flags().BoolVar(&o.gitlabNote, "gitlab-note", false, "with --base: create or update pave's note on the merge request (CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, GITLAB_TOKEN)")
	cmd.Flags().IntVar(&o.pr, "pr", 0, "pull or merge request number (default: from the CI environment)")
	return cmd
}

func (o *checkOptions) run(ctx context.Context, stdout, stderr io.Writer, ids []string) error {
	if err := o.out.check(); err != nil {
		return err
	}
	formatter, err := report.Get(o.out.format)
	if err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	if o.base != "" {
		if len(ids) > 0 {
			return flagError("--base reviews every service the change impacts: drop the TEAM/NAME arguments")
		}
		return o.review(ctx, stdout, stderr)
	}
	for flag, set := range map[string]bool{"--head": o.head != "", "--github-comment": o.githubComment, "--github-comment-author": o.githubAuthor != "", "--github-annotations": o.githubAnnotations, "--gitlab-note": o.gitlabNote, "--pr": o.pr != 0, "--fail-on": o.failOn != review.FailOnAny} {
		if set {
			return flagError("%s needs --base REF: it concerns the review of a change", flag)
		}
	}
	cat, err := loadCatalog(o.catalogDir)
	if err != nil {
		return err
	}
	defer cat.Close()
	if o.env != "" {
		if _, ok := cat.Config.Environment(o.env); !ok {
			return usageError("unknown environment %q (pave.yaml environments: %v)", o.env, cat.Config.EnvironmentNames())
		}
	}
	for _, id := range ids {
		if !strings.Contains(id, "/") {
			return flagError("expected TEAM/NAME, got %q", id)
		}
	}
	selected, err := selectServices(cat, ids)
	if err != nil {
		return err
	}

	var rep *report.Report
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	var compileErr *policy.CompileError
	switch {
	case errors.As(err, &compileErr):
		// Fail closed: nothing is checked when a policy does not compile.
		rep = report.FromCompileError(compileErr)
	case err != nil:
		return &exitError{code: exitInternal, err: err}
	default:
		envs := len(cat.Config.Environments)
		if o.env != "" {
			envs = 1
		}
		prog := o.progress(stderr, "checking", "pair", len(selected)*envs)
		// One pass that only reports: nothing rendered is kept, so memory
		// stays flat however many services the catalog has.
		renderer := render.New(cat, render.Options{NoCache: true})
		rep = report.FromRun(pipeline.New(cat, countingRenderer{renderer, prog}, engine).Run(ctx, pipeline.Options{Services: ids, Environment: o.env, DropRendered: true}))
		prog.end()
	}
	rep.RelocateFiles(o.catalogDir)

	if err := o.write(stdout, stderr, formatter, rep); err != nil {
		return err
	}
	if rep.Failed() {
		return silentExit(exitFailure)
	}
	return nil
}

// write prints the report, or writes it to --output-file.
func (o *checkOptions) write(stdout, stderr io.Writer, formatter report.Formatter, rep *report.Report) error {
	if t, ok := formatter.(report.Text); ok && o.out.file == "" && o.con != nil {
		t.Colour = o.con.colored(stdout)
		formatter = t
	}
	var buf bytes.Buffer
	if err := formatter.Format(&buf, rep); err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	if o.out.file == "" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	} else {
		if err := os.WriteFile(o.out.file, buf.Bytes(), 0o644); err != nil {
			return usageError("--output-file: %v", err)
		}
		s := rep.Summary()
		if rep.Review != nil {
			rs := rep.ReviewSummary()
			fmt.Fprintf(stderr, "wrote %s: %d impacted pairs (%d added, %d changed, %d removed, %d unchanged), %d new denials, %d existing, %d fixed, %d errors\n", o.out.file, rs.Pairs, rs.Added, rs.Changed, rs.Removed, rs.Unchanged, rs.NewDenials, rs.ExistingDenials, rs.FixedDenials, rs.Errors)
		} else {
			fmt.Fprintf(stderr, "wrote %s: %d services, %d denials, %d warnings, %d excepted, %d errors\n", o.out.file, s.Services, s.Denials, s.Warnings, s.Excepted, s.Errors)
		}
	}
	return nil
}

// progress starts the progress line of a run on stderr.
func (o *checkOptions) progress(stderr io.Writer, verb, noun string, total int) *progress {
	con := o.con
	if con == nil {
		con = quietConsole()
	}
	return con.progress(stderr, verb, noun, total)
}

// countingRenderer counts each service × environment rendered on the
// progress line.
type countingRenderer struct {
	pipeline.Renderer
	prog *progress
}

func (r countingRenderer) Render(svc *catalog.Service, env string) (*render.Result, error) {
	defer r.prog.add(1)
	return r.Renderer.Render(svc, env)
}
