package review_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
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
	rep, err := reviewDir(repo.Catalog, out, formatters...)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

func reviewDir(dir string, out io.Writer, formatters ...report.Formatter) (*report.Report, error) {
	r, err := review.Open(dir)
	if err != nil {
		return nil, err
	}
	base, err := r.Revision("HEAD~1")
	if err != nil {
		return nil, err
	}
	head, err := r.Revision("HEAD")
	if err != nil {
		return nil, err
	}
	changed, err := review.Changed(base, head)
	if err != nil {
		return nil, err
	}
	rv, err := review.Run(context.Background(), base, head, review.Options{Changed: changed, Now: now})
	if err != nil {
		return nil, err
	}
	rep := report.FromReview(rv)
	for _, f := range formatters {
		if err := f.Format(out, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
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
	t.Run("CutWhole", func(t *testing.T) { testCommentCutWhole(t, rep) })
}

// BenchmarkReviewTemplateChange1000 is issue 8's figure: a template
// change impacting 1000 services × 2 environments, rendered on both
// sides, diffed, evaluated and reported (markdown and JSON), target < 20 s
// on 2 cores. BenchmarkReviewTemplateChange10000 is issue 15's: 10,000
// services, under 2 minutes. See benchReview for what they report.
func BenchmarkReviewTemplateChange1000(b *testing.B)  { benchReview(b, 1000) }
func BenchmarkReviewTemplateChange10000(b *testing.B) { benchReview(b, 10000) }

// benchReview measures, each in a process of its own so that its peak
// RSS is its own, the review of a template change over n services as
// pave check --base does it (the comment and the JSON report included),
// and its floor: reading both commits and rendering the impacted pairs
// on both sides, nothing else. It reports both times (wall, and the
// process's CPU time), both peak RSS, their ratio, the pairs and the
// comment's length.
func benchReview(b *testing.B, n int) {
	repo := templateChangeAtScale(b, n)
	for b.Loop() {
		rv := reviewChild(b, "review", repo.Catalog)
		floor := reviewChild(b, "render", repo.Catalog)
		if rv.Pairs != floor.Pairs || rv.Pairs < 2*n {
			b.Fatalf("review of %d pairs, render of %d", rv.Pairs, floor.Pairs)
		}
		b.ReportMetric(rv.Seconds, "s/review")
		b.ReportMetric(float64(rv.MaxRSS)/(1<<20), "MiB-review")
		b.ReportMetric(rv.CPU, "cpu-s/review")
		b.ReportMetric(floor.Seconds, "s/render")
		b.ReportMetric(float64(floor.MaxRSS)/(1<<20), "MiB-render")
		b.ReportMetric(floor.CPU, "cpu-s/render")
		b.ReportMetric(rv.Seconds/floor.Seconds, "review/render")
		b.ReportMetric(float64(rv.Pairs), "pairs")
		b.ReportMetric(float64(rv.Comment), "comment-chars")
	}
}

// benchChildEnv, when set ("review:DIR", "render:DIR"), makes the test
// binary one measured job of benchReview instead of running tests.
const benchChildEnv = "PAVE_BENCH_CHILD"

// benchProfileEnv names a file the jobs write their CPU profiles to
// (FILE.review, FILE.render).
const benchProfileEnv = "PAVE_BENCH_CPUPROFILE"

func TestMain(m *testing.M) {
	if job := os.Getenv(benchChildEnv); job != "" {
		if err := runBenchJob(job, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// jobResult is what a job measured: its time, from opening the
// repository to the end, the pairs and the comment's characters; MaxRSS
// (bytes) and CPU (seconds) are the process's, set by the parent.
type jobResult struct {
	Seconds float64 `json:"seconds"`
	Pairs   int     `json:"pairs"`
	Comment int     `json:"comment"`
	MaxRSS  int64   `json:"-"`
	CPU     float64 `json:"-"`
}

// reviewChild runs one job in a child process.
func reviewChild(b *testing.B, job, dir string) jobResult {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	// The collector pave check --base runs with (cmd/pave's batchGC);
	// GOGC or GOMEMLIMIT set for the benchmark win.
	cmd.Env = append(append([]string{"GOGC=400", "GOMEMLIMIT=1280MiB"}, os.Environ()...), benchChildEnv+"="+job+":"+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", job, err, stderr.String())
	}
	var res jobResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		b.Fatalf("%s: %v\n%s", job, err, stdout.String())
	}
	res.MaxRSS = maxRSS(cmd.ProcessState)
	res.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return res
}

// runBenchJob is one job of benchReview, in this process.
func runBenchJob(job string, out io.Writer) error {
	kind, dir, _ := strings.Cut(job, ":")
	if file := os.Getenv(benchProfileEnv); file != "" {
		// A CPU profile of the job (go test's -cpuprofile sees only the
		// parent).
		f, err := os.Create(file + "." + kind)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	res := jobResult{}
	switch kind {
	case "review":
		var comment bytes.Buffer
		rep, err := reviewDir(dir, &comment, report.Markdown{Limit: report.CommentLimit})
		if err != nil {
			return err
		}
		if err := (report.JSON{}).Format(io.Discard, rep); err != nil {
			return err
		}
		res.Pairs = rep.ReviewSummary().Pairs
		res.Comment = len([]rune(comment.String()))
	case "render":
		n, err := renderBothSides(dir)
		if err != nil {
			return err
		}
		res.Pairs = n
	default:
		return fmt.Errorf("%s: unknown job %q", benchChildEnv, kind)
	}
	res.Seconds = time.Since(start).Seconds()
	return json.NewEncoder(out).Encode(res)
}

// renderBothSides reads HEAD~1 and HEAD and renders the pairs the change
// impacts on each side, on all cores, keeping nothing; it returns the
// impacted pairs of the head.
func renderBothSides(dir string) (int, error) {
	r, err := review.Open(dir)
	if err != nil {
		return 0, err
	}
	base, err := r.Revision("HEAD~1")
	if err != nil {
		return 0, err
	}
	head, err := r.Revision("HEAD")
	if err != nil {
		return 0, err
	}
	changed, err := review.Changed(base, head)
	if err != nil {
		return 0, err
	}
	baseCat, err := catalog.LoadWith(base.FS, catalog.LoadOptions{Now: now})
	if err != nil {
		return 0, err
	}
	headCat, err := catalog.LoadWith(head.FS, catalog.LoadOptions{Now: now, HostClaims: baseCat.HostClaims()})
	if err != nil {
		return 0, err
	}
	impacted := catalog.Affected(changed, baseCat, headCat).Services
	pairs := 0
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, cat := range []*catalog.Catalog{baseCat, headCat} {
		renderer := render.New(cat, render.Options{NoCache: true})
		for _, id := range impacted {
			svc, ok := cat.Service(id)
			if !ok {
				continue
			}
			for _, env := range cat.Config.EnvironmentNames() {
				if i == 1 {
					pairs++
				}
				g.Go(func() error {
					_, err := renderer.Render(svc, env)
					return err
				})
			}
		}
	}
	return pairs, g.Wait()
}
