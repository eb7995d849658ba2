package reconciler

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
)

// TestLanesOrder: under the workqueue, pairs marked ahead are handed out
// before the others, first in first out in each lane; a pair marked while
// it waits moves ahead; one marked while it is processed goes ahead when
// it is queued again at its end; a pair is never queued twice.
func TestLanesOrder(t *testing.T) {
	l := newLanes()
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[pairKey]{Queue: l})
	k := func(i int) pairKey { return pairKey{fmt.Sprintf("t/s%d", i), "prod"} }
	get := func() pairKey {
		t.Helper()
		item, shutdown := q.Get()
		if shutdown {
			t.Fatal("the queue shut down")
		}
		return item
	}
	for i := range 5 {
		q.Add(k(i))
	}
	l.ahead(k(3))
	q.Add(k(3)) // waits already: moves ahead
	l.ahead(k(9))
	q.Add(k(9)) // new: ahead, after k(3)
	q.Add(k(1)) // waits already, not marked: stays where it is
	var got []pairKey
	for range 3 {
		got = append(got, get())
	}
	if want := []pairKey{k(3), k(9), k(0)}; !slices.Equal(got, want) {
		t.Errorf("handed out %v, want %v", got, want)
	}
	// k(0) is being processed: marked and added, it goes ahead once done.
	l.ahead(k(0))
	q.Add(k(0))
	for _, p := range got {
		q.Done(p)
	}
	got = nil
	for q.Len() > 0 {
		p := get()
		got = append(got, p)
		q.Done(p)
	}
	if want := []pairKey{k(0), k(1), k(2), k(4)}; !slices.Equal(got, want) {
		t.Errorf("then handed out %v, want %v", got, want)
	}
	if len(l.urgent) != 0 {
		t.Errorf("marks left after every pair was handed out: %v", l.urgent)
	}
}

// applyLog records, in order, the Deployments a cluster's client applied.
type applyLog struct {
	mu      sync.Mutex
	applied []string // "cluster/name"
}

type applyRecorder struct {
	next    http.RoundTripper
	cluster string
	log     *applyLog
}

func (r applyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPatch && resp.StatusCode < 300 && strings.Contains(req.URL.Path, "/deployments/") && !strings.HasSuffix(req.URL.Path, "/status") {
		r.log.mu.Lock()
		r.log.applied = append(r.log.applied, r.cluster+"/"+req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:])
		r.log.mu.Unlock()
	}
	return resp, err
}

// TestPromotionGoesAheadOfTheRound: a commit that changes many services
// queues every staging pair, then every prod pair. Once a service's
// staging pair is done, its prod pair goes ahead of the staging pairs
// still queued: a service's promotion goes on as soon as its gate opens,
// instead of behind the whole round (which, at 10,000 services, is a
// resync or a replica's share taken over).
func TestPromotionGoesAheadOfTheRound(t *testing.T) {
	const n = 12
	services, ids := webServices("lanes", n)
	dir := catalogDir(t, []string{"lanes"}, services)
	log := &applyLog{}
	d := run(t, dir, func(o *Options, configs map[string]*rest.Config) {
		// One worker, and the gate open as soon as staging applied: the
		// order the queue hands out is the order of the applies.
		o.Concurrency, o.Apply.WaitTimeout = 1, 0
		o.Apply.Wait = false
		for name, cfg := range configs {
			cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return applyRecorder{rt, name, log} }
		}
	})
	d.phase(time.Minute, PhaseProgressing, ids...)
	log.mu.Lock()
	log.applied = nil
	log.mu.Unlock()

	for _, id := range ids {
		editFile(t, dir, "services/"+id+"/service.yaml", "app:1.0.0", "app:1.1.0")
	}
	d.refetch()
	d.waitFor(time.Minute, "every pair applied at the new revision", func() (bool, string) {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.applied) >= 2*n, fmt.Sprint(log.applied)
	})
	log.mu.Lock()
	order := slices.Clone(log.applied)
	log.mu.Unlock()
	firstProd := slices.IndexFunc(order, func(s string) bool { return strings.HasPrefix(s, "prod/") })
	lastStaging := -1
	for i, s := range order {
		if strings.HasPrefix(s, "staging/") {
			lastStaging = i
		}
	}
	if firstProd < 0 || firstProd > lastStaging {
		t.Errorf("applies in order %v: the first prod apply is number %d, the last staging apply number %d; want prod's pairs ahead of the staging pairs still queued", order, firstProd+1, lastStaging+1)
	}
}
