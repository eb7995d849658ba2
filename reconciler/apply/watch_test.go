package apply

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestTrimKeepsHealth: the cluster's watch keeps a trimmed copy of each
// object, and the health read from it is kstatus's of the whole object,
// for every kind kstatus knows (testdata/health: workloads in each state,
// a Job, Services, a PDB, a custom resource, a terminating object), while
// what it drops (the spec and status health was computed from, labels,
// annotations) is gone.
func TestTrimKeepsHealth(t *testing.T) {
	files, err := filepath.Glob("testdata/health/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			full := readObject(t, f)
			want, err := status.Compute(full.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			trimmed, err := trimForHealth(full.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			u := trimmed.(*unstructured.Unstructured)
			got, err := healthOf(u)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != want.Status || got.Message != want.Message {
				t.Errorf("health from the trimmed copy: %s %q, from the object: %s %q", got.Status, got.Message, want.Status, want.Message)
			}
			// The informer may trim a copy again: that changes nothing.
			again, err := trimForHealth(u.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			if again, err := healthOf(again.(*unstructured.Unstructured)); err != nil || again.Status != got.Status || again.Message != got.Message {
				t.Errorf("health from a copy trimmed twice: %+v (%v), once: %+v", again, err, got)
			}
			for _, path := range [][]string{{"spec"}, {"status"}, {"metadata", "finalizers"}, {"metadata", "managedFields"}} {
				if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, path...); found {
					t.Errorf("the trimmed copy keeps %v", path)
				}
			}
			// Of labels and annotations, only those that say whose the
			// object is.
			for field, keep := range map[string][]string{"labels": ownershipLabels, "annotations": ownershipAnnotations} {
				all, _, _ := unstructured.NestedStringMap(full.Object, "metadata", field)
				kept, _, _ := unstructured.NestedStringMap(u.Object, "metadata", field)
				for k, v := range all {
					if want := slices.Contains(keep, k); want != (kept[k] == v && kept[k] != "") {
						t.Errorf("%s %s=%q kept: %v, want %v", field, k, v, !want, want)
					}
				}
			}
			if u.GetName() != full.GetName() || u.GetNamespace() != full.GetNamespace() || u.GetGeneration() != full.GetGeneration() || u.GroupVersionKind() != full.GroupVersionKind() {
				t.Errorf("the trimmed copy lost its identity: %s %s/%s generation %d", u.GroupVersionKind(), u.GetNamespace(), u.GetName(), u.GetGeneration())
			}
		})
	}
}

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return u
}
