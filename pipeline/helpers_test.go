package pipeline_test

import (
	"context"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

const exampleCatalog = "../catalog-repo-example"

const testConfig = `apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
  - {name: prod, cluster: prod}
teams:
  - {name: payments, owners: [a@example.com]}
registries: [registry.example.com]
owners: [platform@example.com]
`

// exampleWith is the example catalog with some files replaced.
func exampleWith(t testing.TB, files map[string]string) *catalog.Catalog {
	t.Helper()
	fsys := fstest.MapFS{}
	if err := copyFS(fsys, os.DirFS(exampleCatalog)); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	cat, err := catalog.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// copyFS copies a file system into a MapFS.
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

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func deploymentObject(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"replicas": int64(2)},
	}}
}

// runCatalog runs the pipeline over a catalog with its own policies.
func runCatalog(t testing.TB, cat *catalog.Catalog, opts pipeline.Options) *pipeline.Run {
	t.Helper()
	e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.New(cat, render.New(cat, render.Options{}), e).Run(context.Background(), opts)
}

// checkCatalog is what pave check reports on a catalog.
func checkCatalog(t testing.TB, cat *catalog.Catalog, opts pipeline.Options) *report.Report {
	t.Helper()
	return report.FromRun(runCatalog(t, cat, opts))
}

// label names a result as the text format does.
func label(r *report.Result) string {
	if r.Environment == "" {
		return r.Service
	}
	return r.Service + " (" + r.Environment + ")"
}
