package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
// event goes through emit; shutdown flushes what is queued.
type eventRecorder struct {
	log      logr.Logger
	clusters map[string]*clusterEvents
	flushes  atomic.Int64
}

// clusterEvents is one cluster's broadcaster. Events are written by one
// goroutine of the broadcaster, in order; flushSink lets shutdown know when
// it has reached a marker, i.e. written everything queued before it.
type clusterEvents struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	sink        *flushSink
	// client reads the events back (Events).
	client kubernetes.Interface
}

// flushReason marks the event shutdown queues last. It never reaches the
// cluster: flushSink swallows it.
const flushReason = "pave.dev/flush"

// flushSink is the broadcaster's sink: the cluster's Events API, but for
// flush markers, which it answers itself and reports on reached.
type flushSink struct {
	record.EventSink
	mu      sync.Mutex
	reached map[string]chan struct{}
}

func (s *flushSink) marker(name string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.reached[name] = ch
	return ch
}

func (s *flushSink) Create(e *corev1.Event) (*corev1.Event, error) {
	if e.Reason == flushReason {
		s.mu.Lock()
		if ch, ok := s.reached[e.InvolvedObject.Name]; ok {
			close(ch)
			delete(s.reached, e.InvolvedObject.Name)
		}
		s.mu.Unlock()
		return e, nil
	}
	return s.EventSink.Create(e)
}

func newEventRecorder(log logr.Logger, appliers map[string]*apply.Applier) *eventRecorder {
	r := &eventRecorder{log: log, clusters: map[string]*clusterEvents{}}
	for name, a := range appliers {
		cs, err := kubernetes.NewForConfig(a.Cluster.Config)
		if err != nil {
			log.Error(err, "events disabled", "cluster", name)
			continue
		}
		b := record.NewBroadcaster()
		sink := &flushSink{EventSink: &typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")}, reached: map[string]chan struct{}{}}
		b.StartRecordingToSink(sink)
		r.clusters[name] = &clusterEvents{broadcaster: b, sink: sink, recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "pave"}), client: cs}
	}
	return r
}

// emit records an event on the inventory ConfigMap of team/name in env.
// Messages never hold secret values: pave never reads them.
func (r *eventRecorder) emit(cluster, team, name, env, eventType string, reason Reason, message string) {
	c, ok := r.clusters[cluster]
	if !ok || eventType == "" {
		return
	}
	if len(message) > 1000 {
		message = message[:1000] + "…"
	}
	c.recorder.Event(inventoryRef(team+"."+name+"."+env), eventType, string(reason), message)
}

func inventoryRef(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: apply.SystemNamespace, Name: name},
	}
}

// shutdown writes the events still queued, within ctx, then shuts every
// broadcaster down. Nothing may be emitted after it. A cluster that does
// not take its events before ctx ends loses them (and it is logged).
func (r *eventRecorder) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	for name, c := range r.clusters {
		wg.Go(func() {
			// The broadcaster writes events one at a time, in order: when
			// the marker reaches the sink, everything before it was
			// written (or given up on).
			marker := fmt.Sprintf("pave-flush-%d", r.flushes.Add(1))
			reached := c.sink.marker(marker)
			c.recorder.Event(inventoryRef(marker), corev1.EventTypeNormal, flushReason, "flush")
			select {
			case <-reached:
			case <-ctx.Done():
				r.log.Info("events not yet written when the shutdown timeout ran out; dropping them", "cluster", name)
			}
			c.broadcaster.Shutdown()
		})
	}
	wg.Wait()
}

// EventRecord is a Kubernetes Event pave recorded on a pair's inventory.
type EventRecord struct {
	Environment string    `json:"environment"`
	Type        string    `json:"type"`
	Reason      string    `json:"reason"`
	Message     string    `json:"message"`
	Count       int32     `json:"count"`
	Last        time.Time `json:"lastTime"`
}

// Events lists the Events pave recorded on a service's inventories in
// every environment, newest first, at most limit. They are read from the
// clusters (one request per environment), so they survive restarts; a
// cluster that cannot be read is an error naming it, with what the others
// gave.
func (d *Daemon) Events(ctx context.Context, service string, limit int) ([]EventRecord, error) {
	d.mu.RLock()
	snap := d.snap
	d.mu.RUnlock()
	if snap == nil {
		return nil, nil
	}
	team, name := teamName(service)
	var out []EventRecord
	var errs []error
	for _, env := range snap.cat.Config.Environments {
		c, ok := d.events.clusters[env.Cluster]
		if !ok {
			continue
		}
		list, err := c.client.CoreV1().Events(apply.SystemNamespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + team + "." + name + "." + env.Name,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("events of %s in %s: %w", service, env.Name, err))
			continue
		}
		for _, e := range list.Items {
			last := e.LastTimestamp.Time
			if last.IsZero() {
				last = e.EventTime.Time
			}
			out = append(out, EventRecord{Environment: env.Name, Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count, Last: last})
		}
	}
	slices.SortStableFunc(out, func(a, b EventRecord) int { return b.Last.Compare(a.Last) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, errors.Join(errs...)
}
