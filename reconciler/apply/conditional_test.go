package apply

import (
	"context"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/ssa"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// TestChangedServiceIsCheckedFromTheWatch: with the cluster's watch
// running, a changed service's objects are not read before they are
// written (their owner and version come from the watch), and the write
// is conditional on that version: an object whose owner changed after
// the version checked is refused, not overwritten, and one changed in a
// way that keeps its owner is checked again and written.
func TestChangedServiceIsCheckedFromTheWatch(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// As the daemon runs: one watch per cluster for as long as it runs
	// (pave apply's Fleet starts one per round).
	for _, a := range f.Appliers {
		if _, err := a.LoadInventories(ctx); err != nil {
			t.Fatal(err)
		}
		stop, err := a.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	apply := func(r Round) []*Result {
		var results []*Result
		for _, res := range r.Rendered {
			a := f.Appliers[res.Environment]
			budget, err := a.NewPruneBudget(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, a.Apply(ctx, r.Config, res, false, budget))
		}
		return results
	}
	services := map[string]string{"cond/api": webService("registry.example.com/cond/api:1.0.0", "")}
	mustSucceed(t, apply(round(t, testCatalog(t, services))), HealthReady)

	// An image change: the Deployment is written without a read.
	services["cond/api"] = webService("registry.example.com/cond/api:1.1.0", "")
	reads, writes := f.objectReads(), f.writes()
	results := apply(round(t, testCatalog(t, services)))
	mustSucceed(t, results, HealthReady)
	for _, res := range results {
		if a := actions(res)["Deployment/api"]; a != ssa.ConfiguredAction {
			t.Errorf("%s: Deployment/api %s, want configured", res.Environment, a)
		}
	}
	// Health reads nothing either (the watch has the Deployment).
	if n := f.objectReads() - reads; n != 0 {
		t.Errorf("the image change read %d objects, want none (their owner is in the watch)", n)
	}
	if n := f.writes() - writes; n != 2*int64(len(results)) {
		t.Errorf("the image change sent %d writes to %d clusters, want the Deployment and the inventory in each", n, len(results))
	}

	// The conditional write itself, against versions the watch could
	// have held a moment before.
	a := f.Appliers["staging"]
	c := a.Cluster.Client
	key := client.ObjectKey{Namespace: "cond-staging", Name: "api"}
	res := round(t, testCatalog(t, services)).Rendered
	var rendered *unstructured.Unstructured
	for _, r := range res {
		if r.Environment != "staging" {
			continue
		}
		for _, o := range r.Objects {
			if o.GetKind() == "Deployment" {
				rendered = o
			}
		}
		checked, err := a.readLive(ctx, []*unstructured.Unstructured{rendered}, false)
		if err != nil {
			t.Fatal(err)
		}
		recheck := a.recheckOwner(r, nil)

		// Changed by someone else, owner kept: checked again, written.
		var d appsv1.Deployment
		// (Read and written again if the Deployment controller wrote its
		// status in between.)
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := c.Get(ctx, key, &d); err != nil {
				return err
			}
			d.Annotations["example.com/touched"] = "yes"
			return c.Update(ctx, &d)
		}); err != nil {
			t.Fatal(err)
		}
		out := &Result{}
		if err := applyDirect(ctx, c, []*unstructured.Unstructured{rendered}, ssa.ConfiguredAction, out, checked, recheck); err != nil {
			t.Fatalf("a write after a change that kept the owner: %v", err)
		}

		// Handed to another service after the version checked: refused,
		// and left as it is.
		checked, err = a.readLive(ctx, []*unstructured.Unstructured{rendered}, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := c.Get(ctx, key, &d); err != nil {
				return err
			}
			d.Labels[render.LabelService] = "other"
			d.Spec.Template.Spec.Containers[0].Image = "registry.example.com/cond/other:9"
			return c.Update(ctx, &d)
		}); err != nil {
			t.Fatal(err)
		}
		err = applyDirect(ctx, c, []*unstructured.Unstructured{rendered}, ssa.ConfiguredAction, &Result{}, checked, recheck)
		if err == nil || !strings.Contains(err.Error(), "cond/other") && !strings.Contains(err.Error(), "other") {
			t.Fatalf("a write after the object changed owner: %v, want a refusal", err)
		}
		if err := c.Get(ctx, key, &d); err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/cond/other:9" || d.Labels[render.LabelService] != "other" {
			t.Errorf("the other service's Deployment was overwritten: image %s, service %s", img, d.Labels[render.LabelService])
		}
	}
}
