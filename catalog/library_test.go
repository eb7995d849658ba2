package catalog

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

const libChart = "apiVersion: v2\nname: _lib\ntype: library\nversion: 1.0.0\n"

// webServiceDependingOn is the test catalog's web-service Chart.yaml with
// one dependency; its repository is on line 6, column 17.
func webServiceDependingOn(name, repository string) string {
	return "apiVersion: v2\nname: web-service\nversion: 1.4.0\ndependencies:\n  - name: " + name + "\n    repository: " + repository + "\n"
}

// TestLibraryChartIsNotATemplate: a type: library chart under templates/
// is listed apart, used by the templates that depend on it, and offered
// to no service (pave new, validate).
func TestLibraryChartIsNotATemplate(t *testing.T) {
	fsys := testCatalog(t)
	fsys["templates/_lib/Chart.yaml"] = &fstest.MapFile{Data: []byte(libChart)}
	fsys["templates/web-service/Chart.yaml"] = &fstest.MapFile{Data: []byte(webServiceDependingOn("_lib", "file://../_lib"))}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cat.Errors {
		if strings.HasPrefix(e.File, TemplatesDir) {
			t.Errorf("error: %v", e)
		}
	}
	if _, ok := cat.Templates["_lib"]; ok {
		t.Error("the library chart is listed as a template")
	}
	if l := cat.Libraries["_lib"]; l == nil || l.Version != "1.0.0" || l.Dir != "templates/_lib" {
		t.Errorf("libraries: %+v", cat.Libraries)
	}
	if got := cat.Templates["web-service"].Libraries; !slices.Equal(got, []string{"_lib"}) {
		t.Errorf("web-service libraries: %v", got)
	}
	if got := cat.TemplatesUsing("_lib"); !slices.Equal(got, []string{"web-service"}) {
		t.Errorf("templates using _lib: %v", got)
	}
	if got := cat.TemplatesUsing("worker"); !slices.Equal(got, []string{"worker"}) {
		t.Errorf("templates using worker: %v", got)
	}

	// pave new does not offer it.
	if _, _, err := cat.Scaffold(ScaffoldOptions{Team: "payments", Name: "x", Template: "_lib"}); err == nil || !strings.Contains(err.Error(), `unknown template "_lib" (templates: cron-job, web-service, worker)`) {
		t.Errorf("scaffold with the library: %v", err)
	}
	// A service cannot use it.
	file, data, err := cat.Scaffold(ScaffoldOptions{Team: "payments", Name: "refunds"})
	if err != nil {
		t.Fatal(err)
	}
	fsys[file] = &fstest.MapFile{Data: []byte(strings.Replace(string(data), "template: web-service", "template: _lib", 1))}
	cat, err = Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) != 1 || cat.Errors[0].File != file || !strings.Contains(cat.Errors[0].Message, `unknown template "_lib" (templates: cron-job, web-service, worker)`) {
		t.Errorf("a service using the library: %v", cat.Errors)
	}
}

// TestLibraryDependencyErrors: a file:// dependency pave cannot resolve to
// a library chart of the catalog is an error at its Chart.yaml line, and
// leaves only that template (and its services) out.
func TestLibraryDependencyErrors(t *testing.T) {
	const at = "templates/web-service/Chart.yaml:6:17: "
	for _, tc := range []struct {
		name, dep, repository string
		extra                 map[string]string
		want                  string
	}{
		{name: "missing", dep: "_nope", repository: "file://../_nope",
			want: `dependency "_nope": templates/_nope has no chart (no templates/_nope/Chart.yaml)`},
		{name: "not a library", dep: "worker", repository: "file://../worker",
			want: `dependency "worker": templates/worker is not a library chart (its Chart.yaml needs type: library)`},
		{name: "outside templates", dep: "payments", repository: "file://../../services/payments",
			want: `dependency "payments": file://../../services/payments is outside the catalog's charts`},
		{name: "outside the catalog", dep: "_lib", repository: "file://../../../_lib",
			want: `dependency "_lib": file://../../../_lib is outside the catalog's charts`},
		{name: "absolute", dep: "_lib", repository: "file:///templates/_lib",
			want: `dependency "_lib": file:///templates/_lib is outside the catalog's charts`},
		{name: "inside another chart", dep: "sub", repository: "file://../_lib/charts/sub",
			want: `dependency "sub": file://../_lib/charts/sub is outside the catalog's charts`},
		{name: "itself", dep: "web-service", repository: "file://.",
			want: `dependency "web-service": file://. is outside the catalog's charts`},
		{name: "wrong name", dep: "common", repository: "file://../_lib",
			want: `dependency "common": the name must be "_lib", the name of the chart at file://../_lib`},
		{name: "version not satisfied", dep: "_lib", repository: "file://../_lib\n    version: ^2.0.0",
			want: `templates/web-service/Chart.yaml:7:14: dependency "_lib": version 1.0.0 of templates/_lib does not satisfy "^2.0.0"`},
		{name: "library of a library", dep: "_lib", repository: "file://../_lib",
			extra: map[string]string{"templates/_lib/Chart.yaml": libChart + "dependencies:\n  - name: _base\n    repository: file://../_base\n", "templates/_base/Chart.yaml": "apiVersion: v2\nname: _base\ntype: library\nversion: 1.0.0\n"},
			want:  `templates/_lib/Chart.yaml:7:17: dependency "_base": a library chart cannot itself depend on file://../_base`},
		{name: "broken library", dep: "_lib", repository: "file://../_lib",
			extra: map[string]string{"templates/_lib/Chart.yaml": libChart + "dependencies:\n  - name: _base\n    repository: file://../_base\n", "templates/_base/Chart.yaml": "apiVersion: v2\nname: _base\ntype: library\nversion: 1.0.0\n"},
			want:  `dependency "_lib": the library chart templates/_lib has errors`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := testCatalog(t)
			fsys["templates/_lib/Chart.yaml"] = &fstest.MapFile{Data: []byte(libChart)}
			fsys["templates/web-service/Chart.yaml"] = &fstest.MapFile{Data: []byte(webServiceDependingOn(tc.dep, tc.repository))}
			for p, content := range tc.extra {
				fsys[p] = &fstest.MapFile{Data: []byte(content)}
			}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if !strings.HasPrefix(want, "templates/") {
				want = at + want
			}
			if !slices.ContainsFunc(cat.Errors, func(e *Error) bool { return strings.HasPrefix(e.Error(), want) }) {
				t.Fatalf("errors:\n%v\nwant %q", cat.Errors, want)
			}
			if _, ok := cat.Templates["web-service"]; ok {
				t.Error("a template with an unresolvable dependency is still offered")
			}
			if _, ok := cat.Templates["worker"]; !ok {
				t.Error("the other templates must stay")
			}
		})
	}
}
