package testcluster_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// TestResetEmptiesAClusterAndKeepsItsNodes: a reset cluster holds none of
// what was written to it, answers at the same address (a client made
// before works), and keeps the nodes added to it, Ready.
func TestResetEmptiesAClusterAndKeepsItsNodes(t *testing.T) {
	prod := clientFor(t, "prod", 10*time.Second)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "written-before-the-reset"}}
	if _, err := prod.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := prod.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testcluster.AddNodes(t, "prod", 1)
	testcluster.Reset(t, "prod")

	if _, err := prod.CoreV1().Namespaces().Get(t.Context(), ns.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace written before the reset: %v, want it gone", err)
	}
	nodes, err := prod.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if want := len(before.Items) + 1; len(nodes.Items) != want || ready != want {
		t.Errorf("%d nodes, %d Ready after the reset; want the %d before and the one added, all Ready", len(nodes.Items), ready, len(before.Items))
	}
	// The controllers run again: the default ServiceAccount of a new
	// namespace is created.
	ns.Name = "written-after-the-reset"
	if _, err := prod.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := prod.CoreV1().ServiceAccounts(ns.Name).Get(t.Context(), "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default ServiceAccount in a namespace made after the reset: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
