package render

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pave-dev/pave/catalog"
)

// overlay reads a test chart of testdata/charts/<name> as changes to the
// basic chart (templates/basic/), with the checkout service using it.
func overlay(t testing.TB, name string) map[string]string {
	t.Helper()
	root := filepath.Join("testdata", "charts", name)
	files := map[string]string{checkoutFile: checkoutYAML}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.md" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files["templates/basic/"+filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func wantError(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("rendered; want an error with %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n  %v\ndoes not say\n  %s", err, w)
		}
	}
}

// TestHelmTestHooksAreNotRendered: helm test's objects are the chart's own
// tests, not part of what runs.
func TestHelmTestHooksAreNotRendered(t *testing.T) {
	res := mustRender(t, testCatalog(t, overlay(t, "hooks-test")), Options{}, "payments/checkout", "prod")
	out := string(res.YAML())
	for _, name := range []string{"checkout-test-connection", "checkout-test-legacy", "helm.sh/hook"} {
		if strings.Contains(out, name) {
			t.Errorf("the render holds %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "kind: Deployment") {
		t.Errorf("the chart's own objects are missing:\n%s", out)
	}
}

// TestHelmHooksAreRefused: a pre-install Job can neither run before an
// install pave never does nor be applied as an ordinary object unasked.
func TestHelmHooksAreRefused(t *testing.T) {
	_, err := renderOne(t, testCatalog(t, overlay(t, "hooks-install")), Options{}, "payments/checkout", "prod")
	wantError(t, err,
		`services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): templates/basic/templates/migrate.yaml: Job "checkout-migrate" is a Helm hook (helm.sh/hook: pre-install,pre-upgrade)`,
		"pave applies a service's objects declaratively and continuously")
}

// TestUnstableFunctionsAreRefusedWhereTheyRun: a render that reaches a
// random or clock function fails at its line; one that does not (another
// environment's branch, an unused define, an else-if not reached) renders,
// and renders the same every time.
func TestUnstableFunctionsAreRefusedWhereTheyRun(t *testing.T) {
	files := overlay(t, "unstable")
	_, err := renderOne(t, testCatalog(t, files), Options{}, "payments/checkout", "staging")
	wantError(t, err,
		`render payments/checkout (staging): templates/basic/templates/secret.yaml:7: randAlphaNum gives a different result on every render; pave renders the same inputs to the same objects`)

	// pave does not use NOTES.txt: the clock there is harmless.
	files["templates/basic/templates/NOTES.txt"] = "Installed at {{ now }}.\n"
	var first string
	for i := range 3 {
		// A new catalog and renderer each time: no cache in between.
		res := mustRender(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
		out := string(res.YAML())
		if i == 0 {
			first = out
			if !strings.Contains(out, "mode: fixed") || !strings.Contains(out, "released: \"2024-05-01\"") {
				t.Errorf("prod's branch was not rendered:\n%s", out)
			}
			continue
		}
		if out != first {
			t.Fatalf("two renders of the same inputs differ:\n%s\n---\n%s", first, out)
		}
	}

	reached := overlay(t, "unstable-reached")
	_, err = renderOne(t, testCatalog(t, reached), Options{}, "payments/checkout", "prod")
	wantError(t, err, `templates/basic/templates/secret.yaml:6: now reads the clock, so it gives a different result on every render`)
	reached["templates/basic/templates/secret.yaml"] = strings.Replace(reached["templates/basic/templates/secret.yaml"], "    rolled-at: {{ now | quote }}\n", "    rolled-at: never\n", 1)
	_, err = renderOne(t, testCatalog(t, reached), Options{}, "payments/checkout", "prod")
	wantError(t, err, `templates/basic/templates/_helpers.tpl:3: uuidv4 gives a different result on every render`)
}

// TestUnstableFunctionsInAnElseIfChain: the condition of an else-if runs
// only when the conditions before it were false; pave refuses it where
// the chain starts, whichever branch is taken.
func TestUnstableFunctionsInAnElseIfChain(t *testing.T) {
	files := overlay(t, "unstable")
	files["templates/basic/templates/secret.yaml"] = strings.Replace(files["templates/basic/templates/secret.yaml"], "  mode: fixed\n", "  mode: fixed\n  {{- else if eq (randInt 0 2) 1 }}\n  mode: heads\n", 1)
	_, err := renderOne(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
	wantError(t, err, `templates/basic/templates/secret.yaml:11: randInt gives a different result on every render`)
}

// TestTwoRendersAreByteIdentical renders the example catalog twice, with
// nothing shared between the renders, and compares every byte.
func TestTwoRendersAreByteIdentical(t *testing.T) {
	render := func() map[string]string {
		cat := loadExampleCatalog(t)
		results, errs := New(cat, Options{Revision: "abc"}).RenderAll("")
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		out := map[string]string{}
		for _, r := range results {
			out[r.Service+"/"+r.Environment] = string(r.YAML())
		}
		return out
	}
	a, b := render(), render()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("rendered %d and %d services", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s renders differently the second time:\n%s", k, firstDifference([]byte(b[k]), []byte(v)))
		}
	}
}

// TestChartCRDsAreRefused: pave does not install a chart's crds/.
func TestChartCRDsAreRefused(t *testing.T) {
	_, err := renderOne(t, testCatalog(t, overlay(t, "crds")), Options{}, "payments/checkout", "prod")
	wantError(t, err,
		`services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): load template basic: templates/basic/crds/widgets.yaml: pave does not install the CustomResourceDefinitions of a chart's crds/ folder`,
		"(example.com Widget is not there)")

	// Declared by the platform (it installs the CRD): crds/ is left out.
	files := overlay(t, "crds")
	files["pave.yaml"] = testConfig + "customResources:\n  - {group: example.com, kind: Widget, scope: Namespaced}\n"
	res := mustRender(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
	if out := string(res.YAML()); strings.Contains(out, "CustomResourceDefinition") {
		t.Errorf("a declared CRD was rendered:\n%s", out)
	}
}

// TestKubeVersion: a chart's Chart.yaml kubeVersion is checked against the
// environment's Kubernetes version (pave.yaml) when rendering, and the
// template sees that version; the daemon checks the cluster's.
func TestKubeVersion(t *testing.T) {
	files := overlay(t, "kubeversion")
	files["pave.yaml"] = strings.Replace(testConfig, "  - {name: staging, cluster: staging}\n", "  - {name: staging, cluster: staging, kubeVersion: \"1.29\"}\n", 1)
	cat := testCatalog(t, files)
	_, err := renderOne(t, cat, Options{}, "payments/checkout", "staging")
	wantError(t, err, `services/payments/checkout/service.yaml:7:13: render payments/checkout (staging): templates/basic/Chart.yaml: chart basic supports Kubernetes >= 1.30.0-0 (kubeVersion), but environment staging (pave.yaml environments[].kubeVersion) runs 1.29`)

	res := mustRender(t, cat, Options{}, "payments/checkout", "prod")
	if out := string(res.YAML()); !strings.Contains(out, "kubeVersion: v1.37.0") {
		t.Errorf("prod has no kubeVersion and should render as the newest Kubernetes pave knows:\n%s", out)
	}
	if err := res.CheckKubeVersion("v1.29.8-eks-1234", "cluster prod"); err == nil || !strings.Contains(err.Error(), "templates/basic/Chart.yaml: chart basic supports Kubernetes >= 1.30.0-0 (kubeVersion), but cluster prod runs v1.29.8-eks-1234") {
		t.Errorf("a cluster too old: %v", err)
	}
	if err := res.CheckKubeVersion("v1.31.2-gke.1000", "cluster prod"); err != nil {
		t.Errorf("a cluster new enough: %v", err)
	}

	files["pave.yaml"] = strings.Replace(testConfig, "  - {name: staging, cluster: staging}\n", "  - {name: staging, cluster: staging, kubeVersion: \"1.32.4\"}\n", 1)
	res = mustRender(t, testCatalog(t, files), Options{}, "payments/checkout", "staging")
	if out := string(res.YAML()); !strings.Contains(out, "kubeVersion: v1.32.4") || strings.Contains(out, "sidecars") {
		t.Errorf("the template does not see the environment's version:\n%s", out)
	}

	files["templates/basic/Chart.yaml"] = "apiVersion: v2\nname: basic\nversion: 2.1.0\nkubeVersion: \"newest\"\n"
	_, err = renderOne(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
	wantError(t, err, `templates/basic/Chart.yaml: kubeVersion "newest" is not a version constraint`)
}

// TestSubchartSchemas: a vendored subchart's values.schema.json checks the
// values the subchart gets, as the template's checks the template's.
func TestSubchartSchemas(t *testing.T) {
	files := overlay(t, "subchart-schema")
	_, err := renderOne(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
	wantError(t, err, `services/payments/checkout/service.yaml:7:13: render payments/checkout (prod): templates/basic/charts/db/values.schema.json: db.storage: '10 gigabytes' does not match pattern`)

	files["templates/basic/values.yaml"] = strings.Replace(files["templates/basic/values.yaml"], "10 gigabytes", "10Gi", 1)
	res := mustRender(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
	if !strings.Contains(string(res.YAML()), "storage: 10Gi") {
		t.Errorf("the subchart did not render:\n%s", res.YAML())
	}

	// An aliased subchart gets its values under the alias; its schema is
	// still its own file.
	aliased := maps.Clone(files)
	aliased["templates/basic/Chart.yaml"] = strings.Replace(files["templates/basic/Chart.yaml"], "    condition: db.enabled\n", "    alias: store\n    condition: store.enabled\n", 1)
	aliased["templates/basic/values.yaml"] = strings.Replace(strings.Replace(files["templates/basic/values.yaml"], "db:", "store:", 1), "10Gi", "ten", 1)
	// (pave checks the parent's schema before Helm applies the alias, so
	// the parent's schema sees the subchart's defaults under db too.)
	aliased["templates/basic/values.schema.json"] = strings.Replace(files["templates/basic/values.schema.json"], `"db": {"type": "object"},`, `"db": {"type": "object"}, "store": {"type": "object"},`, 1)
	_, err = renderOne(t, testCatalog(t, aliased), Options{}, "payments/checkout", "prod")
	wantError(t, err, `templates/basic/charts/db/values.schema.json: store.storage: 'ten' does not match pattern`)

	// A subchart that is not enabled is not checked.
	files["templates/basic/values.yaml"] = strings.Replace(files["templates/basic/values.yaml"], "enabled: true", "enabled: false", 1)
	files["templates/basic/values.yaml"] = strings.Replace(files["templates/basic/values.yaml"], "10Gi", "lots", 1)
	res = mustRender(t, testCatalog(t, files), Options{}, "payments/checkout", "prod")
	if strings.Contains(string(res.YAML()), "PersistentVolumeClaim") {
		t.Errorf("a disabled subchart rendered:\n%s", res.YAML())
	}
}

// TestChartLabelsAreKept: pave adds its labels without overwriting the
// chart's own (a ServiceMonitor selects the Service by them); pave's
// identity is in its pave.dev keys, which are always pave's.
func TestChartLabelsAreKept(t *testing.T) {
	res := mustRender(t, testCatalog(t, overlay(t, "own-labels")), Options{}, "payments/checkout", "prod")
	for _, o := range res.Objects {
		labels := o.GetLabels()
		want := map[string]string{LabelTeam: "payments", LabelService: "checkout", LabelEnvironment: "prod", LabelManagedBy: ManagedBy, LabelName: "checkout"}
		switch o.GetKind() {
		case "Service":
			want[LabelName] = "shop-api"
			want[LabelManagedBy] = "Helm"
			want["app.kubernetes.io/part-of"] = "shop"
		case "Namespace":
			delete(want, LabelService)
			delete(want, LabelName)
		}
		for k, v := range want {
			if labels[k] != v {
				t.Errorf("%s: label %s is %q, want %q", objectID(o), k, labels[k], v)
			}
		}
	}
}

func loadExampleCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.LoadDir(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	return cat
}

// TestHelmTestsFolder: templates/tests/ is where charts keep helm test's
// hooks (podinfo's use randAlphaNum): they are dropped, so a random
// function there changes nothing pave renders; an object there that is not
// a hook is refused rather than dropped or applied.
func TestHelmTestsFolder(t *testing.T) {
	cat := testCatalog(t, overlay(t, "hooks-tests-folder"))
	a := mustRender(t, cat, Options{}, "payments/checkout", "prod")
	b := mustRender(t, testCatalog(t, overlay(t, "hooks-tests-folder")), Options{}, "payments/checkout", "prod")
	if a.Hash != b.Hash || strings.Contains(string(a.YAML()), "-test-") {
		t.Errorf("two renders differ, or hold the test hook:\n%s", a.YAML())
	}
	_, err := renderOne(t, testCatalog(t, overlay(t, "hooks-tests-stray")), Options{}, "payments/checkout", "prod")
	wantError(t, err, `templates/basic/templates/tests/stray.yaml: templates/tests/ holds the hooks of helm test, which pave does not render, yet it renders ConfigMap "checkout-stray", which is not one`)
}
