package reconciler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/reconciler/apply"
)

// TestShutdownFlushesEvents: when the daemon's context ends (SIGTERM),
// the Kubernetes Events still queued are in the cluster by the time Run
// returns, not lost with the process; the flush marker never is.
func TestShutdownFlushesEvents(t *testing.T) {
	cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	ensureNamespace(t, cs, apply.SystemNamespace)
	d := run(t, catalogDir(t, []string{"events"}, nil))

	const n = 40
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // events of an earlier run stay in the cluster
	for i := range n {
		d.events.emit("staging", "events", fmt.Sprintf("svc%d", i), "staging", corev1.EventTypeNormal, ReasonApplied, fmt.Sprintf("event %d of run %s", i, run))
	}
	d.stop()

	evs, err := cs.CoreV1().Events(apply.SystemNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range evs.Items {
		if strings.HasPrefix(e.InvolvedObject.Name, "events.svc") && strings.HasSuffix(e.Message, " of run "+run) {
			got++
		}
		if e.Reason == flushReason {
			t.Errorf("the flush marker reached the cluster: %s", e.InvolvedObject.Name)
		}
	}
	if got != n {
		t.Errorf("%d of %d queued events in the cluster when Run returned", got, n)
	}
	// Emitting after the shutdown drops the event rather than failing.
	d.events.emit("staging", "events", "late", "staging", corev1.EventTypeNormal, ReasonApplied, "late")
}
