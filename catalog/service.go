package catalog

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	// APIVersion is the apiVersion of every catalog document.
	APIVersion = "pave.dev/v1alpha1"
	// KindService is the kind of a service.yaml.
	KindService = "Service"
	// KindCatalog is the kind of pave.yaml.
	KindCatalog = "Catalog"
	// ServiceFile is the name of a service definition inside its folder.
	ServiceFile = "service.yaml"
	// ServicesDir holds services/<team>/<name>/service.yaml.
	ServicesDir = "services"
	// TemplatesDir holds the golden-path charts.
	TemplatesDir = "templates"
	// PoliciesDir holds the Rego policies.
	PoliciesDir = "policies"
	// ConfigFile is the catalog configuration at the root.
	ConfigFile = "pave.yaml"
)

// Service is one team's service.yaml: which golden path it takes and the
// few settings a developer chooses.
type Service struct {
	APIVersion string          `yaml:"apiVersion" json:"apiVersion"`
	Kind       string          `yaml:"kind" json:"kind"`
	Metadata   ServiceMetadata `yaml:"metadata" json:"metadata"`
	Spec       ServiceSpec     `yaml:"spec" json:"spec"`

	// File is the service.yaml path relative to the catalog root.
	File string `yaml:"-" json:"-"`
	// ExceptionFile holds the service's exceptions
	// (exceptions/<team>/<name>.yaml); nil when it has none.
	ExceptionFile *Exceptions `yaml:"-" json:"-"`
	// positions maps field paths to where they are written in File.
	positions map[string]Position
}

// ServiceMetadata names a service and its owning team.
type ServiceMetadata struct {
	Name string `yaml:"name" json:"name"`
	Team string `yaml:"team" json:"team"`
}

// ServiceSpec is a service's golden path, its settings, and per-environment
// overrides of those settings.
type ServiceSpec struct {
	// Template names the golden-path chart, optionally pinned to a chart
	// version range: "web-service" or "web-service@~1.4".
	Template string `yaml:"template" json:"template"`
	Settings `yaml:",inline" json:",inline"`
	// Environments overrides settings per environment.
	Environments map[string]Settings `yaml:"environments" json:"environments,omitempty"`
}

// Settings are the fields a service sets, and an environment may override.
// A zero value means "not set".
type Settings struct {
	Image       string               `yaml:"image" json:"image,omitempty"`
	Port        int                  `yaml:"port" json:"port,omitempty"`
	Size        string               `yaml:"size" json:"size,omitempty"`
	Replicas    *int                 `yaml:"replicas" json:"replicas,omitempty"`
	Autoscaling *Autoscaling         `yaml:"autoscaling" json:"autoscaling,omitempty"`
	Env         map[string]EnvValue  `yaml:"env" json:"env,omitempty"`
	SecretEnv   map[string]SecretRef `yaml:"secretEnv" json:"secretEnv,omitempty"`
	Ingress     *Ingress             `yaml:"ingress" json:"ingress,omitempty"`
	HealthCheck *HealthCheck         `yaml:"healthCheck" json:"healthCheck,omitempty"`
	// Schedule is the cron schedule of a cron-job ("0 3 * * *", "@hourly").
	Schedule string  `yaml:"schedule" json:"schedule,omitempty"`
	Patches  []Patch `yaml:"patches" json:"patches,omitempty"`
}

func (Settings) unknownFieldHint(file, key string) string {
	switch key {
	case "template":
		return "the template cannot be overridden per environment"
	case "exceptions":
		return exceptionsMovedHint(file)
	}
	return ""
}

func (Service) unknownFieldHint(file, key string) string {
	if key == "exceptions" {
		return exceptionsMovedHint(file)
	}
	return ""
}

// exceptionsMovedHint answers an exceptions block in service.yaml: the
// developer who needs an exception cannot grant it in their own file.
func exceptionsMovedHint(file string) string {
	where := "exceptions/<team>/<service>.yaml"
	if team, name, ok := Owner(file); ok {
		where = ExceptionsFile(team, name)
	}
	return "exceptions are not written in service.yaml; request this one in " + where + ", where one of pave.yaml's exceptions.approvers approves it"
}

// Autoscaling turns on a HorizontalPodAutoscaler.
type Autoscaling struct {
	Min       int `yaml:"min" json:"min,omitempty"`
	Max       int `yaml:"max" json:"max,omitempty"`
	TargetCPU int `yaml:"targetCPU" json:"targetCPU,omitempty"`
}

// SecretRef points an environment variable at a key of a Kubernetes Secret.
type SecretRef struct {
	Secret string `yaml:"secret" json:"secret"`
	Key    string `yaml:"key" json:"key"`
}

// Ingress exposes a service on a host name.
type Ingress struct {
	Host string `yaml:"host" json:"host,omitempty"`
}

// HealthCheck overrides the template's probe path.
type HealthCheck struct {
	Path string `yaml:"path" json:"path,omitempty"`
}

// Patch is a kustomize patch applied to the rendered output: the escape
// hatch. Either Path (a file under the service's patches/ folder) or Patch
// (inline) is set; Target selects the objects for JSON 6902 patches.
type Patch struct {
	Path   string       `yaml:"path" json:"path,omitempty"`
	Patch  string       `yaml:"patch" json:"patch,omitempty"`
	Target *PatchTarget `yaml:"target" json:"target,omitempty"`
}

// PatchTarget selects the rendered objects a patch applies to.
type PatchTarget struct {
	Group   string `yaml:"group" json:"group,omitempty"`
	Version string `yaml:"version" json:"version,omitempty"`
	Kind    string `yaml:"kind" json:"kind,omitempty"`
	Name    string `yaml:"name" json:"name,omitempty"`
}

// EnvValue is a plain environment variable value. Any YAML scalar is
// accepted and kept exactly as written (`PORT: 8080` is "8080").
type EnvValue string

func (e *EnvValue) decodeNode(d *decoder, n *yaml.Node, p string) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(n, p, "expected a string value, got %s", describe(n))
		return
	}
	*e = EnvValue(n.Value)
}

// DateLayout is how dates are written in catalog files.
const DateLayout = "2006-01-02"

// Date is a calendar day (YYYY-MM-DD).
type Date struct{ time.Time }

func (t *Date) decodeNode(d *decoder, n *yaml.Node, p string) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		d.fail(n, p, "expected a date (YYYY-MM-DD), got %s", describe(n))
		return
	}
	parsed, err := time.Parse(DateLayout, n.Value)
	if err != nil {
		d.fail(n, p, "%q is not a date; write it as YYYY-MM-DD", n.Value)
		return
	}
	t.Time = parsed
}

func (t Date) String() string {
	if t.IsZero() {
		return ""
	}
	return t.Format(DateLayout)
}

// MarshalJSON writes the date as "YYYY-MM-DD".
func (t Date) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// ID is "team/name", the service's unique name in the catalog.
func (s *Service) ID() string { return s.Metadata.Team + "/" + s.Metadata.Name }

// Dir is the service's folder relative to the catalog root.
func (s *Service) Dir() string { return path.Dir(s.File) }

// TemplateName is the template without its version pin.
func (s *Service) TemplateName() string {
	name, _, _ := strings.Cut(s.Spec.Template, "@")
	return name
}

// TemplateConstraint is the version range after "@", or "".
func (s *Service) TemplateConstraint() string {
	_, c, _ := strings.Cut(s.Spec.Template, "@")
	return c
}

// Position returns where a field path (e.g. "spec.image" or
// "spec.environments.prod.replicas") is written. When the exact path is not
// in the file (a default, or a field set by merging), it falls back to the
// closest written parent, so a location always points into the file.
func (s *Service) Position(fieldPath string) Position {
	return lookupPosition(s.positions, fieldPath)
}

// lookupPosition finds the value of path, or else the key of its closest
// written parent.
func lookupPosition(positions map[string]Position, path string) Position {
	if pos, ok := positions[path]; ok {
		return pos
	}
	for p := path; p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if pos, ok := positions[p+"#key"]; ok {
			return pos
		}
		if pos, ok := positions[p]; ok {
			return pos
		}
	}
	if pos, ok := positions[""]; ok {
		return pos
	}
	return Position{Line: 1, Column: 1}
}

// EnvironmentNames returns the environments the service overrides, sorted.
func (s *Service) EnvironmentNames() []string {
	names := make([]string, 0, len(s.Spec.Environments))
	for n := range s.Spec.Environments {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ForEnvironment returns the service's settings with the overrides of env
// merged in: scalars and blocks replace, env and secretEnv merge by name
// (the environment wins), patches add up.
func (s *Service) ForEnvironment(env string) Settings {
	base := s.Spec.Settings.clone()
	o, ok := s.Spec.Environments[env]
	if !ok {
		return base
	}
	if o.Image != "" {
		base.Image = o.Image
	}
	if o.Port != 0 {
		base.Port = o.Port
	}
	if o.Size != "" {
		base.Size = o.Size
	}
	if o.Replicas != nil {
		base.Replicas = ptr(*o.Replicas)
	}
	if o.Autoscaling != nil {
		a := Autoscaling{}
		if base.Autoscaling != nil {
			a = *base.Autoscaling
		}
		if o.Autoscaling.Min != 0 {
			a.Min = o.Autoscaling.Min
		}
		if o.Autoscaling.Max != 0 {
			a.Max = o.Autoscaling.Max
		}
		if o.Autoscaling.TargetCPU != 0 {
			a.TargetCPU = o.Autoscaling.TargetCPU
		}
		base.Autoscaling = &a
	}
	for k, v := range o.Env {
		if base.Env == nil {
			base.Env = map[string]EnvValue{}
		}
		base.Env[k] = v
	}
	for k, v := range o.SecretEnv {
		if base.SecretEnv == nil {
			base.SecretEnv = map[string]SecretRef{}
		}
		base.SecretEnv[k] = v
	}
	if o.Ingress != nil {
		base.Ingress = &Ingress{Host: o.Ingress.Host}
	}
	if o.HealthCheck != nil {
		base.HealthCheck = &HealthCheck{Path: o.HealthCheck.Path}
	}
	if o.Schedule != "" {
		base.Schedule = o.Schedule
	}
	base.Patches = append(base.Patches, o.Patches...)
	return base
}

// FieldPath returns the path of a field of the merged settings for env as
// written in the file: the environment's override when it sets the field,
// the base spec otherwise. field is relative to the settings ("image",
// "env.LOG_LEVEL").
func (s *Service) FieldPath(env, field string) string {
	if env != "" {
		p := "spec.environments." + env + "." + field
		if _, ok := s.positions[p]; ok {
			return p
		}
	}
	return "spec." + field
}

func (st Settings) clone() Settings {
	c := st
	if st.Replicas != nil {
		c.Replicas = ptr(*st.Replicas)
	}
	if st.Autoscaling != nil {
		a := *st.Autoscaling
		c.Autoscaling = &a
	}
	if st.Env != nil {
		c.Env = make(map[string]EnvValue, len(st.Env))
		for k, v := range st.Env {
			c.Env[k] = v
		}
	}
	if st.SecretEnv != nil {
		c.SecretEnv = make(map[string]SecretRef, len(st.SecretEnv))
		for k, v := range st.SecretEnv {
			c.SecretEnv[k] = v
		}
	}
	if st.Ingress != nil {
		i := *st.Ingress
		c.Ingress = &i
	}
	if st.HealthCheck != nil {
		h := *st.HealthCheck
		c.HealthCheck = &h
	}
	c.Patches = slices.Clone(st.Patches)
	return c
}

func ptr[T any](v T) *T { return &v }

// String is used in messages.
func (s *Service) String() string { return fmt.Sprintf("%s (%s)", s.ID(), s.File) }
