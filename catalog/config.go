package catalog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/distribution/reference"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
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
	// Owners is the platform team: who owns pave.yaml, templates/,
	// policies/ and exceptions/ (CODEOWNERS entries: @user, @org/team or
	// an e-mail address).
	Owners []string `yaml:"owners" json:"owners,omitempty"`
	// Exceptions says who may approve a step off the paved road, and for
	// how long at most.
	Exceptions ExceptionPolicy `yaml:"exceptions" json:"exceptions"`
	// CustomResources declares the scope of kinds that are not built into
	// Kubernetes, so that pave can place them without asking a cluster
	// (pave check, the review). A kind whose scope pave cannot tell is
	// refused.
	CustomResources []CustomResource `yaml:"customResources" json:"customResources,omitempty"`
	// Rollback says what pave serve does when a service's new revision
	// ends Failed in an environment: manual (default) leaves it for an
	// operator; auto re-applies the last revision that was healthy there
	// and holds the service at it until a commit changes it.
	Rollback RollbackMode `yaml:"rollback" json:"rollback,omitempty"`
	// Rollout spreads a change that reaches many services at once (a
	// template's, pave.yaml's, the policies') over them in waves.
	Rollout Rollout `yaml:"rollout" json:"rollout"`
	// Notifications says where pave serve tells teams what happened.
	Notifications Notifications `yaml:"notifications" json:"notifications"`
	// Policies says how to run policy libraries written for conftest or
	// Gatekeeper (policies.md).
	Policies PolicyConfig `yaml:"policies" json:"policies,omitempty"`
	// Observability holds URL templates of the platform's logs, metrics
	// and traces tools, filled in per service and environment by the
	// dashboard (observability.go).
	Observability Observability `yaml:"observability" json:"observability,omitempty"`

	positions map[string]Position
}

// TemplatePolicy widens where a template's objects may land. By default a
// template may only render namespaced objects in the service's namespace.
type TemplatePolicy struct {
	// AllowClusterScoped lists cluster-scoped kinds the template may render.
	AllowClusterScoped []string `yaml:"allowClusterScoped" json:"allowClusterScoped,omitempty"`
	// AllowNamespaces lists other namespaces the template may render into.
	AllowNamespaces []string `yaml:"allowNamespaces" json:"allowNamespaces,omitempty"`
	// ClusterScopedNames lists names the template's cluster-scoped objects
	// may have besides those pave derives per service ("{team}-{service}"
	// and "{team}-{service}-…").
	ClusterScopedNames []string `yaml:"clusterScopedNames" json:"clusterScopedNames,omitempty"`
	// Rollout overrides pave.yaml's rollout for the template's services.
	Rollout *Rollout `yaml:"rollout" json:"rollout,omitempty"`
	// Values maps the service's settings onto the chart's own values, for
	// a chart not written for pave: each key is a dotted path into the
	// chart's values ("image.repository"), each value a Go template over
	// the settings ("{{ .image.repository }}") or a literal. A template
	// with a mapping receives only the values it maps.
	Values map[string]any `yaml:"values" json:"values,omitempty"`

	mapping *ValuesMapping
}

// Mapping returns the compiled values mapping of a template, or nil when
// pave.yaml maps none (the chart is written for pave and receives the
// settings as they are).
func (c *Config) Mapping(template string) *ValuesMapping {
	return c.Templates[template].mapping
}

// ExceptionPolicy is pave.yaml's `exceptions:` block.
type ExceptionPolicy struct {
	// Approvers may approve exceptions (an exception's approvedBy must be
	// one of them); default: owners.
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"`
	// MaxLifetime bounds how far in the future an exception may expire,
	// counted from the day it is checked: "90d", "12w" (default 90d).
	MaxLifetime Lifetime `yaml:"maxLifetime" json:"maxLifetime,omitempty"`
}

// DefaultExceptionLifetime is the longest an exception may run when
// pave.yaml does not say.
const DefaultExceptionLifetime Lifetime = 90

// Lifetime is a whole number of days, written "90d" or "12w".
type Lifetime int

// String writes the lifetime in days ("90d").
func (l Lifetime) String() string { return strconv.Itoa(int(l)) + "d" }

// ParseLifetime reads "90d" or "12w".
func ParseLifetime(s string) (Lifetime, error) {
	m := lifetimeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a lifetime: write days or weeks, e.g. 90d or 12w", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 || n > 3660 {
		return 0, fmt.Errorf("%q is not a lifetime between 1d and 3660d", s)
	}
	if m[2] == "w" {
		n *= 7
	}
	if n > 3660 {
		return 0, fmt.Errorf("%q is not a lifetime between 1d and 3660d", s)
	}
	return Lifetime(n), nil
}

var lifetimeRE = regexp.MustCompile(`^([0-9]{1,5})([dw])$`)

// Scopes of a kind.
const (
	ScopeNamespaced = "Namespaced"
	ScopeCluster    = "Cluster"
)

// CustomResource is a kind outside Kubernetes' built-in APIs, with its
// scope.
type CustomResource struct {
	Group string `yaml:"group" json:"group"`
	Kind  string `yaml:"kind" json:"kind"`
	// Scope is Namespaced or Cluster, as in the CRD.
	Scope string `yaml:"scope" json:"scope"`
}

// Environment maps a stage of delivery to a cluster and a namespace pattern.
type Environment struct {
	Name    string `yaml:"name" json:"name"`
	Cluster string `yaml:"cluster" json:"cluster"`
	// Namespace is a pattern with {team} and {env}; default "{team}-{env}".
	Namespace string `yaml:"namespace" json:"namespace"`
	// Promotion gates what this environment receives on the environment
	// before it (not allowed on the first environment).
	Promotion Promotion `yaml:"promotion" json:"promotion"`
	// KubeVersion is the Kubernetes version of the environment's cluster
	// ("1.31" or "v1.31.4"): templates render with it as
	// .Capabilities.KubeVersion, and a chart whose Chart.yaml kubeVersion
	// excludes it is refused. Empty renders as the newest version pave
	// knows; the daemon checks charts against the version the cluster
	// reports either way.
	KubeVersion string `yaml:"kubeVersion,omitempty" json:"kubeVersion,omitempty"`
}

// ParseKubeVersion reads an environment's kubeVersion: a Kubernetes
// release, major.minor or major.minor.patch, with or without a leading v.
func ParseKubeVersion(s string) (*semver.Version, error) {
	if !kubeVersionPattern.MatchString(s) {
		return nil, fmt.Errorf("kubeVersion %q is not a Kubernetes version like 1.31 or v1.31.4", s)
	}
	return semver.NewVersion(s)
}

var kubeVersionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// RollbackMode is pave.yaml's rollback: manual or auto.
type RollbackMode string

const (
	RollbackManual RollbackMode = "manual"
	RollbackAuto   RollbackMode = "auto"
)

// Approval says whether a revision needs a human before it enters an
// environment.
type Approval string

const (
	// ApprovalAuto promotes as soon as the environment before is Ready
	// (and soaked).
	ApprovalAuto Approval = "auto"
	// ApprovalManual waits, after that, for pave promote.
	ApprovalManual Approval = "manual"
)

// Promotion is an environment's gate: a service's revision enters it only
// once the environment before it runs that revision and is Ready, has
// stayed Ready for Soak and, with approval manual, was approved.
type Promotion struct {
	// Soak is how long the environment before must stay Ready (default 0).
	Soak Duration `yaml:"soak" json:"soak,omitempty"`
	// Approval is auto (default) or manual.
	Approval Approval `yaml:"approval" json:"approval,omitempty"`
}

// Duration is a Go duration written as a string ("10m", "1h30m").
type Duration time.Duration

// String writes the duration the way Go does ("10m0s").
func (d Duration) String() string { return time.Duration(d).String() }

func (d *Duration) decodeNode(dec *decoder, n *yaml.Node, p string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		dec.fail(n, p, "expected a duration such as 10m or 1h30m, got %s", describe(n))
		return
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		dec.fail(n, p, "%q is not a duration (write e.g. 30s, 10m or 1h30m)", n.Value)
		return
	}
	*d = Duration(v)
}

// MarshalJSON writes the duration as "10m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

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
	// Domains are the DNS names under which the team's ingress hosts may
	// be (the name itself or any name below it).
	Domains []string `yaml:"domains" json:"domains,omitempty"`
	// Notify lists the notification targets the team's events go to.
	Notify []string `yaml:"notify" json:"notify,omitempty"`
}

// Defaults apply where a service leaves a field out.
type Defaults struct {
	Template string `yaml:"template" json:"template,omitempty"`
	Size     string `yaml:"size" json:"size,omitempty"`
}

// Bounds of pave.yaml: every service is rendered and checked once per
// environment, and every team's namespace in each of them.
const (
	MaxEnvironments = 32
	MaxTeams        = 10000
)

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
	type requests struct{ memory, cpu resource.Quantity }
	parsed := make(map[string]requests, len(names))
	for _, n := range names {
		var r requests
		r.memory, _ = resource.ParseQuantity(c.Sizes[n].Requests.Memory)
		r.cpu, _ = resource.ParseQuantity(c.Sizes[n].Requests.CPU)
		parsed[n] = r
	}
	slices.SortFunc(names, func(a, b string) int {
		ra, rb := parsed[a], parsed[b]
		return cmp.Or(ra.memory.Cmp(rb.memory), ra.cpu.Cmp(rb.cpu), cmp.Compare(a, b))
	})
	return names
}

// Namespace is where a team's services of an environment run.
func (e Environment) NamespaceFor(team string) string {
	return strings.ReplaceAll(strings.ReplaceAll(e.Namespace, "{team}", team), "{env}", e.Name)
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
	var c Config
	v, perr := decodeDocument(file, data, &c)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	c.positions = v.d.pos
	v.config(&c)
	if len(v.d.errs) > 0 {
		return nil, dedupe(v.d.errs)
	}
	return &c, nil
}

func (v *validator) config(c *Config) {
	v.header("", c.APIVersion, c.Kind, KindCatalog)

	if len(c.Environments) == 0 {
		v.missing("environments", "environments: at least one environment is required")
	}
	if len(c.Environments) > MaxEnvironments {
		v.errorf("environments#key", "environments: %d environments, over the %d pave supports", len(c.Environments), MaxEnvironments)
	}
	if len(c.Teams) > MaxTeams {
		v.errorf("teams#key", "teams: %d teams, over the %d pave supports", len(c.Teams), MaxTeams)
	}
	seenEnv := map[string]bool{}
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
		v.promotion(i, p, e)
		if e.KubeVersion != "" {
			if _, err := ParseKubeVersion(e.KubeVersion); err != nil {
				v.errorf(p+".kubeVersion", "%s.kubeVersion: %v", p, err)
			}
		}
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
	}
	v.namespaces(c)

	v.domains(c)

	for i, r := range c.Registries {
		v.registry(fmt.Sprintf("registries[%d]", i), r)
	}

	for i, o := range c.Owners {
		if strings.TrimSpace(o) == "" || strings.ContainsAny(o, " \t\n") {
			v.errorf(fmt.Sprintf("owners[%d]", i), "owners[%d]: %q is not an owner (write @user, @org/team or an e-mail address)", i, o)
		}
	}
	if len(c.Exceptions.Approvers) == 0 {
		c.Exceptions.Approvers = slices.Clone(c.Owners)
	}
	for i, a := range c.Exceptions.Approvers {
		if strings.TrimSpace(a) == "" {
			v.errorf(fmt.Sprintf("exceptions.approvers[%d]", i), "exceptions.approvers[%d]: approver must not be empty", i)
		}
	}
	if c.Exceptions.MaxLifetime == 0 {
		c.Exceptions.MaxLifetime = DefaultExceptionLifetime
	}
	v.customResources(c.CustomResources)
	v.policies(c)
	switch c.Rollback {
	case "":
		c.Rollback = RollbackManual
	case RollbackManual, RollbackAuto:
	default:
		v.errorf("rollback", "rollback: %q must be manual or auto", c.Rollback)
	}
	v.rollout("rollout", &c.Rollout)
	v.notifications(c)
	v.observability(&c.Observability)

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
		if tp.Rollout != nil {
			v.rollout(p+".rollout", tp.Rollout)
		}
		for i, n := range tp.ClusterScopedNames {
			if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
				v.errorf(fmt.Sprintf("%s.clusterScopedNames[%d]", p, i), "%s.clusterScopedNames[%d]: %q is not a valid object name (%s)", p, i, n, errs[0])
			}
		}
		if _, set := v.d.pos[p+".values"]; set && !v.isBad(p+".values") {
			if len(tp.Values) == 0 {
				v.errorf(p+".values", "%s.values: map at least one of the chart's values, or leave values out", p)
			} else if tp.mapping = v.valuesMapping(name, tp.Values, c.Platform); tp.mapping != nil {
				c.Templates[name] = tp
			}
		}
	}
}

// promotion checks an environment's promotion block: none on the first
// environment (nothing comes before it), approval auto or manual.
func (v *validator) promotion(i int, p string, e *Environment) {
	if i == 0 && e.Promotion != (Promotion{}) {
		v.errorf(p+".promotion#key", "%s.promotion: the first environment receives every revision first; promotion gates only the environments after it", p)
	}
	switch e.Promotion.Approval {
	case "":
		e.Promotion.Approval = ApprovalAuto
	case ApprovalAuto, ApprovalManual:
	default:
		v.errorf(p+".promotion.approval", "%s.promotion.approval: %q must be auto or manual", p, e.Promotion.Approval)
	}
}

// domains checks teams[].domains: DNS names, none of them equal to, inside
// or above a domain of another team (a team could then claim the other's
// hosts). Each domain is checked against its own parent names only, so the
// work grows with the number of domains, not its square.
func (v *validator) domains(c *Config) {
	at := map[string]*firstTeams{}    // a domain → the teams that list it
	above := map[string]*firstTeams{} // a name → the teams with a domain below it
	for i, t := range c.Teams {
		for j, d := range t.Domains {
			p := fmt.Sprintf("teams[%d].domains[%d]", i, j)
			if errs := validation.IsDNS1123Subdomain(d); len(errs) > 0 || !strings.Contains(d, ".") {
				v.errorf(p, "%s: %q is not a DNS name (e.g. payments.example.com)", p, d)
				continue
			}
			clash, found := above[d].other(t.Name)
			for name := d; !found; {
				if clash, found = at[name].other(t.Name); found {
					break
				}
				k := strings.IndexByte(name, '.')
				if k < 0 {
					break
				}
				name = name[k+1:]
			}
			if found {
				v.errorf(p, "%s: %q overlaps %q of team %q; each team's domains must be its own", p, d, clash.domain, clash.team)
			}
			here := teamDomain{team: t.Name, domain: d}
			at[d] = at[d].add(here)
			for name := d; ; {
				k := strings.IndexByte(name, '.')
				if k < 0 {
					break
				}
				name = name[k+1:]
				above[name] = above[name].add(here)
			}
		}
	}
}

type teamDomain struct{ team, domain string }

// firstTeams holds the first two teams seen for a name, which is enough to
// find a team other than a given one.
type firstTeams [2]teamDomain

func (f *firstTeams) add(td teamDomain) *firstTeams {
	switch {
	case f == nil:
		return &firstTeams{td}
	case f[0].team != td.team && f[1].team == "":
		f[1] = td
	}
	return f
}

func (f *firstTeams) other(team string) (teamDomain, bool) {
	switch {
	case f == nil:
		return teamDomain{}, false
	case f[0].team != team:
		return f[0], true
	case f[1].team != "" && f[1].team != team:
		return f[1], true
	}
	return teamDomain{}, false
}

// DomainCovers reports whether host is domain itself or a name below it.
func DomainCovers(domain, host string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

var kindRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

func (v *validator) customResources(crs []CustomResource) {
	seen := map[string]int{}
	for i, cr := range crs {
		p := fmt.Sprintf("customResources[%d]", i)
		if cr.Group == "" {
			v.missing(p+".group", "%s: group is required (the API group of the CRD, e.g. monitoring.coreos.com)", p)
		} else if errs := validation.IsDNS1123Subdomain(cr.Group); len(errs) > 0 || !strings.Contains(cr.Group, ".") {
			v.errorf(p+".group", "%s.group: %q is not an API group of a custom resource (e.g. monitoring.coreos.com)", p, cr.Group)
		}
		if cr.Kind == "" {
			v.missing(p+".kind", "%s: kind is required", p)
		} else if !kindRE.MatchString(cr.Kind) {
			v.errorf(p+".kind", "%s.kind: %q is not a kind (e.g. ServiceMonitor)", p, cr.Kind)
		}
		switch cr.Scope {
		case "":
			v.missing(p+".scope", "%s: scope is required (Namespaced or Cluster)", p)
		case ScopeNamespaced, ScopeCluster:
		default:
			v.errorf(p+".scope", "%s.scope: %q must be Namespaced or Cluster", p, cr.Scope)
		}
		key := cr.Group + "/" + cr.Kind
		if j, dup := seen[key]; dup {
			v.errorf(p+".kind", "%s: %s is declared twice (also customResources[%d])", p, key, j)
		}
		seen[key] = i
	}
}

// namespaces checks the namespace of every team in every environment: a
// valid name, not one Kubernetes or pave keeps for itself, and not one that
// another team, or the same team in another environment, gets on the same
// cluster. A problem of the pattern alone is reported on the pattern, one
// that comes from a team's name on the team.
func (v *validator) namespaces(c *Config) {
	if len(c.Environments) > MaxEnvironments || len(c.Teams) > MaxTeams {
		return
	}
	type pair struct{ team, env int }
	type place struct{ cluster, namespace string }
	placed := map[place]pair{} // first team and environment in a namespace
	sharedEnvs := map[[2]int]bool{}
	// A team's namespaces differ in one environment (the pattern has
	// {team}), so only environments that share a cluster can collide.
	perCluster := map[string]int{}
	for _, e := range c.Environments {
		perCluster[e.Cluster]++
	}
	// The environments whose namespaces are worth checking per team: the
	// others' pattern is reported as it is.
	var envs []int
	for j, e := range c.Environments {
		if e.Name == "" || e.Cluster == "" || !isDNSLabel(e.Name) || !validNamespacePattern(e.Namespace) {
			continue
		}
		if ns := e.NamespaceFor("team"); reservedNamespace(ns) != "" {
			p := fmt.Sprintf("environments[%d].namespace", j)
			v.errorf(p, "%s: %q would put every team in a namespace %s, such as %q", p, e.Namespace, reservedNamespace(ns), ns)
			continue
		}
		envs = append(envs, j)
	}
	seen := map[string]bool{}
	for i, t := range c.Teams {
		if !isDNSLabel(t.Name) || seen[t.Name] {
			continue // reported, or a team defined twice
		}
		seen[t.Name] = true
		tp := fmt.Sprintf("teams[%d].name", i)
		for _, j := range envs {
			e := c.Environments[j]
			// A valid pattern with a team and an environment that are
			// DNS labels makes a DNS label, if it is short enough.
			ns := e.NamespaceFor(t.Name)
			if len(ns) > 63 {
				v.errorf(tp, "%s: namespace %q for environment %q is longer than 63 characters", tp, ns, e.Name)
				continue
			}
			if why := reservedNamespace(ns); why != "" {
				v.errorf(tp, "%s: team %q would get namespace %q in environment %q, a namespace %s", tp, t.Name, ns, e.Name, why)
				continue
			}
			if perCluster[e.Cluster] < 2 {
				continue
			}
			key := place{e.Cluster, ns}
			first, taken := placed[key]
			switch {
			case !taken:
				placed[key] = pair{i, j}
			case first.team == i:
				envs := [2]int{first.env, j}
				if !sharedEnvs[envs] {
					sharedEnvs[envs] = true
					p := fmt.Sprintf("environments[%d].namespace", j)
					v.errorf(p, "%s: environments %q and %q would share namespaces on cluster %q (team %s: %s); give each environment on a cluster its own namespaces, e.g. with {env} in the pattern", p, c.Environments[first.env].Name, e.Name, e.Cluster, t.Name, ns)
				}
			default:
				v.errorf(tp, "%s: team %q would get namespace %q in environment %q, which is already team %q's namespace in environment %q on cluster %q", tp, t.Name, ns, e.Name, c.Teams[first.team].Name, c.Environments[first.env].Name, e.Cluster)
			}
		}
	}
}

// reservedNamespace says why pave must not place a team in namespace ns,
// or returns "".
func reservedNamespace(ns string) string {
	switch {
	case strings.HasPrefix(ns, "kube-"):
		return "reserved for Kubernetes (kube-*)"
	case ns == "default":
		return "Kubernetes creates for itself (default)"
	case ns == "pave-system":
		return "pave runs in (pave-system)"
	}
	return ""
}

func validNamespacePattern(pattern string) bool {
	rest := strings.NewReplacer("{team}", "", "{env}", "").Replace(pattern)
	sample := strings.NewReplacer("{team}", "team", "{env}", "env").Replace(pattern)
	return !strings.ContainsAny(rest, "{}") && strings.Contains(pattern, "{team}") && isDNSLabel(sample)
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

func (l *Lifetime) decodeNode(d *decoder, n *yaml.Node, p string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.fail(n, p, "expected a lifetime such as 90d or 12w, got %s", describe(n))
		return
	}
	parsed, err := ParseLifetime(n.Value)
	if err != nil {
		d.fail(n, p, "%v", err)
		return
	}
	*l = parsed
}

// MarshalJSON writes the lifetime as "90d".
func (l Lifetime) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }
