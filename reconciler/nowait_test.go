package reconciler

import (
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// TestWithoutHealthNothingIsRetried: with --wait-timeout 0 an applied
// pair is Progressing (applied; its health is not measured) and is not
// queued again: retrying would apply the same objects once more, and a
// busy queue of such retries would hold up the next commit. prod still
// receives the revision once staging applied it.
func TestWithoutHealthNothingIsRetried(t *testing.T) {
	const id = "nowait/api"
	dir := catalogDir(t, []string{"nowait"}, map[string]string{id: webService("registry.example.com/nowait/api:1.0.0")})
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) {
		o.Apply.WaitTimeout, o.Apply.Wait = 0, false
		o.MinBackoff, o.MaxBackoff = time.Second, time.Minute
	})
	rev := d.Status.Source().Revision
	for _, env := range []string{"staging", "prod"} {
		d.waitFor(time.Minute, env+" applied", func() (bool, string) {
			e := d.env(id, env)
			return e != nil && e.Phase == PhaseProgressing && e.AppliedRevision == rev, "not yet"
		})
	}
	// Past every backoff a retry would have waited for.
	for range 4 {
		d.clock.Step(10 * time.Second)
		time.Sleep(200 * time.Millisecond)
	}
	for _, env := range []string{"staging", "prod"} {
		if n := d.queue.NumRequeues(pairKey{id, env}); n != 0 {
			t.Errorf("%s: requeued %d times", env, n)
		}
	}
	if n := d.queue.Len(); n != 0 {
		t.Errorf("%d pairs queued", n)
	}
}
