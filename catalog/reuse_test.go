package catalog_test

import (
	"strings"
	"testing"

	"github.com/pave-dev/pave/catalog"
)

// TestLoadKeepsUnchangedServices: a load given the previous catalog and
// the changed paths keeps the services whose folders did not change (it
// does not read them again: here their file differs, and the kept parse
// wins because no changed path says so), reads the changed ones, and
// keeps nothing when pave.yaml, a template or a policy changed.
func TestLoadKeepsUnchangedServices(t *testing.T) {
	const checkout = "services/payments/checkout/service.yaml"
	const web = "services/storefront/web/service.yaml"
	prev, err := catalog.Load(exampleFS(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	orig := exampleFS(t, nil)
	bump := func(file string) string {
		return strings.Replace(string(orig[file].Data), "replicas: ", "replicas: 1", 1)
	}
	// Both files change on disk; only checkout is said to have changed.
	next := exampleFS(t, map[string]string{checkout: bump(checkout), web: bump(web)})
	replicas := func(c *catalog.Catalog, id string) int {
		t.Helper()
		s, ok := c.Service(id)
		if !ok {
			t.Fatalf("%s missing: %v", id, c.Errors)
		}
		if s.Spec.Replicas == nil {
			return 0
		}
		return *s.Spec.Replicas
	}
	for _, tc := range []struct {
		name                     string
		changed                  []string
		checkoutRead, webReadToo bool
	}{
		{"one service", []string{checkout}, true, false},
		{"one service and a README", []string{checkout, "README.md"}, true, false},
		{"one service and an exception", []string{checkout, "exceptions/payments/checkout.yaml"}, true, false},
		{"pave.yaml", []string{checkout, "pave.yaml"}, true, true},
		{"a template", []string{checkout, "templates/web-service/values.yaml"}, true, true},
		{"a policy", []string{checkout, "policies/probes.rego"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := catalog.LoadWith(next, catalog.LoadOptions{Previous: prev, Changed: tc.changed})
			if err != nil {
				t.Fatal(err)
			}
			if got, was := replicas(cat, "payments/checkout"), replicas(prev, "payments/checkout"); got == was {
				t.Errorf("checkout changed but kept its old parse (replicas %d)", got)
			}
			webNow, webWas := replicas(cat, "storefront/web"), replicas(prev, "storefront/web")
			if tc.webReadToo && webNow == webWas {
				t.Errorf("web was not read again after %v", tc.changed)
			}
			if !tc.webReadToo && webNow != webWas {
				t.Errorf("web was read again (replicas %d → %d) though only %v changed", webWas, webNow, tc.changed)
			}
			if kept, _ := cat.Service("storefront/web"); !tc.webReadToo {
				if old, _ := prev.Service("storefront/web"); kept == old {
					t.Error("a kept service is shared with the previous catalog, not copied")
				}
			}
		})
	}
}
