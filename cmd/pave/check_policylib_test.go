package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckPolicyLibrary: a public conftest library (instrumenta, Rego
// v0) dropped into the catalog as published. Undeclared, its v0 files are
// refused, each with one error saying it is v0 and how to declare it, and
// pave check exits 1 with those errors first; declared by an OPA
// .manifest, its results join the report on the objects they concern. A
// broken file next to working ones stops the check loudly, never
// silently. Before, the v0 files gave the parser's v1 errors, and once
// declared the library's rules never fired.
func TestCheckPolicyLibrary(t *testing.T) {
	dir := copyCatalog(t)
	lib := filepath.Join(dir, "policies/instrumenta")
	if err := os.CopyFS(lib, os.DirFS("../../policy/testdata/libraries/instrumenta-policies/policies/instrumenta")); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(lib, ".manifest")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := pave(t, "check", "--catalog", dir, "--env", "staging", "payments/checkout")
	want := "ERROR catalog\n" +
		"  " + filepath.Join(lib, "lib/kubernetes.rego") + ":5: policy does not compile: this file is Rego v0; add regoVersion: {instrumenta: v0} to pave.yaml's policies block, or an OPA .manifest with {\"rego_version\": 0} to its folder\n" +
		"  " + filepath.Join(lib, "security.rego") + ":5: policy does not compile: this file is Rego v0; add regoVersion: {instrumenta: v0} to pave.yaml's policies block, or an OPA .manifest with {\"rego_version\": 0} to its folder\n"
	if code != 1 || !strings.HasPrefix(stdout, want) {
		t.Errorf("undeclared v0: exit %d\n%s%s\nwant prefix\n%s", code, stdout, stderr, want)
	}

	if err := os.WriteFile(manifest, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = pave(t, "check", "--catalog", dir, "--env", "staging", "payments/checkout")
	want = filepath.Join(dir, "services/payments/checkout/service.yaml") + ":7: deny main: checkout in the Deployment checkout doesn't drop all capabilities"
	if code != 1 || !strings.Contains(stdout, "FAIL payments/checkout (staging)\n  "+want+"\n") {
		t.Errorf("declared v0: exit %d\n%s%s\nwant\n%s", code, stdout, stderr, want)
	}

	// One broken file among working ones: loud, first, exit 1.
	if err := os.WriteFile(filepath.Join(lib, "extra.rego"), []byte("package main\n\ndeny = \"always\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = pave(t, "check", "--catalog", dir, "--env", "staging", "payments/checkout")
	want = "ERROR catalog\n  " + filepath.Join(lib, "extra.rego") + `:3: policy does not compile: deny is a single value (a complete rule), not a set of results: write "deny contains msg if { … }", one element per result` + "\n"
	if code != 1 || !strings.HasPrefix(stdout, want) {
		t.Errorf("broken file: exit %d\n%s%s\nwant prefix\n%s", code, stdout, stderr, want)
	}
}
