// Package smoke checks that the local control plane behaves like a real
// cluster where pave depends on it: Deployments become Available on simulated
// nodes, the failure simulation keeps a Deployment unavailable with a visible
// reason, Pod Security admission rejects, server-side apply tracks managed
// fields, and an API server can be stopped and brought back.
package smoke

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/localcluster"
	"github.com/pave-dev/pave/e2e/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

func deployment(name string, replicas int32, podAnnotations map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptrTo(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: podAnnotations},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: "registry.example.com/smoke/" + name + ":1.0.0", // never pulled: kwok runs no containers
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

func condition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	t.Parallel()
	cs := testcluster.Clientset(t)
	ns := testcluster.Namespace(t)
	ctx := t.Context()

	began := time.Now()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment("web", 2, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var d *appsv1.Deployment
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		d, err = cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := condition(d, appsv1.DeploymentAvailable)
		return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 2 &&
			c != nil && c.Status == corev1.ConditionTrue, nil
	})
	if err != nil {
		t.Fatalf("deployment not Available within 30s: %v; status: %+v", err, d.Status)
	}
	t.Logf("deployment Available %s after create", time.Since(began).Round(10*time.Millisecond))

	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Fatalf("got %d pods, want 2", len(pods.Items))
	}
	for _, p := range pods.Items {
		if !podReady(&p) || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: phase %s, ready %v; want Running and Ready", p.Name, p.Status.Phase, podReady(&p))
		}
		node, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s: node %q: %v", p.Name, p.Spec.NodeName, err)
		}
		if node.Labels["type"] != "kwok" {
			t.Errorf("pod %s runs on %s, which is not a simulated node", p.Name, node.Name)
		}
	}
}

func TestUnreadyAnnotationKeepsDeploymentUnavailable(t *testing.T) {
	t.Parallel()
	cs := testcluster.Clientset(t)
	ns := testcluster.Namespace(t)
	ctx := t.Context()

	d := deployment("broken", 2, map[string]string{testcluster.UnreadyAnnotation: "true"})
	d.Spec.ProgressDeadlineSeconds = ptrTo[int32](3) // so that it is declared failed quickly
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// First the simulation has to have acted: both pods scheduled and
	// Running, and reporting why they are not ready.
	var pods *corev1.PodList
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		pods, err = cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=broken"})
		if err != nil || len(pods.Items) != 2 {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("marked pods not Running within 30s: %v; pods: %v", err, pods)
	}
	for _, p := range pods.Items {
		if podReady(&p) {
			t.Errorf("pod %s is Ready despite %s", p.Name, testcluster.UnreadyAnnotation)
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil ||
			p.Status.ContainerStatuses[0].State.Waiting.Reason != testcluster.SimulatedFailureReason {
			t.Errorf("pod %s: container statuses %+v, want waiting with reason %s", p.Name, p.Status.ContainerStatuses, testcluster.SimulatedFailureReason)
		}
	}

	// Then it has to stay that way.
	const hold = 5 * time.Second
	deadline := time.Now().Add(hold)
	var got *appsv1.Deployment
	for time.Now().Before(deadline) {
		got, err = cs.AppsV1().Deployments(ns).Get(ctx, "broken", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c := condition(got, appsv1.DeploymentAvailable); got.Status.AvailableReplicas != 0 || (c != nil && c.Status == corev1.ConditionTrue) {
			t.Fatalf("deployment became available: %+v", got.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	c := condition(got, appsv1.DeploymentAvailable)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "MinimumReplicasUnavailable" {
		t.Fatalf("Available condition = %+v, want False/MinimumReplicasUnavailable", c)
	}
	if got.Status.UnavailableReplicas != 2 {
		t.Errorf("unavailableReplicas = %d, want 2", got.Status.UnavailableReplicas)
	}
	waiting := pods.Items[0].Status.ContainerStatuses[0].State.Waiting
	t.Logf("unavailable for %s as expected: Available=%s (%s: %s); container waiting %s: %s",
		hold, c.Status, c.Reason, c.Message, waiting.Reason, waiting.Message)

	// Past its progress deadline the Deployment is declared failed, which is
	// what health checks (kstatus: Failed) key on.
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err = cs.AppsV1().Deployments(ns).Get(ctx, "broken", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(got, appsv1.DeploymentProgressing)
		return p != nil && p.Status == corev1.ConditionFalse && p.Reason == "ProgressDeadlineExceeded", nil
	})
	if err != nil {
		t.Fatalf("no Progressing=False/ProgressDeadlineExceeded: %v; conditions: %+v", err, got.Status.Conditions)
	}
	p := condition(got, appsv1.DeploymentProgressing)
	t.Logf("then Progressing=%s (%s: %s)", p.Status, p.Reason, p.Message)
}

func TestPodSecurityRestrictedRejectsViolatingPods(t *testing.T) {
	t.Parallel()
	cs := testcluster.Clientset(t)
	ns := testcluster.Namespace(t, testcluster.PodSecurity("restricted"))
	ctx := t.Context()

	for name, sc := range map[string]*corev1.SecurityContext{
		"no-security-context": nil, // what an unhardened template renders
		"privileged":          {Privileged: ptrTo(true)},
	} {
		bad := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name:            "app",
				Image:           "registry.example.com/smoke/app:1.0.0",
				SecurityContext: sc,
			}}},
		}
		_, err := cs.CoreV1().Pods(ns).Create(ctx, bad, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted:`) {
			t.Fatalf("create pod %s in a restricted namespace: err = %v, want Forbidden by PodSecurity restricted", name, err)
		}
		t.Logf("%s rejected as expected: %v", name, err)
	}

	// The same namespace admits a pod that meets the restricted profile, so
	// the rejection above is the policy at work, not a broken admission chain.
	good := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "restricted"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptrTo(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "registry.example.com/smoke/app:1.0.0",
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptrTo(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, good, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create compliant pod in a restricted namespace: %v", err)
	}
}

func TestServerSideApplyTracksManagedFields(t *testing.T) {
	t.Parallel()
	cs := testcluster.Clientset(t)
	ns := testcluster.Namespace(t)
	ctx := t.Context()

	cm := applycorev1.ConfigMap("settings", ns).WithData(map[string]string{"LOG_LEVEL": "info"})
	got, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: "pave-smoke", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mf := range got.ManagedFields {
		if mf.Manager == "pave-smoke" && mf.Operation == metav1.ManagedFieldsOperationApply &&
			mf.FieldsV1 != nil && strings.Contains(string(mf.FieldsV1.Raw), "f:LOG_LEVEL") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Apply entry of manager pave-smoke owning data.LOG_LEVEL in managedFields: %+v", got.ManagedFields)
	}

	// A second manager changing the same field without force is a conflict.
	other := applycorev1.ConfigMap("settings", ns).WithData(map[string]string{"LOG_LEVEL": "debug"})
	_, err = cs.CoreV1().ConfigMaps(ns).Apply(ctx, other, metav1.ApplyOptions{FieldManager: "someone-else"})
	if !apierrors.IsConflict(err) {
		t.Fatalf("apply by a second manager: err = %v, want a conflict", err)
	}
}

// TestAPIServerStopAndStart exercises what later tests use to simulate an
// unreachable cluster. It does not run in parallel with the others.
func TestAPIServerStopAndStart(t *testing.T) {
	ns := testcluster.Namespace(t)
	cfg := testcluster.Config(t)
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	restore := testcluster.Unreachable(t, testcluster.DefaultCluster)
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		t.Fatal("API server still answers after StopAPIServer")
	} else {
		t.Logf("unreachable as expected: %v", err)
	}
	began := time.Now()
	restore()
	t.Logf("kube-apiserver back after %s", time.Since(began).Round(10*time.Millisecond))
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace lost across an API server restart: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestClusterMemoryUnderBudget runs ten 2-replica Deployments, then checks
// that the whole cluster (all five processes) stays under 1.5 GiB RSS.
func TestClusterMemoryUnderBudget(t *testing.T) {
	cs := testcluster.Clientset(t)
	ns := testcluster.Namespace(t)
	ctx := t.Context()
	for i := range 10 {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(fmt.Sprintf("load-%d", i), 2, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, d := range list.Items {
			if d.Status.AvailableReplicas != 2 {
				return false, nil
			}
		}
		return len(list.Items) == 10, nil
	})
	if err != nil {
		t.Fatalf("10 deployments not Available: %v", err)
	}

	c := testcluster.Cluster(t, testcluster.DefaultCluster)
	total, per, err := localcluster.RSS(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster RSS %d MiB: %s", total>>20, formatRSS(per))
	const budget = 1536 << 20
	if total > budget {
		t.Errorf("cluster uses %d MiB RSS, budget %d MiB", total>>20, budget>>20)
	}
}

func formatRSS(per map[string]int64) string {
	var parts []string
	for _, name := range []string{localcluster.Etcd, localcluster.APIServer, localcluster.ControllerManager, localcluster.Scheduler, localcluster.Kwok} {
		parts = append(parts, fmt.Sprintf("%s %d MiB", name, per[name]>>20))
	}
	return strings.Join(parts, ", ")
}
