package apply

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/render"
)

// BenchmarkApply1000 applies 1000 synthetic web-services (about 6 objects
// each) to the staging cluster cold, then runs a no-op round and a full
// drift-checking resync of the same, and reports each phase's seconds, the
// writes of the no-op round, and pave's resident memory. Targets on 2
// cores: cold under 90 s, no-op under 5 s with zero writes, under 300 MiB.
// Run it alone: go test ./reconciler/apply -run '^$' -bench Apply1000 -benchtime 1x
func BenchmarkApply1000(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		services := map[string]string{}
		for j := range n {
			team := fmt.Sprintf("bench%d-t%d", i, j%10)
			services[fmt.Sprintf("%s/svc-%04d", team, j)] = webService(fmt.Sprintf("registry.example.com/bench/svc-%04d:1.0.0", j), "  env: {LOG_LEVEL: info}\n")
		}
		cat := testCatalog(b, services)
		results, errs := render.New(cat, render.Options{Revision: "bench"}).RenderAll("staging")
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		objects := 0
		for _, r := range results {
			objects += len(r.Objects)
		}
		opts := DefaultOptions()
		opts.Wait = false
		f := newBenchFleet(b, opts)
		r := Round{Config: cat.Config, Rendered: results, Environments: []string{"staging"}}

		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		check(b, f.Reconcile(ctx, r))
		cold := time.Since(start)

		before := f.writes()
		start = time.Now()
		check(b, f.Reconcile(ctx, r))
		noop := time.Since(start)
		noopWrites := f.writes() - before

		r.Resync = true
		start = time.Now()
		check(b, f.Reconcile(ctx, r))
		resync := time.Since(start)
		b.StopTimer()

		b.ReportMetric(float64(objects)/float64(n), "objects/service")
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(noop.Seconds(), "noop-s")
		b.ReportMetric(float64(noopWrites), "noop-writes")
		b.ReportMetric(resync.Seconds(), "resync-s")
		b.ReportMetric(float64(rssKiB())/1024, "rss-MiB")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	}
}

func check(b *testing.B, results []*Result) {
	b.Helper()
	for _, r := range results {
		if r.Err != nil {
			b.Fatalf("%s: %v", r.Service, r.Err)
		}
	}
}

func newBenchFleet(b *testing.B, opts Options) *testFleet {
	f := newFleet(b, opts)
	f.Concurrency = 16
	for _, a := range f.Appliers {
		a.Cluster.Config.QPS, a.Cluster.Config.Burst = 1000, 2000
	}
	// Clients with the benchmark's QPS.
	for name, a := range f.Appliers {
		c, err := NewCluster(name, a.Cluster.Config, ClusterOptions{QPS: 1000, Burst: 2000, Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		a.Cluster = c
	}
	return f
}

// rssKiB reads this process's resident set size.
func rssKiB() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

// BenchmarkWatchedCopy reports the memory one Deployment takes in a
// cluster's watch (trimForHealth's copy, its maps and strings kept alive)
// against the whole object as the API server sends it
// (testdata/watch/deployment-live.json): the watch holds every object pave
// applied, so this is pave's memory per Deployment.
func BenchmarkWatchedCopy(b *testing.B) {
	data, err := os.ReadFile("testdata/watch/deployment-live.json")
	if err != nil {
		b.Fatal(err)
	}
	const n = 20000
	retained := func(keep func(*unstructured.Unstructured) any) float64 {
		kept := make([]any, n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range kept {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
			kept[i] = keep(u)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	var whole, watched float64
	for i := 0; i < b.N; i++ {
		whole = retained(func(u *unstructured.Unstructured) any { return u })
		watched = retained(func(u *unstructured.Unstructured) any {
			t, err := trimForHealth(u)
			if err != nil {
				b.Fatal(err)
			}
			return t
		})
	}
	b.ReportMetric(whole, "B/whole-object")
	b.ReportMetric(watched, "B/watched-copy")
	b.ReportMetric(watched/whole, "watched/whole")
}
