package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestInventoriesListedInPages: a cluster's inventories are listed a page
// at a time; the pages together hold every inventory once, as one request
// would, and a shard's list keeps its share's and names the others.
func TestInventoriesListedInPages(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx := context.Background()
	c := f.client(t, "staging")
	team := "pages"
	for i := range 7 {
		inv := &Inventory{Team: team, Service: fmt.Sprintf("svc-%d", i), Environment: "staging", Revision: "r1", LastApplied: time.Now().UTC().Truncate(time.Second)}
		if err := writeInventory(ctx, c, inv, false); err != nil {
			t.Fatal(err)
		}
	}
	names := func(invs []*Inventory) []string {
		var out []string
		for _, inv := range invs {
			out = append(out, inventoryName(inv.Team, inv.Service, inv.Environment))
		}
		slices.Sort(out)
		return out
	}
	whole, _, err := listInventoryPages(ctx, c, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	lists := f.counters["staging"].inventoryLists.Load()
	paged, left, err := listInventoryPages(ctx, c, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n, want := f.counters["staging"].inventoryLists.Load()-lists, int64(len(whole)+1)/2; n != want {
		t.Errorf("%d inventories listed in %d requests, want %d (pages of 2)", len(whole), n, want)
	}
	if !slices.Equal(names(paged), names(whole)) || len(left) > 0 {
		t.Errorf("listed in pages of 2: %v (left %v), in one request: %v", names(paged), left, names(whole))
	}
	if n := len(slices.DeleteFunc(names(paged), func(s string) bool { return !strings.Contains(s, team) })); n != 7 {
		t.Errorf("the pages hold %d of the 7 inventories written", n)
	}

	odd := func(tm, service string) bool { return tm == team && strings.TrimPrefix(service, "svc-")[0]%2 == 1 }
	kept, left, err := listInventoryPages(ctx, c, odd, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(kept), []string{inventoryName(team, "svc-1", "staging"), inventoryName(team, "svc-3", "staging"), inventoryName(team, "svc-5", "staging")}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if len(kept)+len(left) != len(whole) || slices.Contains(left, inventoryName(team, "svc-1", "staging")) || !slices.Contains(left, inventoryName(team, "svc-0", "staging")) {
		t.Errorf("left out %v of %d listed, with %d kept", left, len(whole), len(kept))
	}
}
