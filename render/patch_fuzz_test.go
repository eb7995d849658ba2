package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
)

// fuzzPaveYAML lets the template place objects beyond the team's
// namespace, so patches have something to try to widen.
const fuzzPaveYAML = testConfig + `templates:
  basic:
    allowClusterScoped: [ClusterRole]
    allowNamespaces: [monitoring]
    clusterScopedNames: [shared-reader]
customResources:
  - {group: monitoring.coreos.com, kind: ServiceMonitor, scope: Namespaced}
`

// fuzzTemplate renders, besides the basic chart's Deployment and
// ConfigMap, a ClusterRole, an object in an allowed namespace and a
// custom resource.
const fuzzTemplate = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: payments-checkout-reader
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: checkout-dashboard
  namespace: monitoring
data: {dashboard: "{}"}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: checkout
spec: {endpoints: [{port: http}]}
`

func fuzzCatalog(t testing.TB, patch, targetKind, targetName string) (*catalog.Catalog, bool) {
	svc := checkoutYAML[:strings.Index(checkoutYAML, "  environments:")]
	files := map[string]string{
		"pave.yaml":                           fuzzPaveYAML,
		"templates/basic/templates/more.yaml": fuzzTemplate,
	}
	if patch != "" {
		svc += "  patches:\n    - path: patches/fuzz.yaml\n"
		if targetKind != "" || targetName != "" {
			kind, _ := json.Marshal(targetKind)
			name, _ := json.Marshal(targetName)
			svc += fmt.Sprintf("      target: {kind: %s, name: %s}\n", kind, name)
		}
		files["services/payments/checkout/patches/fuzz.yaml"] = patch
	}
	files[checkoutFile] = svc
	fsys := map[string]string{}
	for name, data := range basicChart {
		fsys[name] = data
	}
	for name, data := range files {
		fsys[name] = data
	}
	cat, err := catalog.Load(mapFS(fsys))
	if err != nil || len(cat.Errors) > 0 || len(cat.Services) != 1 {
		return nil, false
	}
	return cat, true
}

// FuzzPatch applies random JSON 6902 and strategic-merge patches to a
// rendered service. Whatever a patch does, a render that succeeds keeps
// pave's placement: every object in the team's namespace or one pave.yaml
// allows, no Namespace but the team's, cluster-scoped objects only of
// allowed kinds with the service's names, the objects the template
// rendered and no others, and pave's labels on all of them.
func FuzzPatch(f *testing.F) {
	seeds := []struct{ patch, kind, name string }{
		{"- {op: replace, path: /kind, value: ClusterRole}\n- {op: replace, path: /apiVersion, value: rbac.authorization.k8s.io/v1}\n", "ConfigMap", "checkout-env"},
		{"- {op: replace, path: /apiVersion, value: networking.k8s.io/v1}\n- {op: replace, path: /kind, value: IPAddress}\n- {op: replace, path: /metadata/name, value: 10.96.0.10}\n", "ConfigMap", "checkout-env"},
		{"- {op: replace, path: /metadata/name, value: cluster-admin}\n", "ClusterRole", ""},
		{"- {op: replace, path: /metadata/name, value: checkout}\n- {op: replace, path: /kind, value: Deployment}\n- {op: replace, path: /apiVersion, value: apps/v1}\n", "ConfigMap", "checkout-env"},
		{"- {op: add, path: /metadata/namespace, value: kube-system}\n", "Deployment", ""},
		{"- {op: replace, path: /metadata/namespace, value: payments-prod}\n", "ConfigMap", "checkout-dashboard"},
		{"- {op: add, path: /metadata/namespace, value: payments-prod}\n", "ClusterRole", ""},
		{"- {op: remove, path: /metadata/labels}\n", "Deployment", ""},
		{"- {op: move, from: /metadata, path: /spec/template/metadata}\n", "Deployment", ""},
		{"- {op: copy, from: /spec, path: /metadata}\n", "ServiceMonitor", ""},
		{"- {op: replace, path: /kind, value: Namespace}\n", "ServiceMonitor", ""},
		{"- {op: add, path: /metadata/labels/pave.dev~1team, value: storefront}\n", ".*", ""},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout-env\n$patch: delete\n", "", ""},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout-env\n  namespace: kube-system\n", "", ""},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout-env\n$patch: replace\n", "", ""},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\nspec:\n  replicas: 9\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments-prod\n", "", ""},
		{"kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata:\n  name: x\n", "ConfigMap", ""},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\n  labels: null\n", "", ""},
		{"[]", "Deployment", ""},
		{"{}", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.patch, s.kind, s.name)
	}
	base, ok := fuzzCatalog(f, "", "", "")
	if !ok {
		f.Fatal("the fuzz catalog does not load")
	}
	unpatched, err := renderOne(f, base, Options{}, "payments/checkout", "prod")
	if err != nil {
		f.Fatal(err)
	}
	want := identities(unpatched.Objects)
	f.Fuzz(func(t *testing.T, patch, kind, name string) {
		cat, ok := fuzzCatalog(t, patch, kind, name)
		if !ok {
			return
		}
		res, err := renderOne(t, cat, Options{}, "payments/checkout", "prod")
		if err != nil {
			return
		}
		if got := identities(res.Objects); !slices.Equal(got, want) {
			t.Fatalf("patch %q (target %q/%q) changed the objects:\n%s\nwant:\n%s", patch, kind, name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkPlacement(t, cat, res)
	})
}

func identities(objs []*unstructured.Unstructured) []string {
	var ids []string
	for _, o := range objs {
		ids = append(ids, o.GetAPIVersion()+" "+objectID(o))
	}
	slices.Sort(ids)
	return ids
}

// checkPlacement asserts pave's placement invariants on a render.
func checkPlacement(t *testing.T, cat *catalog.Catalog, res *Result) {
	t.Helper()
	policy := cat.Config.Templates["basic"]
	scopes := NewScopes(cat.Config.CustomResources)
	namespaces := 0
	for _, o := range res.Objects {
		id := objectID(o)
		gvk := o.GroupVersionKind()
		if gvk.Group == "" && gvk.Kind == "Namespace" {
			namespaces++
			if o.GetName() != res.Namespace {
				t.Errorf("%s: a Namespace other than the team's", id)
			}
			continue
		}
		scope, err := scopes.ScopeOf(gvk)
		switch {
		case err != nil:
			t.Errorf("%s: %v", id, err)
		case scope == catalog.ScopeCluster:
			owner := res.Team + "-" + res.Name
			if o.GetNamespace() != "" || !slices.Contains(policy.AllowClusterScoped, gvk.Kind) {
				t.Errorf("%s: cluster-scoped kind not allowed", id)
			}
			if n := o.GetName(); n != owner && !strings.HasPrefix(n, owner+"-") && !slices.Contains(policy.ClusterScopedNames, n) {
				t.Errorf("%s: cluster-scoped object named for no service", id)
			}
		case o.GetNamespace() != res.Namespace && !slices.Contains(policy.AllowNamespaces, o.GetNamespace()):
			t.Errorf("%s: in a namespace the service may not use", id)
		}
		labels := o.GetLabels()
		for k, v := range map[string]string{LabelManagedBy: ManagedBy, LabelTeam: res.Team, LabelService: res.Name, LabelEnvironment: res.Environment, LabelName: res.Name} {
			if labels[k] != v {
				t.Errorf("%s: label %s is %q, want %q", id, k, labels[k], v)
			}
		}
		if o.GetAnnotations()[AnnotationSource] != res.Source {
			t.Errorf("%s: no %s annotation", id, AnnotationSource)
		}
	}
	if namespaces != 1 {
		t.Errorf("%d Namespaces, want the team's only", namespaces)
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}
