package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// A template receives a service's settings as its values: every key a
// service.yaml writes under spec (or under spec.environments.<env>), but
// template, environments and patches, is the value of the same name
// (render/values.go marshals Settings with the same field names). So a
// chart's values.schema.json says, before anything is rendered, which
// settings the template takes: a service that writes one it does not take
// is told at its own line, by pave validate as much as by pave check.

// settingsSchema is the compiled values.schema.json of a template.
type settingsSchema struct{ root *jsonschema.Schema }

// loadSettingsSchema compiles templates/<dir>/values.schema.json; nil when
// the chart has none, or one that does not compile (rendering reports
// that).
func loadSettingsSchema(fsys fs.FS, dir string) *settingsSchema {
	data, err := readFile(fsys, dir+"/values.schema.json")
	if err != nil {
		return nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(selfContained{})
	const url = "pave:///values.schema.json"
	if c.AddResource(url, doc) != nil {
		return nil
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil
	}
	return &settingsSchema{root: s}
}

// selfContained refuses every $ref outside the schema, as rendering does.
type selfContained struct{}

func (selfContained) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref to %s is not allowed: values.schema.json must be self-contained", url)
}

// resolve follows lone $refs.
func resolve(s *jsonschema.Schema) *jsonschema.Schema {
	for i := 0; s != nil && s.Ref != nil && i < 32; i++ {
		if len(s.Properties) > 0 || len(s.PatternProperties) > 0 || s.AdditionalProperties != nil {
			break
		}
		s = s.Ref
	}
	return s
}

// branches are the schemas s combines with its own: a property one of
// them names is named by s.
func branches(s *jsonschema.Schema) []*jsonschema.Schema {
	out := slices.Concat(s.AllOf, s.AnyOf, s.OneOf)
	for _, b := range []*jsonschema.Schema{s.Ref, s.Then, s.Else} {
		if b != nil {
			out = append(out, b)
		}
	}
	return out
}

// declared returns the schema s (or one it combines) gives a property,
// and whether s names the property at all: in properties, a matching
// patternProperties, or an additionalProperties schema.
func declared(s *jsonschema.Schema, name string) (*jsonschema.Schema, bool) {
	return declaredAt(s, name, 0)
}

func declaredAt(s *jsonschema.Schema, name string, depth int) (*jsonschema.Schema, bool) {
	s = resolve(s)
	if s == nil || depth > 32 {
		return nil, false
	}
	if p, ok := s.Properties[name]; ok {
		return p, true
	}
	for re, p := range s.PatternProperties {
		if re.MatchString(name) {
			return p, true
		}
	}
	if extra, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		return extra, true
	}
	for _, b := range branches(s) {
		if p, ok := declaredAt(b, name, depth+1); ok {
			return p, true
		}
	}
	return nil, false
}

// namesAny tells whether s, or a schema it combines, names any property.
func namesAny(s *jsonschema.Schema, depth int) bool {
	s = resolve(s)
	if s == nil || depth > 32 {
		return false
	}
	if len(s.Properties) > 0 || len(s.PatternProperties) > 0 || s.AdditionalProperties != nil {
		return true
	}
	return slices.ContainsFunc(branches(s), func(b *jsonschema.Schema) bool { return namesAny(b, depth+1) })
}

// property returns the schema a setting is checked against, and whether
// the template takes it. A template takes what its schema names: a
// setting the schema does not name is refused even when the schema would
// let it through (no additionalProperties: false), as pave cannot tell
// that the chart reads it. Below the top, an object schema that names no
// property at all ({"type": "object"}) takes whatever is under it.
func property(s *jsonschema.Schema, name string, top bool) (*jsonschema.Schema, bool) {
	if s == nil {
		return nil, true
	}
	if p, ok := declared(s, name); ok {
		return p, true
	}
	return nil, !top && !namesAny(s, 0)
}

// allows tells whether a schema lets a value have a property: it names
// it, or does not close the object (additionalProperties: false).
func allows(s *jsonschema.Schema, name string) (sub *jsonschema.Schema, named, ok bool) {
	if s == nil {
		return nil, false, true
	}
	if p, ok := declared(s, name); ok {
		return p, true, true
	}
	r := resolve(s)
	closed, isBool := r.AdditionalProperties.(bool)
	return nil, false, !(isBool && !closed)
}

// propertyNames lists the properties a schema names, sorted.
func propertyNames(s *jsonschema.Schema, hide ...string) []string {
	var names []string
	var walk func(s *jsonschema.Schema, depth int)
	walk = func(s *jsonschema.Schema, depth int) {
		s = resolve(s)
		if s == nil || depth > 32 {
			return
		}
		names = append(names, slices.Collect(maps.Keys(s.Properties))...)
		for _, b := range branches(s) {
			walk(b, depth+1)
		}
	}
	walk(s, 0)
	slices.Sort(names)
	names = slices.Compact(names)
	return slices.DeleteFunc(names, func(n string) bool { return slices.Contains(hide, n) })
}

// Takes tells whether a template takes a setting ("port"): its values
// mapping reads it, its schema names it, or (with neither) its templates
// read it.
func (c *Catalog) Takes(template, setting string) bool {
	t, ok := c.Templates[template]
	switch {
	case !ok:
		return false
	case c.Config.Mapping(template) != nil:
		return slices.Contains(c.Config.Mapping(template).readSettings(), setting)
	case t.settings != nil:
		_, named := declared(t.settings.root, setting)
		return named
	}
	return t.reads.all || t.reads.names[setting]
}

// settingsTaken checks the settings written at p ("spec" or
// "spec.environments.<env>") against what the template takes: what its
// pave.yaml values mapping reads, else what its values.schema.json names,
// else what its templates read (.Values.<setting>).
func (v *validator) settingsTaken(p string, st Settings, tmpl *Template, cfg *Config) {
	if tmpl == nil {
		return
	}
	if tmpl.mappingError != "" {
		if p == "spec" {
			v.errorf("spec.template", "spec.template: template %s cannot be used until pave.yaml templates.%s.values is mended (%s)", tmpl.Name, tmpl.Name, tmpl.mappingError)
		}
		return
	}
	st.Patches = nil
	data, err := json.Marshal(st)
	if err != nil {
		return
	}
	var written map[string]any
	if json.Unmarshal(data, &written) != nil {
		return
	}
	switch m := cfg.Mapping(tmpl.Name); {
	case m != nil:
		v.mappedTaken(p, nil, written, m, tmpl.Name)
	case tmpl.settings != nil:
		v.objectTaken(p, "", written, tmpl.settings.root, tmpl.Name)
	default:
		v.readTaken(p, written, tmpl)
	}
}

// objectTaken reports every key of obj (the value at field, "" for the
// settings themselves) that schema s does not take, then looks into the
// keys it does.
func (v *validator) objectTaken(p, field string, obj map[string]any, s *jsonschema.Schema, template string) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		f := strings.TrimPrefix(field+"."+k, ".")
		path := p + "." + f
		sub, ok := property(s, k, field == "")
		if !ok {
			// pave and platform are values pave sets, never settings.
			names := propertyNames(s, "pave", "platform")
			what := "its settings"
			if field != "" {
				what = field + " takes"
			}
			v.errorf(path+"#key", "template %s does not take %s (%s: %s)", template, path, what, strings.Join(names, ", "))
			continue
		}
		if inner, isObj := obj[k].(map[string]any); isObj && sub != nil {
			v.objectTaken(p, f, inner, sub, template)
		}
	}
}

// mappedTaken reports every setting under obj (at field) that the
// template's values mapping does not read.
func (v *validator) mappedTaken(p string, field []string, obj map[string]any, m *ValuesMapping, template string) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		f := append(slices.Clone(field), k)
		taken, descend := m.takes(f)
		inner, isObj := obj[k].(map[string]any)
		switch {
		case taken:
		case descend && isObj:
			v.mappedTaken(p, f, inner, m, template)
		case descend:
		default:
			path := p + "." + strings.Join(f, ".")
			v.errorf(path+"#key", "template %s does not take %s: pave.yaml templates.%s.values reads no .%s (it reads: %s)", template, path, template, strings.Join(f, "."), strings.Join(m.readSettings(), ", "))
		}
	}
}

// readTaken reports every setting that none of the templates of a chart
// without a schema or a mapping reads.
func (v *validator) readTaken(p string, written map[string]any, tmpl *Template) {
	// A Template not loaded from a chart (built by a caller of
	// ParseService) says nothing of what it reads: nothing to check.
	if tmpl.reads.all || tmpl.reads.names == nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(written)) {
		if tmpl.reads.names[k] {
			continue
		}
		path := p + "." + k
		v.errorf(path+"#key", "template %s does not take %s: none of its templates reads .Values.%s (it reads: %s); declare the settings it takes in its values.schema.json, or map them in pave.yaml templates.%s.values", tmpl.Name, path, k, strings.Join(tmpl.reads.list(), ", "), tmpl.Name)
	}
}
