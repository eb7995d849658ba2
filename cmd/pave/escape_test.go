package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A service.yaml is written by any developer; what pave prints of it on a
// terminal or a CI log must not become a workflow command or a terminal
// escape, in validate as in render.
func TestCLIEscapesServiceStrings(t *testing.T) {
	dir := copyCatalog(t)
	svc := filepath.Join(dir, "services/payments/checkout/service.yaml")
	if err := os.WriteFile(svc, []byte("apiVersion: pave.dev/v1alpha1\n"+
		"kind: Service\n"+
		"metadata:\n"+
		"  name: checkout\n"+
		"  team: payments\n"+
		"spec:\n"+
		"  template: web-service\n"+
		"  image: \"registry.example.com/payments/checkout:1.4.2 ##[add-mask]x \\e]8;;http://evil\\a\"\n"+
		"  port: 8080\n"+
		"  \"##[set-output name=x]y\\u202e\": 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"validate", "--catalog", dir},
		{"render", "--catalog", dir, "payments/checkout"},
	} {
		code, stdout, stderr := pave(t, args...)
		if code == 0 {
			t.Fatalf("%s: exit 0 for an invalid service\n%s", args[0], stderr)
		}
		out := stdout + stderr
		if !strings.Contains(out, "services/payments/checkout/service.yaml") {
			t.Errorf("%s: the error does not name the file:\n%s", args[0], out)
		}
		for _, bad := range []string{"##[", "\x1b", "\a", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s prints %q raw:\n%s", args[0], bad, out)
			}
		}
	}
}
