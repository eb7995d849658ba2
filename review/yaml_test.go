package review

import (
	"math"
	"os"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// TestObjectYAMLMatchesMarshal: an object is written as YAML byte for
// byte as sigs.k8s.io/yaml's Marshal writes it (Result.YAML), whether it
// takes the direct way or the trip through JSON.
func TestObjectYAMLMatchesMarshal(t *testing.T) {
	objects := []map[string]any{
		{"kind": "K", "s": []any{"yes", "no", "on", "off", "y", "n", "true", "null", "~", "", " lead", "trail ", "1", "1.0", "0x1F", "1e3", ".inf", "-", "- x", "a: b", "#c", "multi\nline\n", "multi\nline", "tab\there", "é ü 日本", "'q'", "\"dq\"", "@at", "`tick`", "{x}", "[x]", "*a", "&a", "!t", "%p", "|", ">"}},
		{"kind": "K", "i": []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 7}, "b": []any{true, false, nil}, "empty": map[string]any{}, "none": []any{}},
		{"kind": "K", "keys": map[string]any{"yes": 1, "1": 2, "": 3, "a b": 4, "a:b": 5, "-x": 6, "null": nil, "é": "x", "z": map[string]any{"nested": []any{map[string]any{"a": []any{}}}}}},
		// Floats take the trip: YAML reads whole ones back as ints.
		{"kind": "K", "f": []any{1.5, 2.0, 1e19, 123456789012.0, 1e21, 1e-7, math.Copysign(0, -1)}},
		{"kind": "K", "bad": "\xff"},
	}
	cat, err := catalog.Load(os.DirFS("../catalog-repo-example"))
	if err != nil {
		t.Fatal(err)
	}
	r := render.New(cat, render.Options{Revision: "abc"})
	for _, svc := range cat.Services {
		for _, env := range cat.Config.EnvironmentNames() {
			res, err := r.Render(svc, env)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				objects = append(objects, o.Object)
			}
		}
	}
	direct := 0
	for _, obj := range objects {
		got, err := objectYAML(obj)
		if err != nil {
			t.Fatal(err)
		}
		want, err := sigsyaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("objectYAML:\n%s\nwant:\n%s", got, want)
		}
		if yamlPlain(obj, 0) {
			direct++
		}
	}
	if direct < len(objects)-2 {
		t.Errorf("%d of %d objects written directly, want all but the float and invalid UTF-8 ones", direct, len(objects))
	}
}
