package localcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestExcludeUnreadyNarrowsPodReady(t *testing.T) {
	in := []byte(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
  next:
    statusTemplate: |
      phase: Running
`)
	out, err := excludeUnready(in)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Spec struct {
			Selector struct {
				MatchExpressions []struct {
					Key      string   `json:"key"`
					Operator string   `json:"operator"`
					Values   []string `json:"values"`
				} `json:"matchExpressions"`
			} `json:"selector"`
			Next struct {
				StatusTemplate string `json:"statusTemplate"`
			} `json:"next"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	exprs := got.Spec.Selector.MatchExpressions
	if len(exprs) != 2 {
		t.Fatalf("got %d expressions, want 2:\n%s", len(exprs), out)
	}
	last := exprs[1]
	if last.Key != `.metadata.annotations["`+UnreadyAnnotation+`"]` || last.Operator != "NotIn" ||
		len(last.Values) != 1 || last.Values[0] != "true" {
		t.Errorf("added expression = %+v", last)
	}
	if got.Spec.Next.StatusTemplate != "phase: Running\n" {
		t.Errorf("status template changed: %q", got.Spec.Next.StatusTemplate)
	}
}

func TestRequiredVersion(t *testing.T) {
	goMod := filepath.Join(t.TempDir(), "go.mod")
	data := `module example.com/tools

go 1.26.8

require go.etcd.io/etcd/server/v3 v3.7.0

require (
	k8s.io/kubernetes v1.37.2 // indirect
)

replace (
	k8s.io/api => k8s.io/api v0.37.2
)
`
	if err := os.WriteFile(goMod, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	for module, want := range map[string]string{
		"go.etcd.io/etcd/server/v3": "v3.7.0",
		"k8s.io/kubernetes":         "v1.37.2",
	} {
		if got, err := requiredVersion(goMod, module); err != nil || got != want {
			t.Errorf("requiredVersion(%s) = %q, %v; want %q", module, got, err, want)
		}
	}
	if _, err := requiredVersion(goMod, "k8s.io/api"); err == nil || !strings.Contains(err.Error(), "no require line") {
		t.Errorf("a replace line counted as a requirement: %v", err)
	}
}

// The pinned versions of the real tools modules resolve to the directories
// e2e/tools/build.sh writes.
func TestReadToolVersions(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := readToolVersions(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, ver := range map[string]string{"kubernetes": v.kubernetes, "etcd": v.etcd, "kwok": v.kwok} {
		if !strings.HasPrefix(ver, "v") {
			t.Errorf("%s version %q", name, ver)
		}
	}
}
