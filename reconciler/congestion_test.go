package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
