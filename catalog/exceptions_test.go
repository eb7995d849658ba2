package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// testToday is the day the exception tests load their catalogs on: the
// test catalog's maxLifetime (90d) allows expiries up to 2026-08-30.
func testToday() time.Time { return time.Date(2026, 6, 1, 15, 4, 5, 0, time.UTC) }

const serviceFor = "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: %s\n  team: %s\nspec:\n  template: worker\n  image: registry.example.com/%[2]s/%[1]s:1.0.0\n"

// TestInvalidExceptions loads every fixture in testdata/exceptions as an
// exceptions file (exceptions/payments/checkout.yaml unless "# path:"
// says otherwise) next to a valid service.yaml for it (unless
// "# no-service"). Every "# want LINE:COL message-prefix" must be
// reported at the exceptions file, and nothing else; the service the file
// names becomes invalid, and no other.
func TestInvalidExceptions(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/exceptions/*.yaml")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, fixture := range fixtures {
		t.Run(strings.TrimSuffix(filepath.Base(fixture), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			file := "exceptions/payments/checkout.yaml"
			withService := true
			var wants []Error
			for _, line := range strings.Split(string(data), "\n") {
				if m := pathRE.FindStringSubmatch(line); m != nil {
					file = m[1]
				}
				if line == "# no-service" {
					withService = false
				}
				if m := wantRE.FindStringSubmatch(line); m != nil {
					l, _ := strconv.Atoi(m[1])
					c, _ := strconv.Atoi(m[2])
					wants = append(wants, Error{Position: Position{Line: l, Column: c}, Message: m[3]})
				}
			}
			if len(wants) == 0 {
				t.Fatal("fixture has no '# want' line")
			}
			parts := strings.Split(strings.TrimSuffix(file, ".yaml"), "/")
			team, name := parts[1], parts[2]
			fsys := testCatalog(t)
			fsys[file] = &fstest.MapFile{Data: data}
			if withService {
				fsys[ServicesDir+"/"+team+"/"+name+"/"+ServiceFile] = &fstest.MapFile{Data: fmt.Appendf(nil, serviceFor, name, team)}
			}
			// A bystander: never affected by another service's exceptions.
			fsys["services/payments/ledger/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, serviceFor, "ledger", "payments")}
			cat, err := LoadWith(fsys, LoadOptions{Now: testToday})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, w := range wants {
				if !slices.ContainsFunc(cat.Errors, func(g *Error) bool {
					return g.File == file && g.Line == w.Line && g.Column == w.Column && strings.HasPrefix(g.Message, w.Message)
				}) {
					t.Errorf("missing error %s:%d:%d: %s", file, w.Line, w.Column, w.Message)
				}
			}
			if len(cat.Errors) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%v", len(cat.Errors), len(wants), cat.Errors)
			}
			if _, ok := cat.Service(team + "/" + name); ok {
				t.Errorf("%s/%s is loaded although its exceptions are invalid", team, name)
			}
			wantInvalid := []string{}
			if withService {
				wantInvalid = []string{ServicesDir + "/" + team + "/" + name + "/" + ServiceFile}
			}
			if !slices.Equal(cat.Invalid, wantInvalid) && !(len(cat.Invalid) == 0 && len(wantInvalid) == 0) {
				t.Errorf("invalid = %v, want %v", cat.Invalid, wantInvalid)
			}
			if _, ok := cat.Service("payments/ledger"); !ok {
				t.Error("payments/ledger must stay valid")
			}
		})
	}
}

func TestExceptionsAttachToTheirService(t *testing.T) {
	fsys := testCatalog(t)
	fsys["services/payments/checkout/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, serviceFor, "checkout", "payments")}
	fsys["services/payments/ledger/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, serviceFor, "ledger", "payments")}
	fsys["exceptions/README.md"] = &fstest.MapFile{Data: []byte("# Exceptions\nApproved by the platform team.\n")}
	fsys["exceptions/payments/checkout.yaml"] = &fstest.MapFile{Data: []byte(`apiVersion: pave.dev/v1alpha1
kind: Exceptions
metadata:
  team: payments
  service: checkout
exceptions:
  - policy: readonly-root-filesystem
    reason: legacy image writes to /var/cache
    approvedBy: "@ACME/platform"
    expires: 2026-08-30
  - policy: prod-min-replicas
    environments: [prod]
    reason: one replica until the migration
    approvedBy: lead@example.com
    expires: 2026-06-01
`)}
	cat, err := LoadWith(fsys, LoadOptions{Now: testToday})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	checkout, _ := cat.Service("payments/checkout")
	ledger, _ := cat.Service("payments/ledger")
	if checkout == nil || ledger == nil {
		t.Fatalf("services: %v", cat.Services)
	}
	x := checkout.ExceptionFile
	if x == nil || x.File != "exceptions/payments/checkout.yaml" || len(x.Exceptions) != 2 || !x.Valid {
		t.Fatalf("checkout's exceptions: %+v", x)
	}
	if ledger.ExceptionFile != nil {
		t.Errorf("ledger has exceptions: %+v", ledger.ExceptionFile)
	}
	if !x.Exceptions[0].AppliesTo("staging") || x.Exceptions[1].AppliesTo("staging") || !x.Exceptions[1].AppliesTo("prod") {
		t.Errorf("environments: %+v", x.Exceptions)
	}
	if got := x.Position("exceptions[1].environments").Line; got != 12 {
		t.Errorf("position of exceptions[1].environments: line %d, want 12", got)
	}
	if len(cat.Exceptions) != 1 || cat.Exceptions[0] != x {
		t.Errorf("catalog exceptions: %v", cat.Exceptions)
	}
}

// TestExceptionLifetimeDefaults: without exceptions.maxLifetime an
// exception may run 90 days; without approvers, pave.yaml's owners approve.
func TestExceptionLifetimeDefaults(t *testing.T) {
	fsys := testCatalog(t)
	cfg := strings.Replace(string(fsys["pave.yaml"].Data), "exceptions:\n  approvers: [\"@acme/platform\", lead@example.com]\n  maxLifetime: 90d\n", "", 1)
	fsys["pave.yaml"] = &fstest.MapFile{Data: []byte(cfg)}
	fsys["services/payments/checkout/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, serviceFor, "checkout", "payments")}
	x := "apiVersion: pave.dev/v1alpha1\nkind: Exceptions\nmetadata: {team: payments, service: checkout}\nexceptions:\n  - {policy: p, reason: r, approvedBy: %s, expires: %s}\n"
	for _, tt := range []struct {
		approver, expires, want string
	}{
		{`"@acme/platform"`, "2026-08-30", ""},
		{`"@acme/platform"`, "2026-08-31", "exceptions[0].expires: 2026-08-31 is more than 90d away"},
		{"lead@example.com", "2026-07-01", `exceptions[0].approvedBy: "lead@example.com" is not an exception approver (pave.yaml exceptions.approvers: @acme/platform)`},
	} {
		fsys["exceptions/payments/checkout.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, x, tt.approver, tt.expires)}
		cat, err := LoadWith(fsys, LoadOptions{Now: testToday})
		if err != nil {
			t.Fatal(err)
		}
		got := cat.Errors.Error()
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s until %s: %q, want %q", tt.approver, tt.expires, got, tt.want)
		}
	}
}
