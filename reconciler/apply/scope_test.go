package apply

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// renderedCopy renders one service in one environment and returns a copy
// whose object list the test may change (the objects themselves are shared
// with the render cache: DeepCopy one before changing it).
func renderedCopy(t *testing.T, cat *catalog.Catalog, service, env string) *render.Result {
	t.Helper()
	for _, res := range round(t, cat).Rendered {
		if res.Service == service && res.Environment == env {
			c := *res
			c.Objects = slices.Clone(res.Objects)
			return &c
		}
	}
	t.Fatalf("%s (%s) not rendered", service, env)
	return nil
}

// objectIndex finds a rendered object.
func objectIndex(t *testing.T, res *render.Result, kind, name string) int {
	t.Helper()
	i := slices.IndexFunc(res.Objects, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind && o.GetName() == name })
	if i < 0 {
		t.Fatalf("%s renders no %s %s", res.Service, kind, name)
	}
	return i
}

// handBuilt is an object as if render had been bypassed: stamped with the
// service's labels, as render stamps everything.
func handBuilt(res *render.Result, apiVersion, kind, namespace, name string, fields map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range fields {
		o.Object[k] = v
	}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetNamespace(namespace)
	o.SetName(name)
	o.SetLabels(map[string]string{
		render.LabelManagedBy: render.ManagedBy, render.LabelTeam: res.Team,
		render.LabelService: res.Name, render.LabelEnvironment: res.Environment,
	})
	return o
}

// createClusterScopedCRD adds a cluster-scoped custom resource to a cluster
// (the cluster-wide policy of an admission controller, say) and waits until
// it is served.
func createClusterScopedCRD(t *testing.T, c client.Client, group, kind, plural string) {
	t.Helper()
	ctx := context.Background()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": plural + "." + group},
		"spec": map[string]any{
			"group": group,
			"scope": "Cluster",
			"names": map[string]any{"kind": kind, "plural": plural, "singular": strings.ToLower(kind), "listKind": kind + "List"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if err := c.Create(ctx, crd); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return false, err
		}
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conditions {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s.%s not served: %v", plural, group, err)
	}
}

// TestScopeComesFromTheCluster: apply asks the cluster where each object
// lands, as the last line of defence behind render. Objects handed to it as
// if render had been bypassed — a cluster-scoped built-in kind with no
// namespace (an IPAddress taking an address), a cluster-scoped custom
// resource that render took for namespaced, an object in another
// namespace, a kind the cluster does not serve, a cluster-scoped kind the
// template is allowed but under a name pave does not derive — refuse the
// whole service, and nothing of it is written; cluster-scoped objects that
// pave.yaml allows, with derived or listed names, are applied.
func TestScopeComesFromTheCluster(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	a, c := f.Appliers["staging"], f.client(t, "staging")
	createClusterScopedCRD(t, c, "policies.scope-test.pave.dev", "ClusterPolicy", "clusterpolicies")

	ipAddress := func(res *render.Result) *unstructured.Unstructured {
		return handBuilt(res, "networking.k8s.io/v1", "IPAddress", "", "10.0.0.77", map[string]any{
			"spec": map[string]any{"parentRef": map[string]any{"group": "", "resource": "services", "namespace": res.Namespace, "name": "api"}},
		})
	}
	clusterRole := func(name string) func(*render.Result) *unstructured.Unstructured {
		return func(res *render.Result) *unstructured.Unstructured {
			return handBuilt(res, "rbac.authorization.k8s.io/v1", "ClusterRole", "", name, map[string]any{
				"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}},
			})
		}
	}
	configMap := func(namespace string) func(*render.Result) *unstructured.Unstructured {
		return func(res *render.Result) *unstructured.Unstructured {
			if namespace == "{own}" {
				namespace = res.Namespace
			}
			return handBuilt(res, "v1", "ConfigMap", namespace, "extra", map[string]any{"data": map[string]any{"k": "v"}})
		}
	}
	cases := []struct {
		team string
		obj  func(*render.Result) *unstructured.Unstructured
		want string // "" when allowed
	}{
		{"sc-ip", ipAddress, `isolation: IPAddress 10.0.0.77 of sc-ip/api is cluster-scoped in cluster staging, which pave.yaml does not allow for template web-service (templates.web-service.allowClusterScoped)`},
		{"sc-policy", func(res *render.Result) *unstructured.Unstructured {
			// Render takes a kind it does not know for namespaced, and
			// puts it in the team's namespace.
			return handBuilt(res, "policies.scope-test.pave.dev/v1", "ClusterPolicy", res.Namespace, "allow-everything", map[string]any{"spec": map[string]any{"action": "allow"}})
		}, `isolation: ClusterPolicy.policies.scope-test.pave.dev sc-policy-staging/allow-everything of sc-policy/api is cluster-scoped in cluster staging, which pave.yaml does not allow`},
		{"sc-foreign", configMap("kube-system"), `isolation: ConfigMap kube-system/extra of sc-foreign/api is in namespace "kube-system"; its team's namespace is "sc-foreign-staging"`},
		{"sc-nons", configMap(""), `isolation: ConfigMap extra of sc-nons/api has no namespace; ConfigMap is namespaced`},
		{"sc-unknown", func(res *render.Result) *unstructured.Unstructured {
			return handBuilt(res, "widgets.pave.dev/v1", "Widget", res.Namespace, "w", nil)
		}, `has apiVersion widgets.pave.dev/v1, kind Widget, which cluster staging does not serve`},
		{"sc-name", clusterRole("cluster-admin-too"), `isolation: ClusterRole cluster-admin-too of sc-name/api is cluster-scoped: its name must be "sc-name-api" or start with "sc-name-api-", or be listed in pave.yaml templates.web-service.clusterScopedNames`},
		{"sc-derived", clusterRole("sc-derived-api-reader"), ""},
		{"sc-listed", clusterRole("platform-reader"), ""},
		{"sc-own", configMap("{own}"), ""},
	}
	services := map[string]string{}
	for _, tc := range cases {
		services[tc.team+"/api"] = webService("registry.example.com/"+tc.team+"/api:1.0.0", "")
	}
	cat := testCatalogWith(t, services, "templates:\n  web-service:\n    allowClusterScoped: [ClusterRole]\n    clusterScopedNames: [platform-reader]\n")
	for _, tc := range cases {
		t.Run(tc.team, func(t *testing.T) {
			res := renderedCopy(t, cat, tc.team+"/api", "staging")
			bad := tc.obj(res)
			res.Objects = append(res.Objects, bad)
			got := a.Apply(ctx, cat.Config, res, false, nil)
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(bad.GroupVersionKind())
			getErr := c.Get(ctx, client.ObjectKeyFromObject(bad), live)
			if tc.want == "" {
				if got.Err != nil || got.Health.Status != HealthReady {
					t.Fatalf("allowed object refused: %v (%+v)", got.Err, got.Health)
				}
				if getErr != nil || live.GetLabels()[render.LabelService] != "api" {
					t.Errorf("%s not applied: %v", describe(bad), getErr)
				}
				return
			}
			if !IsRefusal(got.Err) || !strings.Contains(got.Err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant a refusal with %q", got.Err, tc.want)
			}
			if got.Health.Status != HealthFailed || got.Health.Message != got.Err.Error() {
				t.Errorf("health: %+v", got.Health)
			}
			if getErr == nil {
				t.Errorf("%s was written", describe(bad))
			}
			// Nothing else of the service was written either.
			if err := c.Get(ctx, client.ObjectKey{Name: res.Namespace}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
				t.Errorf("namespace %s: %v, want not found", res.Namespace, err)
			}
			if inv, err := readInventory(ctx, c, tc.team, "api", "staging"); inv != nil || err != nil {
				t.Errorf("inventory written: %+v %v", inv, err)
			}
			// pave diff refuses it the same way.
			if _, err := a.Diff(ctx, cat.Config, res); !IsRefusal(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("diff: %v", err)
			}
		})
	}
}

// TestRenderedObjectsSayWhoseTheyAre: an object handed to apply with
// another service's labels (it could then be pruned or taken over by that
// service), or with the adoption annotation (a cluster admin's decision,
// not a render's), is refused.
func TestRenderedObjectsSayWhoseTheyAre(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	cat := testCatalog(t, map[string]string{"lbl/api": webService("registry.example.com/lbl/api:1.0.0", "")})
	res := renderedCopy(t, cat, "lbl/api", "staging")
	cm := handBuilt(res, "v1", "ConfigMap", res.Namespace, "extra", nil)
	cm.SetLabels(map[string]string{render.LabelManagedBy: render.ManagedBy, render.LabelTeam: "lbl", render.LabelService: "web", render.LabelEnvironment: "staging"})
	i := objectIndex(t, res, "ServiceAccount", "api")
	sa := res.Objects[i].DeepCopy()
	sa.SetAnnotations(map[string]string{AnnotationAdopt: "lbl/api"})
	res.Objects[i] = sa
	res.Objects = append(res.Objects, cm)
	got := f.Appliers["staging"].Apply(ctx, cat.Config, res, false, nil)
	for _, want := range []string{
		`ownership: ConfigMap lbl-staging/extra of lbl/api is labelled pave.dev/service="web", not "api"`,
		`ownership: ServiceAccount lbl-staging/api of lbl/api carries the annotation pave.dev/adopt`,
	} {
		if !IsRefusal(got.Err) || !strings.Contains(got.Err.Error(), want) {
			t.Errorf("err = %v\nwant %q", got.Err, want)
		}
	}
	if err := f.client(t, "staging").Get(ctx, client.ObjectKey{Name: res.Namespace}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace written: %v", err)
	}
}
