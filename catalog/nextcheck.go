package catalog

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"
)

// NextCheck is the command that tells the author of a service of the
// template whether it is ready: "pave validate" when that is enough,
// "pave check TEAM/NAME" when not.
//
// The rule: pave validate reads service.yaml against pave.yaml and against
// the names of the settings the template takes, without rendering. It is
// enough only when nothing judges the service after that:
//   - the catalog has no policies (a .rego file under policies/ other than
//     a _test.rego): policies judge the rendered objects;
//   - pave.yaml maps no values for the template: the chart, not written
//     for pave, judges the values mapped from the settings;
//   - the template's chart has no values.schema.json: its types, patterns,
//     bounds and required settings are checked on the rendered values;
//   - no template file of the chart (or of a library it uses) calls fail
//     or required, which stop a render on a value.
//
// Any of them, or a template pave does not know, means pave check
// TEAM/NAME, which renders and evaluates the service in every
// environment.
func (c *Catalog) NextCheck(template, id string) string {
	check := "pave check " + id
	t, ok := c.Templates[template]
	if !ok || c.hasPolicies() {
		return check
	}
	if c.Config.Mapping(template) != nil {
		// A chart not written for pave: its values are judged on render.
		return check
	}
	if _, err := fs.Stat(c.FS, t.Dir+"/values.schema.json"); err == nil {
		return check
	}
	dirs := []string{t.Dir}
	for _, lib := range t.Libraries {
		dirs = append(dirs, TemplatesDir+"/"+lib)
	}
	for _, dir := range dirs {
		if failsOnValues(c.FS, dir+"/templates") {
			return check
		}
	}
	return "pave validate"
}

// hasPolicies tells whether policies/ holds a policy (tests are none).
func (c *Catalog) hasPolicies() bool {
	found := false
	_ = fs.WalkDir(c.FS, PoliciesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return fs.SkipAll
		}
		if !d.IsDir() && strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego") {
			found = true
		}
		return nil
	})
	return found
}

// renderTimeCheck matches a template action calling fail or required.
var renderTimeCheck = regexp.MustCompile(`\{\{-?[^}]*\b(fail|required)\b`)

// failsOnValues tells whether a chart's template files can stop a render
// on a value; a folder that cannot be read is assumed to.
func failsOnValues(fsys fs.FS, dir string) bool {
	found := false
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && p == dir && errors.Is(err, fs.ErrNotExist):
			return fs.SkipAll // a chart without templates
		case err != nil:
			found = true
			return fs.SkipAll
		}
		if d.IsDir() {
			return nil
		}
		data, err := readFile(fsys, p)
		if err != nil || renderTimeCheck.Match(data) {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found || (err != nil && !errors.Is(err, fs.ErrNotExist))
}
