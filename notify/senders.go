package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/forge"
)

// SignatureHeader carries a webhook body's HMAC-SHA256, keyed with the
// target's secret: "sha256=<hex>".
const SignatureHeader = "X-Pave-Signature"

// Sign is the signature of a webhook body under key.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a JSON body; a 4xx other than 408 and 429 is permanent.
func post(ctx context.Context, hc *http.Client, target string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pave")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", redact(target), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return permanentError{fmt.Errorf("post to %s: refused: %s", redact(target), resp.Status)}
	}
	return fmt.Errorf("post to %s: %s", redact(target), resp.Status)
}

// redact keeps a URL's scheme and host: a Slack webhook's path is its
// token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(url)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// webhook posts the event as JSON, signed.
type webhook struct {
	url string
	key []byte
	hc  *http.Client
}

func (w *webhook) send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return permanentError{err}
	}
	return post(ctx, w.hc, w.url, body, http.Header{SignatureHeader: {Sign(w.key, body)}, "X-Pave-Event": {ev.Kind}})
}

// slack posts to a Slack-compatible incoming webhook.
type slack struct {
	url       string
	hc        *http.Client
	dashboard string
}

func newSlack(secretURL string, hc *http.Client, dashboard string) (*slack, error) {
	u, err := url.Parse(strings.TrimSpace(secretURL))
	if err != nil || u.Host == "" || !(u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return nil, fmt.Errorf("the Slack webhook secret is not an https URL")
	}
	return &slack{url: u.String(), hc: hc, dashboard: dashboard}, nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

var icons = map[string]string{
	catalog.EventDeployed: ":white_check_mark:", catalog.EventFailed: ":x:", catalog.EventPolicyDenied: ":no_entry:",
	catalog.EventDriftCorrected: ":wrench:", catalog.EventHalted: ":octagonal_sign:", catalog.EventRolledBack: ":rewind:",
	catalog.EventExceptionExpiring: ":hourglass:",
}

// Text is an event in a sentence, as chat and statuses show it.
func Text(ev Event) string {
	where := ev.Service
	if ev.Environment != "" {
		where += " in " + ev.Environment
	}
	s := fmt.Sprintf("%s %s", where, ev.Kind)
	if ev.Revision != "" {
		s += " (revision " + shortRev(ev.Revision) + ")"
	}
	if ev.Message != "" {
		s += ": " + ev.Message
	}
	return s
}

func shortRev(r string) string {
	if i := strings.LastIndexByte(r, ':'); i >= 0 {
		r = r[i+1:]
	}
	if len(r) > 12 {
		r = r[:12]
	}
	return r
}

// slackEscape keeps a message's text from being read as Slack markup
// (links, mentions): service names and causes come from pull requests.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (s *slack) send(ctx context.Context, ev Event) error {
	text := icons[ev.Kind] + " " + slackEscape.Replace(Text(ev))
	if l := link(s.dashboard, ev); l != "" {
		text += " <" + slackEscape.Replace(l) + "|details>"
	}
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return permanentError{err}
	}
	return post(ctx, s.hc, s.url, body, nil)
}

// link is the dashboard page of an event: its service's, or the
// templates page for a template rollout's; "" without a dashboard.
func link(base string, ev Event) string {
	if base == "" {
		return ""
	}
	base = strings.TrimSuffix(base, "/")
	team, name, ok := strings.Cut(ev.Service, "/")
	if !ok || team == "template" {
		return base + "/templates"
	}
	return base + "/services/" + url.PathEscape(team) + "/" + url.PathEscape(name)
}

// commitStatus sets a status on the revision's commit, one context per
// service and environment.
type commitStatus struct {
	set       func(ctx context.Context, sha string, st forge.CommitStatus) error
	dashboard string
}

var commitID = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

func newCommitStatus(def catalog.NotificationTarget, token string, hc *http.Client, dashboard string) (*commitStatus, error) {
	token = strings.TrimSpace(token)
	switch def.Type {
	case catalog.TargetGitHub:
		gh, err := forge.NewGitHub(forge.GitHubConfig{Token: token, Repository: def.Repository, APIURL: def.URL}, hc)
		if err != nil {
			return nil, err
		}
		return &commitStatus{set: gh.CreateStatus, dashboard: dashboard}, nil
	default:
		gl, err := forge.NewGitLab(forge.GitLabConfig{Token: token, ProjectID: def.Repository, APIURL: def.URL}, hc)
		if err != nil {
			return nil, err
		}
		return &commitStatus{set: gl.SetStatus, dashboard: dashboard}, nil
	}
}

func (c *commitStatus) send(ctx context.Context, ev Event) error {
	var state string
	switch ev.Kind {
	case catalog.EventDeployed:
		state = forge.StatusSuccess
	case catalog.EventFailed, catalog.EventPolicyDenied, catalog.EventHalted, catalog.EventRolledBack:
		state = forge.StatusFailure
	default:
		return nil // drift and exceptions are not a commit's outcome
	}
	if ev.Environment == "" || !commitID.MatchString(ev.Revision) {
		return nil // a folder's revision is not a commit
	}
	msg := ev.Message
	if msg == "" {
		msg = ev.Kind
	}
	return c.set(ctx, ev.Revision, forge.CommitStatus{
		State:       state,
		Context:     fmt.Sprintf("pave: %s (%s)", ev.Service, ev.Environment),
		Description: msg,
		TargetURL:   link(c.dashboard, ev),
	})
}
