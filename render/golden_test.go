package render

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pave-dev/pave/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const exampleCatalog = "../catalog-repo-example"

// TestExampleCatalogGolden renders every example service in every
// environment and compares with testdata/golden/<env>/<team>/<name>.yaml.
// Regenerate with: go test ./render -update
func TestExampleCatalogGolden(t *testing.T) {
	cat, err := catalog.LoadDir(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	r := New(cat, Options{})
	results, errs := r.RenderAll("")
	for _, err := range errs {
		t.Error(err)
	}
	if want := len(cat.Services) * len(cat.Config.Environments); len(results) != want {
		t.Fatalf("rendered %d, want %d", len(results), want)
	}
	seen := map[string]bool{}
	for _, res := range results {
		file := filepath.Join("testdata", "golden", res.Environment, res.Team, res.Name+".yaml")
		seen[file] = true
		got := res.YAML()
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%v (run go test ./render -update)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the render (run go test ./render -update and review the diff):\n%s", file, firstDifference(got, want))
		}
	}
	// No stale golden files.
	stale, _ := filepath.Glob(filepath.Join("testdata", "golden", "*", "*", "*.yaml"))
	for _, f := range stale {
		if !seen[f] {
			if *update {
				os.Remove(f)
				continue
			}
			t.Errorf("%s has no service any more", f)
		}
	}
}

func firstDifference(got, want []byte) string {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			return fmt.Sprintf("line %d:\n  got:  %s\n  want: %s", i+1, g, w)
		}
	}
	return ""
}
