package render

import (
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// libraryFiles make the basic chart take its helper from the catalog's
// library chart templates/_lib.
func libraryFiles(edits map[string]string) map[string]string {
	files := map[string]string{
		checkoutFile:                             checkoutYAML,
		"templates/basic/Chart.yaml":             "apiVersion: v2\nname: basic\nversion: 2.1.0\ndependencies:\n  - name: _lib\n    version: 1.0.0\n    repository: file://../_lib\n",
		"templates/basic/templates/_helpers.tpl": "",
		"templates/_lib/Chart.yaml":              "apiVersion: v2\nname: _lib\ntype: library\nversion: 1.0.0\n",
		"templates/_lib/templates/_helpers.tpl":  "{{- define \"basic.name\" -}}\n{{ required \"pave.service is required\" .Values.pave.service }}\n{{- end -}}\n",
		// A library renders nothing by itself.
		"templates/_lib/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-the-library\n",
		"templates/_lib/README.md":                "The helpers the golden paths share.\n",
	}
	for k, v := range edits {
		files[k] = v
	}
	return files
}

func TestLibraryChartRendersAndIsHashed(t *testing.T) {
	cache := NewCache()
	a := mustRender(t, testCatalog(t, libraryFiles(nil)), Options{Cache: cache}, "payments/checkout", "staging")
	plain := mustRender(t, testCatalog(t, map[string]string{checkoutFile: checkoutYAML}), Options{}, "payments/checkout", "staging")
	if string(a.YAML()) != string(plain.YAML()) {
		t.Errorf("the chart on the library renders\n%s\nthe chart with its own helper\n%s", a.YAML(), plain.YAML())
	}
	if strings.Contains(string(a.YAML()), "from-the-library") {
		t.Error("a library chart's own templates were rendered")
	}

	// Any change to the library's files is a new cache key, even one that
	// renders the same.
	mustRender(t, testCatalog(t, libraryFiles(map[string]string{"templates/_lib/README.md": "Shared helpers.\n"})), Options{Cache: cache}, "payments/checkout", "staging")
	if cache.Len() != 2 {
		t.Errorf("cache holds %d renders after a library change, want 2", cache.Len())
	}
	b := mustRender(t, testCatalog(t, libraryFiles(map[string]string{
		"templates/_lib/templates/_helpers.tpl": "{{- define \"basic.name\" -}}\n{{ .Values.pave.service }}-v2\n{{- end -}}\n",
	})), Options{Cache: cache}, "payments/checkout", "staging")
	if b.Hash == a.Hash || !strings.Contains(string(b.YAML()), "name: checkout-v2") {
		t.Errorf("a library change did not change the render:\n%s", b.YAML())
	}
	if cache.Len() != 3 {
		t.Errorf("cache holds %d renders, want 3", cache.Len())
	}
}

func TestLibraryChartErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]string
		want  string
	}{
		{
			name:  "error in a library template is located in the library",
			edits: map[string]string{"templates/_lib/templates/_helpers.tpl": "{{- define \"basic.name\" -}}\n{{ .Values.pave.service }\n{{- end -}}\n"},
			want:  "templates/_lib/templates/_helpers.tpl:2: unexpected \"}\" in operand",
		},
		{
			name: "vendored and resolved from the catalog",
			edits: map[string]string{
				"templates/basic/Chart.yaml":               "apiVersion: v2\nname: basic\nversion: 2.1.0\ndependencies:\n  - name: common\n    repository: file://../common\n",
				"templates/common/Chart.yaml":              "apiVersion: v2\nname: common\ntype: library\nversion: 1.0.0\n",
				"templates/basic/templates/_helpers.tpl":   libraryFiles(nil)["templates/_lib/templates/_helpers.tpl"],
				"templates/basic/charts/common/Chart.yaml": "apiVersion: v2\nname: common\ntype: library\nversion: 0.9.0\n",
			},
			want: `dependency "common" is both vendored under templates/basic/charts/ and resolved from file://../common: remove one`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderOne(t, testCatalog(t, libraryFiles(tc.edits)), Options{}, "payments/checkout", "prod")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestLibraryChartIsNotRendered(t *testing.T) {
	cat := testCatalog(t, libraryFiles(nil))
	_, err := New(cat, Options{}).goldenPath("_lib")
	if err == nil || !strings.Contains(err.Error(), "templates/_lib is a library chart, not a template") {
		t.Errorf("loading the library as a template: %v", err)
	}
}

// TestLibraryChartFileRules: a library is read by the same rules as a
// template: no symlink in it.
func TestLibraryChartFileRules(t *testing.T) {
	cat := testCatalog(t, libraryFiles(nil))
	cat.FS.(fstest.MapFS)["templates/_lib/templates/_secrets.tpl"] = &fstest.MapFile{Data: []byte("/etc/shadow"), Mode: fs.ModeSymlink}
	_, err := renderOne(t, cat, Options{}, "payments/checkout", "prod")
	if err == nil || !strings.Contains(err.Error(), `dependency "_lib": templates/_lib/templates/_secrets.tpl: symlinks are not allowed in the catalog`) {
		t.Errorf("a symlink in the library: %v", err)
	}
}

// TestLibraryChartRendersConcurrently: renders of one template on a
// library share the loaded chart without taking turns (run with -race).
func TestLibraryChartRendersConcurrently(t *testing.T) {
	cat := testCatalog(t, libraryFiles(nil))
	svc, _ := cat.Service("payments/checkout")
	r := New(cat, Options{})
	want := map[string]string{}
	for _, env := range []string{"staging", "prod"} {
		res, err := New(cat, Options{}).Render(svc, env)
		if err != nil {
			t.Fatal(err)
		}
		want[env] = string(res.YAML())
	}
	var wg sync.WaitGroup
	for i := range 8 {
		env := []string{"staging", "prod"}[i%2]
		wg.Go(func() {
			res, err := r.Render(svc, env)
			if err != nil {
				t.Error(err)
				return
			}
			if string(res.YAML()) != want[env] {
				t.Errorf("%s rendered differently when concurrent", env)
			}
		})
	}
	wg.Wait()
}
