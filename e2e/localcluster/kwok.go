package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// UnreadyAnnotation is the failure simulation: a Pod whose annotations hold
// UnreadyAnnotation: "true" (in a Deployment, put it in
// spec.template.metadata.annotations) is scheduled and runs on a simulated
// node, but never becomes Ready. kwok reports it the way a kubelet reports a
// crash-looping container: phase Running, condition Ready=False with reason
// ContainersNotReady, and each container waiting in CrashLoopBackOff after
// exiting with code 1. Its Deployment stays Available=False
// (MinimumReplicasUnavailable) and, after progressDeadlineSeconds,
// Progressing=False (ProgressDeadlineExceeded).
const UnreadyAnnotation = "e2e.pave.dev/unready"

// SimulatedFailureReason is the waiting reason of the containers of a pod
// marked with UnreadyAnnotation.
const SimulatedFailureReason = "CrashLoopBackOff"

// Simulated nodes are annotated with kwokNodeAnnotation so that kwok manages
// them and nothing else.
const (
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	kwokNodeValue      = "fake"
)

// kwok's default stages, as e2e/tools/build.sh copies them out of the kwok
// module (kustomize/stage/node/fast, node/heartbeat, pod/fast).
var kwokStageFiles = []string{
	"node-initialize.yaml",
	"node-heartbeat.yaml",
	"pod-ready.yaml",
	"pod-complete.yaml",
	"pod-delete.yaml",
}

// unreadyStage takes a marked pod from Pending to a crash-looping Running pod
// that is never ready. The default pod-ready stage is narrowed (see
// writeKwokStages) so that it never matches such a pod.
var unreadyStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pave-pod-unready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["` + UnreadyAnnotation + `"]'
      operator: 'In'
      values:
      - 'true'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: ContainersNotReady
        message: "containers with unready status: simulated failure (annotation ` + UnreadyAnnotation + `=true)"
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: ContainersNotReady
        message: "containers with unready status: simulated failure (annotation ` + UnreadyAnnotation + `=true)"
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: false
        restartCount: 5
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        state:
          waiting:
            reason: ` + SimulatedFailureReason + `
            message: "back-off 5m0s restarting failed container (simulated by kwok: annotation ` + UnreadyAnnotation + `=true)"
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`

// writeKwokStages writes the one config file kwok gets: its default stages,
// with pod-ready narrowed to pods without UnreadyAnnotation=true, plus
// unreadyStage.
func writeKwokStages(stagesDir, out string) error {
	var buf bytes.Buffer
	for _, name := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(stagesDir, name))
		if err != nil {
			return fmt.Errorf("kwok stages: %w", err)
		}
		if name == "pod-ready.yaml" {
			if data, err = excludeUnready(data); err != nil {
				return fmt.Errorf("kwok stage %s: %w", name, err)
			}
		}
		buf.WriteString("---\n")
		buf.Write(data)
		buf.WriteString("\n")
	}
	buf.WriteString("---\n")
	buf.WriteString(unreadyStage)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// excludeUnready adds a requirement to a pod Stage's selector so that it skips
// pods marked with UnreadyAnnotation=true.
func excludeUnready(stage []byte) ([]byte, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(stage, &obj); err != nil {
		return nil, err
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return nil, fmt.Errorf("no spec")
	}
	sel, _ := spec["selector"].(map[string]any)
	if sel == nil {
		sel = map[string]any{}
		spec["selector"] = sel
	}
	exprs, _ := sel["matchExpressions"].([]any)
	sel["matchExpressions"] = append(exprs, map[string]any{
		"key":      `.metadata.annotations["` + UnreadyAnnotation + `"]`,
		"operator": "NotIn",
		"values":   []any{"true"},
	})
	return yaml.Marshal(obj)
}

// NodeName returns the name of the i-th simulated node.
func NodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// createNodes registers the simulated nodes from..to-1 (NodeName). They
// carry no taint, so ordinary pods (pave's rendered workloads have no
// tolerations) schedule onto them.
func createNodes(ctx context.Context, cs kubernetes.Interface, from, to int) error {
	for i := from; i < to; i++ {
		name := NodeName(i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{kwokNodeAnnotation: kwokNodeValue},
				Labels: map[string]string{
					"type":                   "kwok",
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
				},
			},
			Status: corev1.NodeStatus{
				Allocatable: nodeResources(),
				Capacity:    nodeResources(),
			},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", name, err)
		}
	}
	return nil
}

// nodeResources sizes a simulated node for the benchmarks: two of them
// hold 1000 services × 2 replicas at the example sizes' requests (100m,
// 128Mi), so health is measured at that scale, not skipped.
func nodeResources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("512"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   resource.MustParse("1500"),
		// Real nodes report their local disk; pods that request some
		// (the example catalog's golden paths do) are scheduled on it.
		corev1.ResourceEphemeralStorage: resource.MustParse("2Ti"),
	}
}
