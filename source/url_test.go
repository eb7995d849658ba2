package source

import (
	"errors"
	"strings"
	"testing"
)

func TestNewGitRefusesCredentialsInURL(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		url, secret string
	}{
		{"https://ghp_0123456789abcdef@github.com/platform/catalog.git", "ghp_0123456789abcdef"},
		{"https://robot:s3cret-pass@git.example.com/platform/catalog.git", "s3cret-pass"},
		{"https://oauth2:glpat-xyz@gitlab.example.com/platform/catalog.git", "glpat-xyz"},
		{"https://%67hp_escaped@github.com/platform/catalog.git", "hp_escaped"},
		{"http://token-on-loopback@127.0.0.1:3000/catalog.git", "token-on-loopback"},
		{"https://git.example.com/platform/catalog.git?private_token=tok-in-query", "tok-in-query"},
		{"ssh://git:ssh-pass@git.example.com/platform/catalog.git", "ssh-pass"},
		{"robot:scp-pass@git.example.com:platform/catalog.git", "scp-pass"},
		{"file://user:file-pass@/srv/catalog.git", "file-pass"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := NewGit(GitOptions{URL: tc.url, CacheDir: dir})
			if !errors.Is(err, ErrURLCredentials) {
				t.Fatalf("err = %v, want ErrURLCredentials", err)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	// A URL that does not parse is refused without quoting its credentials.
	for _, u := range []string{"https://robot:unparsable-secret@git.example.com:badport/x.git", "https://robot:unparsable-secret@git example.com/x.git"} {
		_, err := NewGit(GitOptions{URL: u, CacheDir: dir})
		if err == nil || strings.Contains(err.Error(), "unparsable-secret") {
			t.Errorf("NewGit(%q) = %v, want an error without the secret", u, err)
		}
		if err := CheckURL(u); err == nil || strings.Contains(err.Error(), "unparsable-secret") {
			t.Errorf("CheckURL(%q) = %v, want an error without the secret", u, err)
		}
	}
	// A login name in an ssh URL is not a secret.
	for _, u := range []string{"git@github.com:platform/catalog.git", "ssh://git@github.com/platform/catalog.git", "https://github.com/platform/catalog.git", "file:///srv/catalog.git"} {
		if _, err := NewGit(GitOptions{URL: u, CacheDir: dir}); err != nil && errors.Is(err, ErrURLCredentials) {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/platform/catalog.git", "https://github.com/platform/catalog.git"},
		{"https://ghp_tok@github.com/platform/catalog.git", "https://github.com/platform/catalog.git"},
		{"https://robot:p%40ss@github.com/x.git", "https://github.com/x.git"},
		{"https://robot:p@ss@github.com/x.git", "https://github.com/x.git"},
		{"https://git.example.com/x.git?private_token=abc", "https://git.example.com/x.git"},
		{"ssh://git@github.com/platform/catalog.git", "ssh://git@github.com/platform/catalog.git"},
		{"ssh://git:pw@github.com/platform/catalog.git", "ssh://github.com/platform/catalog.git"},
		{"git@github.com:platform/catalog.git", "git@github.com:platform/catalog.git"},
		{"robot:pw@github.com:platform/catalog.git", "github.com:platform/catalog.git"},
		{"file:///srv/catalog.git", "file:///srv/catalog.git"},
		{"/srv/catalog", "/srv/catalog"},
		{"https://ghp_tok@github.com/x.git#main", "https://github.com/x.git#main"},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactURLsInText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`fetch https://ghp_tok@github.com/x.git branch main: authentication required`, `fetch https://github.com/x.git branch main: authentication required`},
		{`Get "https://u:p@ss@h.example/x/info/refs?service=git-upload-pack": EOF`, `Get "https://h.example/x/info/refs?service=git-upload-pack": EOF`},
		{`dial ssh://git@h.example:22: refused`, `dial ssh://git@h.example:22: refused`},
		{`dial ssh://git:pw@h.example:22: refused`, `dial ssh://h.example:22: refused`},
		{`https://h.example/x failed for dev@example.com`, `https://h.example/x failed for dev@example.com`},
		{`two: http://a@x/ and HTTPS://b:c@y/`, `two: http://x/ and HTTPS://y/`},
	} {
		if got := RedactURLs(tc.in); got != tc.want {
			t.Errorf("RedactURLs(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
