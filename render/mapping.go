package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pave-dev/pave/catalog"
)

// mappedValues runs a template's pave.yaml values mapping over the
// service's settings for the environment: the chart receives the values
// the mapping sets, nothing else (not pave's context nor the platform
// values, which a mapping hands on where the chart wants them, e.g.
// "{{ .pave.resources }}"), over its own defaults.
func mappedValues(m *catalog.ValuesMapping, st catalog.Settings, paveCtx, platform map[string]any) (map[string]any, error) {
	plat, err := toPlain(platform)
	if err != nil {
		return nil, err
	}
	data, err := catalog.MappingData(st, paveCtx, plat)
	if err != nil {
		return nil, err
	}
	return m.Apply(data)
}

// mappingError places a failed mapping entry: on the service's
// spec.template, naming the pave.yaml line of the entry.
func (r *Renderer) mappingError(svc *catalog.Service, env string, gp *goldenPath, err error) *Error {
	msg := fmt.Sprintf("template %s: %v", gp.ID(), err)
	var me *catalog.MappingError
	if errors.As(err, &me) {
		p := "templates." + gp.name + ".values." + me.Key
		pos := r.cat.Config.Position(p + "#key")
		msg = fmt.Sprintf("%s:%d:%d: %s: %v", catalog.ConfigFile, pos.Line, pos.Column, p, me.Err)
	}
	e := fieldError(svc, env, "", msg)
	e.Position = svc.Position("spec.template")
	return e
}

// mappedSchemaErrors places the chart's schema violations of a mapped
// template on the setting the offending value was mapped from, naming the
// chart's value and the pave.yaml entry; a violation of the chart's own
// defaults is placed on spec.template.
func (r *Renderer) mappedSchemaErrors(svc *catalog.Service, env string, gp *goldenPath, m *catalog.ValuesMapping, vs []schemaViolation) []*Error {
	var errs []*Error
	for _, v := range vs {
		path := v.path
		if strings.HasPrefix(v.message, "additional properties ") {
			if names := quotedNames(v.message); len(names) > 0 {
				path = append(append([]string(nil), path...), names[0])
			}
		}
		value := strings.Join(v.path, ".")
		if value == "" {
			value = "values"
		}
		key, ok := m.EntryFor(path)
		if !ok {
			e := fieldError(svc, env, "", fmt.Sprintf("template %s: %s: %s", gp.ID(), value, v.message))
			e.Position = svc.Position("spec.template")
			errs = append(errs, e)
			continue
		}
		p := "templates." + gp.name + ".values." + key
		pos := r.cat.Config.Position(p + "#key")
		reads := m.Reads(key)
		field := ""
		from := ""
		if len(reads) > 0 {
			field = reads[0]
			from = " from " + svc.FieldPath(env, field)
		}
		e := fieldError(svc, env, field, fmt.Sprintf("template %s does not accept %s%s: %s (mapped at %s:%d:%d)", gp.ID(), value, from, v.message, catalog.ConfigFile, pos.Line, pos.Column))
		if field == "" {
			e.Position = svc.Position("spec.template")
		}
		errs = append(errs, e)
	}
	return errs
}
