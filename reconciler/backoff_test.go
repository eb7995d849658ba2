package reconciler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// TestBackoff: a service whose cluster stops answering is retried after
// 1s, 2s, 4s … on the daemon's clock (never sooner), while the same
// service in the other cluster goes ahead; when the cluster is back the
// next retry applies the change and the pair is Ready.
func TestBackoff(t *testing.T) {
	const id = "backoff/api"
	dir := catalogDir(t, []string{"backoff"}, map[string]string{id: webService("registry.example.com/backoff/api:1.0.0")})
	var prod *switchProxy
	d := run(t, dir, throughProxy(t, "prod", &prod), func(o *Options, _ map[string]*rest.Config) {
		o.MinBackoff, o.MaxBackoff = time.Second, time.Minute
	})
	d.phase(time.Minute, PhaseReady, id)

	// Past the cached ping, then prod goes away and the service changes.
	d.clock.Step(time.Minute)
	prod.setDown(true)
	writeFile(t, dir, "services/"+id+"/service.yaml", serviceYAML(id, webService("registry.example.com/backoff/api:1.1.0")))
	d.refetch()
	rev := d.Status.Source().Revision
	d.waitFor(time.Minute, "staging applies the change", func() (bool, string) {
		e := d.env(id, "staging")
		return e.Phase == PhaseReady && e.AppliedRevision == rev, string(e.Phase)
	})
	key := pairKey{id, "prod"}
	attempt := func(n int) time.Time {
		t.Helper()
		// The n-th failure is recorded, and its retry scheduled.
		var at time.Time
		d.waitFor(30*time.Second, "failure recorded", func() (bool, string) {
			e := d.env(id, "prod")
			if e.Phase != PhaseClusterUnreachable || e.DesiredRevision != rev || d.queue.NumRequeues(key) != n {
				return false, string(e.Phase)
			}
			at = *e.LastReconcile
			return true, ""
		})
		time.Sleep(200 * time.Millisecond) // the queue takes the retry's deadline from the clock
		return at
	}
	last := attempt(1)
	if e := d.env(id, "prod"); len(e.Errors) == 0 || !strings.Contains(e.Errors[0], "127.0.0.1") {
		t.Errorf("prod errors %q, want the unreachable address", e.Errors)
	}
	for i, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		// Not a moment before the delay…
		d.clock.Step(delay - time.Millisecond)
		time.Sleep(500 * time.Millisecond)
		if e := d.env(id, "prod"); !e.LastReconcile.Equal(last) {
			t.Fatalf("retry %d came %s after the failure, before its %s backoff", i+1, e.LastReconcile.Sub(last), delay)
		}
		// …and right at it.
		d.clock.Step(time.Millisecond)
		last = attempt(i + 2)
		if want := d.clock.Now(); !last.Equal(want) {
			t.Fatalf("retry %d at %s, want %s", i+1, last, want)
		}
	}
	if img := image(t, "prod", "backoff-prod", "api"); img != "registry.example.com/backoff/api:1.0.0" {
		t.Errorf("prod image %s while unreachable", img)
	}

	// The cluster returns: the next retry (16s) applies the change.
	prod.setDown(false)
	d.clock.Step(16 * time.Second)
	d.waitFor(time.Minute, "prod recovers", func() (bool, string) {
		e := d.env(id, "prod")
		return e.Phase == PhaseReady && e.AppliedRevision == rev, string(e.Phase)
	})
	if img := image(t, "prod", "backoff-prod", "api"); img != "registry.example.com/backoff/api:1.1.0" {
		t.Errorf("prod image %s after recovery", img)
	}
	// The worker forgets the pair's failures once its reconcile returned.
	d.waitFor(5*time.Second, "backoff reset", func() (bool, string) {
		n := d.queue.NumRequeues(key)
		return n == 0, fmt.Sprintf("%d requeues remembered after the recovery", n)
	})
}
