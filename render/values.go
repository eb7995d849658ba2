package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/pave-dev/pave/catalog"
)

// values builds what a template receives: the service's settings for the
// environment (the keys a service.yaml writes under spec, absent when not
// set), pave's context under "pave" and pave.yaml's platform values under
// "platform". Patches are pave's business and stay out. A template with a
// values mapping in pave.yaml (a chart not written for pave) receives
// only what the mapping makes of them (mappedValues).
func values(svc *catalog.Service, st catalog.Settings, env catalog.Environment, namespace string, size catalog.Size, gp *goldenPath, platform map[string]any, revision string) (map[string]any, error) {
	st.Patches = nil
	vals, err := toPlain(st)
	if err != nil {
		return nil, err
	}
	vals["pave"] = paveContext(svc, env, namespace, size, gp, revision)
	p, err := toPlain(platform)
	if err != nil {
		return nil, err
	}
	vals["platform"] = p
	return vals, nil
}

// paveContext is what pave tells a template of the render.
func paveContext(svc *catalog.Service, env catalog.Environment, namespace string, size catalog.Size, gp *goldenPath, revision string) map[string]any {
	return map[string]any{
		"service":     svc.Metadata.Name,
		"team":        svc.Metadata.Team,
		"environment": env.Name,
		"cluster":     env.Cluster,
		"namespace":   namespace,
		"revision":    revision,
		"resources": map[string]any{
			"requests": map[string]any{"cpu": size.Requests.CPU, "memory": size.Requests.Memory},
			"limits":   map[string]any{"cpu": size.Limits.CPU, "memory": size.Limits.Memory},
		},
		"template": map[string]any{"name": gp.name, "version": gp.version},
	}
}

// toPlain converts a value to JSON-like maps, with whole numbers as int64
// so templates print 8080, never 8.08e+03.
func toPlain(v any) (map[string]any, error) { return catalog.Plain(v) }

// thousands undoes the digit grouping of the validator's printer
// ("1,024"), which reads oddly next to the number in service.yaml.
var thousands = regexp.MustCompile(`(\d),(\d{3}\b)`)

// schemaViolation is one values.schema.json failure, at a values path.
type schemaViolation struct {
	path    []string // e.g. ["autoscaling", "max"]
	message string
}

// validateSchema checks the coalesced values against the chart's schema and
// returns every failure.
func validateSchema(s *jsonschema.Schema, vals map[string]any) []schemaViolation {
	// The validator wants JSON types: round-trip through JSON.
	data, err := json.Marshal(vals)
	if err != nil {
		return []schemaViolation{{message: err.Error()}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return []schemaViolation{{message: err.Error()}}
	}
	err = s.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []schemaViolation{{message: err.Error()}}
	}
	printer := message.NewPrinter(language.Und)
	var out []schemaViolation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			msg := e.ErrorKind.LocalizedString(printer)
			for thousands.MatchString(msg) {
				msg = thousands.ReplaceAllString(msg, "$1$2")
			}
			out = append(out, schemaViolation{path: e.InstanceLocation, message: msg})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.SortFunc(out, func(a, b schemaViolation) int {
		return strings.Compare(strings.Join(a.path, "/")+a.message, strings.Join(b.path, "/")+b.message)
	})
	return slices.CompactFunc(out, func(a, b schemaViolation) bool {
		return slices.Equal(a.path, b.path) && a.message == b.message
	})
}

// schemaErrors maps schema violations to the service.yaml fields they came
// from. A property the template does not know is reported at the field
// itself; a missing required property at the spec.
func schemaErrors(svc *catalog.Service, env string, gp *goldenPath, vs []schemaViolation) []*Error {
	var errs []*Error
	for _, v := range vs {
		field := strings.Join(v.path, ".")
		msg := v.message
		// "additional properties 'schedule' not allowed" sits on the parent.
		if strings.HasPrefix(msg, "additional properties ") {
			if names := quotedNames(msg); len(names) > 0 {
				for _, n := range names {
					f := strings.TrimPrefix(field+"."+n, ".")
					errs = append(errs, fieldError(svc, env, f, fmt.Sprintf("%s is not a setting of template %s", f, gp.ID())))
				}
				continue
			}
		}
		if strings.HasPrefix(msg, "missing property ") || strings.HasPrefix(msg, "missing properties ") {
			for _, n := range quotedNames(msg) {
				f := strings.TrimPrefix(field+"."+n, ".")
				errs = append(errs, fieldError(svc, env, field, fmt.Sprintf("%s is required by template %s", f, gp.ID())))
			}
			continue
		}
		if field == "" {
			errs = append(errs, fieldError(svc, env, "", fmt.Sprintf("template %s: %s", gp.ID(), msg)))
			continue
		}
		errs = append(errs, fieldError(svc, env, field, fmt.Sprintf("%s: %s (template %s)", field, msg, gp.ID())))
	}
	// The validator lists property names in map order: sort for stable output.
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if c := a.Line - b.Line; c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return errs
}

// fieldError locates a problem at a settings field ("port",
// "autoscaling.max") of the service, or at its spec when field is "".
func fieldError(svc *catalog.Service, env, field, msg string) *Error {
	p := "spec#key"
	if field != "" {
		p = svc.FieldPath(env, field)
	}
	if strings.HasPrefix(field, "pave.") || strings.HasPrefix(field, "platform.") || field == "pave" || field == "platform" {
		p = "spec.template"
	}
	return &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position(p), Message: msg}
}

func quotedNames(msg string) []string {
	var names []string
	for {
		i := strings.IndexByte(msg, '\'')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(msg[i+1:], '\'')
		if j < 0 {
			return names
		}
		names = append(names, msg[i+1:i+1+j])
		msg = msg[i+j+2:]
	}
}
