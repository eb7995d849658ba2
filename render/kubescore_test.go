package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// kubeScoreSkips are the kube-score checks the example catalog's golden
// paths do not follow, each with the reason. applies limits a skip to some
// objects ("namespace/name"); nil is every object.
var kubeScoreSkips = map[string]struct {
	reason  string
	applies func(namespace, name string) bool
}{
	"container-image-pull-policy": {
		reason: "images are pinned to a tag or digest (policy image-tag-pinned), so IfNotPresent pulls what Always would; Always makes every pod start depend on the registry",
	},
	"deployment-has-host-podantiaffinity": {
		reason: "the pods are spread over nodes by topologySpreadConstraints on kubernetes.io/hostname, which kube-score's own pod-topology-spread-constraints check passes; this check knows only podAntiAffinity",
	},
	"deployment-replicas": {
		reason:  "a service runs one replica in staging when it says so; prod's minimum is policy prod-min-replicas'",
		applies: func(namespace, _ string) bool { return strings.HasSuffix(namespace, "-staging") },
	},
	"container-security-context-readonlyrootfilesystem": {
		reason: "report-builder's patch makes its root file system writable, under the approved exception exceptions/data/report-builder.yaml; the golden path sets it read-only",
		applies: func(namespace, name string) bool {
			return strings.HasPrefix(namespace, "data-") && name == "report-builder"
		},
	},
}

// kubeScoreResult is the part of kube-score's JSON output (v2) the test reads.
type kubeScoreResult struct {
	ObjectMeta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"object_meta"`
	TypeMeta struct {
		Kind string `json:"kind"`
	} `json:"type_meta"`
	Checks []struct {
		Check struct {
			ID string `json:"id"`
		} `json:"check"`
		Grade    int  `json:"grade"`
		Skipped  bool `json:"skipped"`
		Comments []struct {
			Path    string `json:"path"`
			Summary string `json:"summary"`
		} `json:"comments"`
	} `json:"checks"`
}

// TestExampleCatalogKubeScore has kube-score, an independent judge of
// Kubernetes manifests, score every service of the example catalog as
// rendered in every environment: nothing may be graded a warning or
// critical but what kubeScoreSkips explains.
func TestExampleCatalogKubeScore(t *testing.T) {
	bin := kubeScoreBinary(t)
	cat := loadExampleCatalog(t)
	results, errs := New(cat, Options{}).RenderAll("")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	dir := t.TempDir()
	args := []string{"score", "--output-format", "json", "--kubernetes-version", "v1.37",
		"--disable-ignore-checks-annotations", "--disable-optional-checks-annotations"}
	for _, r := range results {
		file := filepath.Join(dir, r.Environment+"-"+r.Team+"-"+r.Name+".yaml")
		if err := os.WriteFile(file, r.YAML(), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// kube-score exits 1 when it grades anything critical: the output says what.
	if err := cmd.Run(); err != nil && stdout.Len() == 0 {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	var scored []kubeScoreResult
	if err := json.Unmarshal(stdout.Bytes(), &scored); err != nil {
		t.Fatalf("kube-score's output: %v\n%s", err, stdout.String())
	}
	if len(scored) == 0 {
		t.Fatal("kube-score scored no object")
	}
	var found []string
	skipped := map[string]bool{}
	for _, o := range scored {
		for _, c := range o.Checks {
			// 5 is kube-score's warning, 1 critical.
			if c.Skipped || c.Grade > 5 {
				continue
			}
			if s, ok := kubeScoreSkips[c.Check.ID]; ok && (s.applies == nil || s.applies(o.ObjectMeta.Namespace, o.ObjectMeta.Name)) {
				skipped[c.Check.ID] = true
				continue
			}
			var summaries []string
			for _, cm := range c.Comments {
				summaries = append(summaries, strings.TrimSpace(cm.Path+" "+cm.Summary))
			}
			found = append(found, fmt.Sprintf("%s %s/%s: [%s] %s", o.TypeMeta.Kind, o.ObjectMeta.Namespace, o.ObjectMeta.Name, c.Check.ID, strings.Join(summaries, "; ")))
		}
	}
	slices.Sort(found)
	if len(found) > 0 {
		t.Errorf("kube-score finds in the example catalog's renders (fix the template, or add the check to kubeScoreSkips with the reason):\n%s", strings.Join(found, "\n"))
	}
	for id := range kubeScoreSkips {
		if !skipped[id] {
			t.Errorf("kube-score no longer finds %s: remove it from kubeScoreSkips", id)
		}
	}
}

// kubeScoreBinary is kube-score as e2e/tools/build.sh builds it, for the
// version e2e/tools/kubescore/go.mod pins, in the tools cache.
func kubeScoreBinary(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "e2e", "tools", "kubescore", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/zegl/kube-score (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("e2e/tools/kubescore/go.mod does not require github.com/zegl/kube-score")
	}
	cache := filepath.Join(root, ".cache", "bin")
	env := ""
	if dir := os.Getenv("PAVE_TOOLS_CACHE"); dir != "" {
		cache, env = dir, "PAVE_TOOLS_CACHE="+dir+" "
	}
	bin := filepath.Join(cache, "kube-score-"+string(m[1]), "kube-score")
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("kube-score is not built (missing %s); build it with:\n\tcd %s && %sbash e2e/tools/build.sh", bin, root, env)
	}
	return bin
}
