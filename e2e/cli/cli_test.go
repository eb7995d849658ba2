// Package cli runs the pave binary the way CI/CD and platform engineers
// do, against two local clusters (staging and prod).
package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/pave-dev/pave/e2e/testcluster"
)

var paveBin string

func TestMain(m *testing.M) {
	bin, cleanup, err := testcluster.BuildPave()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	paveBin = bin
	code := testcluster.Run(m, "staging", "prod")
	cleanup()
	os.Exit(code)
}

func pave(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(paveBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func clusterFlags(t *testing.T) []string {
	return []string{
		"--cluster", "staging=" + testcluster.Cluster(t, "staging").Kubeconfig(),
		"--cluster", "prod=" + testcluster.Cluster(t, "prod").Kubeconfig(),
	}
}

func copyCatalog(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dst, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	return dst
}

// resourceVersions of every object pave manages in a cluster, and of its
// inventories: if nothing was written, none of them changes.
func resourceVersions(t *testing.T, cluster string) map[string]string {
	t.Helper()
	dyn, err := dynamic.NewForConfig(testcluster.ConfigFor(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "services"}, {Version: "v1", Resource: "serviceaccounts"},
		{Group: "apps", Version: "v1", Resource: "deployments"}, {Group: "batch", Version: "v1", Resource: "cronjobs"},
		{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
		{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, {Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
	} {
		list, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=pave"})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			out[gvr.Resource+"/"+o.GetNamespace()+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	return out
}

func TestApplyTheExampleCatalogTwice(t *testing.T) {
	args := append([]string{"apply", "--catalog", "../../catalog-repo-example", "--prune", "--wait", "--timeout", "2m"}, clusterFlags(t)...)
	code, stdout, stderr := pave(t, args...)
	if code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1+8*2 {
		t.Fatalf("want a line per service and environment:\n%s", stdout)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, " Ready ") || !strings.Contains(l, "created") {
			t.Errorf("first apply: %s", l)
		}
	}
	before := map[string]map[string]string{"staging": resourceVersions(t, "staging"), "prod": resourceVersions(t, "prod")}
	if len(before["prod"]) < 40 {
		t.Fatalf("only %d objects in prod", len(before["prod"]))
	}

	code, stdout, stderr = pave(t, args...)
	if code != 0 {
		t.Fatalf("second apply: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		if !strings.Contains(l, " Ready ") || strings.Contains(l, "created") || strings.Contains(l, "configured") || strings.Contains(l, "deleted") {
			t.Errorf("second apply: %s", l)
		}
	}
	for _, cluster := range []string{"staging", "prod"} {
		after := resourceVersions(t, cluster)
		for k, rv := range before[cluster] {
			if after[k] != rv {
				t.Errorf("%s: %s was written on a no-op run", cluster, k)
			}
		}
	}

	// diff: nothing to change; then an image change in a copy shows up.
	code, _, stderr = pave(t, append([]string{"diff", "--catalog", "../../catalog-repo-example"}, clusterFlags(t)...)...)
	if code != 0 || !strings.Contains(stderr, "no changes") {
		t.Errorf("diff after apply: exit %d: %s", code, stderr)
	}
	dir := copyCatalog(t)
	svc := filepath.Join(dir, "services/storefront/web/service.yaml")
	data, _ := os.ReadFile(svc)
	if err := os.WriteFile(svc, bytes.Replace(data, []byte("web:5.12.0"), []byte("web:5.13.0"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = pave(t, append([]string{"diff", "--catalog", dir, "--env", "prod", "storefront/web"}, clusterFlags(t)...)...)
	if code != 1 || !strings.Contains(stdout, "-        image: registry.example.com/storefront/web:5.12.0\n+        image: registry.example.com/storefront/web:5.13.0") {
		t.Errorf("diff of an image change: exit %d\n%s", code, stdout)
	}
}

// TestApplySkipsDeniedServices: a denied service is reported and not
// applied; the others are.
func TestApplySkipsDeniedServices(t *testing.T) {
	dir := copyCatalog(t)
	// A new team service with an unpinned image.
	svcDir := filepath.Join(dir, "services/payments/refunds")
	if err := os.MkdirAll(svcDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(svcDir, "service.yaml"), []byte("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: refunds, team: payments}\nspec:\n  template: web-service\n  image: registry.example.com/payments/refunds:latest\n  port: 8080\n  replicas: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, append([]string{"apply", "--catalog", dir, "--env", "staging"}, clusterFlags(t)...)...)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	// The denial reads as pave check and the daemon word it, after the pair.
	if !strings.Contains(stderr, "payments/refunds (staging): "+dir+"/services/payments/refunds/service.yaml:6: deny image-tag-pinned: Deployment/refunds: ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if strings.Contains(stdout, "payments/refunds") || !strings.Contains(stdout, "payments/checkout") {
		t.Errorf("stdout:\n%s", stdout)
	}
	cs := testcluster.Clientset(t)
	if _, err := cs.AppsV1().Deployments("payments-staging").Get(context.Background(), "refunds", metav1.GetOptions{}); err == nil {
		t.Error("a denied service was applied")
	}
}

func TestApplyUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "--catalog", "../../catalog-repo-example"}, "no --cluster given"},
		{[]string{"apply", "--catalog", "../../catalog-repo-example", "--cluster", "prod"}, "want NAME=KUBECONFIG_PATH[#CONTEXT]"},
		{[]string{"apply", "--catalog", "../../catalog-repo-example", "--cluster", "prod=/nonexistent"}, "cluster prod: kubeconfig"},
		{[]string{"apply", "--catalog", "../../catalog-repo-example", "--cluster", "prod=x", "--drift-mode", "ignore"}, "--drift-mode must be correct or warn"},
	} {
		code, _, stderr := pave(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d: %s", tt.args, code, stderr)
		}
	}
}

func TestExecCredentialPluginsAreRefused(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/echo, interactiveMode: Never}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := pave(t, "apply", "--catalog", "../../catalog-repo-example", "--cluster", "prod="+kc)
	if code != 2 || !strings.Contains(stderr, "uses an exec credential plugin (/bin/echo); pass --allow-kubeconfig-exec") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
