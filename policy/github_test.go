package policy

import "testing"

func TestGitHubFormat(t *testing.T) { testFormat(t, "github", nil) }

func TestGitHubEscaping(t *testing.T) {
	if got := githubProperty("a:b,c%\nd"); got != "a%3Ab%2Cc%25%0Ad" {
		t.Errorf("property %q", got)
	}
	if got := githubData("50%: a,b\r\nc"); got != "50%25: a,b%0D%0Ac" {
		t.Errorf("data %q", got)
	}
}
