package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"text/template/parse"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// chartReads are the settings a chart's templates read: the first key
// after .Values in any of its templates or its library charts' (all when
// a template uses .Values whole, or one does not parse: rendering then
// reports it).
type chartReads struct {
	names map[string]bool
	all   bool
}

func (r chartReads) list() []string {
	names := slices.Sorted(maps.Keys(r.names))
	if len(names) == 0 {
		return []string{"nothing"}
	}
	return names
}

// readChartValues finds what the templates of a chart (templates/<dir>)
// and of the library charts it uses read of .Values.
func readChartValues(fsys fs.FS, t *Template) chartReads {
	r := chartReads{names: map[string]bool{}}
	dirs := []string{t.Dir + "/templates"}
	for _, lib := range t.Libraries {
		dirs = append(dirs, TemplatesDir+"/"+lib+"/templates")
	}
	for _, dir := range dirs {
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || r.all {
				return err
			}
			data, err := readFile(fsys, p)
			if err != nil {
				return err
			}
			tree := parse.New(p)
			tree.Mode = parse.SkipFuncCheck
			set := map[string]*parse.Tree{}
			if _, err := tree.Parse(string(data), "", "", set); err != nil {
				r.all = true
				return nil
			}
			for _, t := range set {
				r.walk(t.Root)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.all = true
		}
	}
	return r
}

func (r *chartReads) values(ident []string) {
	if len(ident) == 0 || ident[0] != "Values" {
		return
	}
	if len(ident) == 1 {
		r.all = true
		return
	}
	r.names[ident[1]] = true
}

func (r *chartReads) walk(n parse.Node) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				r.walk(c)
			}
		}
	case *parse.ActionNode:
		r.walk(n.Pipe)
	case *parse.IfNode:
		r.branch(&n.BranchNode)
	case *parse.RangeNode:
		r.branch(&n.BranchNode)
	case *parse.WithNode:
		r.branch(&n.BranchNode)
	case *parse.TemplateNode:
		r.walk(n.Pipe)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				r.walk(c)
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			r.walk(a)
		}
	case *parse.FieldNode:
		r.values(n.Ident)
	case *parse.VariableNode:
		if len(n.Ident) > 0 && n.Ident[0] == "$" {
			r.values(n.Ident[1:])
		}
	case *parse.ChainNode:
		switch inner := n.Node.(type) {
		case *parse.FieldNode:
			r.values(append(slices.Clone(inner.Ident), n.Field...))
		case *parse.VariableNode:
			if len(inner.Ident) > 0 && inner.Ident[0] == "$" {
				r.values(append(slices.Clone(inner.Ident[1:]), n.Field...))
			}
		default:
			r.walk(n.Node)
		}
	}
}

func (r *chartReads) branch(b *parse.BranchNode) {
	r.walk(b.Pipe)
	r.walk(b.List)
	r.walk(b.ElseList)
}

// checkMappings checks each pave.yaml values mapping against its chart:
// the template exists, and every path is one of the chart's values (in
// its values.yaml, under a map that values.yaml leaves empty, or named by
// its values.schema.json) and allowed by its schema. A template whose
// mapping does not fit is kept, and each service using it is told.
func (c *Catalog) checkMappings() {
	for _, name := range slices.Sorted(maps.Keys(c.Config.Templates)) {
		m := c.Config.Mapping(name)
		if m == nil {
			continue
		}
		p := "templates." + name
		t, ok := c.Templates[name]
		if !ok {
			why := fmt.Sprintf("there is no template %s (templates: %s)", name, strings.Join(templateNames(c.Templates), ", "))
			if _, lib := c.Libraries[name]; lib {
				why = fmt.Sprintf("%s/%s is a library chart, not a template", TemplatesDir, name)
			}
			c.Errors = append(c.Errors, &Error{File: ConfigFile, Position: c.Config.Position(p + ".values#key"), Message: p + ".values: " + why})
			continue
		}
		var defaults map[string]any
		if data, err := readFile(c.FS, t.Dir+"/values.yaml"); err == nil {
			_ = yaml.Unmarshal(data, &defaults)
		}
		schema := t.settings
		for _, key := range m.Paths() {
			path, _ := splitValuesPath(key)
			if why := valuesPathProblem(defaults, schema, path, name); why != "" {
				e := &Error{File: ConfigFile, Position: c.Config.Position(p + ".values." + key + "#key"), Message: fmt.Sprintf("%s.values.%s: %s", p, key, why)}
				c.Errors = append(c.Errors, e)
				if t.mappingError == "" {
					t.mappingError = e.Error()
				}
			}
		}
	}
}

// valuesPathProblem says why path is not a value of the chart, or "".
func valuesPathProblem(defaults map[string]any, schema *settingsSchema, path []string, template string) string {
	var cur any = defaults
	inDefaults := defaults != nil
	var s *jsonschema.Schema
	if schema != nil {
		s = schema.root
	}
	for i, k := range path {
		here := strings.Join(path[:i+1], ".")
		named := false
		if s != nil {
			sub, isNamed, ok := allows(s, k)
			if !ok {
				return fmt.Sprintf("the chart's values.schema.json does not allow %s (%s)", here, strings.Join(propertyNames(s), ", "))
			}
			s, named = sub, isNamed
		}
		if !inDefaults {
			continue
		}
		switch m := cur.(type) {
		case map[string]any:
			if val, ok := m[k]; ok {
				cur = val
				continue
			}
			if len(m) == 0 || named {
				inDefaults = false
				continue
			}
			keys := slices.Sorted(maps.Keys(m))
			msg := fmt.Sprintf("%s is not a value of chart %s", here, template)
			if i > 0 {
				msg += fmt.Sprintf(" (%s has: %s)", strings.Join(path[:i], "."), strings.Join(keys, ", "))
			}
			if sg := suggest(k, keys); sg != "" {
				msg += fmt.Sprintf("; did you mean %s?", strings.Join(append(slices.Clone(path[:i]), sg), "."))
			}
			return msg
		case nil:
			inDefaults = false
		default:
			return fmt.Sprintf("%s is %s in the chart's values.yaml, which has no keys", strings.Join(path[:i], "."), describeValue(cur))
		}
	}
	return ""
}

func describeValue(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
