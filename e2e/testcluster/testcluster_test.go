package testcluster_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// Two clusters, as the apply and daemon tests use them.
func TestMain(m *testing.M) { testcluster.MainN(m, "staging", "prod") }

func clientFor(t *testing.T, name string, timeout time.Duration) kubernetes.Interface {
	t.Helper()
	cfg := testcluster.ConfigFor(t, name)
	cfg.Timeout = timeout
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestNamespaceExistsInEveryCluster(t *testing.T) {
	ns := testcluster.Namespace(t, testcluster.PodSecurity("restricted"))
	for _, name := range testcluster.Names() {
		got, err := clientFor(t, name, 5*time.Second).CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("%s: labels %v, want pod-security.kubernetes.io/enforce=restricted", name, got.Labels)
		}
	}
}

func TestClustersAreSeparate(t *testing.T) {
	staging, prod := testcluster.Cluster(t, "staging"), testcluster.Cluster(t, "prod")
	if staging.Server() == prod.Server() || staging.Kubeconfig() == prod.Kubeconfig() {
		t.Fatalf("staging and prod share %s / %s", staging.Server(), staging.Kubeconfig())
	}
	if cfg := testcluster.Config(t); cfg.Host != staging.Server() {
		t.Errorf("Config() = %s, want the first cluster, staging (%s)", cfg.Host, staging.Server())
	}
}

func TestOneUnreachableClusterLeavesTheOtherServing(t *testing.T) {
	ns := testcluster.Namespace(t)
	staging := clientFor(t, "staging", 2*time.Second)
	prod := clientFor(t, "prod", 2*time.Second)

	restore := testcluster.Unreachable(t, "prod")
	if _, err := prod.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err == nil {
		t.Fatal("prod still answers")
	}
	if _, err := staging.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("staging: %v", err)
	}
	restore()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := prod.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("prod after restore: %v", err)
	}
}
