package catalog_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pave-dev/pave/catalog"
)

// exampleCatalog loads the example catalog, edited: edits maps a path to
// its new content ("" deletes it).
func exampleCatalog(t *testing.T, edits map[string]string) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load(exampleFS(t, edits))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatalf("example catalog has errors:\n%v", cat.Errors)
	}
	return cat
}

// exampleFS is the example catalog's files, edited.
func exampleFS(t *testing.T, edits map[string]string) fstest.MapFS {
	t.Helper()
	root := filepath.Join("..", "catalog-repo-example")
	mfs := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(root, p))
		mfs[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, content := range edits {
		if content == "" {
			delete(mfs, p)
			continue
		}
		mfs[p] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	return mfs
}

func TestAffected(t *testing.T) {
	base := exampleCatalog(t, nil)
	var all []string
	for _, s := range base.Services {
		all = append(all, s.ID())
	}
	if len(all) != 8 {
		t.Fatalf("example catalog has %d services, want 8", len(all))
	}
	withoutEvents := exampleCatalog(t, map[string]string{"services/data/events-consumer/service.yaml": ""})
	ledger := "services/payments/ledger-worker/service.yaml"
	ledgerYAML, err := fs.ReadFile(base.FS, ledger)
	if err != nil {
		t.Fatal(err)
	}
	switched := exampleCatalog(t, map[string]string{ledger: strings.Replace(string(ledgerYAML), "template: worker", "template: web-service", 1)})
	if s, _ := switched.Service("payments/ledger-worker"); s.TemplateName() != "web-service" {
		t.Fatal("the template switch did not take")
	}
	broken := exampleCatalog(t, nil)
	broken.Services = slices.DeleteFunc(slices.Clone(broken.Services), func(s *catalog.Service) bool { return s.ID() == "payments/checkout" })
	broken.Invalid = []string{"services/payments/checkout/service.yaml"}
	// An exception past pave.yaml's maxLifetime makes its service invalid:
	// re-rendered (to report it), never removed.
	const reportExceptions = "exceptions/data/report-builder.yaml"
	xYAML, err := fs.ReadFile(base.FS, reportExceptions)
	if err != nil {
		t.Fatal(err)
	}
	foreverFS := exampleFS(t, map[string]string{reportExceptions: regexp.MustCompile(`expires: .*`).ReplaceAllString(string(xYAML), "expires: 2099-01-01")})
	forever, err := catalog.Load(foreverFS)
	if err != nil || !slices.Equal(forever.Invalid, []string{"services/data/report-builder/service.yaml"}) {
		t.Fatalf("an exception expiring in 2099: %v, invalid %v", err, forever.Invalid)
	}

	// Only web-service depends on the library chart templates/_lib.
	libEdits := map[string]string{}
	for _, tmpl := range []string{"worker", "cron-job"} {
		file := "templates/" + tmpl + "/Chart.yaml"
		data, err := fs.ReadFile(base.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		before, _, found := strings.Cut(string(data), "dependencies:")
		if !found {
			t.Fatalf("%s does not depend on the library", file)
		}
		libEdits[file] = before
	}
	webOnlyLib := exampleCatalog(t, libEdits)
	if webOnlyLib.Templates["worker"].UsesLibrary("_lib") || !webOnlyLib.Templates["web-service"].UsesLibrary("_lib") {
		t.Fatal("the library edit did not take")
	}
	const libHelpers = "templates/_lib/templates/_helpers.tpl"
	webServices := []string{"payments/checkout", "storefront/catalog-api", "storefront/web"}

	for _, tc := range []struct {
		name     string
		changed  []string
		old, new *catalog.Catalog
		want     catalog.Impact
	}{
		{"nothing", nil, base, base, catalog.Impact{}},
		{"readme", []string{"README.md", "services/README.md", "services/payments/NOTES.md"}, base, base, catalog.Impact{}},
		{"service", []string{"services/payments/checkout/service.yaml"}, base, base,
			catalog.Impact{Services: []string{"payments/checkout"}}},
		{"patch", []string{"services/data/report-builder/patches/writable-root.yaml"}, base, base,
			catalog.Impact{Services: []string{"data/report-builder"}}},
		{"template", []string{"templates/worker/templates/deployment.yaml"}, base, base,
			catalog.Impact{Services: []string{"data/events-consumer", "payments/ledger-worker", "storefront/search-indexer"}}},
		{"two templates", []string{"templates/cron-job/values.yaml", "templates/worker/Chart.yaml"}, base, base,
			catalog.Impact{Services: []string{"data/events-consumer", "data/report-builder", "payments/ledger-worker", "payments/settlement", "storefront/search-indexer"}}},
		{"library chart: every service whose template depends on it", []string{libHelpers}, base, base,
			catalog.Impact{Services: all}},
		{"library chart used by one template", []string{libHelpers, "templates/_lib/Chart.yaml"}, webOnlyLib, webOnlyLib,
			catalog.Impact{Services: webServices}},
		{"library chart and the templates that stop using it", []string{libHelpers, "templates/worker/Chart.yaml", "templates/cron-job/Chart.yaml"}, base, webOnlyLib,
			catalog.Impact{Services: all}},
		{"library chart a template starts using", []string{libHelpers}, webOnlyLib, base,
			catalog.Impact{Services: all}},
		{"policy", []string{"policies/no_privileged.rego"}, base, base, catalog.Impact{All: true, Services: all}},
		{"pave.yaml", []string{"pave.yaml", "services/payments/checkout/service.yaml"}, base, base, catalog.Impact{All: true, Services: all}},
		{"deleted service", []string{"services/data/events-consumer/service.yaml"}, base, withoutEvents,
			catalog.Impact{Removed: []string{"data/events-consumer"}}},
		{"deleted service and template change", []string{"services/data/events-consumer/service.yaml", "templates/worker/values.yaml"}, base, withoutEvents,
			catalog.Impact{Services: []string{"payments/ledger-worker", "storefront/search-indexer"}, Removed: []string{"data/events-consumer"}}},
		{"switched template", []string{ledger}, base, switched,
			catalog.Impact{Services: []string{"payments/ledger-worker"}}},
		{"old template of a switched service", []string{ledger, "templates/worker/values.yaml"}, base, switched,
			catalog.Impact{Services: []string{"data/events-consumer", "payments/ledger-worker", "storefront/search-indexer"}}},
		{"new template of a switched service", []string{"templates/web-service/values.yaml"}, base, switched,
			catalog.Impact{Services: []string{"payments/checkout", "payments/ledger-worker", "storefront/catalog-api", "storefront/web"}}},
		{"exceptions file", []string{"exceptions/data/report-builder.yaml"}, base, base,
			catalog.Impact{Services: []string{"data/report-builder"}}},
		{"exceptions readme", []string{"exceptions/README.md", "exceptions/data/NOTES.md"}, base, base, catalog.Impact{}},
		{"exceptions file of a deleted service", []string{"exceptions/data/events-consumer.yaml", "services/data/events-consumer/service.yaml"}, base, withoutEvents,
			catalog.Impact{Removed: []string{"data/events-consumer"}}},
		{"invalid exceptions: re-rendered, not removed", []string{reportExceptions}, base, forever,
			catalog.Impact{Services: []string{"data/report-builder"}}},
		{"invalid service is re-rendered, not removed", []string{"services/payments/checkout/service.yaml"}, base, broken,
			catalog.Impact{Services: []string{"payments/checkout"}}},
		{"first revision", []string{"pave.yaml"}, nil, base, catalog.Impact{All: true, Services: all}},
		{"new catalog failed to load: nothing removed", []string{"pave.yaml"}, base, nil, catalog.Impact{All: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := catalog.Affected(tc.changed, tc.old, tc.new)
			if got.All != tc.want.All || !slices.Equal(got.Services, tc.want.Services) || !slices.Equal(got.Removed, tc.want.Removed) {
				t.Errorf("Affected =\n\t%+v\nwant\n\t%+v", got, tc.want)
			}
		})
	}
}

// TestAffectedOwnAndShared: a change reaching a service through its
// template, pave.yaml or the policies rolls out in waves; a change to the
// service's own files does not.
func TestAffectedOwnAndShared(t *testing.T) {
	base := exampleCatalog(t, nil)
	var all []string
	for _, s := range base.Services {
		all = append(all, s.ID())
	}
	workers := []string{"data/events-consumer", "payments/ledger-worker", "storefront/search-indexer"}
	for _, tc := range []struct {
		name        string
		changed     []string
		old         *catalog.Catalog
		own, shared []string
	}{
		{"service", []string{"services/payments/checkout/service.yaml"}, base, []string{"payments/checkout"}, nil},
		{"exceptions", []string{"exceptions/data/report-builder.yaml"}, base, []string{"data/report-builder"}, nil},
		{"template", []string{"templates/worker/templates/deployment.yaml"}, base, nil, workers},
		{"template and one of its services", []string{"templates/worker/values.yaml", "services/data/events-consumer/service.yaml"}, base, []string{"data/events-consumer"}, workers},
		{"pave.yaml", []string{"pave.yaml", "services/payments/checkout/service.yaml"}, base, []string{"payments/checkout"}, all},
		{"policy", []string{"policies/no_privileged.rego"}, base, nil, all},
		{"first revision: nothing to roll out", []string{"pave.yaml"}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := catalog.Affected(tc.changed, tc.old, base)
			if !slices.Equal(got.Own, tc.own) || !slices.Equal(got.Shared, tc.shared) {
				t.Errorf("own %v shared %v, want own %v shared %v", got.Own, got.Shared, tc.own, tc.shared)
			}
		})
	}
}
