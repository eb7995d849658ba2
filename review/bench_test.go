package review_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/report"
	"github.com/pave-dev/pave/review"
	"github.com/pave-dev/pave/review/reviewtest"
)

// templateChangeAtScale is a repository of the example catalog plus n
// synthetic web-services whose last commit changes the web-service
// template: every web-service changes in every environment.
func templateChangeAtScale(tb testing.TB, n int) *reviewtest.Repo {
	repo := reviewtest.New(tb, exampleCatalog)
	repo.AddServices(n)
	repo.Commit("synthetic services")
	repo.Replace("templates/web-service/Chart.yaml", "version: 1.0.0", "version: 1.1.0")
	// The pod template is the library's: web-service alone adds to it.
	repo.Replace("templates/web-service/templates/deployment.yaml", `include "pave.deployment" .`, `include "pave.deployment" . | replace "            readOnlyRootFilesystem: true\n" "            readOnlyRootFilesystem: true\n            runAsUser: 10001\n"`)
	repo.Commit("web-service 1.1.0")
	return repo
}

// review runs what pave check --base does: open, read both commits, diff
// the trees, render and evaluate both sides, format.
func reviewRepo(tb testing.TB, repo *reviewtest.Repo, out io.Writer, formatters ...report.Formatter) *report.Report {
	r, err := review.Open(repo.Catalog)
	if err != nil {
		tb.Fatal(err)
	}
	base, err := r.Revision("HEAD~1")
	if err != nil {
		tb.Fatal(err)
	}
	head, err := r.Revision("HEAD")
	if err != nil {
		tb.Fatal(err)
	}
	changed, err := review.Changed(base, head)
	if err != nil {
		tb.Fatal(err)
	}
	rv, err := review.Run(context.Background(), base, head, review.Options{Changed: changed, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	rep := report.FromReview(rv)
	for _, f := range formatters {
		if err := f.Format(out, rep); err != nil {
			tb.Fatal(err)
		}
	}
	return rep
}

// TestCommentFitsAtScale: with hundreds of impacted services the comment
// stays under GitHub's limit, keeps the blast radius naming every pair,
// and says what it left out.
func TestCommentFitsAtScale(t *testing.T) {
	repo := templateChangeAtScale(t, 300)
	var b bytes.Buffer
	rep := reviewRepo(t, repo, &b, report.Markdown{Limit: report.CommentLimit})
	md := b.String()
	if n := len([]rune(md)); n > report.CommentLimit {
		t.Errorf("comment is %d characters, over %d", n, report.CommentLimit)
	}
	if s := rep.ReviewSummary(); s.Changed != 606 {
		t.Errorf("summary %+v: want 303 web-services × 2 environments changed", s)
	}
	for _, want := range []string{report.Marker, "### Blast radius", "303 services × 2 environments (staging, prod)", "svc-0299 (prod)", "<details>", "### Example diffs", "+          runAsUser: 10001", "All 606 impacted pairs pass every policy", "This comment was cut to fit", "-o markdown --output-file report.md"} {
		if !strings.Contains(md, want) {
			t.Errorf("comment lacks %q", want)
		}
	}
	var full bytes.Buffer
	if err := (report.Markdown{}).Format(&full, rep); err != nil {
		t.Fatal(err)
	}
	if full.Len() <= report.CommentLimit || strings.Contains(full.String(), "cut to fit") {
		t.Errorf("the full report (-o) is %d bytes and must not be cut", full.Len())
	}
}

// BenchmarkReviewTemplateChange1000 is issue 8's figure: a template
// change impacting 1000 services × 2 environments, rendered on both
// sides, diffed, evaluated and reported (markdown and JSON), target < 20 s
// on 2 cores.
func BenchmarkReviewTemplateChange1000(b *testing.B) {
	repo := templateChangeAtScale(b, 1000)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		rep := reviewRepo(b, repo, io.Discard, report.Markdown{Limit: report.CommentLimit}, report.JSON{})
		b.ReportMetric(time.Since(start).Seconds(), "s/review")
		b.ReportMetric(float64(rep.ReviewSummary().Pairs), "pairs")
	}
}
