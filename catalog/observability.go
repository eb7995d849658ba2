package catalog

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Observability is pave.yaml's `observability:` block: URL templates of the
// platform's own tools, which the dashboard fills in for each service and
// environment so that a developer reaches its logs, metrics and traces in
// one click. Each template may hold the placeholders {team}, {service},
// {namespace}, {env} and {cluster}; pave fills them in URL-escaped.
type Observability struct {
	Logs    string `yaml:"logs" json:"logs,omitempty"`
	Metrics string `yaml:"metrics" json:"metrics,omitempty"`
	Traces  string `yaml:"traces" json:"traces,omitempty"`
}

// ObservabilityPlaceholders are the placeholders an observability URL
// template may use.
var ObservabilityPlaceholders = []string{"{team}", "{service}", "{namespace}", "{env}", "{cluster}"}

// MaxObservabilityURL bounds an observability URL template's length.
const MaxObservabilityURL = 2048

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// ObservabilityLink is one filled-in link.
type ObservabilityLink struct {
	Kind string // logs, metrics or traces
	URL  string
}

// Links fills in the templates for one service in one environment, in the
// order logs, metrics, traces; unset templates are left out. Every value
// is query-escaped, so that no value can change the URL's structure.
func (o Observability) Links(team, service, namespace, env, cluster string) []ObservabilityLink {
	r := strings.NewReplacer(
		"{team}", url.QueryEscape(team),
		"{service}", url.QueryEscape(service),
		"{namespace}", url.QueryEscape(namespace),
		"{env}", url.QueryEscape(env),
		"{cluster}", url.QueryEscape(cluster),
	)
	var out []ObservabilityLink
	for _, t := range []struct{ kind, tmpl string }{{"logs", o.Logs}, {"metrics", o.Metrics}, {"traces", o.Traces}} {
		if t.tmpl != "" {
			out = append(out, ObservabilityLink{Kind: t.kind, URL: r.Replace(t.tmpl)})
		}
	}
	return out
}

// observability checks each URL template: an absolute http(s) URL with a
// host, no credentials, and only the known placeholders.
func (v *validator) observability(o *Observability) {
	for _, f := range []struct{ name, tmpl string }{{"logs", o.Logs}, {"metrics", o.Metrics}, {"traces", o.Traces}} {
		if f.tmpl == "" {
			continue
		}
		p := "observability." + f.name
		if err := checkObservabilityURL(f.tmpl); err != nil {
			v.errorf(p, "%s: %v", p, err)
		}
	}
}

func checkObservabilityURL(tmpl string) error {
	if len(tmpl) > MaxObservabilityURL {
		return fmt.Errorf("URL template is %d characters long, over the %d allowed", len(tmpl), MaxObservabilityURL)
	}
	for _, ph := range placeholderRE.FindAllString(tmpl, -1) {
		known := false
		for _, k := range ObservabilityPlaceholders {
			known = known || ph == k
		}
		if !known {
			return fmt.Errorf("unknown placeholder %s (use %s)", ph, strings.Join(ObservabilityPlaceholders, ", "))
		}
	}
	// Check the URL with every placeholder filled in, as it will be used.
	filled := placeholderRE.ReplaceAllString(tmpl, "x")
	if strings.ContainsAny(filled, "{}") {
		return fmt.Errorf("unbalanced { or } in %q", tmpl)
	}
	u, err := url.Parse(filled)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", tmpl, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must be an http:// or https:// URL", tmpl)
	case u.Host == "":
		return fmt.Errorf("%q has no host", tmpl)
	case u.User != nil:
		return fmt.Errorf("%q must not hold credentials (the dashboard shows it to everyone)", tmpl)
	case placeholderRE.MatchString(strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(tmpl, "https://"), "http://"), "/", 2)[0]):
		return fmt.Errorf("%q: placeholders are allowed in the path, query and fragment only, not in the host", tmpl)
	}
	return nil
}
