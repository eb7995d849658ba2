package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// chartRBAC renders the ServiceAccount and RBAC objects of charts/pave,
// with values over the defaults.
func chartRBAC(t *testing.T, release, ns string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	ch, err := loader.Load("../../charts/pave")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{
		"source":   map[string]any{"repo": "https://git.example.com/platform/catalog.git"},
		"clusters": []any{map[string]any{"name": "staging", "inCluster": true}},
	}
	for k, v := range values {
		vals[k] = v
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: release, Namespace: ns, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, name := range []string{"serviceaccount.yaml", "rbac.yaml"} {
		for _, doc := range strings.Split(files["pave/templates/"+name], "\n---") {
			js, err := sigsyaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if string(js) == "null" {
				continue
			}
			o := &unstructured.Unstructured{}
			if err := o.UnmarshalJSON(js); err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
	}
	return out
}

var rbacResources = map[string]schema.GroupVersionResource{
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
}

// installChartRBAC applies the chart's ServiceAccount and RBAC (with values
// over the defaults) to a cluster
// (as admin) and returns a kubeconfig that authenticates as that
// ServiceAccount, and a client using it.
func installChartRBAC(t *testing.T, cluster, release string, values map[string]any) (string, kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	admin := testcluster.ConfigFor(t, cluster)
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "pave-system"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, o := range chartRBAC(t, release, ns, values) {
		gvr, ok := rbacResources[o.GetKind()]
		if !ok {
			t.Fatalf("unexpected %s in the chart's RBAC", o.GetKind())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if o.GetKind() == "ServiceAccount" || o.GetKind() == "Role" || o.GetKind() == "RoleBinding" {
			if o.GetNamespace() == "" {
				o.SetNamespace(ns)
			}
			ri = dyn.Resource(gvr).Namespace(o.GetNamespace())
		}
		data, _ := json.Marshal(o.Object)
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "helm"}); err != nil {
			t.Fatalf("%s: apply %s %s: %v", cluster, o.GetKind(), o.GetName(), err)
		}
		t.Cleanup(func() { ri.Delete(context.Background(), o.GetName(), metav1.DeleteOptions{}) })
	}
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, release, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData, CertificateAuthority: admin.CAFile}
	cfg.AuthInfos["pave"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["pave"] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: "pave"}
	cfg.CurrentContext = "pave"
	path := filepath.Join(t.TempDir(), cluster+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	sa := rest.AnonymousClientConfig(admin)
	sa.BearerToken = tok.Status.Token
	saClient, err := kubernetes.NewForConfig(sa)
	if err != nil {
		t.Fatal(err)
	}
	return path, saClient
}

func ptrTo[T any](v T) *T { return &v }

// TestChartRBACIsEnough runs pave serve as the ServiceAccount of charts/pave
// in both clusters, with exactly the chart's RBAC and leader election:
// the example catalog is applied, an edit rolls out, a removed service is
// pruned, and nothing pave does is forbidden; yet the ServiceAccount can
// read no Secret and grant itself nothing.
func TestChartRBACIsEnough(t *testing.T) {
	resetClusters(t)
	const release = "pave-chart-rbac"
	stagingKubeconfig, _ := installChartRBAC(t, "staging", release, nil)
	prodKubeconfig, prodSA := installChartRBAC(t, "prod", release, nil)

	dir := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dir, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "pave.log")
	d := startPave(t, log, "--path", dir, "--cluster", "staging="+stagingKubeconfig, "--cluster", "prod="+prodKubeconfig,
		"--leader-elect", "--interval", "1h", "--wait-timeout", "20s")
	waitFor(t, 3*time.Minute, "every service Ready as the chart's ServiceAccount", d.allAt(exampleServices, "Ready", ""))

	prod, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	r := &repo{t: t, dir: dir}
	r.edit("services/payments/checkout/service.yaml", "checkout:1.4.2", "checkout:1.4.9")
	waitFor(t, time.Minute, "edit applied", func() (bool, string) {
		dep, err := prod.AppsV1().Deployments("payments-prod").Get(context.Background(), "checkout", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		img := dep.Spec.Template.Spec.Containers[0].Image
		return img == "registry.example.com/payments/checkout:1.4.9", img
	})
	r.write("services/storefront/search-indexer", "")
	waitFor(t, time.Minute, "removed service pruned", func() (bool, string) {
		_, err := prod.AppsV1().Deployments("storefront-prod").Get(context.Background(), "search-indexer", metav1.GetOptions{})
		return apierrors.IsNotFound(err), "still there"
	})
	// Events are recorded on the inventories.
	waitFor(t, 30*time.Second, "an Event on an inventory", func() (bool, string) {
		evs, err := prod.CoreV1().Events("pave-system").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=payments.checkout.prod"})
		return err == nil && len(evs.Items) > 0, "none"
	})
	data, _ := os.ReadFile(log)
	if bytes.Contains(data, []byte("forbidden")) {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "forbidden") {
				t.Errorf("pave was refused something it needs: %s", line)
			}
		}
	}

	// Least privilege: what pave never needs is refused to it.
	for _, ra := range []authorizationv1.ResourceAttributes{
		{Namespace: "payments-prod", Verb: "get", Resource: "secrets"},
		{Namespace: "payments-prod", Verb: "list", Resource: "secrets"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "cluster-admin"},
		{Namespace: "payments-prod", Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"},
		{Verb: "delete", Resource: "namespaces", Name: "payments-prod"},
		{Namespace: "kube-system", Verb: "impersonate", Resource: "serviceaccounts"},
		{Verb: "impersonate", Resource: "users", Name: "system:admin"},
		{Namespace: "payments-prod", Verb: "create", Resource: "pods"},
	} {
		review, err := prodSA.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if review.Status.Allowed {
			t.Errorf("the chart's ServiceAccount may %s %s %s/%s", ra.Verb, ra.Resource, ra.Namespace, ra.Name)
		}
	}
}
