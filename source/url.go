package source

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// ErrURLCredentials is returned by NewGit (wrapped) for a repository URL
// that carries credentials: a user name, token or password before the "@"
// of an https or file URL, a password in an ssh URL, or a query string.
// Whatever is written in a URL ends up in logs, status pages and process
// listings; credentials belong in the files of GitAuth.
var ErrURLCredentials = errors.New("the repository URL carries credentials")

// checkURLCredentials refuses a URL that carries credentials. The error
// never repeats the URL, only which part is wrong.
func checkURLCredentials(ep *transport.Endpoint) error {
	switch ep.Protocol {
	case "ssh":
		// The user of an ssh URL is the login ("git@"), not a secret; a
		// password, or a "user:password" in an scp-like URL, is.
		if ep.Password != "" || strings.Contains(ep.User, ":") {
			return fmt.Errorf("%w: a password in an ssh URL", ErrURLCredentials)
		}
	default:
		if ep.User != "" || ep.Password != "" {
			return fmt.Errorf("%w: a user name or token before the \"@\"", ErrURLCredentials)
		}
		if strings.Contains(ep.Path, "?") {
			return fmt.Errorf("%w: a query string", ErrURLCredentials)
		}
	}
	return nil
}

// urlUserinfo matches "scheme://userinfo@" in free text: everything up to
// the last "@" before the host's end, so a password holding an "@" is
// matched whole.
var urlUserinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*)://([^/?#\s]*)@`)

// scpUserinfo matches the "user:password@" of an scp-like ssh address.
var scpUserinfo = regexp.MustCompile(`^[^@/\s]*:[^@/\s]*@`)

// RedactURL returns a repository URL fit for logs and the status API:
// userinfo removed (except an ssh login name, which is not a secret) and
// the query string dropped. NewGit refuses URLs with credentials; this is
// the second line of defence for anything that displays one.
func RedactURL(raw string) string {
	s := RedactURLs(raw)
	if scpUserinfo.MatchString(s) && !strings.Contains(s, "://") {
		s = scpUserinfo.ReplaceAllString(s, "")
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		u.RawQuery, u.ForceQuery = "", false
		if u.User != nil && !isSSHScheme(u.Scheme) {
			u.User = nil
		}
		return u.Redacted()
	}
	return s
}

// RedactURLs removes the userinfo of every URL in text (an error message,
// say), keeping only a bare ssh login name.
func RedactURLs(text string) string {
	return urlUserinfo.ReplaceAllStringFunc(text, func(m string) string {
		sub := urlUserinfo.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if isSSHScheme(scheme) && info != "" && !strings.Contains(info, ":") {
			return m
		}
		return scheme + "://"
	})
}

func isSSHScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "ssh", "git+ssh", "ssh+git":
		return true
	}
	return false
}

// CheckURL refuses a repository URL that does not parse or carries
// credentials (ErrURLCredentials). NewGit runs the same check; CheckURL
// lets a command refuse the URL before doing anything else.
func CheckURL(raw string) error {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		// The parser's message quotes the URL: keep it, credentials removed.
		return fmt.Errorf("invalid repository URL: %s", RedactURLs(err.Error()))
	}
	return checkURLCredentials(ep)
}
