package reconciler

import (
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/pave-dev/pave/reconciler/apply"
)

// eventRecorder puts Kubernetes Events on the inventory object of a service
// in its environment's cluster: applies, prunes, denials and drift. Every
// event goes through emit.
type eventRecorder struct {
	log       logr.Logger
	recorders map[string]record.EventRecorder
}

func newEventRecorder(log logr.Logger, appliers map[string]*apply.Applier) *eventRecorder {
	r := &eventRecorder{log: log, recorders: map[string]record.EventRecorder{}}
	for name, a := range appliers {
		cs, err := kubernetes.NewForConfig(a.Cluster.Config)
		if err != nil {
			log.Error(err, "events disabled", "cluster", name)
			continue
		}
		b := record.NewBroadcaster()
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
		r.recorders[name] = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "pave"})
	}
	return r
}

// emit records an event on the inventory ConfigMap of team/name in env.
// Messages never hold secret values: pave never reads them.
func (r *eventRecorder) emit(cluster, team, name, env, eventType, reason, message string) {
	rec, ok := r.recorders[cluster]
	if !ok {
		return
	}
	if len(message) > 1000 {
		message = message[:1000] + "…"
	}
	inv := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: apply.SystemNamespace, Name: team + "." + name + "." + env},
	}
	rec.Event(inv, eventType, reason, message)
}
