package reconciler

import (
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
)

// writeLimit is how many pairs may write to one cluster at once. It is
// every worker (--concurrency) while the cluster answers in time; when
// its API server shows it is overloaded (a write timed out, was refused
// as too many or while it could not take it, or the pair's writes took
// longer than one request may: the cluster's request timeout) it is
// halved, and it grows back by one for each limit's worth of pairs
// written in time: additive increase, multiplicative decrease, as TCP
// does. An overloaded API server that is sent as much as before times out
// more requests, and finishes the work of each after its client gave up
// on it, so a timed-out write costs it twice; sending fewer lets it catch
// up. The writes of pairs sent before a cut count neither way: one
// episode of overload halves the limit once, however many writes it timed
// out, and those sent under the old limit do not grow the new one.
type writeLimit struct {
	clock clock.PassiveClock
	max   int
	// slow is how long a pair's writes may take before that alone counts
	// as overload (0: never).
	slow time.Duration

	mu       sync.Mutex
	limit    float64
	inflight int
	cutAt    time.Time
	// freed is closed (and replaced) whenever a slot may have freed.
	freed chan struct{}
}

func newWriteLimit(workers int, slow time.Duration, c clock.PassiveClock) *writeLimit {
	workers = max(1, workers)
	return &writeLimit{clock: c, max: workers, slow: slow, limit: float64(workers), freed: make(chan struct{})}
}

// acquire waits for a slot; release must be called with the outcome of
// the writes. It returns the time the slot was taken.
func (w *writeLimit) acquire(ctx context.Context) (time.Time, error) {
	for {
		w.mu.Lock()
		if w.inflight < int(w.limit) {
			w.inflight++
			w.mu.Unlock()
			return w.clock.Now(), nil
		}
		freed := w.freed
		w.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// release gives a slot back. err is the writes' error (nil: written in
// time); cut reports that the limit was halved, to limit.
func (w *writeLimit) release(started time.Time, err error) (cut bool, limit int) {
	took := w.clock.Since(started)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	// Writes sent before the last cut were sent under the limit it cut:
	// they say nothing of the new one.
	sinceCut := w.cutAt.IsZero() || !started.Before(w.cutAt)
	switch {
	case !sinceCut:
	case overloaded(err) || w.slow > 0 && took > w.slow:
		w.limit = math.Max(1, math.Floor(w.limit/2))
		w.cutAt = w.clock.Now()
		cut = true
	case err == nil:
		w.limit = math.Min(float64(w.max), w.limit+1/w.limit)
	}
	close(w.freed)
	w.freed = make(chan struct{})
	return cut, int(w.limit)
}

// forget gives a slot back without taking its writes for a sign either
// way (they were stopped).
func (w *writeLimit) forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	close(w.freed)
	w.freed = make(chan struct{})
}

// current is the limit now, for the metric.
func (w *writeLimit) current() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.limit)
}

// overloaded says an error is an API server's sign of overload: a request
// that timed out (on either side) or was refused as too many or while
// the server could not take it.
func overloaded(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
