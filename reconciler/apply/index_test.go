package apply

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestIndexOfAShareReadsTheOthersFromTheCluster: a shard keeps in memory
// the inventories of its own share only (LoadInventoriesOf); a service
// the list left out (another shard's, which may become this one's before
// the next list) is not taken for one without an inventory: its
// inventory is read from the cluster, so an unchanged render is still
// known unchanged, and a changed one writes only what changed.
func TestIndexOfAShareReadsTheOthersFromTheCluster(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx := context.Background()
	services := map[string]string{
		"share/kept":  webService("registry.example.com/share/kept:1.0.0", ""),
		"share/other": webService("registry.example.com/share/other:1.0.0", ""),
	}
	apply := func(r Round, keep func(team, service string) bool) map[string]*Result {
		out := map[string]*Result{}
		for _, a := range f.Appliers {
			invs, err := a.LoadInventoriesOf(ctx, keep)
			if err != nil {
				t.Fatal(err)
			}
			for _, inv := range invs {
				if keep != nil && !keep(inv.Team, inv.Service) {
					t.Errorf("%s: LoadInventoriesOf returned %s/%s, which keep leaves out", a.Cluster.Name, inv.Team, inv.Service)
				}
			}
		}
		for _, res := range r.Rendered {
			a := f.Appliers[res.Environment]
			budget, err := a.NewPruneBudget(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			out[res.Service+"@"+res.Environment] = a.Apply(ctx, r.Config, res, false, budget)
		}
		return out
	}
	for _, res := range apply(round(t, testCatalog(t, services)), nil) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}

	onlyKept := func(_, service string) bool { return service == "kept" }
	for id, res := range apply(round(t, testCatalog(t, services)), onlyKept) {
		if res.Err != nil || !res.Skipped {
			t.Errorf("%s unchanged after a list that left %s out: skipped %t, err %v, changes %v", id, "share/other", res.Skipped, res.Err, actions(res))
		}
	}
	services["share/other"] = webService("registry.example.com/share/other:1.1.0", "")
	for id, res := range apply(round(t, testCatalog(t, services)), onlyKept) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if res.Service != "share/other" {
			continue
		}
		for obj, act := range actions(res) {
			want := "unchanged"
			if obj == "Deployment/other" {
				want = "configured"
			}
			if string(act) != want {
				t.Errorf("%s: %s %s, want %s (its inventory read from the cluster, not taken as none)", id, obj, act, want)
			}
		}
	}
}

// TestInventoryWriteOfAnExistingOne: an inventory the cluster holds is
// written with a merge patch of pave's labels and data: what changed is
// written, a key the new one lacks (digests) is removed, what someone else
// added to the ConfigMap stays; one deleted meanwhile is created again.
func TestInventoryWriteOfAnExistingOne(t *testing.T) {
	ctx := context.Background()
	a, _ := stateApplier(t, "prod")
	c := a.Cluster.Client
	team, service := "inv", strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))
	t.Cleanup(func() { _ = deleteInventory(context.Background(), c, team, service, "prod") })
	inv := &Inventory{Team: team, Service: service, Environment: "prod", Hash: "h1", Revision: "r1",
		Objects: []ObjectRef{{Version: "v1", Kind: "Service", Namespace: "ns", Name: service}}, Digests: map[string]string{"/Service/ns/" + service: "d1"}}
	if err := writeInventory(ctx, c, inv, false); err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: SystemNamespace, Name: inventoryName(team, service, "prod")}
	if err := c.Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Labels["example.com/owner"] = "platform"
	cm.Annotations = map[string]string{"example.com/note": "kept"}
	if err := c.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}

	next := inv.clone()
	next.Hash, next.Revision, next.Digests = "h2", "r2", nil
	next.Objects = append(next.Objects, ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: service})
	if err := writeInventory(ctx, c, next, true); err != nil {
		t.Fatal(err)
	}
	cm = corev1.ConfigMap{}
	if err := c.Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	got, err := inventoryFromConfigMap(&cm)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != "h2" || got.Revision != "r2" || len(got.Objects) != 2 || got.Digests != nil {
		t.Errorf("after the patch: hash %q, revision %q, %d objects, digests %v; want h2, r2, 2 objects, no digests", got.Hash, got.Revision, len(got.Objects), got.Digests)
	}
	if cm.Labels["example.com/owner"] != "platform" || cm.Annotations["example.com/note"] != "kept" || cm.Labels[LabelInventory] != "true" {
		t.Errorf("after the patch: labels %v, annotations %v; want pave's and the ones added kept", cm.Labels, cm.Annotations)
	}

	if err := deleteInventory(ctx, c, team, service, "prod"); err != nil {
		t.Fatal(err)
	}
	next.Revision = "r3"
	if err := writeInventory(ctx, c, next, true); err != nil {
		t.Fatalf("an inventory deleted meanwhile is not created again: %v", err)
	}
	if back, err := readInventory(ctx, c, team, service, "prod"); err != nil || back == nil || back.Revision != "r3" {
		t.Errorf("after a write of one deleted meanwhile: %+v, %v; want revision r3", back, err)
	}
}
