package catalog

import (
	"fmt"
	"testing"
	"testing/fstest"
)

// syntheticCatalog is the test catalog with n services spread over its
// teams, each with overrides, env and secretEnv like a real service.
func syntheticCatalog(b testing.TB, n int) fstest.MapFS {
	fsys := testCatalog(b)
	teams := []string{"payments", "storefront"}
	for i := range n {
		team := teams[i%len(teams)]
		name := fmt.Sprintf("svc-%04d", i)
		fsys[fmt.Sprintf("services/%s/%s/service.yaml", team, name)] = &fstest.MapFile{Data: fmt.Appendf(nil, `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: %[1]s
  team: %[2]s
spec:
  template: web-service
  image: registry.example.com/%[2]s/%[1]s:1.0.%[3]d
  port: 8080
  size: small
  replicas: 2
  env:
    LOG_LEVEL: info
  secretEnv:
    DB_PASSWORD: {secret: %[1]s-db, key: password}
  ingress:
    host: %[1]s.example.com
  environments:
    staging: {replicas: 1}
    prod: {replicas: 3, size: medium}
`, name, team, i)}
	}
	return fsys
}

// BenchmarkLoad1000 loads a catalog of 1000 services (target: under 1 s).
func BenchmarkLoad1000(b *testing.B) {
	fsys := syntheticCatalog(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		cat, err := Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(cat.Services) != 1000 || len(cat.Errors) > 0 {
			b.Fatalf("loaded %d services, %d errors", len(cat.Services), len(cat.Errors))
		}
	}
}
