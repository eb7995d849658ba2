package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/distribution/reference"
)

// A values mapping (pave.yaml templates.<t>.values) lets an unmodified
// chart be a golden path: each entry sets one of the chart's own values
// (a dotted path, "image.repository") from the service's settings, with a
// Go template over them ("{{ .image.repository }}") or a literal. A
// template that is a single action keeps the native type of what it gives
// (an int stays an int); an entry whose template reads a setting the
// service leaves unset is left out, so the chart's default applies.

// Bounds of a values mapping.
const (
	maxMappingEntries  = 512
	maxMappingTemplate = 4096
)

// ValuesMapping is a compiled templates.<t>.values block.
type ValuesMapping struct {
	template string
	entries  []*mappingEntry
}

type mappingEntry struct {
	key   string   // as written in pave.yaml
	path  []string // the chart values path
	value *mappingNode
	// reads are the setting paths its templates read outside set; sets
	// are those they only ask about with set.
	reads, sets [][]string
}

// mappingNode is an entry's value: a literal, a template, or a map or
// list holding templates.
type mappingNode struct {
	literal any
	tmpl    *template.Template
	// native is set when the template is a single action: it is run as
	// {{ __value (PIPELINE) }} to keep the value's type.
	native *template.Template
	fields map[string]*mappingNode
	items  []*mappingNode
}

// mappingShape is the data a mapping's templates read: every setting of
// a service (after its environment's overrides), the image in parts,
// containerEnv (env and secretEnv as a container's env list), pave's
// context and pave.yaml's platform values. A nil shape is a leaf; anyKey
// holds the shape of every key of a free-form map.
type mappingShape map[string]mappingShape

const anyKey = "*"

var mappingSettings = mappingShape{
	"image": {
		"reference": nil, "registry": nil, "repository": nil, "path": nil, "tag": nil, "digest": nil,
	},
	"port":         nil,
	"size":         nil,
	"replicas":     nil,
	"autoscaling":  {"min": nil, "max": nil, "targetCPU": nil},
	"env":          {anyKey: nil},
	"secretEnv":    {anyKey: {"secret": nil, "key": nil}},
	"containerEnv": nil,
	"ingress":      {"host": nil},
	"healthCheck":  {"path": nil},
	"schedule":     nil,
	"pave": {
		"service": nil, "team": nil, "environment": nil, "cluster": nil, "namespace": nil, "revision": nil,
		"resources": {
			"requests": {"cpu": nil, "memory": nil},
			"limits":   {"cpu": nil, "memory": nil},
		},
		"template": {"name": nil, "version": nil},
	},
	"platform": {anyKey: nil},
}

// settingOf maps a path the mapping reads to the service.yaml setting it
// comes from ("autoscaling.max", "image"), or "" for pave's context and
// the platform values, which no service writes. containerEnv comes from
// env and secretEnv; the resources from size.
func settingOf(chain []string) []string {
	switch chain[0] {
	case "pave":
		if len(chain) > 1 && chain[1] == "resources" {
			return []string{"size"}
		}
		return nil
	case "platform":
		return nil
	case "containerEnv":
		return []string{"env", "secretEnv"}
	case "image":
		return []string{"image"}
	}
	return []string{strings.Join(chain[:min(len(chain), 2)], ".")}
}

// splitValuesPath splits "a.b\.c" into ["a", "b.c"]; a backslash keeps a
// dot inside a key.
func splitValuesPath(s string) ([]string, bool) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == '.':
			cur.WriteByte('.')
			i++
		case c == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		if p == "" || strings.TrimSpace(p) != p {
			return nil, false
		}
	}
	return parts, true
}

// mappingFuncs are the functions a mapping template may call besides Go's
// built-in ones: set tells whether the service sets a setting.
var mappingFuncs = template.FuncMap{
	"set":     func(v any) bool { return v != nil },
	"__value": func(v any) string { return "" },
}

// valuesMapping checks and compiles templates.<name>.values, reporting
// at its lines.
func (v *validator) valuesMapping(name string, raw map[string]any, platform map[string]any) *ValuesMapping {
	p := "templates." + name + ".values"
	if len(raw) > maxMappingEntries {
		v.errorf(p+"#key", "%s: %d entries, over the %d pave supports", p, len(raw), maxMappingEntries)
		return nil
	}
	m := &ValuesMapping{template: name}
	ok := true
	byPath := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		kp := p + "." + key
		path, good := splitValuesPath(key)
		if !good {
			v.errorf(kp+"#key", "%s: %q is not a values path (keys joined by dots, e.g. image.repository; \\. for a dot inside a key)", p, key)
			ok = false
			continue
		}
		byPath[strings.Join(path, "\x00")] = key
		e := &mappingEntry{key: key, path: path}
		if e.value = v.mappingValue(e, kp, raw[key], platform); e.value == nil {
			ok = false
			continue
		}
		m.entries = append(m.entries, e)
	}
	// A path set whole and in part would be set twice.
	for _, e := range m.entries {
		for i := 1; i < len(e.path); i++ {
			if whole, dup := byPath[strings.Join(e.path[:i], "\x00")]; dup {
				v.errorf(p+"."+e.key+"#key", "%s.%s: %s is mapped as a whole too; map one or the other", p, e.key, whole)
				ok = false
				break
			}
		}
	}
	if !ok {
		return nil
	}
	return m
}

// mappingValue compiles an entry's value at p: every string in it with
// "{{" is a template. It returns nil after reporting a problem.
func (v *validator) mappingValue(e *mappingEntry, p string, raw any, platform map[string]any) *mappingNode {
	switch x := raw.(type) {
	case map[string]any:
		n := &mappingNode{fields: map[string]*mappingNode{}}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if n.fields[k] = v.mappingValue(e, p+"."+k, x[k], platform); n.fields[k] == nil {
				return nil
			}
		}
		return n
	case []any:
		n := &mappingNode{items: make([]*mappingNode, len(x))}
		for i, item := range x {
			if n.items[i] = v.mappingValue(e, fmt.Sprintf("%s[%d]", p, i), item, platform); n.items[i] == nil {
				return nil
			}
		}
		return n
	case string:
		if !strings.Contains(x, "{{") {
			break
		}
		n, err := e.compile(x, platform)
		if err != nil {
			v.errorf(p, "%s: %v", p, err)
			return nil
		}
		return n
	}
	return &mappingNode{literal: raw}
}

// compile parses one of an entry's templates and records what it reads.
func (e *mappingEntry) compile(text string, platform map[string]any) (*mappingNode, error) {
	if len(text) > maxMappingTemplate {
		return nil, fmt.Errorf("the template is %d bytes, over the %d pave supports", len(text), maxMappingTemplate)
	}
	t, err := template.New(e.key).Funcs(mappingFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, errors.New(templateMessage(err))
	}
	if err := e.walk(t.Tree.Root, false, platform); err != nil {
		return nil, err
	}
	n := &mappingNode{tmpl: t}
	if nodes := t.Tree.Root.Nodes; len(nodes) == 1 && nodes[0].Type() == parse.NodeAction {
		pipe := nodes[0].(*parse.ActionNode).Pipe
		native, err := template.New(e.key).Funcs(mappingFuncs).Option("missingkey=zero").Parse("{{ __value (" + pipe.String() + ") }}")
		if err != nil {
			return nil, errors.New(templateMessage(err))
		}
		n.native = native
	}
	return n, nil
}

// templateMessage drops text/template's "template: NAME:LINE:" prefix.
func templateMessage(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "template: "); ok {
		if i := strings.Index(rest, ": "); i >= 0 {
			return rest[i+2:]
		}
	}
	return msg
}

// walk records what a template reads and refuses what a mapping cannot
// hold: variables, with, range and nested templates (the data is the
// settings, nothing to loop over or rename).
func (e *mappingEntry) walk(n parse.Node, underSet bool, platform map[string]any) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := e.walk(c, false, platform); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return e.walk(n.Pipe, false, platform)
	case *parse.IfNode:
		if err := e.walk(n.Pipe, false, platform); err != nil {
			return err
		}
		if err := e.walk(n.List, false, platform); err != nil {
			return err
		}
		return e.walk(n.ElseList, false, platform)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		if len(n.Decl) > 0 {
			return errors.New("variables are not supported in a values mapping; read settings directly (.replicas)")
		}
		for _, c := range n.Cmds {
			if err := e.walk(c, false, platform); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		isSet := len(n.Args) > 0 && n.Args[0].Type() == parse.NodeIdentifier && n.Args[0].(*parse.IdentifierNode).Ident == "set"
		if n.Args[0].Type() == parse.NodeIdentifier && n.Args[0].(*parse.IdentifierNode).Ident == "__value" {
			return errors.New(`function "__value" not defined`)
		}
		if isSet && (len(n.Args) != 2 || n.Args[1].Type() != parse.NodeField) {
			return errors.New("set takes one setting, e.g. {{ set .ingress }}")
		}
		for i, a := range n.Args {
			if err := e.walk(a, isSet && i > 0, platform); err != nil {
				return err
			}
		}
	case *parse.FieldNode:
		chain := n.Ident
		if err := checkChain(chain, platform); err != nil {
			return err
		}
		if underSet {
			if len(chain) > 1 && chain[0] != "image" {
				return fmt.Errorf("set takes a whole setting (set .%s), or a part of the image", chain[0])
			}
			e.sets = append(e.sets, chain)
		} else {
			e.reads = append(e.reads, chain)
		}
	case *parse.TextNode, *parse.IdentifierNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	case *parse.DotNode:
		return errors.New("{{ . }} reads every setting at once; name the setting (.port)")
	case *parse.VariableNode:
		return errors.New("variables are not supported in a values mapping; read settings directly (.replicas)")
	case *parse.RangeNode, *parse.WithNode, *parse.TemplateNode:
		return fmt.Errorf("%s is not supported in a values mapping (use fields, if/else and functions)", strings.Fields(n.String())[0][2:])
	default:
		return fmt.Errorf("%q is not supported in a values mapping (use fields, if/else and functions)", n.String())
	}
	return nil
}

// checkChain refuses a read of something a mapping's data does not hold.
func checkChain(chain []string, platform map[string]any) error {
	shape := mappingSettings
	for i, name := range chain {
		if shape == nil {
			return fmt.Errorf(".%s: %s is a value, it has no fields", strings.Join(chain, "."), strings.Join(chain[:i], "."))
		}
		if chain[0] == "platform" && i == 1 {
			if _, ok := platform[name]; !ok {
				return fmt.Errorf(".%s: pave.yaml platform has no %s (platform: %s)", strings.Join(chain, "."), name, strings.Join(slices.Sorted(maps.Keys(platform)), ", "))
			}
			return nil // what is below is the platform team's own
		}
		next, ok := shape[name]
		if !ok {
			next, ok = shape[anyKey]
		}
		if !ok {
			what := "a setting"
			if i > 0 {
				what = "a field of ." + strings.Join(chain[:i], ".")
			}
			names := slices.Sorted(maps.Keys(shape))
			msg := fmt.Sprintf(".%s: %s is not %s (%s)", strings.Join(chain, "."), name, what, strings.Join(names, ", "))
			if s := suggest(name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
			}
			return errors.New(msg)
		}
		shape = next
	}
	return nil
}

// Template is the template the mapping is for.
func (m *ValuesMapping) Template() string { return m.template }

// Paths lists the chart values paths the mapping sets, as written.
func (m *ValuesMapping) Paths() []string {
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.key
	}
	return out
}

// Reads lists the settings each entry reads, by the entry's key: the
// service.yaml settings ("replicas", "autoscaling.max") behind the
// entry's value.
func (m *ValuesMapping) Reads(key string) []string {
	for _, e := range m.entries {
		if e.key != key {
			continue
		}
		var out []string
		for _, c := range append(slices.Clone(e.reads), e.sets...) {
			out = append(out, settingOf(c)...)
		}
		return out
	}
	return nil
}

// EntryFor returns the key of the entry that sets a chart values path, or
// the entry above or below it.
func (m *ValuesMapping) EntryFor(path []string) (string, bool) {
	for _, e := range m.entries {
		n := min(len(e.path), len(path))
		if slices.Equal(e.path[:n], path[:n]) {
			return e.key, true
		}
	}
	return "", false
}

// MappingError is an entry of a values mapping that failed to run.
type MappingError struct {
	Key string // the entry, as written in pave.yaml
	Err error
}

func (e *MappingError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *MappingError) Unwrap() error { return e.Err }

// Apply runs the mapping over data (MappingData) and returns the chart's
// values.
func (m *ValuesMapping) Apply(data map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, e := range m.entries {
		val, keep, err := e.run(data)
		if err != nil {
			return nil, &MappingError{Key: e.key, Err: err}
		}
		if !keep {
			continue
		}
		cur := out
		for _, k := range e.path[:len(e.path)-1] {
			next, ok := cur[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[k] = next
			}
			cur = next
		}
		cur[e.path[len(e.path)-1]] = val
	}
	return out, nil
}

// run gives the entry's value for data, and false when a setting it
// reads is not set.
func (e *mappingEntry) run(data map[string]any) (any, bool, error) {
	for _, c := range e.reads {
		if lookup(data, c) == nil {
			return nil, false, nil
		}
	}
	return e.value.eval(data)
}

func (n *mappingNode) eval(data map[string]any) (any, bool, error) {
	switch {
	case n.fields != nil:
		out := make(map[string]any, len(n.fields))
		for k, f := range n.fields {
			v, keep, err := f.eval(data)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out[k] = v
			}
		}
		return out, true, nil
	case n.items != nil:
		out := make([]any, 0, len(n.items))
		for _, item := range n.items {
			v, keep, err := item.eval(data)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out = append(out, v)
			}
		}
		return out, true, nil
	case n.tmpl == nil:
		return deepCopy(n.literal), true, nil
	}
	if n.native != nil {
		var got any
		t, err := n.native.Clone()
		if err != nil {
			return nil, false, err
		}
		t.Funcs(template.FuncMap{"__value": func(v any) string { got = v; return "" }})
		if err := t.Execute(&bytes.Buffer{}, data); err != nil {
			return nil, false, errors.New(templateMessage(err))
		}
		if got == nil {
			return nil, false, nil
		}
		return deepCopy(got), true, nil
	}
	var b bytes.Buffer
	if err := n.tmpl.Execute(&b, data); err != nil {
		return nil, false, errors.New(templateMessage(err))
	}
	return b.String(), true, nil
}

func lookup(data map[string]any, chain []string) any {
	var cur any = data
	for _, k := range chain {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// deepCopy copies maps and lists, so that the chart's values never share
// them with the settings or pave.yaml.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// MappingData is what a values mapping reads: the settings (as the keys
// a service.yaml writes, whole numbers as int64), the image in parts,
// containerEnv, and pave's context and platform values as given.
func MappingData(st Settings, pave, platform map[string]any) (map[string]any, error) {
	st.Patches = nil
	out, err := Plain(st)
	if err != nil {
		return nil, err
	}
	if st.Image != "" {
		img, err := imageParts(st.Image)
		if err != nil {
			return nil, err
		}
		out["image"] = img
	}
	if env := containerEnv(st); len(env) > 0 {
		out["containerEnv"] = env
	}
	out["pave"] = pave
	out["platform"] = platform
	return out, nil
}

// Plain converts a value to JSON-like maps as a template reads them,
// whole numbers as int64 (so 8080 never prints as 8.08e+03); nil gives an
// empty map.
func Plain(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	return WholeNumbers(out).(map[string]any), nil
}

// WholeNumbers turns the json.Numbers of a value decoded with UseNumber
// into int64 where they are whole, float64 otherwise, in place: the types
// Helm's templates expect.
func WholeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = WholeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = WholeNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// imageParts splits an image reference: reference (as written),
// registry, path, repository (registry/path), tag and digest (absent when
// the reference has none).
func imageParts(image string) (map[string]any, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", image, err)
	}
	out := map[string]any{
		"reference":  image,
		"registry":   reference.Domain(named),
		"path":       reference.Path(named),
		"repository": named.Name(),
	}
	if t, ok := named.(reference.Tagged); ok {
		out["tag"] = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		out["digest"] = d.Digest().String()
	}
	return out, nil
}

// containerEnv is env and secretEnv as a container's env list, by name.
func containerEnv(st Settings) []any {
	names := slices.Sorted(maps.Keys(st.Env))
	for n := range st.SecretEnv {
		if _, dup := st.Env[n]; !dup {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	out := make([]any, 0, len(names))
	for _, n := range names {
		if ref, ok := st.SecretEnv[n]; ok {
			out = append(out, map[string]any{"name": n, "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": ref.Secret, "key": ref.Key}}})
			continue
		}
		out = append(out, map[string]any{"name": n, "value": string(st.Env[n])})
	}
	return out
}

// mappingTakes tells whether the mapping reads a setting written at path
// (["autoscaling", "min"]), and whether to look into its keys instead
// (the mapping reads some of them).
func (m *ValuesMapping) takes(path []string) (taken, descend bool) {
	for _, e := range m.entries {
		for _, c := range e.reads {
			for _, s := range settingOf(c) {
				sp := strings.Split(s, ".")
				n := min(len(sp), len(path))
				if !slices.Equal(sp[:n], path[:n]) {
					continue
				}
				if len(sp) <= len(path) {
					return true, false
				}
				descend = true
			}
		}
		for _, c := range e.sets {
			for _, s := range settingOf(c) {
				if s == strings.Join(path, ".") {
					return true, false
				}
			}
		}
	}
	return false, descend
}

// readSettings lists the top-level settings the mapping reads, sorted.
func (m *ValuesMapping) readSettings() []string {
	var out []string
	for _, e := range m.entries {
		for _, c := range append(slices.Clone(e.reads), e.sets...) {
			for _, s := range settingOf(c) {
				out = append(out, strings.SplitN(s, ".", 2)[0])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
