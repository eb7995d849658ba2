package catalog

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"
)

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }

// validator checks decoded documents and reports at the positions the
// decoder recorded, skipping fields that already failed to decode.
type validator struct {
	d *decoder
}

func (v *validator) position(path string) Position {
	return lookupPosition(v.d.pos, path)
}

func (v *validator) isBad(path string) bool {
	for p := strings.TrimSuffix(path, "#key"); p != ""; {
		if v.d.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return false
}

// errorf reports a problem with the field at path.
func (v *validator) errorf(path, format string, args ...any) {
	if v.isBad(path) {
		return
	}
	v.d.errorf(v.position(path), format, args...)
}

// missing reports a required field that is not set, at the key of the
// mapping it belongs in.
func (v *validator) missing(field, format string, args ...any) {
	if v.isBad(field) {
		return
	}
	parent := parentPath(field)
	pos, ok := v.d.pos[parent+"#key"]
	if !ok {
		pos = v.position(parent)
	}
	v.d.errorf(pos, format, args...)
}

func (v *validator) header(prefix, apiVersion, kind, wantKind string) {
	switch {
	case apiVersion == "":
		v.missing("apiVersion", "apiVersion is required (%s)", APIVersion)
	case apiVersion != APIVersion:
		v.errorf("apiVersion", "apiVersion: %q is not supported; use %s", apiVersion, APIVersion)
	}
	switch {
	case kind == "":
		v.missing("kind", "kind is required (%s)", wantKind)
	case kind != wantKind:
		v.errorf("kind", "kind: expected %s, got %q", wantKind, kind)
	}
}

func isDNSLabel(s string) bool { return len(validation.IsDNS1123Label(s)) == 0 }

// dnsLabel checks a name that becomes part of Kubernetes object names.
func (v *validator) dnsLabel(path, s string, required bool) {
	field := strings.TrimSuffix(path, "#key")
	switch {
	case s == "" && required:
		v.missing(field, "%s is required", field)
	case s == "":
	case len(s) > 63:
		v.errorf(path, "%s: %q is %d characters, over the 63 allowed", field, truncate(s, 70), len(s))
	case !isDNSLabel(s):
		v.errorf(path, "%s: %q must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit", field, s)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

var (
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	policyIDRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// serviceContext is what a service is checked against.
type serviceContext struct {
	config    *Config
	templates map[string]*Template
	team      string // folder name under services/
	name      string // folder name under services/<team>/
	// patchExists reports whether a file under the service folder exists.
	patchExists func(rel string) bool
}

func (v *validator) service(s *Service, ctx serviceContext) {
	v.header("", s.APIVersion, s.Kind, KindService)

	v.dnsLabel("metadata.name", s.Metadata.Name, true)
	if isDNSLabel(s.Metadata.Name) && ctx.name != "" && s.Metadata.Name != ctx.name {
		v.errorf("metadata.name", "metadata.name: %q does not match its folder services/%s/%s/", s.Metadata.Name, ctx.team, ctx.name)
	}
	switch t := s.Metadata.Team; {
	case t == "":
		v.missing("metadata.team", "metadata.team is required")
	case ctx.team != "" && t != ctx.team:
		v.errorf("metadata.team", "metadata.team: %q does not match the folder services/%s/ it is in", t, ctx.team)
	default:
		if _, ok := ctx.config.Team(t); !ok {
			msg := fmt.Sprintf("metadata.team: unknown team %q (pave.yaml teams: %s)", t, strings.Join(ctx.config.TeamNames(), ", "))
			if sg := suggest(t, ctx.config.TeamNames()); sg != "" {
				msg += fmt.Sprintf("; did you mean %q?", sg)
			}
			v.errorf("metadata.team", "%s", msg)
		}
	}

	v.template(s, ctx)
	if s.Spec.Image == "" {
		v.missing("spec.image", "spec.image is required")
	}
	v.settings("spec", s.Spec.Settings, ctx)
	tmpl := ctx.templates[s.TemplateName()]
	v.settingsTaken("spec", s.Spec.Settings, tmpl, ctx.config)
	for _, env := range s.EnvironmentNames() {
		p := "spec.environments." + env
		if _, ok := ctx.config.Environment(env); !ok {
			msg := fmt.Sprintf("%s: unknown environment %q (pave.yaml environments: %s)", p, env, strings.Join(ctx.config.EnvironmentNames(), ", "))
			if sg := suggest(env, ctx.config.EnvironmentNames()); sg != "" {
				msg += fmt.Sprintf("; did you mean %q?", sg)
			}
			v.errorf(p+"#key", "%s", msg)
			continue
		}
		v.settings(p, s.Spec.Environments[env], ctx)
		v.settingsTaken(p, s.Spec.Environments[env], tmpl, ctx.config)
	}
	// Rules that span fields are checked on the merged settings of each
	// environment, and reported where the offending value is written.
	for _, env := range ctx.config.EnvironmentNames() {
		merged := s.ForEnvironment(env)
		for name := range merged.Env {
			if _, dup := merged.SecretEnv[name]; dup {
				p := s.FieldPath(env, "env."+name)
				v.errorf(p+"#key", "%s: %s is set in both env and secretEnv; keep it only in secretEnv", p, name)
			}
		}
		if a := merged.Autoscaling; a != nil && a.Min > 0 && a.Max > 0 && a.Min > a.Max {
			p := s.FieldPath(env, "autoscaling.min")
			v.errorf(p, "%s: min %d is greater than max %d (environment %s)", p, a.Min, a.Max, env)
		}
	}
}

func (v *validator) template(s *Service, ctx serviceContext) {
	if s.Spec.Template == "" {
		// A service that leaves spec.template out gets pave.yaml's
		// defaults.template, as every other default.
		def := ctx.config.Defaults.Template
		switch _, ok := ctx.templates[def]; {
		case def == "":
			v.missing("spec.template", "spec.template is required (templates: %s)", strings.Join(templateNames(ctx.templates), ", "))
		case !ok:
			v.missing("spec.template", "spec.template is not set and pave.yaml defaults.template %q is not a template (templates: %s)", def, strings.Join(templateNames(ctx.templates), ", "))
		default:
			s.Spec.Template = def
		}
		return
	}
	name, constraint := s.TemplateName(), s.TemplateConstraint()
	t, ok := ctx.templates[name]
	if !ok {
		msg := fmt.Sprintf("spec.template: unknown template %q (templates: %s)", name, strings.Join(templateNames(ctx.templates), ", "))
		if sg := suggest(name, templateNames(ctx.templates)); sg != "" {
			msg += fmt.Sprintf("; did you mean %q?", sg)
		}
		v.errorf("spec.template", "%s", msg)
		return
	}
	if strings.Contains(s.Spec.Template, "@") {
		c, err := semver.NewConstraint(constraint)
		if err != nil {
			v.errorf("spec.template", "spec.template: %q is not a version range (e.g. %s@~1.4)", constraint, name)
			return
		}
		ver, err := semver.NewVersion(t.Version)
		if err == nil && !c.Check(ver) {
			v.errorf("spec.template", "spec.template: template %s is at version %s, outside the pinned range %q", name, t.Version, constraint)
		}
	}
}

func templateNames(m map[string]*Template) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// settings checks the fields of the base spec or of one environment's
// overrides; p is "spec" or "spec.environments.<env>".
func (v *validator) settings(p string, st Settings, ctx serviceContext) {
	if st.Image != "" {
		if _, err := reference.ParseNormalizedNamed(st.Image); err != nil {
			v.errorf(p+".image", "%s.image: %q is not a valid image reference: %v", p, st.Image, err)
		}
	}
	if _, set := v.d.pos[p+".port"]; set && (st.Port < 1 || st.Port > 65535) {
		v.errorf(p+".port", "%s.port: %d is outside 1-65535", p, st.Port)
	}
	if _, set := v.d.pos[p+".size"]; set {
		if _, ok := ctx.config.Sizes[st.Size]; !ok {
			msg := fmt.Sprintf("%s.size: unknown size %q (sizes: %s)", p, st.Size, strings.Join(ctx.config.SizeNames(), ", "))
			if sg := suggest(st.Size, ctx.config.SizeNames()); sg != "" {
				msg += fmt.Sprintf("; did you mean %q?", sg)
			}
			v.errorf(p+".size", "%s", msg)
		}
	}
	if st.Replicas != nil && (*st.Replicas < 1 || *st.Replicas > 100) {
		v.errorf(p+".replicas", "%s.replicas: %d is outside 1-100", p, *st.Replicas)
	}
	if a := st.Autoscaling; a != nil {
		ap := p + ".autoscaling"
		if _, set := v.d.pos[ap+".min"]; set && (a.Min < 1 || a.Min > 100) {
			v.errorf(ap+".min", "%s.min: %d is outside 1-100", ap, a.Min)
		}
		if _, set := v.d.pos[ap+".max"]; set && (a.Max < 1 || a.Max > 100) {
			v.errorf(ap+".max", "%s.max: %d is outside 1-100", ap, a.Max)
		}
		if _, set := v.d.pos[ap+".targetCPU"]; set && (a.TargetCPU < 1 || a.TargetCPU > 100) {
			v.errorf(ap+".targetCPU", "%s.targetCPU: %d%% is outside 1-100", ap, a.TargetCPU)
		}
		if p == "spec" && a.Max == 0 {
			v.missing(ap+".max", "%s.max is required", ap)
		}
	}
	for name := range st.Env {
		if !envNameRE.MatchString(name) {
			v.errorf(p+".env."+name+"#key", "%s.env: %q is not a valid variable name (letters, digits and '_', not starting with a digit)", p, name)
		}
	}
	for name, ref := range st.SecretEnv {
		sp := p + ".secretEnv." + name
		if !envNameRE.MatchString(name) {
			v.errorf(sp+"#key", "%s.secretEnv: %q is not a valid variable name (letters, digits and '_', not starting with a digit)", p, name)
		}
		switch {
		case ref.Secret == "":
			v.missing(sp+".secret", "%s: secret is required (the name of the Kubernetes Secret)", sp)
		case len(validation.IsDNS1123Subdomain(ref.Secret)) > 0:
			v.errorf(sp+".secret", "%s.secret: %q is not a valid Secret name", sp, ref.Secret)
		}
		switch {
		case ref.Key == "":
			v.missing(sp+".key", "%s: key is required (the key inside the Secret)", sp)
		case !secretKeyRE.MatchString(ref.Key) || len(ref.Key) > 253:
			v.errorf(sp+".key", "%s.key: %q is not a valid Secret key", sp, ref.Key)
		}
	}
	if in := st.Ingress; in != nil {
		ip := p + ".ingress"
		switch {
		case in.Host == "":
			v.missing(ip+".host", "%s.host is required", ip)
		case len(validation.IsDNS1123Subdomain(in.Host)) > 0 || !strings.Contains(in.Host, "."):
			v.errorf(ip+".host", "%s.host: %q is not a DNS name (e.g. checkout.example.com)", ip, in.Host)
		}
	}
	if hc := st.HealthCheck; hc != nil {
		hp := p + ".healthCheck"
		if !strings.HasPrefix(hc.Path, "/") || strings.ContainsAny(hc.Path, " \t?#") {
			v.errorf(hp+".path", "%s.path: %q must be an absolute URL path such as /healthz", hp, hc.Path)
		}
	}
	if st.Schedule != "" {
		if err := checkSchedule(st.Schedule); err != nil {
			v.errorf(p+".schedule", "%s.schedule: %q is not a cron schedule: %v (five fields such as \"0 3 * * *\", or @hourly, @daily, @weekly, @monthly, @yearly)", p, st.Schedule, err)
		}
	}
	for i, pt := range st.Patches {
		v.patch(fmt.Sprintf("%s.patches[%d]", p, i), pt, ctx)
	}
}

func (v *validator) patch(p string, pt Patch, ctx serviceContext) {
	switch {
	case pt.Path == "" && pt.Patch == "":
		v.errorf(p, "%s: set either path (a file under patches/) or patch (inline)", p)
	case pt.Path != "" && pt.Patch != "":
		v.errorf(p+".patch", "%s: set path or patch, not both", p)
	case pt.Path != "":
		clean := cleanRelative(pt.Path)
		if clean == "" || !strings.HasPrefix(clean, "patches/") {
			v.errorf(p+".path", "%s.path: %q must name a file under this service's patches/ folder", p, pt.Path)
		} else if ctx.patchExists != nil && !ctx.patchExists(clean) {
			v.errorf(p+".path", "%s.path: %s does not exist", p, pt.Path)
		}
	}
	if t := pt.Target; t != nil && t.Kind == "" && t.Name == "" {
		v.errorf(p+".target", "%s.target: set kind and/or name", p)
	}
}

// cleanRelative returns a slash path with no "..", "." or leading "/", or
// "" if the path tries to leave its folder.
func cleanRelative(p string) string {
	if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
		return ""
	}
	parts := strings.Split(p, "/")
	var out []string
	for _, part := range parts {
		switch part {
		case "", ".":
		case "..":
			return ""
		default:
			out = append(out, part)
		}
	}
	return strings.Join(out, "/")
}

func dedupe(l ErrorList) ErrorList {
	seen := map[Error]bool{}
	out := l[:0]
	for _, e := range l {
		if seen[*e] {
			continue
		}
		seen[*e] = true
		out = append(out, e)
	}
	out.Sort()
	return out
}
