package apply

import (
	"context"
	"testing"
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
