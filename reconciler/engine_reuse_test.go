package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/source"
)

// TestPoliciesKeptAcrossPaveYAMLChangesTheyDoNotSee: a revision whose
// pave.yaml changes nothing the policies see (a comment, a team's owners)
// keeps the compiled policies; one that changes data.pave (the allowed
// registries) or a policy file compiles them again, and the verdict
// follows the change. A policy file whose change is a comment is compiled
// again, and keeps the results remembered.
func TestPoliciesKeptAcrossPaveYAMLChangesTheyDoNotSee(t *testing.T) {
	const id = "payments/checkout"
	base := catalogDir(t, []string{"payments"}, map[string]string{id: webService("registry.example.com/payments/checkout:1.0.0")})
	d := &Daemon{cache: render.NewCache()}
	load := func(name string, prev *snapshot, changed []string, edit func(dir string)) *snapshot {
		t.Helper()
		dir := filepath.Join(t.TempDir(), name)
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(dir)
		}
		opts := catalog.LoadOptions{}
		if prev != nil {
			opts.Previous, opts.Changed = prev.cat, changed
		}
		snap, err := d.load(&source.Revision{ID: name, FS: os.DirFS(dir)}, opts, prev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return snap
	}
	blocked := func(s *snapshot) bool {
		t.Helper()
		svc, ok := s.cat.Service(id)
		if !ok {
			t.Fatalf("%s missing: %v", id, s.cat.Errors)
		}
		return s.pipe.Evaluate(context.Background(), svc, "staging").Blocked()
	}
	first := load("first", nil, nil, nil)
	if blocked(first) {
		t.Fatal("the service is blocked at first")
	}
	comment := load("comment", first, []string{catalog.ConfigFile}, func(dir string) {
		editFile(t, dir, catalog.ConfigFile, "\nteams:\n", "\n# Nothing the policies see.\nteams:\n")
	})
	if comment.engine != first.engine {
		t.Error("a pave.yaml comment compiled the policies again")
	}
	if blocked(comment) {
		t.Error("the service is blocked after a comment")
	}
	registries := load("registries", comment, []string{catalog.ConfigFile}, func(dir string) {
		editFile(t, dir, catalog.ConfigFile, "\n  - registry.example.com\n", "\n  - registry.other.example.com\n")
	})
	if registries.engine == comment.engine {
		t.Error("a change of the allowed registries kept the compiled policies")
	}
	if !blocked(registries) {
		t.Error("an image from a registry no longer allowed is not blocked")
	}
	policyFile := load("policy", first, []string{catalog.PoliciesDir + "/extra.rego"}, func(dir string) {
		writeFile(t, dir, catalog.PoliciesDir+"/extra.rego", "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tinput.kind == \"Deployment\"\n\tmsg := \"no Deployments today\"\n}\n")
	})
	if policyFile.engine == first.engine || policyFile.engine.SharesResultsWith(first.engine) {
		t.Error("a new policy file kept the compiled policies or their results")
	}
	if !blocked(policyFile) {
		t.Error("the new policy does not block the service")
	}
	policyComment := load("policy-comment", first, []string{catalog.PoliciesDir + "/pdb_required.rego"}, func(dir string) {
		editFile(t, dir, catalog.PoliciesDir+"/pdb_required.rego", "\nimport ", "\n# A comment: nothing the rules decide changes.\n\nimport ")
	})
	if policyComment.engine == first.engine {
		t.Error("a changed policy file kept the compiled policies")
	}
	if !policyComment.engine.SharesResultsWith(first.engine) {
		t.Error("a comment in a policy file dropped the results remembered")
	}
	if blocked(policyComment) {
		t.Error("the service is blocked after a comment in a policy file")
	}
}
