package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"github.com/pave-dev/pave/review"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pave-dev/pave/render"
)

// hostileInputs are strings a pull request can put in a service.yaml (an
// exception's reason, an env value, an image, an object name) or make a
// policy message quote.
var hostileInputs = []string{
	"\n::add-mask::x",
	"\r::stop-commands::token",
	"  ::set-output name=x::y",
	"##[add-mask]x",
	"see ##vso[task.setvariable variable=x]y",
	"\x1b]8;;http://evil\x07click\x1b]8;;\x07",
	"\x1b[2J\x1b[Hall policies pass",
	"@org/team please approve",
	"cc @alice, fixes #123 and !45",
	"[click](https://evil)",
	"![img](https://evil/x.png)",
	"<img src=x onerror=alert(1)>",
	"&#64;org/team",
	"a|b",
	"```",
	"``",
	"`",
	"\\|",
	"<!-- pave-check -->",
	"--></details><details open>",
	"\u202eexe.txt",
	"\u2066x\u2069",
	"\xff\xfe",
	"https://evil and www.evil.com",
	"$x$ ~label %milestone &12",
	"# heading",
	"- item",
	"line\u2028separator",
	"",
}

// hostileReport is a check report with s in every string a service or
// policy can reach.
func hostileReport(s string) *Report {
	x := &Exception{Policy: "p-" + s, Reason: s, ApprovedBy: s, Expires: s, Field: s, Line: 3}
	r := &Report{
		Policies: []*Policy{{ID: "p-" + s, Title: s, Description: s, Remediation: s, File: s, Line: 1}},
		Errors:   []Error{{File: s, Line: 1, Message: s}},
		Results: []*Result{
			{Service: "team/" + s, File: s, Violations: []Violation{
				{Policy: "p-" + s, Severity: Warn, Message: s, Hint: s, File: s, Line: 2},
			}, Errors: []Error{{File: s, Line: 4, Message: "first line\n" + s}}},
			{Service: "team/" + s, Environment: s, File: s, Violations: []Violation{
				{Policy: "p-" + s, Severity: Deny, Message: s, Hint: s, File: s, Line: 5},
				{Policy: "p-" + s, Severity: Deny, Message: "excepted: " + s, File: s, Line: 6, Excepted: true, Exception: x},
				{Policy: "p-" + s, Severity: Warn, Message: s + "\n" + s, Hint: s, File: s, Line: 7},
			}, Errors: []Error{}},
		},
	}
	for _, res := range r.Results {
		res.Status = res.status()
	}
	return r
}

// hostileReview is hostileReport as a review, with s in the revisions,
// the blast radius and the diffs too.
func hostileReview(s string) *Report {
	r := hostileReport(s)
	diff := "--- base " + s + "\n+++ head " + s + "\n@@ -1,3 +1,3 @@\n " + s + "\n-" + s + "\n+" + s + "\n  " + s + "\n"
	pair := "team/" + s + " (" + s + ")"
	r.Review = &review.Review{
		Base: review.RevisionInfo{Ref: s, Commit: s, Message: s}, Head: review.RevisionInfo{Ref: s},
		FailOn: review.FailOnAny, Environments: []string{s, "prod"}, Changed: []string{s},
		Templates: []review.TemplateChange{{Name: s, From: s, To: s, Services: []string{"team/" + s}, Pairs: 1}},
		Policies:  []string{s, "policies/" + s + ".rego"},
		Groups: []review.Group{{Shape: s, Template: s, Services: []string{"team/" + s, "b", "c", "d"}, Environments: []string{s},
			Pairs: []string{pair, "b (x)", "c (x)", "d (x)", "e (y)"}, NewDenials: []string{s}}},
	}
	for _, res := range r.Results {
		if res.Environment == "" {
			continue
		}
		res.Change = review.ChangeChanged
		res.Diff = []review.ObjectChange{
			{Action: review.ActionChanged, Kind: s, Namespace: s, Name: s, Fields: []string{s}, Diff: diff},
			{Action: review.ActionAdded, Kind: "Kind" + s, Name: s, Diff: "+" + s + "\n"},
			{Action: review.ActionChanged, Kind: s, Name: s, Fields: []string{render.TemplateField}, Diff: diff},
		}
		res.Fixed = []Violation{{Policy: "p-" + s, Severity: Deny, Message: s, Hint: s, File: s, Line: 8, State: review.StateFixed}}
		for i := range res.Violations {
			res.Violations[i].State = review.StateNew
		}
	}
	return r
}

// formatString prints r in format.
func formatString(t testing.TB, f Formatter, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Format(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// githubCommand is a workflow command pave writes: its properties hold
// no ":" or "," (escaped), its message no CR or LF.
var githubCommandLine = regexp.MustCompile(`^::(error|warning|notice) (file=[^:,\r]*,(line=[0-9]+,)?)?title=[^:,\r]*::[^\r]*$`)

// checkPlain fails when out, printed to a terminal or a CI log, could do
// more than show: bytes that are not UTF-8, a control character other
// than newline and tab, a bidirectional control, a line a CI runner
// reads as a command. Only pave's own GitHub workflow commands may start
// a line with "::".
func checkPlain(t testing.TB, format, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: output is not UTF-8:\n%q", format, out)
	}
	for _, r := range out {
		if r != '\n' && hidden(r) {
			t.Errorf("%s: output holds %U:\n%q", format, r, out)
			break
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") && !(format == "github" && githubCommandLine.MatchString(line)) {
			t.Errorf("%s: a CI runner reads this line as a workflow command:\n%q", format, line)
		}
		low := strings.ToLower(line)
		if strings.Contains(low, "##[") || strings.Contains(low, "##vso[") {
			t.Errorf("%s: a CI runner reads this line as a command (##[ or ##vso[):\n%q", format, line)
		}
	}
}

// entity is an HTML entity mdText, mdHTML or html.EscapeString write.
var entity = regexp.MustCompile(`^&(lt|gt|amp|quot|#34|#39|#8203|#91|#58);`)

// allowedTags are the HTML tags pave's markdown writes.
var allowedTags = []string{Marker, "<details>", "</details>", "<summary>", "</summary>", "<code>", "</code>"}

// checkMarkdown fails when a string in the markdown could be more than
// text to GitHub or GitLab: outside code spans and fenced blocks, every
// "<" starts one of pave's tags and every "&" an entity; every "@" is
// followed by a zero-width space and no "#", "!" or "$" by a digit; every
// "[" is escaped; there is no "://" or "www." to link; table rows have
// as many cells as their header; <details> open and close in pairs; the
// marker is only in the first line.
func checkMarkdown(t testing.TB, out string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	fence := ""
	cells, details := 0, 0
	for n, line := range lines {
		if fence != "" {
			if strings.HasPrefix(line, fence) && strings.Trim(line, "`") == "" {
				fence = ""
			}
			continue
		}
		if f := strings.TrimLeft(line, " "); strings.HasPrefix(f, "```") {
			fence = f[:len(f)-len(strings.TrimLeft(f, "`"))]
			continue
		}
		text := markdownText(line)
		for i := 0; i < len(text); i++ {
			rest := text[i:]
			switch c := text[i]; {
			case c == '<':
				ok := false
				for _, tag := range allowedTags {
					if strings.HasPrefix(rest, tag) && (tag != Marker || n == 0) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("markdown: raw HTML in line %d: %q", n+1, line)
				}
			case c == '&':
				m := entity.FindString(rest)
				if m == "" {
					t.Errorf("markdown: raw & in line %d: %q", n+1, line)
				}
				i += max(len(m)-1, 0)
			case c == '@' && !strings.HasPrefix(rest, "@"+zwsp):
				t.Errorf("markdown: mention in line %d: %q", n+1, line)
			case strings.ContainsRune("#!$", rune(c)) && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9':
				t.Errorf("markdown: reference in line %d: %q", n+1, line)
			case c == '[':
				t.Errorf("markdown: link or image in line %d: %q", n+1, line)
			case strings.HasPrefix(rest, "://"), strings.HasPrefix(strings.ToLower(rest), "www."):
				t.Errorf("markdown: bare link in line %d: %q", n+1, line)
			}
		}
		details += strings.Count(text, "<details>") - strings.Count(text, "</details>")
		if details < 0 {
			t.Errorf("markdown: </details> closes what pave did not open, line %d: %q", n+1, line)
		}
		switch {
		case strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "|:--"):
			cells = tableCells(lines[n-1])
		case cells > 0 && strings.HasPrefix(line, "|"):
			if got := tableCells(line); got != cells {
				t.Errorf("markdown: table row %d has %d cells, its header %d: %q", n+1, got, cells, line)
			}
		default:
			cells = 0
		}
	}
	if details != 0 {
		t.Errorf("markdown: %d <details> left open", details)
	}
}

// markdownText is a line with its code spans and backslash escapes
// blanked out, as CommonMark reads them: what remains is what GitHub and
// GitLab render as text, HTML, links or mentions.
func markdownText(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && isASCIIPunct(line[i+1]):
			b.WriteString("  ")
			i += 2
		case c == '`':
			n := len(line[i:]) - len(strings.TrimLeft(line[i:], "`"))
			run := line[i : i+n]
			end := -1
			for j := i + n; j < len(line); {
				k := strings.Index(line[j:], run)
				if k < 0 {
					break
				}
				k += j
				m := len(line[k:]) - len(strings.TrimLeft(line[k:], "`"))
				if m == n {
					end = k
					break
				}
				j = k + m
			}
			if end < 0 {
				b.WriteString(run) // no closing run: literal backticks
				i += n
				continue
			}
			b.WriteString(strings.Repeat(" ", end+n-i))
			i = end + n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

// tableCells counts a table row's cells as GitHub's and GitLab's parsers
// split it: at every "|" that a backslash escaping it does not precede,
// a backslash and the ASCII punctuation after it counting as one.
func tableCells(row string) int {
	pipes := 0
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && isASCIIPunct(row[i+1]):
			i++
		case row[i] == '|':
			pipes++
		}
	}
	return pipes - 1
}

// checkFormat prints r in format and checks that nothing in it does more
// than show.
func checkFormat(t testing.TB, format string, r *Report) string {
	t.Helper()
	var f Formatter
	switch format {
	case "markdown-comment":
		f = Markdown{Limit: CommentLimit}
	default:
		var err error
		if f, err = Get(format); err != nil {
			t.Fatal(err)
		}
	}
	out := formatString(t, f, r)
	checkPlain(t, format, out)
	switch format {
	case "markdown", "markdown-comment":
		checkMarkdown(t, out)
	case "json", "sarif":
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s: not JSON: %v", format, err)
		}
	case "junit":
		var v junitSuites
		if err := xml.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("junit: not XML: %v", err)
		}
	}
	return out
}

func TestHostileInputsInEveryFormat(t *testing.T) {
	for _, s := range hostileInputs {
		for _, format := range append(Formats(), "markdown-comment") {
			checkFormat(t, format, hostileReport(s))
			checkFormat(t, format, hostileReview(s))
		}
	}
}

// The fuzz targets put one string everywhere a service or a policy can
// reach in a check and in a review report, and check the invariants of
// each format family; the hostile inputs are their seeds, which go test
// runs.

func fuzzFormats(f *testing.F, formats ...string) {
	for _, s := range hostileInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, format := range formats {
			checkFormat(t, format, hostileReport(s))
			checkFormat(t, format, hostileReview(s))
		}
	})
}

func FuzzTextFormat(f *testing.F)     { fuzzFormats(f, "text") }
func FuzzGitHubFormat(f *testing.F)   { fuzzFormats(f, "github") }
func FuzzMarkdownFormat(f *testing.F) { fuzzFormats(f, "markdown", "markdown-comment") }
func FuzzMachineFormats(f *testing.F) { fuzzFormats(f, "json", "sarif", "junit") }

// exceptedReport is sampleReport with reason as the reason of its
// exception, and the message of the denial it covers quoting it.
func exceptedReport(reason string) *Report {
	r := sampleReport()
	v := &r.Results[1].Violations[0]
	v.Exception.Reason = reason
	v.Message = "denied: " + reason
	// The report's list of exceptions, shown first, quotes it too.
	for i := range r.Exceptions {
		r.Exceptions[i].Reason = reason
		r.Exceptions[i].ApprovedBy = reason
	}
	return r
}

// formatWants runs one format's table: each hostile input as an
// exception's reason, the output holding want and passing check.
func formatWants(t *testing.T, format string, cases []struct{ in, want string }) {
	t.Helper()
	for _, tc := range cases {
		out := checkFormat(t, format, exceptedReport(tc.in))
		if !strings.Contains(out, tc.want) {
			t.Errorf("reason %q: %s output lacks %q:\n%s", tc.in, format, tc.want, out)
		}
	}
}
