package apply

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fluxcd/pkg/ssa"

	"github.com/pave-dev/pave/render"
)

// TestChartsOwnManagedByLabel: a chart that sets app.kubernetes.io/
// managed-by (to Helm, say) and app.kubernetes.io/name itself keeps them
// (render no longer overwrites them); pave still knows the object as the
// service's by its pave.dev labels, applies it again, and prunes it.
func TestChartsOwnManagedByLabel(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	a, c := f.Appliers["prod"], f.client(t, "prod")
	cat := testCatalog(t, map[string]string{
		"chartlabels/api": webService("registry.example.com/chartlabels/api:1.0.0", "  ingress: {host: api.chartlabels.example.com}\n"),
	})
	res := renderedCopy(t, cat, "chartlabels/api", "prod")
	i := objectIndex(t, res, "Ingress", "api")
	ing := res.Objects[i].DeepCopy()
	labels := ing.GetLabels()
	labels[render.LabelManagedBy] = "Helm"
	labels[render.LabelName] = "shop-api"
	ing.SetLabels(labels)
	res.Objects[i] = ing

	for range 2 {
		if got := a.Apply(ctx, cat.Config, res, true, nil); got.Err != nil {
			t.Fatalf("apply: %v", got.Err)
		}
	}
	var live networkingv1.Ingress
	if err := c.Get(ctx, client.ObjectKey{Namespace: "chartlabels-prod", Name: "api"}, &live); err != nil {
		t.Fatal(err)
	}
	if live.Labels[render.LabelManagedBy] != "Helm" || live.Labels[render.LabelName] != "shop-api" {
		t.Errorf("the chart's labels were not applied: %v", live.Labels)
	}

	res.Objects = append(res.Objects[:i:i], res.Objects[i+1:]...)
	got := a.Apply(ctx, cat.Config, res, true, nil)
	if got.Err != nil {
		t.Fatalf("apply without the Ingress: %v", got.Err)
	}
	if a := actions(got)["Ingress/api"]; a != ssa.DeletedAction {
		t.Errorf("the Ingress labelled managed-by Helm: %s, want deleted", a)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "chartlabels-prod", Name: "api"}, &networkingv1.Ingress{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Ingress is still there: %v", err)
	}
}

// TestChartKubeVersionAgainstTheCluster: a template whose Chart.yaml
// kubeVersion excludes the version the cluster reports is not applied.
func TestChartKubeVersionAgainstTheCluster(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	a, c := f.Appliers["staging"], f.client(t, "staging")
	cat := testCatalog(t, map[string]string{"kubever/api": webService("registry.example.com/kubever/api:1.0.0", "")})
	res := renderedCopy(t, cat, "kubever/api", "staging")
	res.KubeVersions = []render.KubeVersionRequirement{{Chart: "web-service", File: "templates/web-service/Chart.yaml", Constraint: ">= 1.40.0-0"}}
	got := a.Apply(ctx, cat.Config, res, true, nil)
	if got.Err == nil || !strings.HasPrefix(got.Err.Error(), "templates/web-service/Chart.yaml: chart web-service supports Kubernetes >= 1.40.0-0 (kubeVersion), but cluster staging runs v1.") {
		t.Fatalf("err = %v", got.Err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "kubever-staging", Name: "api"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("the service was applied: %v", err)
	}
	res.KubeVersions[0].Constraint = ">= 1.30.0-0"
	if got := a.Apply(ctx, cat.Config, res, true, nil); got.Err != nil {
		t.Fatalf("a cluster new enough: %v", got.Err)
	}
}
