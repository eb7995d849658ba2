package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
)

// exampleCodeowners is the example catalog's CODEOWNERS file, which
// TestCodeownersExample keeps in step with its pave.yaml.
const exampleCodeowners = exampleCatalog + "/.github/CODEOWNERS"

// TestCodeownersExample: the committed CODEOWNERS of the example catalog
// is what pave codeowners writes, and --check says so.
func TestCodeownersExample(t *testing.T) {
	dir := copyCatalog(t)
	out := filepath.Join(dir, ".github", "CODEOWNERS")
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "codeowners", "--catalog", dir, "--output-file", out)
	if code != 0 || stdout != "wrote "+out+"\n" {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(exampleCodeowners)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("pave codeowners wrote:\n%s\nthe example has:\n%s", got, want)
	}
	for _, line := range []string{
		"* @example/platform-team\n",
		"/services/payments/ payments-oncall@example.com\n",
		"/exceptions/ @example/platform-team\n",
		"/policies/ @example/platform-team\n",
		"/templates/ @example/platform-team\n",
		"/pave.yaml @example/platform-team\n",
		"/.github/CODEOWNERS @example/platform-team\n",
	} {
		if !strings.Contains(string(got), line) {
			t.Errorf("CODEOWNERS has no line %q", line)
		}
	}
	// The platform's lines come last: the last matching line wins.
	if strings.LastIndex(string(got), "/services/") > strings.Index(string(got), "/exceptions/") {
		t.Error("a team line comes after the platform's lines")
	}
	code, _, stderr = pave(t, "codeowners", "--catalog", exampleCatalog, "--output-file", exampleCodeowners, "--check")
	if code != 0 || !strings.Contains(stderr, "is up to date") {
		t.Errorf("--check of the example: exit %d: %s", code, stderr)
	}
}

// TestCodeownersInSubfolder: a catalog in a subfolder of a git repository
// gets the repository's .github/CODEOWNERS, its patterns under the
// subfolder.
func TestCodeownersInSubfolder(t *testing.T) {
	repo := t.TempDir()
	if _, err := git.PlainInit(repo, false); err != nil {
		t.Fatal(err)
	}
	catalogDir := filepath.Join(repo, "platform", "my catalog")
	if err := os.CopyFS(catalogDir, os.DirFS(exampleCatalog)); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "codeowners", "--catalog", catalogDir)
	file := filepath.Join(repo, ".github", "CODEOWNERS")
	if code != 0 || stdout != "wrote "+file+"\n" {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := `# Written by "pave codeowners" from pave.yaml: change owners and teams
# there and run it again; CI runs "pave codeowners --check".
# The last matching line wins.

# The platform team owns the catalog, unless a line below says otherwise.
/platform/my\ catalog/ @example/platform-team

# Each team owns its services.
/platform/my\ catalog/services/payments/ payments-oncall@example.com
/platform/my\ catalog/services/storefront/ storefront-team@example.com
/platform/my\ catalog/services/data/ data-platform@example.com

# The rules every service is judged by, the exceptions to them and this
# file: the platform team's, whatever a line above says.
/platform/my\ catalog/pave.yaml @example/platform-team
/platform/my\ catalog/templates/ @example/platform-team
/platform/my\ catalog/policies/ @example/platform-team
/platform/my\ catalog/exceptions/ @example/platform-team
/.github/CODEOWNERS @example/platform-team
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if code, _, stderr := pave(t, "codeowners", "--catalog", catalogDir, "--check"); code != 0 {
		t.Errorf("--check right after writing: exit %d: %s", code, stderr)
	}
}

// TestCodeownersCheck fails CI when the file is missing or stale.
func TestCodeownersCheck(t *testing.T) {
	dir := copyCatalog(t)
	out := filepath.Join(dir, ".github", "CODEOWNERS")
	// A team owner changes in pave.yaml, CODEOWNERS does not follow.
	cfg, err := os.ReadFile(filepath.Join(dir, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pave.yaml"), []byte(strings.Replace(string(cfg), "owners: [data-platform@example.com]", "owners: [data-platform@example.com, \"@example/data\"]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := pave(t, "codeowners", "--catalog", dir, "--output-file", out, "--check")
	if code != 1 || !strings.Contains(stderr, out+" is stale") {
		t.Errorf("stale: exit %d: %s", code, stderr)
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = pave(t, "codeowners", "--catalog", dir, "--output-file", out, "--check")
	if code != 1 || !strings.Contains(stderr, out+" is missing") {
		t.Errorf("missing: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("--check wrote the file")
	}
	if code, stdout, stderr := pave(t, "codeowners", "--catalog", dir, "--output-file", out); code != 0 {
		t.Fatalf("write: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := pave(t, "codeowners", "--catalog", dir, "--output-file", out, "--check"); code != 0 {
		t.Errorf("fresh: exit %d: %s", code, stderr)
	}
}

func TestCodeownersErrors(t *testing.T) {
	noOwners := copyCatalog(t)
	cfg, err := os.ReadFile(filepath.Join(noOwners, "pave.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noOwners, "pave.yaml"), []byte(strings.Replace(string(cfg), `owners: ["@example/platform-team"]`, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	badOwner := copyCatalog(t)
	if err := os.WriteFile(filepath.Join(badOwner, "pave.yaml"), []byte(strings.Replace(string(cfg), "owners: [payments-oncall@example.com]", "owners: [payments oncall]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "elsewhere", "CODEOWNERS")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no platform owners", []string{"--catalog", noOwners, "--output-file", filepath.Join(noOwners, "CODEOWNERS")}, "pave.yaml sets no owners"},
		{"a team owner CODEOWNERS cannot take", []string{"--catalog", badOwner, "--output-file", filepath.Join(badOwner, "CODEOWNERS")}, `teams[0].owners[0]: "payments oncall"`},
		{"catalog outside the file's repository", []string{"--catalog", noOwners, "--output-file", outside}, "is outside the repository"},
		{"not in a git repository", []string{"--catalog", noOwners}, "is not inside a git repository: pass --output-file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pave(t, append([]string{"codeowners"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want 2 with %q\n%s%s", code, tt.want, stdout, stderr)
			}
		})
	}
}
