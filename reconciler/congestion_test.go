package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
)

// timeoutError is how a client's timeout reaches pave: a url.Error whose
// cause reports Timeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestWriteLimitHalvesOnOverloadAndGrowsBack: a cluster takes every worker
// while its writes go well; an overloaded API server (a write timed out
// on the client or the server, refused as too many or as unavailable, or
// a pair's writes longer than the request timeout) halves how many pairs
// write to it at once, once per episode: the writes sent before the cut
// count neither way; writes in time grow it back by one per limit's
// worth, up to the workers; other failures (a denial, a conflict) leave
// it as it is; a pair over the limit waits for a slot; writes stopped
// give their slot back.
func TestWriteLimitHalvesOnOverloadAndGrowsBack(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	const slow = 30 * time.Second // the cluster's request timeout
	w := newWriteLimit(16, slow, clk)
	acquire := func(n int) []time.Time {
		var at []time.Time
		for range n {
			s, err := w.acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			at = append(at, s)
		}
		return at
	}
	clientTimeout := fmt.Errorf("apply: Service a/b: %w", &url.Error{Op: "Patch", URL: "https://api/x", Err: timeoutError{}})
	overloads := []error{
		clientTimeout,
		apierrors.NewTimeoutError("request did not complete within the allotted timeout", 0),
		apierrors.NewTooManyRequests("too many requests", 1),
		apierrors.NewServiceUnavailable("the server is currently unable to handle the request"),
		errors.Join(nil, fmt.Errorf("apply: %w", context.DeadlineExceeded)),
	}
	for _, err := range overloads {
		if !overloaded(err) {
			t.Errorf("%v not taken for overload", err)
		}
	}
	for _, err := range []error{apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "b", errors.New("denied")), apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "b", errors.New("changed")), errors.New("policy denied")} {
		if overloaded(err) {
			t.Errorf("%v taken for overload", err)
		}
	}

	// 16 pairs write at once; 5 of them time out: one cut, to 8.
	started := acquire(16)
	clk.Step(30 * time.Second)
	for i, s := range started {
		var err error
		if i < 5 {
			err = overloads[i]
		}
		if cut, _ := w.release(s, err); cut != (i == 0) {
			t.Errorf("release %d (%v): cut %t", i, err, cut)
		}
	}
	if got := w.current(); got != 8 {
		t.Fatalf("after one episode of timeouts: limit %d, want 8", got)
	}

	// 8 may write; the 9th waits until one is done.
	started = acquire(8)
	waited := make(chan time.Time)
	go func() {
		s, _ := w.acquire(ctx)
		waited <- s
	}()
	select {
	case <-waited:
		t.Fatal("a 9th pair wrote beside 8 at a limit of 8")
	case <-time.After(100 * time.Millisecond):
	}
	clk.Step(time.Second)
	w.release(started[0], nil)
	select {
	case s := <-waited:
		started = append(started[1:], s)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting pair did not get the freed slot")
	}

	// A denial neither cuts nor grows it.
	if cut, n := w.release(started[1], apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "b", errors.New("denied"))); cut || n != 8 {
		t.Errorf("a denial: cut %t, limit %d, want 8", cut, n)
	}
	// Pairs writing longer than one request may, sent after the cut,
	// cut again.
	clk.Step(slow + time.Second)
	if cut, n := w.release(started[0], nil); !cut || n != 4 {
		t.Errorf("a write of %s after the cut: cut %t to %d, want to 4", slow+time.Second, cut, n)
	}
	for _, s := range started[2:] {
		w.release(s, nil)
	}

	// Writes in time grow it back, one per limit's worth, up to 16.
	grown := 0
	for w.current() < 16 {
		s := acquire(1)[0]
		clk.Step(100 * time.Millisecond)
		w.release(s, nil)
		if grown++; grown > 1000 {
			t.Fatalf("the limit stays at %d after %d writes in time", w.current(), grown)
		}
	}
	// One per limit's worth: about 4+5+…+15 = 114 writes.
	if grown < 100 {
		t.Errorf("back to 16 after %d writes: it grows by one per limit's worth", grown)
	}
	s := acquire(1)[0]
	w.release(s, nil)
	if got := w.current(); got != 16 {
		t.Errorf("limit %d past the workers (16)", got)
	}

	// Writes stopped (shutdown, a lapsed claim) give their slot back and
	// say nothing of the API server, however long they took.
	started = acquire(16)
	clk.Step(time.Minute)
	for range started {
		w.forget()
	}
	if got := w.current(); got != 16 {
		t.Errorf("after stopped writes: limit %d, want 16", got)
	}
	acquire(16) // every slot is free again
}

// overloadTransport answers a cluster's Service writes as an API server
// that cannot take them does (503, no Retry-After) while overloaded is
// set; every other request goes to the real API server.
type overloadTransport struct {
	next       http.RoundTripper
	overloaded *atomic.Bool
}

func (o overloadTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !o.overloaded.Load() || req.Method != http.MethodPatch || !strings.Contains(req.URL.Path, "/services/") {
		return o.next.RoundTrip(req)
	}
	body := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server is currently unable to handle the request","reason":"ServiceUnavailable","code":503}`
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
}

// TestOverloadedClusterGetsFewerWrites: while staging's API server refuses
// the Service writes as overloaded, the daemon lets fewer pairs write to
// staging at once (down to one) and says why in each pair's status, while
// prod keeps every worker; once staging takes writes again, every pair is
// applied and staging's limit grows back to the workers.
func TestOverloadedClusterGetsFewerWrites(t *testing.T) {
	const n, workers = 8, 4
	services, ids := webServices("overload", n)
	dir := catalogDir(t, []string{"overload"}, services)
	var overloaded atomic.Bool
	overloaded.Store(true)
	d := run(t, dir, func(o *Options, configs map[string]*rest.Config) {
		o.Concurrency, o.Apply.Wait, o.Apply.WaitTimeout = workers, false, 0
		o.MinBackoff, o.MaxBackoff = time.Second, time.Second
		configs["staging"].WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return overloadTransport{rt, &overloaded} }
	})
	limit := func(cluster string) float64 {
		t.Helper()
		m := d.metric("pave_cluster_write_limit", cluster)
		if m == nil || m.Gauge == nil {
			t.Fatalf("no pave_cluster_write_limit for %s", cluster)
		}
		return m.Gauge.GetValue()
	}
	d.waitFor(time.Minute, "staging's write limit cut to one pair", func() (bool, string) {
		d.clock.Step(time.Second) // the failed pairs' retries
		return limit("staging") == 1, fmt.Sprintf("limit %v", limit("staging"))
	})
	if got := limit("prod"); got != workers {
		t.Errorf("prod's write limit while staging is overloaded: %v, want %d", got, workers)
	}
	d.waitFor(time.Minute, "the overload in a pair's status", func() (bool, string) {
		e := d.env(ids[0], "staging")
		return e != nil && e.Phase == PhaseFailed && len(e.Errors) > 0 && strings.Contains(e.Errors[0], "unable to handle the request"), fmt.Sprintf("%+v", e)
	})

	overloaded.Store(false)
	d.waitFor(2*time.Minute, "every pair applied in both environments", func() (bool, string) {
		d.clock.Step(time.Second)
		for _, id := range ids {
			for _, env := range []string{"staging", "prod"} {
				if e := d.env(id, env); e == nil || e.Phase != PhaseProgressing && e.Phase != PhaseReady {
					return false, fmt.Sprintf("%s (%s): %+v", id, env, e)
				}
			}
		}
		return true, ""
	})
	if got := limit("staging"); got != workers {
		t.Errorf("staging's write limit after %d pairs written in time: %v, want back to %d", n, got, workers)
	}
}
