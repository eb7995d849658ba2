package catalog

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Notifications is pave.yaml's `notifications:` block: where pave serve
// tells people what happened to their services. Secrets (webhook URLs that
// carry a token, HMAC keys, API tokens) are never in git: a target names a
// secret that `pave serve --notification-secret NAME=FILE` gives at run
// time.
type Notifications struct {
	Targets []NotificationTarget `yaml:"targets" json:"targets,omitempty"`
	// Default lists the targets every team's events go to, besides the
	// team's own (teams[].notify).
	Default []string `yaml:"default" json:"default,omitempty"`
}

// NotificationTarget is one place notifications go.
type NotificationTarget struct {
	Name string `yaml:"name" json:"name"`
	// Type is webhook (a JSON body, HMAC-SHA256 signed with the secret),
	// slack (a Slack-compatible incoming webhook: the secret is its URL),
	// github or gitlab (a commit status on the revision's commit: the
	// secret is an API token).
	Type string `yaml:"type" json:"type"`
	// URL is the webhook's endpoint, or the forge's API base for GitHub
	// Enterprise or a self-hosted GitLab (default: the public one).
	URL string `yaml:"url" json:"url,omitempty"`
	// Repository is the catalog's repository on the forge (owner/name,
	// or a GitLab project path), for commit statuses.
	Repository string `yaml:"repository" json:"repository,omitempty"`
	// Secret names the run-time secret the target uses.
	Secret string `yaml:"secret" json:"secret"`
	// Events filters what the target receives (default: every event).
	Events []string `yaml:"events" json:"events,omitempty"`
}

// Notification event kinds.
const (
	EventDeployed          = "deployed"
	EventFailed            = "failed"
	EventPolicyDenied      = "policyDenied"
	EventDriftCorrected    = "driftCorrected"
	EventHalted            = "halted"
	EventRolledBack        = "rolledBack"
	EventExceptionExpiring = "exceptionExpiring"
)

// NotificationEvents lists every event kind.
var NotificationEvents = []string{EventDeployed, EventFailed, EventPolicyDenied, EventDriftCorrected, EventHalted, EventRolledBack, EventExceptionExpiring}

// Notification target types.
const (
	TargetWebhook = "webhook"
	TargetSlack   = "slack"
	TargetGitHub  = "github"
	TargetGitLab  = "gitlab"
)

var (
	githubRepo  = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	gitlabPath  = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$`)
	secretName  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	targetTypes = []string{TargetWebhook, TargetSlack, TargetGitHub, TargetGitLab}
)

// TargetsFor lists the targets a team's events go to: pave.yaml's
// default ones, then the team's own, each once.
func (c *Config) TargetsFor(team string) []string {
	out := slices.Clone(c.Notifications.Default)
	for _, t := range c.Teams {
		if t.Name == team {
			for _, n := range t.Notify {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// notifications checks the notifications block and teams[].notify.
func (v *validator) notifications(c *Config) {
	n := &c.Notifications
	known := map[string]bool{}
	for i := range n.Targets {
		t := &n.Targets[i]
		p := fmt.Sprintf("notifications.targets[%d]", i)
		v.dnsLabel(p+".name", t.Name, true)
		if known[t.Name] {
			v.errorf(p+".name", "%s.name: target %q is defined twice", p, t.Name)
		}
		known[t.Name] = true
		switch {
		case t.Secret == "":
			v.missing(p+".secret", "%s: secret is required: the name of a secret given at run time (pave serve --notification-secret %s=FILE)", p, t.Name)
		case !secretName.MatchString(t.Secret):
			v.errorf(p+".secret", "%s.secret: %q is not a secret name (lowercase letters, digits and '-'); the secret itself is never written in pave.yaml", p, t.Secret)
		}
		switch t.Type {
		case "":
			v.missing(p+".type", "%s: type is required (%s)", p, strings.Join(targetTypes, ", "))
		case TargetWebhook:
			if t.URL == "" {
				v.missing(p+".url", "%s: a webhook target needs url", p)
			}
		case TargetSlack:
			if t.URL != "" {
				v.errorf(p+".url", "%s.url: a Slack webhook's URL carries its token: give it as the secret at run time, not in pave.yaml", p)
			}
		case TargetGitHub:
			if !githubRepo.MatchString(t.Repository) {
				v.errorf(p+".repository", "%s.repository: %q is not a GitHub repository (owner/name)", p, t.Repository)
			}
		case TargetGitLab:
			if !gitlabPath.MatchString(t.Repository) {
				v.errorf(p+".repository", "%s.repository: %q is not a GitLab project path (group/project)", p, t.Repository)
			}
		default:
			v.errorf(p+".type", "%s.type: %q is not a target type (%s)", p, t.Type, strings.Join(targetTypes, ", "))
		}
		if t.URL != "" && t.Type != TargetSlack {
			v.targetURL(p+".url", t.URL)
		}
		if t.Repository != "" && (t.Type == TargetWebhook || t.Type == TargetSlack) {
			v.errorf(p+".repository", "%s.repository: only github and gitlab targets post to a repository", p)
		}
		for j, e := range t.Events {
			if !slices.Contains(NotificationEvents, e) {
				v.errorf(fmt.Sprintf("%s.events[%d]", p, j), "%s.events[%d]: %q is not an event (%s)", p, j, e, strings.Join(NotificationEvents, ", "))
			}
		}
	}
	for i, name := range n.Default {
		if !known[name] {
			v.errorf(fmt.Sprintf("notifications.default[%d]", i), "notifications.default[%d]: no target is named %q", i, name)
		}
	}
	for i, t := range c.Teams {
		for j, name := range t.Notify {
			if !known[name] {
				v.errorf(fmt.Sprintf("teams[%d].notify[%d]", i, j), "teams[%d].notify[%d]: no notification target is named %q", i, j, name)
			}
		}
	}
}

// targetURL checks a target's URL: https, or http to this machine only.
func (v *validator) targetURL(p, raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.errorf(p, "%s: %q is not an http(s) URL", p, raw)
		return
	}
	if u.User != nil {
		v.errorf(p, "%s: the URL carries credentials: give them as the secret at run time", p)
		return
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			v.errorf(p, "%s: %q is plain http: notifications leave the cluster signed or with a token, so use https (http is allowed to this machine only)", p, raw)
		}
	}
}
