package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/render"
)

// applyFloor applies what a catalog renders for every service in every
// environment with the plainest fast client there is: one server-side
// apply per object, workers at a time per cluster and both clusters at
// once, Namespaces first; no inventory, no ownership or scope checks, no
// diff, no health. Its time is the API servers' ceiling on this machine,
// measured in the same run as pave and with the same client limits: the
// floor pave's figures are divided by. Rendering is done before the clock
// starts.
func applyFloor(tb testing.TB, catalogDir string, qps float32, burst, workers int) time.Duration {
	applied, _ := applyFloorReady(tb, catalogDir, qps, burst, workers, false)
	return applied
}

// applyFloorReady is applyFloor, and with ready it then waits, with one
// list of the Deployments per cluster each second, until every one is
// available: the floor of a first sync that measures health.
func applyFloorReady(tb testing.TB, catalogDir string, qps float32, burst, workers int, ready bool) (applied, healthy time.Duration) {
	tb.Helper()
	cat, err := catalog.Load(os.DirFS(catalogDir))
	if err != nil {
		tb.Fatal(err)
	}
	rnd := render.New(cat, render.Options{})
	byCluster := map[string][]*unstructured.Unstructured{}
	for _, env := range cat.Config.Environments {
		results, errs := rnd.RenderAll(env.Name)
		if len(errs) > 0 {
			tb.Fatalf("render for the floor: %v", errs[0])
		}
		for _, res := range results {
			byCluster[env.Cluster] = append(byCluster[env.Cluster], res.Objects...)
		}
	}
	ctx := context.Background()
	start := time.Now()
	var clusters errgroup.Group
	for cluster, objs := range byCluster {
		cfg := rest.CopyConfig(testcluster.ConfigFor(tb, cluster))
		cfg.QPS, cfg.Burst = qps, burst
		clusters.Go(func() error { return floorApply(ctx, cfg, objs, workers) })
	}
	if err := clusters.Wait(); err != nil {
		tb.Fatalf("floor apply: %v", err)
	}
	applied = time.Since(start)
	if !ready {
		return applied, 0
	}
	for cluster, objs := range byCluster {
		want := 0
		for _, o := range objs {
			if o.GetKind() == "Deployment" {
				want++
			}
		}
		cfg := rest.CopyConfig(testcluster.ConfigFor(tb, cluster))
		client, err := dynamic.NewForConfig(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		deployments := client.Resource(appsv1.SchemeGroupVersion.WithResource("deployments"))
		waitFor(tb, 60*time.Minute, "floor: deployments available in "+cluster, func() (bool, string) {
			list, err := deployments.List(ctx, metav1.ListOptions{LabelSelector: render.LabelTeam})
			if err != nil {
				return false, err.Error()
			}
			n := 0
			for _, d := range list.Items {
				res, err := status.Compute(&d)
				if err == nil && res.Status == status.CurrentStatus {
					n++
				}
			}
			if n < want {
				time.Sleep(time.Second)
			}
			return n >= want, fmt.Sprintf("%d of %d available", n, want)
		})
	}
	return applied, time.Since(start)
}

func floorApply(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured, workers int) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	apply := func(o *unstructured.Unstructured) error {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		data, err := json.Marshal(o.Object)
		if err != nil {
			return err
		}
		force := true
		_, err = client.Resource(m.Resource).Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "floor", Force: &force})
		return err
	}
	// Namespaces (and anything cluster-scoped) first, then the rest.
	var first, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetNamespace() == "" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	for _, batch := range [][]*unstructured.Unstructured{first, rest} {
		var g errgroup.Group
		g.SetLimit(workers)
		for _, o := range batch {
			g.Go(func() error { return apply(o) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}
