package review_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pave-dev/pave/report"
)

// testCommentCutWhole: however small the limit against the size of the
// review (300 services here stand for 10,000 against GitHub's 65,536
// characters; BenchmarkReviewTemplateChange10000 reports the full-size
// comment's length), the comment stays under it, is cut between whole
// items — every <details> closed, every code fence closed — and ends by
// saying what it left out and how to get the full report.
// (It runs within TestCommentFitsAtScale, on its review.)
func testCommentCutWhole(t *testing.T, rep *report.Report) {
	cut := regexp.MustCompile(`_This comment was cut to fit: ([0-9]+ of )?[0-9]+ [a-z -]+( not shown|, )`)
	for _, limit := range []int{3000, 6000, 12000, 24000, report.CommentLimit} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var b bytes.Buffer
			if err := (report.Markdown{Limit: limit}).Format(&b, rep); err != nil {
				t.Fatal(err)
			}
			md := b.String()
			if n := len([]rune(md)); n > limit {
				t.Errorf("comment is %d characters, over %d", n, limit)
			}
			if open, closed := strings.Count(md, "<details"), strings.Count(md, "</details>"); open != closed {
				t.Errorf("%d <details> and %d </details>: cut inside one", open, closed)
			}
			if n := strings.Count(md, "```"); n%2 != 0 {
				t.Errorf("%d code fences: cut inside one", n)
			}
			for _, want := range []string{"## ", "606 pairs impacted (service × environment): 0 added, 606 changed", "-o markdown --output-file report.md` writes the full report._\n"} {
				if !strings.Contains(md, want) {
					t.Errorf("comment lacks %q", want)
				}
			}
			if !cut.MatchString(md) {
				t.Errorf("comment does not say what it left out:\n%s", md[max(0, len(md)-400):])
			}
			if !strings.HasSuffix(md, "writes the full report._\n") {
				t.Errorf("comment does not end with the note on what it left out:\n%s", md[max(0, len(md)-400):])
			}
		})
	}
}
