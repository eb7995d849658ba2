package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestCIExamplesInstallARelease: the example catalog's CI files install
// pave as a release is cut (README, Releases): `go install` of
// github.com/pave-dev/pave/cmd/pave at a tag vX.Y.Z, the same in every file,
// never a branch, a commit or @latest that would drift from the clusters.
func TestCIExamplesInstallARelease(t *testing.T) {
	install := regexp.MustCompile(`go install (\S+)@(\S+)`)
	release := regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	versions := map[string]string{}
	for _, file := range []string{".github/workflows/pave-check.yml", ".gitlab-ci.yml"} {
		data, err := os.ReadFile(filepath.Join(exampleCatalog, file))
		if err != nil {
			t.Fatal(err)
		}
		found := install.FindAllStringSubmatch(string(data), -1)
		if len(found) != 1 {
			t.Fatalf("%s: %d go install commands, want 1", file, len(found))
		}
		pkg, version := found[0][1], found[0][2]
		if pkg != "github.com/pave-dev/pave/cmd/pave" {
			t.Errorf("%s: installs %s, not pave's command", file, pkg)
		}
		if !release.MatchString(version) {
			t.Errorf("%s: installs pave@%s, not a release tag vX.Y.Z", file, version)
		}
		versions[version] = file
	}
	if len(versions) != 1 {
		t.Errorf("the example CI files install different releases: %v", versions)
	}
}
