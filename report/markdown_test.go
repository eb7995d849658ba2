package report

import (
	"github.com/pave-dev/pave/review"
	"strings"
	"testing"
)

func TestMarkdownFormat(t *testing.T) { testFormat(t, "markdown", nil) }

func TestMarkdownEscapesServiceStrings(t *testing.T) {
	// The reason is a cell of the exceptions table, between the location
	// and the approver.
	cell := func(s string) string { return ":16` | " + s + " | security@&#8203;example.com | 2027-06-30 |" }
	formatWants(t, "markdown", []struct{ in, want string }{
		{"@org/team please approve", cell("@&#8203;org/team please approve")},
		{"cc @alice, fixes #123 and !45", cell("cc @&#8203;alice, fixes #&#8203;123 and !&#8203;45")},
		{"&#64;org/team", cell("&amp;#&#8203;64;org/team")},
		{"[click](https://evil)", cell(`\[click\](https:&#8203;//evil)`)},
		{"![img](https://evil/x.png)", cell(`!\[img\](https:&#8203;//evil/x.png)`)},
		{"see www.evil.com", cell("see www&#8203;.evil.com")},
		{"<img src=x onerror=alert(1)>", cell("&lt;img src=x onerror=alert(1)&gt;")},
		{"<!-- pave-check -->", cell("&lt;!-- pave-check --&gt;")},
		{"--></details><details open>", cell("\\--&gt;&lt;/details&gt;&lt;details open&gt;")},
		{"a|b", cell(`a\|b`)},
		{`a\|b`, cell(`a\\\|b`)},
		{"```", cell("\\`\\`\\`")},
		{"$x$ ~label %milestone &12", cell(`\$x\$ ~&#8203;label %&#8203;milestone &amp;&#8203;12`)},
		{"# heading", cell(`\# heading`)},
		{"\n::add-mask::x", cell(` \::add-mask::x`)},
		{"##[add-mask]x", cell(`\##\[add-mask\]x`)},
		{"\x1b]8;;http://evil\x07", cell(`\\x1b\]8;;http:&#8203;//evil\\x07`)},
		{"\u202eexe.txt", cell(`\\u202eexe.txt`)},
		{"PDF engine writes to /var/cache", cell("PDF engine writes to /var/cache")},
	})
}

func TestMdCodeCannotBeLeft(t *testing.T) {
	for _, tc := range []struct{ in, code, cell string }{
		{"team/app", "`team/app`", "`team/app`"},
		{"a`b", "``a`b``", "``a`b``"},
		{"`x", "`` `x ``", "`` `x ``"},
		{"a``b```c", "````a``b```c````", "````a``b```c````"},
		{"a|b", "`a|b`", "`a\\|b`"},
		{`a\|b`, "`a\\|b`", "`a\\|b`"},
		{`a\\|b`, "`a\\\\|b`", "`a\\\\\\|b`"},
		{"x\ny", "`x\\ny`", "`x\\ny`"},
		{"::add-mask::x", "`\\::add-mask::x`", "`\\::add-mask::x`"},
		{"", "``", "``"},
	} {
		if got := mdCode(tc.in); got != tc.code {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.code)
		}
		if got := mdCellCode(tc.in); got != tc.cell {
			t.Errorf("mdCellCode(%q) = %q, want %q", tc.in, got, tc.cell)
		}
		if got := tableCells("| " + mdCellCode(tc.in) + " | x |"); got != 2 {
			t.Errorf("mdCellCode(%q) makes %d cells of 2", tc.in, got)
		}
	}
}

// hostileComment is a review whose denial message, service, object and
// diff are s.
func hostileComment(s string) *Report {
	r := &Report{Review: &review.Review{Base: review.RevisionInfo{Ref: "HEAD~1"}, Head: review.RevisionInfo{Ref: "HEAD"}, FailOn: review.FailOnAny, Environments: []string{"prod"}}}
	r.Results = []*Result{{
		Service: "payments/checkout", Environment: "prod", File: "services/payments/checkout/service.yaml", Change: review.ChangeChanged,
		Violations: []Violation{{Policy: "image-tag-pinned", Severity: Deny, Message: "image " + s + " is tagged latest", File: "services/payments/checkout/service.yaml", Line: 8, State: review.StateNew}},
		Errors:     []Error{},
		Diff: []review.ObjectChange{{Action: review.ActionChanged, Kind: "ConfigMap", Namespace: "payments-prod", Name: "checkout",
			Fields: []string{"data.x"}, Diff: " data:\n-  x: old\n+  x: |\n+" + s + "\n  y: " + s + "\n"}},
	}}
	r.Results[0].Status = r.Results[0].status()
	return r
}

func TestReviewCommentEscapesServiceStrings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"@org/team please approve", "image @&#8203;org/team please approve is tagged latest"},
		{"[click](https://evil)", `image \[click\](https:&#8203;//evil) is tagged latest`},
		{"<img src=x onerror=alert(1)>", "image &lt;img src=x onerror=alert(1)&gt; is tagged latest"},
		// The diff keeps the text as written, in a fence no line closes,
		// with no line a CI runner runs.
		{"```\n<img src=x>", "````diff\n data:\n-  x: old\n+  x: |\n+```\n<img src=x>\n  y: ```\n<img src=x>\n````\n"},
		{"::add-mask::x", "+::add-mask::x\n  y: ::add-mask::x\n"},
		{"\n::add-mask::x", "+\n\\::add-mask::x\n"},
		{"\x1b]8;;http://evil\x07", "+\\x1b]8;;http://evil\\x07\n"},
	} {
		out := checkFormat(t, "markdown-comment", hostileComment(tc.in))
		if !strings.Contains(out, tc.want) {
			t.Errorf("%q: comment lacks %q:\n%s", tc.in, tc.want, out)
		}
	}
}
