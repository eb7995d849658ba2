package reconciler

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// slowPolicy takes far longer than the policies' timeout (2s) on every
// Deployment, the way a starved CPU or a slow policy would.
const slowPolicy = `# METADATA
# title: Slow
# custom:
#   id: slow
package pave.policies.slow

deny contains msg if {
	some obj in input.objects
	obj.kind == "Deployment"
	count([i | some i in numbers.range(1, 5000); some j in numbers.range(1, 5000); i == j + 100000]) > 0
	msg := "never"
}
`

// TestPolicyTimeoutIsRetried: an evaluation that runs out of time is no
// verdict: the service shows the timeout (phase PolicyDenied, nothing
// applied) and is retried with backoff, where a denial waits for a
// commit.
func TestPolicyTimeoutIsRetried(t *testing.T) {
	const id = "slowpol/api"
	dir := catalogDir(t, []string{"slowpol"}, map[string]string{id: webService("registry.example.com/slowpol/api:1.0.0")})
	writeFile(t, dir, "policies/slow.rego", slowPolicy)
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) {
		o.MinBackoff, o.MaxBackoff = time.Second, time.Minute
	})
	key := pairKey{id, "staging"}
	d.waitFor(time.Minute, "the timeout recorded and retried", func() (bool, string) {
		e := d.env(id, "staging")
		if e == nil {
			return false, "no status"
		}
		return e.Phase == PhasePolicyDenied && d.queue.NumRequeues(key) >= 1, string(e.Phase)
	})
	e := d.env(id, "staging")
	if len(e.Errors) == 0 || !strings.Contains(e.Errors[0], "timed out after 2s") {
		t.Errorf("staging errors %q, want the timeout", e.Errors)
	}
	if e.AppliedRevision != "" {
		t.Errorf("applied %s without a verdict", e.AppliedRevision)
	}
	// The retry comes after its backoff, and times out again.
	first := *e.LastReconcile
	d.clock.Step(2 * time.Second)
	d.waitFor(time.Minute, "a second try", func() (bool, string) {
		e := d.env(id, "staging")
		return e.LastReconcile.After(first) && d.queue.NumRequeues(key) >= 2, e.LastReconcile.String()
	})

	// A denial is a verdict: not retried.
	writeFile(t, dir, "policies/slow.rego", strings.Replace(slowPolicy, `count([i | some i in numbers.range(1, 5000); some j in numbers.range(1, 5000); i == j + 100000]) > 0`, "true", 1))
	d.refetch()
	rev := d.Status.Source().Revision
	d.waitFor(time.Minute, "the denial", func() (bool, string) {
		e := d.env(id, "staging")
		return e.Phase == PhasePolicyDenied && e.DesiredRevision == rev && len(e.Errors) > 0 && strings.Contains(strings.Join(e.Errors, " "), "never"), strings.Join(e.Errors, " ")
	})
	time.Sleep(500 * time.Millisecond)
	if n := d.queue.NumRequeues(key); n != 0 {
		t.Errorf("a denial was requeued %d times", n)
	}
	// pave_services counts the pairs per phase when scraped.
	want := map[Phase]int{}
	for _, svc := range d.Status.Services() {
		for _, e := range svc.Environments {
			want[e.Phase]++
		}
	}
	if want[PhasePolicyDenied] == 0 {
		t.Fatalf("no pair denied in the status: %v", want)
	}
	for _, p := range Phases {
		if m := d.metric("pave_services", string(p)); m == nil || int(m.GetGauge().GetValue()) != want[p] {
			t.Errorf("pave_services{phase=%q} = %v, want %d", p, m.GetGauge().GetValue(), want[p])
		}
	}
}
