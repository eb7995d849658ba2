package catalog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Config is pave.yaml (kind Catalog): the platform team's settings for the
// whole catalog.
type Config struct {
	APIVersion   string          `yaml:"apiVersion" json:"apiVersion"`
	Kind         string          `yaml:"kind" json:"kind"`
	Environments []Environment   `yaml:"environments" json:"environments"`
	Sizes        map[string]Size `yaml:"sizes" json:"sizes"`
	Teams        []Team          `yaml:"teams" json:"teams"`
	// Registries lists the allowed image registries (host, optionally with
	// a path prefix: "registry.example.com/payments").
	Registries []string `yaml:"registries" json:"registries"`
	// Platform values are handed to every template under .Values.platform.
	Platform map[string]any `yaml:"platform" json:"platform,omitempty"`
	Defaults Defaults       `yaml:"defaults" json:"defaults"`
	// Templates holds what the platform allows a template beyond the
	// service's own namespace.
	Templates map[string]TemplatePolicy `yaml:"templates" json:"templates,omitempty"`

	positions map[string]Position
}

// TemplatePolicy widens where a template's objects may land. By default a
// template may only render namespaced objects in the service's namespace.
type TemplatePolicy struct {
	// AllowClusterScoped lists cluster-scoped kinds the template may render.
	AllowClusterScoped []string `yaml:"allowClusterScoped" json:"allowClusterScoped,omitempty"`
	// AllowNamespaces lists other namespaces the template may render into.
	AllowNamespaces []string `yaml:"allowNamespaces" json:"allowNamespaces,omitempty"`
}

// Environment maps a stage of delivery to a cluster and a namespace pattern.
type Environment struct {
	Name    string `yaml:"name" json:"name"`
	Cluster string `yaml:"cluster" json:"cluster"`
	// Namespace is a pattern with {team} and {env}; default "{team}-{env}".
	Namespace string `yaml:"namespace" json:"namespace"`
}

// Size is a named set of resource requests and limits.
type Size struct {
	Requests Resources `yaml:"requests" json:"requests"`
	Limits   Resources `yaml:"limits" json:"limits"`
}

// Resources are CPU and memory quantities, as Kubernetes writes them.
type Resources struct {
	CPU    string `yaml:"cpu" json:"cpu"`
	Memory string `yaml:"memory" json:"memory"`
}

// Team owns services under services/<team>/.
type Team struct {
	Name        string   `yaml:"name" json:"name"`
	Owners      []string `yaml:"owners" json:"owners"`
	Description string   `yaml:"description" json:"description,omitempty"`
}

// Defaults apply where a service leaves a field out.
type Defaults struct {
	Template string `yaml:"template" json:"template,omitempty"`
	Size     string `yaml:"size" json:"size,omitempty"`
}

// DefaultNamespacePattern places a team's services of an environment.
const DefaultNamespacePattern = "{team}-{env}"

// DefaultSizes are used when pave.yaml defines no sizes.
func DefaultSizes() map[string]Size {
	return map[string]Size{
		"small":  {Requests: Resources{CPU: "100m", Memory: "128Mi"}, Limits: Resources{CPU: "500m", Memory: "256Mi"}},
		"medium": {Requests: Resources{CPU: "250m", Memory: "512Mi"}, Limits: Resources{CPU: "1", Memory: "1Gi"}},
		"large":  {Requests: Resources{CPU: "1", Memory: "2Gi"}, Limits: Resources{CPU: "2", Memory: "4Gi"}},
	}
}

// Environment returns the named environment.
func (c *Config) Environment(name string) (Environment, bool) {
	i := slices.IndexFunc(c.Environments, func(e Environment) bool { return e.Name == name })
	if i < 0 {
		return Environment{}, false
	}
	return c.Environments[i], true
}

// EnvironmentNames returns the environments in the order pave.yaml lists them.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		names[i] = e.Name
	}
	return names
}

// Team returns the named team.
func (c *Config) Team(name string) (Team, bool) {
	i := slices.IndexFunc(c.Teams, func(t Team) bool { return t.Name == name })
	if i < 0 {
		return Team{}, false
	}
	return c.Teams[i], true
}

// TeamNames returns the teams in the order pave.yaml lists them.
func (c *Config) TeamNames() []string {
	names := make([]string, len(c.Teams))
	for i, t := range c.Teams {
		names[i] = t.Name
	}
	return names
}

// SizeNames returns the size names from smallest to largest (by memory
// request, then CPU request, then name).
func (c *Config) SizeNames() []string {
	names := make([]string, 0, len(c.Sizes))
	for n := range c.Sizes {
		names = append(names, n)
	}
	quantity := func(s string) *resource.Quantity {
		q, _ := resource.ParseQuantity(s)
		return &q
	}
	slices.SortFunc(names, func(a, b string) int {
		sa, sb := c.Sizes[a].Requests, c.Sizes[b].Requests
		return cmp.Or(
			quantity(sa.Memory).Cmp(*quantity(sb.Memory)),
			quantity(sa.CPU).Cmp(*quantity(sb.CPU)),
			cmp.Compare(a, b),
		)
	})
	return names
}

// Namespace is where a team's services of an environment run.
func (e Environment) NamespaceFor(team string) string {
	return strings.NewReplacer("{team}", team, "{env}", e.Name).Replace(e.Namespace)
}

// Namespace returns the namespace of team in environment env.
func (c *Config) Namespace(team, env string) (string, error) {
	e, ok := c.Environment(env)
	if !ok {
		return "", fmt.Errorf("unknown environment %q", env)
	}
	return e.NamespaceFor(team), nil
}

// Position returns where a field of pave.yaml is written.
func (c *Config) Position(fieldPath string) Position {
	return lookupPosition(c.positions, fieldPath)
}

// ParseConfig decodes and validates pave.yaml. file names it in errors.
func ParseConfig(file string, data []byte) (*Config, ErrorList) {
	root, perr := parseDocument(file, data)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	d := newDecoder(file)
	d.pos[""] = nodePos(root)
	var c Config
	d.decodeStruct(root, "", reflectValue(&c))
	c.positions = d.pos
	v := validator{d: d}
	v.config(&c)
	if len(d.errs) > 0 {
		return nil, dedupe(d.errs)
	}
	return &c, nil
}

func (v *validator) config(c *Config) {
	v.header("", c.APIVersion, c.Kind, KindCatalog)

	if len(c.Environments) == 0 {
		v.missing("environments", "environments: at least one environment is required")
	}
	seenEnv := map[string]bool{}
	namespaces := map[string]string{} // cluster/namespace → environment
	for i := range c.Environments {
		e := &c.Environments[i]
		p := fmt.Sprintf("environments[%d]", i)
		v.dnsLabel(p+".name", e.Name, true)
		if seenEnv[e.Name] {
			v.errorf(p+".name", "%s.name: environment %q is defined twice", p, e.Name)
		}
		seenEnv[e.Name] = true
		if e.Cluster == "" {
			v.missing(p+".cluster", "%s: cluster is required", p)
		} else {
			v.dnsLabel(p+".cluster", e.Cluster, true)
		}
		if e.Namespace == "" {
			e.Namespace = DefaultNamespacePattern
		} else {
			v.namespacePattern(p+".namespace", e.Namespace)
		}
		key := e.Cluster + "/" + e.Namespace
		if other, dup := namespaces[key]; dup && e.Name != "" {
			v.errorf(p+".namespace", "%s.namespace: environments %q and %q would share namespaces on cluster %q; add {env} to the pattern", p, other, e.Name, e.Cluster)
		}
		namespaces[key] = e.Name
	}

	if c.Sizes == nil {
		c.Sizes = DefaultSizes()
	}
	for _, name := range c.SizeNames() {
		v.size("sizes."+name, name, c.Sizes[name])
	}

	if len(c.Teams) == 0 {
		v.missing("teams", "teams: at least one team is required")
	}
	seenTeam := map[string]bool{}
	for i, t := range c.Teams {
		p := fmt.Sprintf("teams[%d]", i)
		v.dnsLabel(p+".name", t.Name, true)
		if seenTeam[t.Name] {
			v.errorf(p+".name", "%s.name: team %q is defined twice", p, t.Name)
		}
		seenTeam[t.Name] = true
		if len(t.Owners) == 0 {
			v.missing(p+".owners", "%s: owners is required (who to ask about this team's services)", p)
		}
		for j, o := range t.Owners {
			if strings.TrimSpace(o) == "" {
				v.errorf(fmt.Sprintf("%s.owners[%d]", p, j), "%s.owners[%d]: owner must not be empty", p, j)
			}
		}
		for _, e := range c.Environments {
			if e.Name == "" || t.Name == "" {
				continue
			}
			if ns := e.NamespaceFor(t.Name); len(ns) > 63 {
				v.errorf(p+".name", "%s.name: namespace %q for environment %q is longer than 63 characters", p, ns, e.Name)
			}
		}
	}

	for i, r := range c.Registries {
		v.registry(fmt.Sprintf("registries[%d]", i), r)
	}

	if c.Defaults.Size == "" {
		if _, ok := c.Sizes["small"]; ok {
			c.Defaults.Size = "small"
		} else if names := c.SizeNames(); len(names) > 0 {
			c.Defaults.Size = names[0]
		}
	} else if _, ok := c.Sizes[c.Defaults.Size]; !ok {
		v.errorf("defaults.size", "defaults.size: unknown size %q (sizes: %s)", c.Defaults.Size, strings.Join(c.SizeNames(), ", "))
	}
	if c.Defaults.Template != "" {
		v.dnsLabel("defaults.template", c.Defaults.Template, false)
	}
	for name, tp := range c.Templates {
		p := "templates." + name
		v.dnsLabel(p+"#key", name, false)
		for i, k := range tp.AllowClusterScoped {
			if k == "" || k == "Namespace" {
				v.errorf(fmt.Sprintf("%s.allowClusterScoped[%d]", p, i), "%s.allowClusterScoped[%d]: %q cannot be allowed (pave renders each team's Namespace itself)", p, i, k)
			}
		}
		for i, ns := range tp.AllowNamespaces {
			v.dnsLabel(fmt.Sprintf("%s.allowNamespaces[%d]", p, i), ns, true)
		}
	}
}

func (v *validator) namespacePattern(p, pattern string) {
	rest := strings.NewReplacer("{team}", "", "{env}", "").Replace(pattern)
	if strings.ContainsAny(rest, "{}") {
		v.errorf(p, "%s: %q may only use the placeholders {team} and {env}", p, pattern)
		return
	}
	if !strings.Contains(pattern, "{team}") {
		v.errorf(p, "%s: %q must contain {team}, so that each team has its own namespaces", p, pattern)
		return
	}
	sample := strings.NewReplacer("{team}", "team", "{env}", "env").Replace(pattern)
	if !isDNSLabel(sample) {
		v.errorf(p, "%s: %q does not make a valid namespace name (lowercase letters, digits and '-')", p, pattern)
	}
}

func (v *validator) size(p, name string, s Size) {
	v.dnsLabel(p+"#key", name, false)
	quantities := []struct {
		field, value string
	}{
		{"requests.cpu", s.Requests.CPU}, {"requests.memory", s.Requests.Memory},
		{"limits.cpu", s.Limits.CPU}, {"limits.memory", s.Limits.Memory},
	}
	parsed := map[string]resource.Quantity{}
	for _, q := range quantities {
		fp := p + "." + q.field
		if q.value == "" {
			v.missing(fp, "%s: %s is required", p, q.field)
			continue
		}
		qty, err := resource.ParseQuantity(q.value)
		if err != nil {
			v.errorf(fp, "%s: %q is not a Kubernetes quantity (e.g. 250m, 1, 512Mi)", fp, q.value)
			continue
		}
		parsed[q.field] = qty
	}
	for _, r := range []string{"cpu", "memory"} {
		req, okr := parsed["requests."+r]
		lim, okl := parsed["limits."+r]
		if okr && okl && req.Cmp(lim) > 0 {
			v.errorf(p+".requests."+r, "%s.requests.%s: %s is more than the limit %s", p, r, req.String(), lim.String())
		}
	}
}

func (v *validator) registry(p, r string) {
	named, err := reference.ParseNormalizedNamed(r + "/image")
	if err != nil || strings.Contains(r, "://") || reference.Domain(named) != strings.SplitN(r, "/", 2)[0] {
		v.errorf(p, "%s: %q is not a registry (write a host, optionally with a path: registry.example.com/team)", p, r)
	}
}
