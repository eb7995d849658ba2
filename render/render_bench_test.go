package render

import (
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/pave-dev/pave/catalog"
)

func loadExample(b *testing.B) *catalog.Catalog {
	cat, err := catalog.LoadDir(exampleCatalog)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cat.Close() })
	return cat
}

// BenchmarkRenderOne renders one web-service for one environment, cold
// (a fresh cache each time).
func BenchmarkRenderOne(b *testing.B) {
	cat := loadExample(b)
	svc, _ := cat.Service("payments/checkout")
	r := New(cat, Options{})
	for b.Loop() {
		r.cache = NewCache()
		if _, err := r.Render(svc, "prod"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderExampleCatalog renders the whole example catalog cold.
func BenchmarkRenderExampleCatalog(b *testing.B) {
	cat := loadExample(b)
	for b.Loop() {
		if _, errs := New(cat, Options{}).RenderAll(""); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// syntheticExample is the example catalog plus n web-services.
func syntheticExample(b *testing.B, n int) *catalog.Catalog {
	fsys := fstest.MapFS{}
	src := loadExample(b).FS
	if err := copyFS(fsys, src); err != nil {
		b.Fatal(err)
	}
	teams := []string{"payments", "storefront", "data"}
	for i := range n {
		team := teams[i%len(teams)]
		name := fmt.Sprintf("svc-%04d", i)
		fsys[fmt.Sprintf("services/%s/%s/service.yaml", team, name)] = &fstest.MapFile{Data: fmt.Appendf(nil, `apiVersion: pave.dev/v1alpha1
kind: Service
metadata: {name: %[1]s, team: %[2]s}
spec:
  template: web-service
  image: registry.example.com/%[2]s/%[1]s:1.0.%[3]d
  port: 8080
  replicas: 2
  env: {LOG_LEVEL: info}
  secretEnv:
    DB_PASSWORD: {secret: %[1]s-db, key: password}
  ingress: {host: %[1]s.example.com}
  environments:
    staging: {replicas: 1}
    prod: {replicas: 3, size: medium}
`, name, team, i)}
	}
	cat, err := catalog.Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		b.Fatal(cat.Errors)
	}
	return cat
}

// renderParallel renders every service × environment with one worker per
// core, as the daemon does, and returns the number of renders.
func renderParallel(b *testing.B, r *Renderer, cat *catalog.Catalog, workers int) int {
	type job struct {
		svc *catalog.Service
		env string
	}
	jobs := make(chan job)
	var n atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if _, err := r.Render(j.svc, j.env); err != nil {
					b.Error(err)
				}
				n.Add(1)
			}
		})
	}
	for _, s := range cat.Services {
		for _, e := range cat.Config.EnvironmentNames() {
			jobs <- job{s, e}
		}
	}
	close(jobs)
	wg.Wait()
	return int(n.Load())
}

// BenchmarkRender1000Cold renders 1000 synthetic services × 2 environments
// from scratch on all cores (target: at least 200 renders per second).
func BenchmarkRender1000Cold(b *testing.B) {
	cat := syntheticExample(b, 1000)
	var renders int
	for b.Loop() {
		renders = renderParallel(b, New(cat, Options{}), cat, 2)
	}
	b.ReportMetric(float64(renders)*float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}

// BenchmarkRender1000Cached re-renders the same unchanged catalog from the
// cache (target: under 0.5 s). kept-B/render is the memory a kept render
// takes (compressed), json-B/render the JSON it holds, which it kept as
// is before.
func BenchmarkRender1000Cached(b *testing.B) {
	cat := syntheticExample(b, 1000)
	cache := NewCache()
	renderParallel(b, New(cat, Options{Cache: cache}), cat, 2)
	var kept, plain int
	for _, e := range cache.entries {
		data, err := cache.inflate(e.data)
		if err != nil {
			b.Fatal(err)
		}
		kept, plain = kept+len(e.data), plain+len(data)
	}
	for b.Loop() {
		renderParallel(b, New(cat, Options{Cache: cache, Revision: "next"}), cat, 2)
	}
	b.ReportMetric(float64(kept)/float64(len(cache.entries)), "kept-B/render")
	b.ReportMetric(float64(plain)/float64(len(cache.entries)), "json-B/render")
}

func copyFS(dst fstest.MapFS, src fs.FS) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		dst[p] = &fstest.MapFile{Data: data}
		return nil
	})
}

// BenchmarkRenderSizeBound renders a template whose loop would render
// 140 MB: the size bound stops it once 4 MiB are rendered. B/op is what
// the stopped render allocated (most of it garbage of the checkpoints, not
// held at once).
func BenchmarkRenderSizeBound(b *testing.B) {
	cat := testCatalog(b, map[string]string{
		checkoutFile:                         checkoutYAML,
		"templates/basic/templates/big.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  {{- range 10000000 }}\n  k: xxxxxxxx\n  {{- end }}\n",
	})
	svc, _ := cat.Service("payments/checkout")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(cat, Options{}).Render(svc, "prod"); err == nil {
			b.Fatal("render succeeded")
		}
	}
}
