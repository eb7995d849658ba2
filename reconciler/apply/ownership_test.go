package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/fluxcd/pkg/ssa"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// TestOwnershipBeforeEveryWrite: a service never writes over an object it
// does not own — a team-mate's Service, a ClusterRole pave did not create —
// and is then Failed with whose the object is, with nothing of it written;
// a poisoned inventory does not make prune delete either object; a cluster
// admin's adoption annotation hands an object over.
func TestOwnershipBeforeEveryWrite(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	a, c := f.Appliers["staging"], f.client(t, "staging")
	services := map[string]string{
		"own/a": webService("registry.example.com/own/a:1.0.0", ""),
		"own/b": webService("registry.example.com/own/b:1.0.0", ""),
	}
	cat := testCatalogWith(t, services, "templates:\n  web-service:\n    allowClusterScoped: [ClusterRole]\n    clusterScopedNames: [edit-like]\n")
	r := round(t, cat)
	r.Environments = []string{"staging"}
	mustSucceed(t, reconcile(t, f, r), HealthReady)

	selectorOfA := func() map[string]string {
		var svc corev1.Service
		if err := c.Get(ctx, client.ObjectKey{Namespace: "own-staging", Name: "a"}, &svc); err != nil {
			t.Fatal(err)
		}
		return svc.Spec.Selector
	}
	imageOfB := func() string {
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: "own-staging", Name: "b"}, &d); err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}
	// b's next render: a new image, and its Service renamed onto a's.
	evil := func() *render.Result {
		res := renderedCopy(t, cat, "own/b", "staging")
		i := objectIndex(t, res, "Service", "b")
		svc := res.Objects[i].DeepCopy()
		svc.SetName("a")
		res.Objects[i] = svc
		i = objectIndex(t, res, "Deployment", "b")
		d := res.Objects[i].DeepCopy()
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["image"] = "registry.example.com/own/b:2.0.0"
		_ = unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers")
		res.Objects[i] = d
		res.Hash = "a-new-render"
		return res
	}

	t.Run("a team-mate's Service", func(t *testing.T) {
		got := a.Apply(ctx, cat.Config, evil(), false, nil)
		want := "Service own-staging/a belongs to own/a, not own/b"
		if !IsRefusal(got.Err) || got.Err.Error() != want {
			t.Fatalf("err = %v, want %q", got.Err, want)
		}
		if got.Health.Status != HealthFailed || got.Health.Message != want {
			t.Errorf("health: %+v", got.Health)
		}
		if sel := selectorOfA(); sel[render.LabelName] != "a" {
			t.Errorf("a's Service selects %v", sel)
		}
		if img := imageOfB(); img != "registry.example.com/own/b:1.0.0" {
			t.Errorf("b was half-applied: its Deployment runs %s", img)
		}
		if _, err := a.Diff(ctx, cat.Config, evil()); err == nil || err.Error() != want {
			t.Errorf("diff: %v", err)
		}
	})

	editLike := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "edit-like", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
	}
	if err := c.Create(ctx, editLike); err != nil {
		t.Fatal(err)
	}
	editLikeUnchanged := func(t *testing.T) {
		t.Helper()
		var cr rbacv1.ClusterRole
		if err := c.Get(ctx, client.ObjectKey{Name: "edit-like"}, &cr); err != nil {
			t.Fatalf("edit-like: %v", err)
		}
		if len(cr.Rules) != 1 || len(cr.Rules[0].Verbs) != 2 || cr.Labels[render.LabelManagedBy] != "" {
			t.Errorf("edit-like was changed: %+v %v", cr.Rules, cr.Labels)
		}
	}
	withEditLike := func() *render.Result {
		res := renderedCopy(t, cat, "own/b", "staging")
		res.Objects = append(res.Objects, handBuilt(res, "rbac.authorization.k8s.io/v1", "ClusterRole", "", "edit-like", map[string]any{
			"rules": []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}},
		}))
		res.Hash = "with-edit-like"
		return res
	}

	t.Run("a ClusterRole pave does not manage", func(t *testing.T) {
		got := a.Apply(ctx, cat.Config, withEditLike(), false, nil)
		want := "ClusterRole edit-like is not managed by pave (a cluster admin may hand it to own/b with the annotation pave.dev/adopt: own/b)"
		if !IsRefusal(got.Err) || got.Err.Error() != want {
			t.Fatalf("err = %v, want %q", got.Err, want)
		}
		editLikeUnchanged(t)
	})

	t.Run("a poisoned inventory prunes nothing foreign", func(t *testing.T) {
		inv, err := readInventory(ctx, c, "own", "b", "staging")
		if err != nil || inv == nil {
			t.Fatal(inv, err)
		}
		inv.Objects = append(inv.Objects,
			ObjectRef{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "edit-like"},
			ObjectRef{Version: "v1", Kind: "Service", Namespace: "own-staging", Name: "a"})
		inv.Hash = "poisoned"
		if err := writeInventory(ctx, c, inv, false); err != nil {
			t.Fatal(err)
		}
		// The next round lists the inventories again, the poisoned one with
		// them.
		if _, err := a.LoadInventories(ctx); err != nil {
			t.Fatal(err)
		}
		got := a.Apply(ctx, cat.Config, renderedCopy(t, cat, "own/b", "staging"), false, nil)
		if got.Err != nil {
			t.Fatal(got.Err)
		}
		acts := actions(got)
		if acts["ClusterRole/edit-like"] != ssa.SkippedAction || acts["Service/a"] != ssa.SkippedAction {
			t.Errorf("prune of foreign objects: %v", acts)
		}
		editLikeUnchanged(t)
		if sel := selectorOfA(); sel[render.LabelName] != "a" {
			t.Errorf("a's Service: %v", sel)
		}
	})

	t.Run("a team-mate's object relabelled onto b is not corrected", func(t *testing.T) {
		// Someone labels b's ServiceAccount as a's: a resync of b must not
		// take it back by force.
		var sa corev1.ServiceAccount
		if err := c.Get(ctx, client.ObjectKey{Namespace: "own-staging", Name: "b"}, &sa); err != nil {
			t.Fatal(err)
		}
		sa.Labels[render.LabelService] = "a"
		if err := c.Update(ctx, &sa); err != nil {
			t.Fatal(err)
		}
		got := a.Apply(ctx, cat.Config, renderedCopy(t, cat, "own/b", "staging"), true, nil)
		want := "ServiceAccount own-staging/b belongs to own/a, not own/b"
		if !IsRefusal(got.Err) || got.Err.Error() != want {
			t.Fatalf("err = %v, want %q", got.Err, want)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(&sa), &sa); err != nil || sa.Labels[render.LabelService] != "a" {
			t.Errorf("relabelled ServiceAccount overwritten: %v %v", sa.Labels, err)
		}
		// An admin hands it back.
		sa.Annotations = map[string]string{AnnotationAdopt: "own/b"}
		if err := c.Update(ctx, &sa); err != nil {
			t.Fatal(err)
		}
		if got := a.Apply(ctx, cat.Config, renderedCopy(t, cat, "own/b", "staging"), true, nil); got.Err != nil {
			t.Fatal(got.Err)
		}
	})

	t.Run("adoption", func(t *testing.T) {
		var cr rbacv1.ClusterRole
		if err := c.Get(ctx, client.ObjectKey{Name: "edit-like"}, &cr); err != nil {
			t.Fatal(err)
		}
		cr.Annotations = map[string]string{AnnotationAdopt: "own/a"}
		if err := c.Update(ctx, &cr); err != nil {
			t.Fatal(err)
		}
		// Handed to a, not to b.
		if got := a.Apply(ctx, cat.Config, withEditLike(), false, nil); !IsRefusal(got.Err) {
			t.Fatalf("adopted by a, applied by b: %v", got.Err)
		}
		cr.Annotations[AnnotationAdopt] = "own/b"
		if err := c.Update(ctx, &cr); err != nil {
			t.Fatal(err)
		}
		got := a.Apply(ctx, cat.Config, withEditLike(), false, nil)
		if got.Err != nil || got.Health.Status != HealthReady {
			t.Fatalf("adoption: %v %+v", got.Err, got.Health)
		}
		if err := c.Get(ctx, client.ObjectKey{Name: "edit-like"}, &cr); err != nil {
			t.Fatal(err)
		}
		if cr.Labels[render.LabelService] != "b" || len(cr.Rules) != 1 || cr.Rules[0].Verbs[0] != "*" {
			t.Errorf("not adopted: %v %+v", cr.Labels, cr.Rules)
		}
	})
}

// TestTeamNamespaceOwnership: the team's Namespace is shared by its
// services (a second service of the team applies into it), but one that
// exists and is not pave's is refused until a cluster admin hands it to
// the team.
func TestTeamNamespaceOwnership(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	a, c := f.Appliers["staging"], f.client(t, "staging")
	cat := testCatalog(t, map[string]string{
		"nsown/api": webService("registry.example.com/nsown/api:1.0.0", ""),
		"nsown/web": webService("registry.example.com/nsown/web:1.0.0", ""),
	})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nsown-staging"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	got := a.Apply(ctx, cat.Config, renderedCopy(t, cat, "nsown/api", "staging"), false, nil)
	want := "Namespace nsown-staging is not managed by pave (a cluster admin may hand it to nsown/api with the annotation pave.dev/adopt: nsown)"
	if !IsRefusal(got.Err) || got.Err.Error() != want {
		t.Fatalf("err = %v, want %q", got.Err, want)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ns), ns); err != nil || ns.Labels[render.LabelManagedBy] != "" {
		t.Errorf("namespace taken over: %v %v", ns.Labels, err)
	}
	ns.Annotations = map[string]string{AnnotationAdopt: "nsown"}
	if err := c.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"nsown/api", "nsown/web"} {
		if got := a.Apply(ctx, cat.Config, renderedCopy(t, cat, id, "staging"), false, nil); got.Err != nil || got.Health.Status != HealthReady {
			t.Fatalf("%s: %v %+v", id, got.Err, got.Health)
		}
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ns), ns); err != nil || ns.Labels[render.LabelTeam] != "nsown" {
		t.Errorf("namespace not adopted: %v %v", ns.Labels, err)
	}
	// Another team's Namespace is never the team's.
	other := renderedCopy(t, cat, "nsown/api", "staging")
	other.Team, other.Service, other.Hash = "intruder", "intruder/api", "x"
	for i, o := range other.Objects {
		o = o.DeepCopy()
		labels := o.GetLabels()
		labels[render.LabelTeam] = "intruder"
		o.SetLabels(labels)
		other.Objects[i] = o
	}
	got = a.Apply(ctx, cat.Config, other, false, nil)
	if !IsRefusal(got.Err) || !strings.Contains(got.Err.Error(), "Namespace nsown-staging belongs to team nsown, not intruder") {
		t.Errorf("err = %v", got.Err)
	}
}

// TestConcurrentClaimsOfOneObject: two services of a team that render the
// same new object in the same round (the daemon and a fleet apply several
// services at once) cannot both pass the ownership check before either
// writes: exactly one gets the object, the other is refused.
func TestConcurrentClaimsOfOneObject(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.Wait = false
	f := newFleet(t, opts)
	a, c := f.Appliers["staging"], f.client(t, "staging")
	cat := testCatalog(t, map[string]string{
		"race/a": webService("registry.example.com/race/a:1.0.0", ""),
		"race/b": webService("registry.example.com/race/b:1.0.0", ""),
	})
	for i := range 5 {
		name := fmt.Sprintf("shared-%d", i)
		results := make([]*Result, 2)
		var wg sync.WaitGroup
		for j, id := range []string{"race/a", "race/b"} {
			res := renderedCopy(t, cat, id, "staging")
			res.Objects = append(res.Objects, handBuilt(res, "v1", "ConfigMap", res.Namespace, name, map[string]any{"data": map[string]any{"by": id}}))
			res.Hash = name
			wg.Go(func() { results[j] = a.Apply(ctx, cat.Config, res, false, nil) })
		}
		wg.Wait()
		var winners []string
		for j, r := range results {
			switch {
			case r.Err == nil:
				winners = append(winners, r.Service)
			case !IsRefusal(r.Err) || !strings.Contains(r.Err.Error(), "ConfigMap race-staging/"+name+" belongs to race/"):
				t.Fatalf("round %d, service %d: %v", i, j, r.Err)
			}
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: "race-staging", Name: name}, &cm); err != nil {
			t.Fatal(err)
		}
		if len(winners) != 1 || cm.Data["by"] != winners[0] || "race/"+cm.Labels[render.LabelService] != winners[0] {
			t.Fatalf("round %d: applied by %v; the ConfigMap says %v, labelled %v", i, winners, cm.Data, cm.Labels)
		}
	}
}
