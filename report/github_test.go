package report

import (
	"strings"
	"testing"
)

func TestGitHubFormat(t *testing.T) { testFormat(t, "github", nil) }

func TestGitHubEscaping(t *testing.T) {
	if got := githubProperty("a:b,c%\nd"); got != "a%3Ab%2Cc%25%0Ad" {
		t.Errorf("property %q", got)
	}
	if got := githubData("50%: a,b\r\nc"); got != "50%25: a,b%0D%0Ac" {
		t.Errorf("data %q", got)
	}
	if got := githubProperty("x\x1b[31m\u202e##[y"); got != `x\x1b[31m\u202e##\[y` {
		t.Errorf("property %q", got)
	}
}

func TestGitHubEscapesServiceStrings(t *testing.T) {
	note := "%0Aexcepted until 2027-06-30, approved by security@example.com: "
	formatWants(t, "github", []struct{ in, want string }{
		{"\n::add-mask::x", note + "%0A::add-mask::x\n"},
		{"\r::stop-commands::token", note + "%0D::stop-commands::token\n"},
		{"%0A::add-mask::x", note + "%250A::add-mask::x\n"},
		{"##[add-mask]x", note + `##\[add-mask]x` + "\n"},
		{"\x1b]8;;http://evil\x07click\x1b]8;;\x07", note + `\x1b]8;;http://evil\x07click\x1b]8;;\x07` + "\n"},
		{"\u202eexe.txt", note + `\u202eexe.txt` + "\n"},
		{"a:b,c", note + "a:b,c\n"},
	})
	// Property values cannot end the properties or the command early.
	r := exceptedReport("x")
	r.Results[1].Service = "data/a,title=forged::x"
	out := checkFormat(t, "github", r)
	if want := "title=readonly-root-filesystem%3A data/a%2Ctitle=forged%3A%3Ax (prod) (excepted)::"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
