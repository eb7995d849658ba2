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

// closedObject follows a lone $ref and tells whether s lists every
// property an object may have (additionalProperties: false). A schema
// that combines others (allOf, anyOf, oneOf, if, not,
// unevaluatedProperties, dependent schemas) is left to rendering: what it
// allows cannot be read off its properties alone.
func closedObject(s *jsonschema.Schema) (*jsonschema.Schema, bool) {
	for i := 0; s != nil && s.Ref != nil && i < 32; i++ {
		if len(s.Properties) > 0 || s.AdditionalProperties != nil {
			break
		}
		s = s.Ref
	}
	if s == nil || s.Ref != nil || s.DynamicRef != nil || s.RecursiveRef != nil ||
		len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.If != nil || s.Not != nil ||
		s.UnevaluatedProperties != nil || len(s.DependentSchemas) > 0 || len(s.Dependencies) > 0 {
		return s, false
	}
	closed, ok := s.AdditionalProperties.(bool)
	return s, ok && !closed
}

// property returns the schema a property of an object schema is checked
// against, and false when a closed object does not take it.
func property(s *jsonschema.Schema, name string) (*jsonschema.Schema, bool) {
	s, closed := closedObject(s)
	if s == nil {
		return nil, true
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
	return nil, !closed
}

// propertyNames lists the properties an object schema names, sorted.
func propertyNames(s *jsonschema.Schema, hide ...string) []string {
	s, _ = closedObject(s)
	if s == nil {
		return nil
	}
	names := slices.Sorted(maps.Keys(s.Properties))
	return slices.DeleteFunc(names, func(n string) bool { return slices.Contains(hide, n) })
}

// settingsTaken checks the settings written at p ("spec" or
// "spec.environments.<env>") against the template's schema.
func (v *validator) settingsTaken(p string, st Settings, tmpl *Template) {
	if tmpl == nil || tmpl.settings == nil {
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
	v.objectTaken(p, "", written, tmpl.settings.root, tmpl.Name)
}

// objectTaken reports every key of obj (the value at field, "" for the
// settings themselves) that schema s does not take, then looks into the
// keys it does.
func (v *validator) objectTaken(p, field string, obj map[string]any, s *jsonschema.Schema, template string) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		f := strings.TrimPrefix(field+"."+k, ".")
		path := p + "." + f
		sub, ok := property(s, k)
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
