package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseService feeds arbitrary bytes to the service.yaml decoder. It
// must never panic, and every error must name the file and stay inside it.
// The seed corpus (all fixtures) runs in every `go test`.
func FuzzParseService(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.yaml")
	examples, _ := filepath.Glob("../catalog-repo-example/services/*/*/service.yaml")
	for _, p := range append(seeds, examples...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(mergeService))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Add([]byte("spec: {environments: {prod: {env: {A: [1, {b: c}]}}}}\n"))

	cfg, errs := ParseConfig("pave.yaml", mustRead(f, "testdata/catalog/pave.yaml"))
	if errs != nil {
		f.Fatal(errs)
	}
	templates := map[string]*Template{
		"web-service": {Name: "web-service", Version: "1.4.0"},
		"worker":      {Name: "worker", Version: "1.4.0"},
		"cron-job":    {Name: "cron-job", Version: "1.4.0"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, errs := ParseService(checkoutFile, data, cfg, templates)
		if s != nil && len(errs) > 0 {
			t.Fatal("a service with errors must not be returned")
		}
		if s == nil && len(errs) == 0 {
			t.Fatal("no service and no error")
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range errs {
			if e.File != checkoutFile {
				t.Fatalf("error names %q", e.File)
			}
			if e.Line < 0 || e.Line > lines || e.Column < 0 {
				t.Fatalf("error outside the file (%d lines): %v", lines, e)
			}
			if e.Message == "" {
				t.Fatal("empty message")
			}
		}
		if s != nil {
			for _, env := range cfg.EnvironmentNames() {
				_ = s.ForEnvironment(env)
			}
		}
	})
}

func mustRead(tb testing.TB, p string) []byte {
	tb.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
