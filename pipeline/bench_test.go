package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

// BenchmarkLoad compiles the example catalog's policy bundle (20 policies,
// their unit tests and helpers).
func BenchmarkLoad(b *testing.B) {
	cat := exampleWith(b, nil)
	for b.Loop() {
		if _, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate evaluates every policy over one rendered web service
// in prod (target: p50 under 1 ms).
func BenchmarkEvaluate(b *testing.B) {
	cat := exampleWith(b, nil)
	e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		b.Fatal(err)
	}
	svc, _ := cat.Service("payments/checkout")
	res, err := render.New(cat, render.Options{}).Render(svc, "prod")
	if err != nil {
		b.Fatal(err)
	}
	in := policy.Input{Service: svc, Environment: "prod", Namespace: res.Namespace, Objects: res.Objects}
	ctx := context.Background()
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		if r := e.Evaluate(ctx, in); r.Status != policy.StatusPass {
			b.Fatalf("%+v", r)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkCheck1000 checks 1000 synthetic services in both environments
// end to end: render (cold) and evaluate on all cores (target: under 10 s).
func BenchmarkCheck1000(b *testing.B) {
	files := map[string]string{}
	teams := []string{"payments", "storefront", "data"}
	for i := range 1000 {
		team := teams[i%len(teams)]
		name := fmt.Sprintf("svc-%04d", i)
		// A host in the team's domains (pave.yaml); data has none.
		ingress := map[string]string{
			"payments":   fmt.Sprintf("  ingress: {host: %s.checkout.example.com}\n", name),
			"storefront": fmt.Sprintf("  ingress: {host: %s.shop.example.com}\n", name),
		}[team]
		files[fmt.Sprintf("services/%s/%s/service.yaml", team, name)] = fmt.Sprintf(`apiVersion: pave.dev/v1alpha1
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
%[4]s  environments:
    staging: {replicas: 1}
    prod: {replicas: 3, size: medium}
`, name, team, i, ingress)
	}
	cat := exampleWith(b, files)
	if len(cat.Errors) > 0 {
		b.Fatal(cat.Errors)
	}
	for b.Loop() {
		e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
		if err != nil {
			b.Fatal(err)
		}
		rep := report.FromRun(pipeline.New(cat, render.New(cat, render.Options{}), e).Run(context.Background(), pipeline.Options{}))
		if rep.Failed() || len(rep.Results) != 2*len(cat.Services) {
			b.Fatalf("%+v", rep.Summary())
		}
	}
}
