package reconciler

import (
	"testing"
	"time"
)

// TestNextPoll: the daemon polls at its interval, doubles the wait for
// each fetch that failed in a row (at most 8 times) up to MaxBackoff, never
// waits less than the interval, and adds up to 10% jitter.
func TestNextPoll(t *testing.T) {
	for _, tc := range []struct {
		interval, maxBackoff time.Duration
		failed               int
		want                 time.Duration
	}{
		{time.Minute, 5 * time.Minute, 0, time.Minute},
		{time.Minute, 5 * time.Minute, 1, 2 * time.Minute},
		{time.Minute, 5 * time.Minute, 2, 4 * time.Minute},
		{time.Minute, 5 * time.Minute, 3, 5 * time.Minute},
		{time.Minute, 5 * time.Minute, 1000, 5 * time.Minute},
		{10 * time.Minute, 5 * time.Minute, 0, 10 * time.Minute},
		{10 * time.Minute, 5 * time.Minute, 3, 10 * time.Minute},
		{time.Second, time.Hour, 20, 256 * time.Second},
	} {
		d := &Daemon{opts: Options{Interval: tc.interval, MaxBackoff: tc.maxBackoff}, fetchFailed: tc.failed}
		lo, hi := tc.want, tc.want+tc.want/10
		spread := false
		for range 200 {
			got := d.nextPoll()
			if got < lo || got > hi {
				t.Fatalf("interval %s, max backoff %s, %d failures: next poll in %s, want %s to %s", tc.interval, tc.maxBackoff, tc.failed, got, lo, hi)
			}
			spread = spread || got != lo
		}
		if !spread {
			t.Errorf("interval %s, %d failures: no jitter in 200 polls", tc.interval, tc.failed)
		}
	}
}
