package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/pave-dev/pave/catalog"
)

// gatekeeperTarget is the only target of a ConstraintTemplate pave runs:
// admission, where input.review is the object.
const gatekeeperTarget = "admission.k8s.gatekeeper.sh"

// constraintTemplate is a Gatekeeper ConstraintTemplate (YAML) under
// policies/: its Rego and libs, and the schema of its parameters.
type constraintTemplate struct {
	file string
	// sources are its Rego modules: the template's, then its libs.
	sources []regoSource
	// schema is spec.crd.spec.validation.openAPIV3Schema; nil when none.
	schema *jsonschema.Schema
}

// regoSource is one Rego module of a ConstraintTemplate, padded with empty
// lines so that its rows are the lines of the YAML file.
type regoSource struct {
	key     string // the file, or file#libs[1] for a lib
	text    string
	version ast.RegoVersion
}

// readConstraintTemplate reads a YAML file under policies/. ok is false
// when it is not a ConstraintTemplate (other YAML, such as a library's
// test data, is left alone).
func readConstraintTemplate(file string, data []byte) (t *constraintTemplate, ok bool, errs catalog.ErrorList) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, false, nil
	}
	root := doc.Content[0]
	kind, apiVersion := child(root, "kind"), child(root, "apiVersion")
	if apiVersion != nil && strings.HasPrefix(apiVersion.Value, "constraints.gatekeeper.sh/") {
		name := "NAME"
		if n := child(child(root, "metadata"), "name"); n != nil {
			name = n.Value
		}
		template := "TEMPLATE"
		if kind != nil {
			template = strings.ToLower(kind.Value)
		}
		return nil, true, catalog.ErrorList{{File: file, Position: catalog.Position{Line: root.Line, Column: root.Column}, Message: fmt.Sprintf(
			"pave does not read Gatekeeper constraints from policies/: write this one in pave.yaml as policies.constraints: [{name: %s, template: %s, kinds: […], parameters: {…}}]", name, template)}}
	}
	if kind == nil || kind.Value != "ConstraintTemplate" || apiVersion == nil || !strings.HasPrefix(apiVersion.Value, "templates.gatekeeper.sh/") {
		return nil, false, nil
	}
	t = &constraintTemplate{file: file}
	fail := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, &catalog.Error{File: file, Position: catalog.Position{Line: n.Line, Column: n.Column}, Message: fmt.Sprintf(format, args...)})
	}
	spec := child(root, "spec")
	if s := child(child(child(child(spec, "crd"), "spec"), "validation"), "openAPIV3Schema"); s != nil {
		schema, err := compileSchema(s)
		if err != nil {
			fail(s, "spec.crd.spec.validation.openAPIV3Schema: %v", err)
		}
		t.schema = schema
	}
	targets := child(spec, "targets")
	if targets == nil || targets.Kind != yaml.SequenceNode {
		fail(root, "a ConstraintTemplate needs spec.targets")
		return t, true, errs
	}
	for _, target := range targets.Content {
		name := child(target, "target")
		if name == nil || name.Value != gatekeeperTarget {
			continue
		}
		add := func(n *yaml.Node, version ast.RegoVersion) {
			key := file
			if len(t.sources) > 0 {
				key = fmt.Sprintf("%s#%d", file, len(t.sources))
			}
			t.sources = append(t.sources, regoSource{key: key, text: padded(n), version: version})
		}
		addAll := func(rego, libs *yaml.Node, version ast.RegoVersion) {
			add(rego, version)
			if libs != nil {
				for _, l := range libs.Content {
					add(l, version)
				}
			}
		}
		if rego := child(target, "rego"); rego != nil {
			addAll(rego, child(target, "libs"), ast.RegoV0)
		}
		if code := child(target, "code"); code != nil {
			for _, c := range code.Content {
				if e := child(c, "engine"); e == nil || e.Value != "Rego" {
					continue // CEL (K8sNativeValidation) is Gatekeeper's alone
				}
				src := child(c, "source")
				rego := child(src, "rego")
				if rego == nil {
					fail(c, "code[].source.rego is missing")
					continue
				}
				version := ast.RegoV0
				if v := child(src, "version"); v != nil && v.Value == "v1" {
					version = ast.RegoV1
				}
				addAll(rego, child(src, "libs"), version)
			}
		}
	}
	if len(t.sources) == 0 && len(errs) == 0 {
		fail(root, "the ConstraintTemplate has no Rego for target %s: pave runs Rego only (not CEL)", gatekeeperTarget)
	}
	return t, true, errs
}

// sourcePosition is the file and position of a location in a module:
// in a ConstraintTemplate, the line of the YAML file (the Rego's columns
// are not the file's, so none is given).
func sourcePosition(l *ast.Location) (string, catalog.Position) {
	if l == nil {
		return "", catalog.Position{}
	}
	file, pos := sourceFile(l.File), location(l)
	if strings.HasSuffix(file, ".yaml") || strings.HasSuffix(file, ".yml") {
		pos.Column = 0
	}
	return file, pos
}

// sourceFile is the file of a module key: a ConstraintTemplate's libs
// are keyed file#1, file#2 ….
func sourceFile(key string) string {
	f, _, _ := strings.Cut(key, "#")
	return f
}

// child is a mapping's value for key; nil when n is not a mapping or
// lacks it.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// padded is a YAML string's text preceded by as many empty lines as come
// before it in the file: OPA's rows are then the file's lines.
func padded(n *yaml.Node) string {
	first := n.Line
	if n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle {
		first++ // the text starts on the line after | or >
	}
	return strings.Repeat("\n", max(first-1, 0)) + n.Value
}

// compileSchema compiles an openAPIV3Schema as a JSON schema (the
// Kubernetes extensions, x-kubernetes-*, are ignored).
func compileSchema(n *yaml.Node) (*jsonschema.Schema, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const u = "pave:///constraint-template.schema.json"
	if err := c.AddResource(u, doc); err != nil {
		return nil, err
	}
	return c.Compile(u)
}

// noLoader refuses every reference outside the schema itself.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("%s: a constraint template's schema must be self-contained", u)
}

// parameterErrors checks a constraint's parameters against its template's
// schema; each failure at the parameter's line of pave.yaml.
func parameterErrors(cfg *catalog.Config, field string, schema *jsonschema.Schema, params any) catalog.ErrorList {
	data, err := json.Marshal(params)
	if err != nil {
		return catalog.ErrorList{{File: catalog.ConfigFile, Position: cfg.Position(field), Message: fmt.Sprintf("%s: %v", field, err)}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return catalog.ErrorList{{File: catalog.ConfigFile, Position: cfg.Position(field), Message: fmt.Sprintf("%s: %v", field, err)}}
	}
	err = schema.Validate(inst)
	var ve *jsonschema.ValidationError
	if err == nil || !errors.As(err, &ve) {
		return nil
	}
	printer := message.NewPrinter(language.Und)
	var errs catalog.ErrorList
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		p := field
		for _, part := range e.InstanceLocation {
			if _, err := fmt.Sscanf(part, "%d", new(int)); err == nil && !strings.ContainsFunc(part, func(r rune) bool { return r < '0' || r > '9' }) {
				p += "[" + part + "]"
			} else {
				p += "." + part
			}
		}
		errs = append(errs, &catalog.Error{File: catalog.ConfigFile, Position: cfg.Position(p), Message: fmt.Sprintf("%s: %s (the template's parameter schema)", p, e.ErrorKind.LocalizedString(printer))})
	}
	walk(ve)
	return errs
}
