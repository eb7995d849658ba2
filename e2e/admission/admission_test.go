// Package admission checks that what pave renders for the example catalog
// is accepted by a real API server: every object passes a server-side
// dry-run apply, and every pod template is admitted as a Pod under Pod
// Security "restricted" in the namespace pave renders for it.
package admission

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/render"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// warnings collects the API server's warning headers (Pod Security warns
// about workloads whose pods it would reject).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func TestExampleCatalogIsAdmitted(t *testing.T) {
	cfg := rest.CopyConfig(testcluster.Config(t))
	warn := &warnings{}
	cfg.WarningHandler = warn
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := newApplier(t, cfg)

	cat, err := catalog.LoadDir("../../catalog-repo-example")
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	results, errs := render.New(cat, render.Options{Revision: "e2e"}).RenderAll("")
	for _, err := range errs {
		t.Fatal(err)
	}
	ctx := context.Background()
	apply := func(o *unstructured.Unstructured, dryRun bool) error { return a.apply(ctx, o, "pave", dryRun) }

	objects, pods := 0, 0
	for _, res := range results {
		// Every render starts with its team's Namespace: create it for
		// real, so admission runs with its Pod Security labels.
		ns := res.Objects[0]
		if ns.GetKind() != "Namespace" || ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Fatalf("%s/%s: first object is %s, want a restricted Namespace", res.Service, res.Environment, ns.GetKind())
		}
		if err := apply(ns, false); err != nil {
			t.Fatalf("apply %s: %v", ns.GetName(), err)
		}
		for _, o := range res.Objects[1:] {
			objects++
			// A Pod is only admitted when its ServiceAccount exists, and a
			// dry run creates nothing: apply ServiceAccounts for real.
			if err := apply(o, o.GetKind() != "ServiceAccount"); err != nil {
				t.Errorf("%s (%s): %s %s rejected: %v", res.Service, res.Environment, o.GetKind(), o.GetName(), err)
			}
			if w := warn.take(); len(w) > 0 {
				t.Errorf("%s (%s): %s %s: API server warnings: %s", res.Service, res.Environment, o.GetKind(), o.GetName(), strings.Join(w, "; "))
			}
			tmpl, path := podTemplate(o)
			if tmpl == nil {
				continue
			}
			pods++
			var pod corev1.Pod
			if err := runtimeConvert(tmpl, &pod); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			pod.Name = o.GetName() + "-admission"
			pod.Namespace = o.GetNamespace()
			_, err := kube.CoreV1().Pods(pod.Namespace).Create(ctx, &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Errorf("%s (%s): the pod of %s %s is not admitted: %v", res.Service, res.Environment, o.GetKind(), o.GetName(), err)
			}
		}
	}
	if objects < 40 || pods < len(cat.Services)*2 {
		t.Errorf("checked only %d objects and %d pod templates", objects, pods)
	}
	t.Logf("%d objects and %d pod templates of %d services admitted", objects, pods, len(cat.Services))
}

// podTemplate returns the pod template of a workload.
func podTemplate(o *unstructured.Unstructured) (map[string]any, string) {
	var path []string
	switch o.GetKind() {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		path = []string{"spec", "template"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template"}
	default:
		return nil, ""
	}
	tmpl, ok, _ := unstructured.NestedMap(o.Object, path...)
	if !ok {
		return nil, ""
	}
	return tmpl, strings.Join(path, ".")
}

func runtimeConvert(from map[string]any, to any) error {
	data, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, to)
}

func ptr[T any](v T) *T { return &v }
