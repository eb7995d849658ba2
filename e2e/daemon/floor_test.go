package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
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
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

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
	return floorRun(tb, floorRender(tb, catalogDir), qps, burst, workers, ready)
}

// floorStep is when one environment's part of a floor run was done,
// counted from the run's start: its writes, then its Deployments
// available.
type floorStep struct {
	env            string
	written, ready time.Duration
	// load is where the machine's CPU and the API servers' requests went
	// during the writes (with a sample function).
	load string
}

// applyFloorChange is the floor of a change rolled out, as pave rolls it
// out, to clusters that run the catalog before it: environment after
// environment in the catalog's order, each one's changed objects applied
// (only those whose render differs between the two catalogs: the fewest
// writes a change can take) and then waited for until every Deployment of
// its cluster is available at its new generation, before the next
// environment's writes start (the promotion gate, with no soak). The
// change marks every Deployment with an annotation (key: value), and its
// writes are timed as pave's are: until a watch of the cluster saw them
// all.
func applyFloorChange(tb testing.TB, beforeDir, afterDir, key, value string, qps float32, burst, workers int, sample func() loadSample) (steps []floorStep, changed int) {
	tb.Helper()
	cat, err := catalog.Load(os.DirFS(afterDir))
	if err != nil {
		tb.Fatal(err)
	}
	before, after := floorRender(tb, beforeDir), floorRender(tb, afterDir)
	diff := map[string][]*unstructured.Unstructured{}
	for cluster, objs := range after {
		old := map[string]string{}
		for _, o := range before[cluster] {
			data, _ := json.Marshal(o.Object)
			old[o.GroupVersionKind().String()+"/"+o.GetNamespace()+"/"+o.GetName()] = string(data)
		}
		for _, o := range objs {
			data, _ := json.Marshal(o.Object)
			if old[o.GroupVersionKind().String()+"/"+o.GetNamespace()+"/"+o.GetName()] != string(data) {
				diff[cluster] = append(diff[cluster], o)
				changed++
			}
		}
	}
	start := time.Now()
	for _, env := range cat.Config.Environments {
		var before loadSample
		if sample != nil {
			before = sample()
		}
		deployments := 0
		for _, o := range diff[env.Cluster] {
			if o.GetKind() == "Deployment" {
				deployments++
			}
		}
		clock := watchAnnotation(tb, []string{env.Cluster}, deployments, key, value, sample)
		floorRun(tb, map[string][]*unstructured.Unstructured{env.Cluster: diff[env.Cluster]}, qps, burst, workers, false)
		waitFor(tb, time.Minute, "floor: every change seen in "+env.Cluster, func() (bool, string) {
			time.Sleep(10 * time.Millisecond)
			return clock.saw(env.Cluster), "not yet"
		})
		at, loads := clock.times()
		step := floorStep{env: env.Name, written: clock.start.Sub(start) + at[env.Cluster]}
		if sample != nil {
			step.load = loads[env.Cluster].since(before)
		}
		floorWaitReady(tb, map[string][]*unstructured.Unstructured{env.Cluster: after[env.Cluster]})
		step.ready = time.Since(start)
		steps = append(steps, step)
	}
	return steps, changed
}

// annotationClock records when every Deployment pave renders in each
// cluster carries an annotation's value, from a metadata watch of the
// Deployments per cluster (a watch, not lists: the clock adds next to no
// load to the API servers it measures): when a change's writes have all
// reached the API server, whatever pave reports of them. With sample, it
// also takes a load sample at each cluster's moment.
type annotationClock struct {
	start time.Time
	stop  chan struct{}
	mu    sync.Mutex
	at    map[string]time.Duration
	loads map[string]loadSample
}

func watchAnnotation(tb testing.TB, clusters []string, want int, key, value string, sample func() loadSample) *annotationClock {
	tb.Helper()
	c := &annotationClock{start: time.Now(), stop: make(chan struct{}), at: map[string]time.Duration{}, loads: map[string]loadSample{}}
	for _, cluster := range clusters {
		client, err := metadata.NewForConfig(rest.CopyConfig(testcluster.ConfigFor(tb, cluster)))
		if err != nil {
			tb.Fatal(err)
		}
		informer := metadatainformer.NewFilteredMetadataInformer(client, appsv1.SchemeGroupVersion.WithResource("deployments"), metav1.NamespaceAll, 0,
			cache.Indexers{}, func(o *metav1.ListOptions) { o.LabelSelector = render.LabelTeam }).Informer()
		var mu sync.Mutex
		marked := map[string]bool{}
		see := func(obj any) {
			m, ok := obj.(*metav1.PartialObjectMetadata)
			if !ok || m.Annotations[key] != value {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if marked[m.Namespace+"/"+m.Name] {
				return
			}
			marked[m.Namespace+"/"+m.Name] = true
			if len(marked) != want {
				return
			}
			took := time.Since(c.start)
			var load loadSample
			if sample != nil {
				load = sample()
			}
			c.mu.Lock()
			c.at[cluster], c.loads[cluster] = took, load
			c.mu.Unlock()
		}
		if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: see, UpdateFunc: func(_, o any) { see(o) }}); err != nil {
			tb.Fatal(err)
		}
		go informer.Run(c.stop)
	}
	return c
}

// saw reports whether the clock saw all of a cluster's Deployments carry
// the value.
func (c *annotationClock) saw(cluster string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.at[cluster]
	return ok
}

// times stops the clock and returns when each cluster had them all (a
// cluster missing from it never did), and the load samples taken then.
func (c *annotationClock) times() (map[string]time.Duration, map[string]loadSample) {
	close(c.stop)
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.at), maps.Clone(c.loads)
}

// floorRender renders every service of a catalog in every environment,
// by cluster.
func floorRender(tb testing.TB, catalogDir string) map[string][]*unstructured.Unstructured {
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
	return byCluster
}

// floorRun applies the objects of each cluster, both clusters at once,
// and with ready waits for every Deployment to be available.
func floorRun(tb testing.TB, byCluster map[string][]*unstructured.Unstructured, qps float32, burst, workers int, ready bool) (applied, healthy time.Duration) {
	tb.Helper()
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
	floorWaitReady(tb, byCluster)
	return applied, time.Since(start)
}

// floorWaitReady waits, with one list of the Deployments per cluster each
// second, until every Deployment among the objects is available (kstatus
// Current: its latest generation observed and rolled out).
func floorWaitReady(tb testing.TB, byCluster map[string][]*unstructured.Unstructured) {
	tb.Helper()
	ctx := context.Background()
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

// BenchmarkFloorQPS applies the bench catalog (PAVE_BENCH_SERVICES
// web-services, default 1000, in both clusters) with the floor's client at
// several client-side limits, and reports each one's time as a ratio to the
// unlimited one: the measurement pave's --qps and --burst defaults come
// from (docs/operations.md).
// Run it alone: go test ./e2e/daemon -run '^$' -bench FloorQPS -benchtime 1x -timeout 60m
func BenchmarkFloorQPS(b *testing.B) {
	size := 1000
	if n, err := strconv.Atoi(os.Getenv("PAVE_BENCH_SERVICES")); err == nil && n > 0 {
		size = n
	}
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../catalog-repo-example")); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "services"))
	os.RemoveAll(filepath.Join(dir, "exceptions"))
	teams := []string{"payments", "storefront", "data"}
	for j := range size {
		team, name := teams[j%3], fmt.Sprintf("q-svc-%04d", j)
		file := filepath.Join(dir, "services", team, name, "service.yaml")
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, fmt.Appendf(nil, "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: %s, team: %s}\nspec:\n  template: web-service\n  image: registry.example.com/%s/%s:1.0.0\n  port: 8080\n  replicas: 2\n", name, team, team, name), 0o644)
	}
	limits := []struct {
		qps   float32
		burst int
	}{{50, 100}, {100, 200}, {200, 400}, {500, 1000}, {-1, 0}} // -1: no client-side limit
	took := map[float32]time.Duration{}
	for i := 0; i < b.N; i++ {
		for _, l := range limits {
			resetClusters(b)
			took[l.qps] = applyFloor(b, dir, l.qps, l.burst, 16)
		}
	}
	for _, l := range limits {
		name := fmt.Sprintf("qps%.0f", l.qps)
		if l.qps < 0 {
			name = "unlimited"
		}
		b.ReportMetric(took[l.qps].Seconds(), name+"-s")
		b.ReportMetric(took[l.qps].Seconds()/took[-1].Seconds(), name+"/unlimited")
	}
}
