package reconciler

import (
	"strings"
	"testing"
	"time"
)

// TestInvalidCatalog: an invalid service.yaml stops that service alone —
// what it runs keeps running, its status names the file and line, and the
// other services' changes go ahead; a broken pave.yaml stops every
// service, deletes nothing, and the fix is applied.
func TestInvalidCatalog(t *testing.T) {
	const broken, other = "invalid/broken", "invalid/other"
	dir := catalogDir(t, []string{"invalid"}, map[string]string{
		broken: webService("registry.example.com/invalid/broken:1.0.0"),
		other:  webService("registry.example.com/invalid/other:1.0.0"),
	})
	d := run(t, dir)
	d.phase(time.Minute, PhaseReady, broken, other)

	t.Run("an invalid service.yaml stops that service alone", func(t *testing.T) {
		writeFile(t, dir, "services/invalid/broken/service.yaml", serviceYAML(broken, webService("registry.example.com/invalid/broken:2.0.0")+"  replicaz: 3\n"))
		editFile(t, dir, "services/invalid/other/service.yaml", "other:1.0.0", "other:1.1.0")
		d.refetch()
		d.phase(time.Minute, PhaseReady, other)
		d.phase(10*time.Second, PhaseRenderError, broken)
		for _, env := range []string{"staging", "prod"} {
			e := d.env(broken, env)
			if len(e.Errors) == 0 || !strings.Contains(e.Errors[0], "services/invalid/broken/service.yaml:11:") || !strings.Contains(e.Errors[0], "replicaz") {
				t.Errorf("%s: errors %q, want the file, line 11 and the field", env, e.Errors)
			}
			if e.AppliedRevision == d.Status.Source().Revision {
				t.Errorf("%s: the invalid revision is recorded as applied", env)
			}
			if img := image(t, env, "invalid-"+env, "broken"); img != "registry.example.com/invalid/broken:1.0.0" {
				t.Errorf("%s: broken's Deployment runs %s, want the last good 1.0.0", env, img)
			}
			if img := image(t, env, "invalid-"+env, "other"); img != "registry.example.com/invalid/other:1.1.0" {
				t.Errorf("%s: other's Deployment runs %s, want 1.1.0", env, img)
			}
		}
	})

	t.Run("a broken pave.yaml applies nothing and deletes nothing", func(t *testing.T) {
		editFile(t, dir, "pave.yaml", "registries:", "registrys:")
		editFile(t, dir, "services/invalid/other/service.yaml", "other:1.1.0", "other:1.2.0")
		d.refetch()
		d.waitFor(10*time.Second, "catalog error", func() (bool, string) {
			s := d.Status.Source()
			return len(s.CatalogError) > 0, s.Revision
		})
		if s := d.Status.Source(); !strings.Contains(strings.Join(s.CatalogError, "\n"), `pave.yaml:`) || !strings.Contains(strings.Join(s.CatalogError, "\n"), `"registrys"`) {
			t.Errorf("catalog errors %q, want pave.yaml's line and the field", s.CatalogError)
		}
		d.phase(10*time.Second, PhaseCatalogInvalid, broken, other)
		time.Sleep(time.Second) // anything queued by mistake would run now
		for _, env := range []string{"staging", "prod"} {
			if img := image(t, env, "invalid-"+env, "other"); img != "registry.example.com/invalid/other:1.1.0" {
				t.Errorf("%s: other's Deployment runs %s, want 1.1.0 kept", env, img)
			}
			if img := image(t, env, "invalid-"+env, "broken"); img != "registry.example.com/invalid/broken:1.0.0" {
				t.Errorf("%s: broken's Deployment runs %s, want 1.0.0 kept", env, img)
			}
		}
	})

	t.Run("the fixed catalog is applied", func(t *testing.T) {
		editFile(t, dir, "pave.yaml", "registrys:", "registries:")
		editFile(t, dir, "services/invalid/broken/service.yaml", "  replicaz: 3\n", "")
		d.refetch()
		d.phase(time.Minute, PhaseReady, broken, other)
		for _, env := range []string{"staging", "prod"} {
			if img := image(t, env, "invalid-"+env, "other"); img != "registry.example.com/invalid/other:1.2.0" {
				t.Errorf("%s: other runs %s, want 1.2.0", env, img)
			}
			if img := image(t, env, "invalid-"+env, "broken"); img != "registry.example.com/invalid/broken:2.0.0" {
				t.Errorf("%s: broken runs %s, want 2.0.0", env, img)
			}
		}
	})
}
