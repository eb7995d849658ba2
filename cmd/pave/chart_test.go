package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExistingChartRefusesWhatItDoesNotTake: with the unmodified podinfo
// chart as a template and a pave.yaml values mapping, a setting the
// mapping does not read is an error at the developer's line, from pave
// validate and from pave check alike; the settings it reads render.
func TestExistingChartRefusesWhatItDoesNotTake(t *testing.T) {
	dir := copyCatalog(t)
	if err := os.CopyFS(filepath.Join(dir, "templates", "podinfo"), os.DirFS("../../render/testdata/charts/podinfo/chart")); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, `
templates:
  podinfo:
    values:
      image.repository: "{{ .image.repository }}"
      image.tag: "{{ .image.tag }}"
      replicaCount: "{{ .replicas }}"
      service.httpPort: "{{ .port }}"
`...)
	if err := os.WriteFile(filepath.Join(dir, "pave.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	svc := filepath.Join(dir, "services", "storefront", "info", "service.yaml")
	if err := os.MkdirAll(filepath.Dir(svc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc, []byte(`apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: info
  team: storefront
spec:
  template: podinfo
  image: registry.example.com/storefront/info:6.14.1
  port: 8080
  replicas: 2
  ingress:
    host: info.shop.example.com
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const msg = "template podinfo does not take spec.ingress: pave.yaml templates.podinfo.values reads no .ingress (it reads: image, port, replicas)"

	code, stdout, stderr := pave(t, "validate", "--catalog", dir)
	if want := svc + ":11:3: " + msg + "\n"; code != 1 || stdout != want {
		t.Errorf("validate: exit %d, stdout:\n%s\nwant:\n%s\n%s", code, stdout, want, stderr)
	}
	code, stdout, stderr = pave(t, "check", "--catalog", dir, "storefront/info")
	if code == 0 || !strings.Contains(stdout, "service.yaml:11: error: "+msg) {
		t.Errorf("check: exit %d, stdout:\n%s\n%s", code, stdout, stderr)
	}

	// pave new offers what the mapping reads, and nothing else: the new
	// service is valid.
	code, stdout, stderr = pave(t, "new", "storefront/fresh", "--catalog", dir, "--template", "podinfo", "--port", "9000")
	if code != 0 {
		t.Fatalf("new: exit %d\n%s%s", code, stdout, stderr)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "services", "storefront", "fresh", "service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(fresh); !strings.Contains(s, "\n  port: 9000") || !strings.Contains(s, "\n  replicas: 2") || strings.Contains(s, "\n  size:") {
		t.Errorf("new service:\n%s", s)
	}
	if !strings.Contains(stdout, "pave check storefront/fresh") {
		t.Errorf("new does not point at pave check:\n%s", stdout)
	}

	// Without the ingress, the settings the mapping reads land.
	data, _ := os.ReadFile(svc)
	if err := os.WriteFile(svc, []byte(strings.Split(string(data), "  ingress:")[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = pave(t, "render", "--catalog", dir, "storefront/info", "--env", "prod")
	if code != 0 {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"image: registry.example.com/storefront/info:6.14.1", "replicas: 2", "- --port=8080"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("render lacks %q", want)
		}
	}
}
