package catalog

import (
	"fmt"
	"testing"
	"testing/fstest"
)

// TestExpiredExceptionIsAWarning: an exception past its expiry day is a
// warning at its expires line; it is no error and leaves its service
// valid. One that expires today still holds, so it warns of nothing.
func TestExpiredExceptionIsAWarning(t *testing.T) {
	const file = "exceptions/payments/checkout.yaml"
	fsys := testCatalog(t)
	fsys[checkoutFile] = &fstest.MapFile{Data: fmt.Appendf(nil, serviceFor, "checkout", "payments")}
	fsys[file] = &fstest.MapFile{Data: []byte(`apiVersion: pave.dev/v1alpha1
kind: Exceptions
metadata:
  team: payments
  service: checkout
exceptions:
  - policy: readonly-root-filesystem
    reason: writes a cache to /tmp
    approvedBy: "@acme/platform"
    expires: 2026-05-31
  - policy: image-tag-pinned
    reason: still holds today
    approvedBy: "@acme/platform"
    expires: 2026-06-01
`)}
	cat, err := LoadWith(fsys, LoadOptions{Now: testToday}) // 2026-06-01
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatalf("errors: %v", cat.Errors)
	}
	if _, ok := cat.Service("payments/checkout"); !ok {
		t.Error("an expired exception made its service invalid")
	}
	want := file + ":10:14: exceptions[0].expires: the exception to readonly-root-filesystem expired on 2026-05-31 and no longer applies; renew it (a new expires, approved again) or delete it"
	if len(cat.Warnings) != 1 || cat.Warnings[0].Error() != want {
		t.Errorf("warnings = %v\nwant [%s]", cat.Warnings, want)
	}
}
