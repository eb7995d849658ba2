package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fluxcd/cli-utils/pkg/object"
)

// HealthStatus is a service's health in an environment.
type HealthStatus string

const (
	HealthReady       HealthStatus = "Ready"
	HealthProgressing HealthStatus = "Progressing"
	HealthFailed      HealthStatus = "Failed"
	HealthPruned      HealthStatus = "Pruned"
	HealthUnknown     HealthStatus = "Unknown"
)

// Health says whether a service's objects are ready, and if not, which
// object and why, in words a developer can act on.
type Health struct {
	Status HealthStatus
	// Object is the first object that is not ready.
	Object  string `json:",omitempty"`
	Message string `json:",omitempty"`
}

// crashReasons are container states that will not fix themselves.
var crashReasons = []string{"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "RunContainerError"}

// health waits until every object is current, one fails, or the timeout
// passes: from the cluster's shared watch once started, else (pave apply,
// kinds pave may not watch) by polling each object through kstatus.
func (a *Applier) health(ctx context.Context, objects []*unstructured.Unstructured, changes []Change) Health {
	if w := a.watcher(); w != nil {
		if minGen, err := a.generations(ctx, objects, changes); err == nil {
			if h, err := a.waitWatched(ctx, w, objects, minGen); err == nil {
				return h
			}
		}
	}
	return a.poll(ctx, objects)
}

// poll waits (kstatus, through the ssa wait helpers) until every object
// is current, one fails, or the timeout passes.
func (a *Applier) poll(ctx context.Context, objects []*unstructured.Unstructured) Health {
	set := object.UnstructuredSetToObjMetadataSet(objects)
	err := a.Cluster.Manager.WaitForSetWithContext(ctx, set, ssa.WaitOptions{
		Interval: a.Options.PollInterval,
		Timeout:  a.Options.WaitTimeout,
		FailFast: true,
	})
	if err == nil {
		return Health{Status: HealthReady, Message: fmt.Sprintf("%d objects ready", len(objects))}
	}
	return a.diagnose(ctx, objects, err)
}

// diagnose finds, with fresh reads, the first object that is not current
// and says why (its pods' problems included); err is what the wait
// ended with.
func (a *Applier) diagnose(ctx context.Context, objects []*unstructured.Unstructured, err error) Health {
	for _, o := range objects {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		if err := a.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
			return Health{Status: HealthProgressing, Object: RefOf(o).String(), Message: err.Error()}
		}
		res, err := status.Compute(live)
		if err != nil || res.Status == status.CurrentStatus {
			continue
		}
		h := Health{Status: HealthProgressing, Object: RefOf(o).String(), Message: res.Message}
		if res.Status == status.FailedStatus {
			h.Status = HealthFailed
		}
		if reason, failing := a.podProblems(ctx, live); reason != "" {
			h.Message = strings.TrimSuffix(h.Message, ".") + ": " + reason
			if failing {
				h.Status = HealthFailed
			}
		}
		return h
	}
	return Health{Status: HealthProgressing, Message: err.Error()}
}

// podProblems describes why a workload's pods are not ready, and whether
// that is a failure (crash loops, image pulls) rather than slowness.
func (a *Applier) podProblems(ctx context.Context, workload *unstructured.Unstructured) (string, bool) {
	var sel map[string]any
	var ok bool
	switch workload.GetKind() {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		sel, ok, _ = unstructured.NestedMap(workload.Object, "spec", "selector")
	}
	if !ok {
		return "", false
	}
	var ls metav1.LabelSelector
	if err := runtimeFromMap(sel, &ls); err != nil {
		return "", false
	}
	selector, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return "", false
	}
	var pods corev1.PodList
	if err := a.Cluster.Client.List(ctx, &pods, client.InNamespace(workload.GetNamespace()), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return "", false
	}
	var msgs []string
	failing := false
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				msgs = append(msgs, fmt.Sprintf("pod %s container %s is %s", p.Name, cs.Name, w.Reason))
				if slices.Contains(crashReasons, w.Reason) {
					failing = true
				}
			}
		}
		if len(p.Status.ContainerStatuses) == 0 {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
					msgs = append(msgs, fmt.Sprintf("pod %s is not scheduled: %s", p.Name, c.Message))
				}
			}
		}
	}
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	if len(msgs) > 3 {
		msgs = append(msgs[:3], fmt.Sprintf("and %d more", len(msgs)-3))
	}
	return strings.Join(msgs, "; "), failing
}

func runtimeFromMap(m map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
}
