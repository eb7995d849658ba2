package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyTestExampleCatalog runs the example catalog's Rego unit tests,
// as make test does.
func TestPolicyTestExampleCatalog(t *testing.T) {
	code, stdout, stderr := pave(t, "policy", "test", "--catalog", exampleCatalog)
	if code != 0 || !strings.HasPrefix(stdout, "ok  \t"+filepath.Join(exampleCatalog, "policies")+"\t") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = pave(t, "policy", "test", "--catalog", exampleCatalog, "-v")
	// Every policy has passing and failing cases.
	for _, id := range []string{
		"allowed_registries", "drop_all_capabilities", "image_tag_pinned", "ingress_host_in_team_domain",
		"network_policy_required", "no_external_ips", "no_host_access", "no_ingress_snippets",
		"no_plaintext_secrets", "no_privilege_escalation", "no_privileged", "pdb_required",
		"probes_required", "prod_min_replicas", "rbac_restricted", "readonly_root_filesystem",
		"required_labels", "resources_required", "run_as_non_root", "service_type_restricted",
	} {
		pkg := "--- PASS: data.pave.policies." + id + "_test."
		if code != 0 || strings.Count(stdout, pkg) < 3 {
			t.Errorf("%s: fewer than 3 tests:\n%s", id, stdout)
		}
	}
	if !strings.Contains(stdout, "\nPASS\nok  \t") {
		t.Errorf("-v output:\n%s", stdout)
	}
}

func TestPolicyTestReportsFailures(t *testing.T) {
	dir := copyCatalog(t)
	file := filepath.Join(dir, "policies/no_privileged.rego")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// A policy that denies nothing fails its deny tests.
	broken := strings.Replace(string(data), "x.security.privileged == true", "x.security.privileged == \"yes\"", 1)
	if broken == string(data) {
		t.Fatal("no_privileged.rego changed: update this test")
	}
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := pave(t, "policy", "test", "--catalog", dir)
	want := "--- FAIL: data.pave.policies.no_privileged_test.test_privileged_container_denied ("
	if code != 1 || !strings.Contains(stdout, want) || !strings.Contains(stdout, filepath.Join(dir, "policies/no_privileged_test.rego")+":16") || !strings.Contains(stdout, "\nFAIL\t") {
		t.Errorf("exit %d\n%s", code, stdout)
	}

	if err := os.WriteFile(file, []byte("package pave.policies.no_privileged\n\ndeny contains x if {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = pave(t, "policy", "test", "--catalog", dir)
	if code != 1 || !strings.Contains(stdout, filepath.Join(dir, "policies/no_privileged.rego")+":") || !strings.Contains(stdout, "[build failed]") {
		t.Errorf("compile error: exit %d\n%s", code, stdout)
	}
}

func TestPolicyTestUsage(t *testing.T) {
	code, _, stderr := pave(t, "policy")
	if code != 2 || !strings.Contains(stderr, "missing subcommand") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	code, _, stderr = pave(t, "policy", "test", "--catalog", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "pave.yaml: not found") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
