package report_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps pave's imports flowing one way:
// catalog ← render ← policy ← pipeline ← review ← report ← cmd/pave, with
// the daemon beside review and report, not under them; notify (which
// sets commit statuses through forge) under the daemon, knowing only the
// catalog and the forges.
func TestLayering(t *testing.T) {
	const mod = "github.com/pave-dev/pave/"
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"catalog", []string{"render", "policy", "pipeline", "review", "report", "reconciler", "source"}},
		{"policy", []string{"render", "pipeline", "review", "report", "reconciler"}},
		{"pipeline", []string{"review", "report", "reconciler", "source"}},
		{"review", []string{"report", "reconciler", "forge"}},
		{"reconciler", []string{"review", "report"}},
		{"notify", []string{"render", "policy", "pipeline", "review", "report", "reconciler", "source"}},
	} {
		out, err := exec.Command("go", "list", "-deps", mod+tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", tc.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tc.forbidden {
				if dep == mod+f || strings.HasPrefix(dep, mod+f+"/") {
					t.Errorf("%s imports %s", tc.pkg, dep)
				}
			}
		}
	}
}
