package admission

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// TestPaveChartIsAdmitted renders charts/pave the way `helm install` would
// and server-side dry-runs every object, the Deployment's pod admitted under
// Pod Security restricted.
func TestPaveChartIsAdmitted(t *testing.T) {
	ch, err := loader.Load("../../charts/pave")
	if err != nil {
		t.Fatal(err)
	}
	ns := testcluster.Namespace(t, testcluster.PodSecurity("restricted"))
	vals := map[string]any{
		"source":        map[string]any{"repo": "https://git.example.com/platform/catalog.git", "credentialsSecret": "pave-git"},
		"webhookSecret": "pave-webhook",
		"clusters":      []any{map[string]any{"name": "prod", "kubeconfigSecret": "pave-cluster-prod"}},
	}
	caps := *chartutil.DefaultCapabilities
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.37.0", Major: "1", Minor: "37"}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "pave", Namespace: ns, IsInstall: true}, &caps)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testcluster.Config(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	applied := 0
	var pods []map[string]any
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(content, "\n---") {
			js, err := sigsyaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if string(js) == "null" {
				continue
			}
			o := &unstructured.Unstructured{}
			if err := o.UnmarshalJSON(js); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			gvk := o.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatal(err)
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if m.Scope.Name() == "namespace" {
				ri = dyn.Resource(m.Resource).Namespace(ns)
			}
			data, _ := json.Marshal(o.Object)
			opts := metav1.PatchOptions{FieldManager: "helm", DryRun: []string{metav1.DryRunAll}}
			if o.GetKind() == "ServiceAccount" {
				opts.DryRun = nil // the pod below needs it to exist
			}
			if _, err := ri.Patch(context.Background(), o.GetName(), types.ApplyPatchType, data, opts); err != nil {
				t.Errorf("%s %s rejected: %v", o.GetKind(), o.GetName(), err)
			}
			applied++
			if tmpl, _ := podTemplate(o); tmpl != nil {
				pods = append(pods, tmpl)
			}
		}
	}
	if applied != 5 || len(pods) != 1 {
		t.Fatalf("dry-ran %d objects and %d pod templates, want 5 and 1", applied, len(pods))
	}
	var pod corev1.Pod
	if err := runtimeConvert(pods[0], &pod); err != nil {
		t.Fatal(err)
	}
	pod.Name, pod.Namespace = "pave-admission", ns
	if _, err := testcluster.Clientset(t).CoreV1().Pods(ns).Create(context.Background(), &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("pave's pod is not admitted under Pod Security restricted: %v", err)
	}
}
