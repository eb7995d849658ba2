package forge_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/forge"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// eventFile writes an event payload and returns its path.
func eventFile(t *testing.T, payload string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const pullRequestEvent = `{
  "action": "synchronize",
  "number": 42,
  "pull_request": {
    "number": 42,
    "head": {"ref": "change", "sha": "headsha42"},
    "base": {"ref": "main", "sha": "basesha"}
  }
}`

func TestGitHubConfigFromPullRequestEvent(t *testing.T) {
	cfg, err := forge.GitHubConfigFromEnv(env(map[string]string{
		"GITHUB_TOKEN":      "ghs_x",
		"GITHUB_REPOSITORY": "acme/catalog",
		"GITHUB_EVENT_PATH": eventFile(t, pullRequestEvent),
		"GITHUB_SHA":        "mergesha",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := forge.GitHubConfig{
		Token: "ghs_x", Repository: "acme/catalog", APIURL: "https://api.github.com/", PR: 42, HeadSHA: "headsha42",
	}
	if cfg != want {
		t.Errorf("cfg = %+v, want %+v", cfg, want)
	}
}

func TestGitHubConfigPROverride(t *testing.T) {
	base := map[string]string{"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/catalog", "GITHUB_SHA": "pushsha"}

	// A push event: --pr names the pull request, the head is GITHUB_SHA.
	m := map[string]string{"GITHUB_EVENT_PATH": eventFile(t, `{"ref": "refs/heads/change", "after": "pushsha"}`)}
	for k, v := range base {
		m[k] = v
	}
	cfg, err := forge.GitHubConfigFromEnv(env(m), 5)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PR != 5 || cfg.HeadSHA != "pushsha" {
		t.Errorf("cfg = %+v, want PR 5 at pushsha", cfg)
	}

	// The flag wins over the event; another pull request's head is not used.
	m["GITHUB_EVENT_PATH"] = eventFile(t, pullRequestEvent)
	cfg, err = forge.GitHubConfigFromEnv(env(m), 6)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PR != 6 || cfg.HeadSHA != "pushsha" {
		t.Errorf("cfg = %+v, want PR 6 at pushsha", cfg)
	}

	// No event at all.
	cfg, err = forge.GitHubConfigFromEnv(env(base), 8)
	if err != nil || cfg.PR != 8 {
		t.Errorf("cfg = %+v, err = %v", cfg, err)
	}
}

func TestGitHubConfigEnterpriseURL(t *testing.T) {
	cfg, err := forge.GitHubConfigFromEnv(env(map[string]string{
		"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/catalog",
		"GITHUB_API_URL": "https://ghe.example.com/api/v3",
	}), 3)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIURL != "https://ghe.example.com/api/v3" {
		t.Errorf("APIURL = %q", cfg.APIURL)
	}
	if _, err := forge.NewGitHub(cfg, nil); err != nil {
		t.Error(err)
	}
}

func TestGitHubConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		pr   int
		want []string
	}{
		"nothing": {
			env: map[string]string{},
			want: []string{
				"GITHUB_TOKEN is not set: give the job `permissions: pull-requests: write` and pass env GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
				"GITHUB_REPOSITORY is not set",
				"no pull request number: GITHUB_EVENT_PATH is not set; pass --pr N",
			},
		},
		"no token": {
			env:  map[string]string{"GITHUB_REPOSITORY": "acme/catalog"},
			pr:   1,
			want: []string{"GITHUB_TOKEN is not set"},
		},
		"bad repository": {
			env:  map[string]string{"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "catalog"},
			pr:   1,
			want: []string{`GITHUB_REPOSITORY "catalog" is not owner/name`},
		},
		"push event": {
			env: map[string]string{
				"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/catalog", "GITHUB_EVENT_NAME": "push",
				"GITHUB_EVENT_PATH": "push.json",
			},
			want: []string{"no pull request number: GITHUB_EVENT_PATH holds no pull_request event (event push); pass --pr N"},
		},
		"unreadable event": {
			env: map[string]string{
				"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "acme/catalog", "GITHUB_EVENT_PATH": "/nonexistent/event.json",
			},
			pr:   1,
			want: []string{"read GITHUB_EVENT_PATH", "/nonexistent/event.json"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.env["GITHUB_EVENT_PATH"] == "push.json" {
				tc.env["GITHUB_EVENT_PATH"] = eventFile(t, `{"ref": "refs/heads/main"}`)
			}
			_, err := forge.GitHubConfigFromEnv(env(tc.env), tc.pr)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant %q in it", err, w)
				}
			}
		})
	}
}
