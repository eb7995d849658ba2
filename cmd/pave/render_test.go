package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderIsByteIdentical(t *testing.T) {
	code, first, stderr := pave(t, "render", "--catalog", exampleCatalog, "--env", "prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, second, _ := pave(t, "render", "--catalog", exampleCatalog, "--env", "prod")
	if first != second {
		t.Error("two renders of the same catalog differ")
	}
	for _, w := range []string{"name: payments-prod", "kind: Deployment", "name: checkout", "kind: CronJob", "name: report-builder", "pave.dev/environment: prod"} {
		if !strings.Contains(first, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(first, "pave.dev/environment: staging") {
		t.Error("--env prod rendered staging")
	}
}

func TestRenderOutputDir(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := pave(t, "render", "--catalog", exampleCatalog, "--output-dir", out, "payments/checkout", "data/report-builder")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*", "*", "*.yaml"))
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(out, f)
		rel = append(rel, r)
	}
	want := "prod/data/report-builder.yaml prod/payments/checkout.yaml staging/data/report-builder.yaml staging/payments/checkout.yaml"
	if got := strings.Join(rel, " "); got != want {
		t.Errorf("files: %s\nwant:  %s", got, want)
	}
}

// TestRenderErrorsNameBothFiles: a broken template and a broken patch are
// reported at the service.yaml (or patch) and the template line, and the
// other services still render.
func TestRenderErrorsNameBothFiles(t *testing.T) {
	dir := copyCatalog(t)
	svc := filepath.Join(dir, "services/data/report-builder/service.yaml")
	data, _ := os.ReadFile(svc)
	broken := strings.Replace(string(data), "path: patches/writable-root.yaml", "path: patches/missing-target.yaml", 1)
	if err := os.WriteFile(svc, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "services/data/report-builder/patches/missing-target.yaml"), []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: report-builder\nspec:\n  replicas: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(dir, "templates/worker/templates/extra.yaml")
	if err := os.WriteFile(tmpl, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.pave.service }-extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "render", "--catalog", dir, "--env", "prod")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, w := range []string{
		filepath.Join(dir, "services/data/report-builder/service.yaml") + ":16:7: render data/report-builder (prod): patch services/data/report-builder/patches/missing-target.yaml: targets Deployment \"report-builder\", which the template does not render",
		filepath.Join(dir, "services/payments/ledger-worker/service.yaml") + ":7:13: render payments/ledger-worker (prod): templates/worker/templates/extra.yaml:4: ",
		filepath.Join(dir, "services/storefront/search-indexer/service.yaml") + ":7:13: render storefront/search-indexer (prod): templates/worker/templates/extra.yaml:4: ",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks:\n%s\nstderr:\n%s", w, stderr)
		}
	}
	for _, w := range []string{"name: checkout", "name: web", "name: settlement", "name: catalog-api"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("the other services must still render: %q missing", w)
		}
	}
}

func TestRenderUsage(t *testing.T) {
	if code, _, stderr := pave(t, "render", "--catalog", exampleCatalog, "--env", "qa"); code != 2 || !strings.Contains(stderr, `unknown environment "qa"`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := pave(t, "render", "--catalog", exampleCatalog, "payments/nope"); code != 2 || !strings.Contains(stderr, `no service "payments/nope"`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
