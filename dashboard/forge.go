package dashboard

import (
	"net/url"
	"strings"
)

// forgeRepo is a repository on a known forge, from which the dashboard
// links commits and files. Only github.com and gitlab.com are known: a
// link is built from fixed host names, never from a URL the catalog
// gives, so a link cannot lead anywhere else.
type forgeRepo struct {
	kind string // "github" or "gitlab"
	path string // owner/name (gitlab: group/…/name)
}

// parseForge recognises https://, ssh:// and scp-like (git@host:path) URLs
// of github.com and gitlab.com; anything else gives nil.
func parseForge(repoURL string) *forgeRepo {
	s := strings.TrimSpace(repoURL)
	var host, path string
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		switch u.Scheme {
		case "https", "http", "ssh", "git+ssh":
		default:
			return nil
		}
		host, path = u.Hostname(), u.Path
	} else if at, rest, ok := strings.Cut(s, "@"); ok && !strings.Contains(at, "/") {
		// scp-like: git@github.com:owner/name.git
		h, p, ok := strings.Cut(rest, ":")
		if !ok {
			return nil
		}
		host, path = h, p
	} else {
		return nil
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if strings.Count(path, "/") < 1 || strings.Contains(path, "..") {
		return nil
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "" || strings.ContainsAny(seg, "?#% ") {
			return nil
		}
	}
	switch strings.ToLower(host) {
	case "github.com":
		if strings.Count(path, "/") != 1 {
			return nil
		}
		return &forgeRepo{kind: "github", path: path}
	case "gitlab.com":
		return &forgeRepo{kind: "gitlab", path: path}
	}
	return nil
}

func (f *forgeRepo) base() string {
	if f.kind == "github" {
		return "https://github.com/" + f.path
	}
	return "https://gitlab.com/" + f.path + "/-"
}

// commitURL links a commit; "" for what is not a commit hash (a folder
// source's digest).
func (f *forgeRepo) commitURL(rev string) string {
	if f == nil || !isCommitHash(rev) {
		return ""
	}
	return f.base() + "/commit/" + rev
}

// fileURL links a file at a commit, at a line when line > 0.
func (f *forgeRepo) fileURL(rev, file string, line int) string {
	if f == nil || !isCommitHash(rev) || file == "" {
		return ""
	}
	var segs []string
	for _, s := range strings.Split(file, "/") {
		if s == "" || s == "." || s == ".." {
			return ""
		}
		segs = append(segs, url.PathEscape(s))
	}
	u := f.base() + "/blob/" + rev + "/" + strings.Join(segs, "/")
	if line > 0 {
		u += "#L" + itoa(line)
	}
	return u
}

func isCommitHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
