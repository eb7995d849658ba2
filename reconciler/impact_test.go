package reconciler

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// TestImpact: a change to one service's file reconciles that service
// alone, and a change to a template reconciles the services using it and
// no other. The daemon's clock tells which pairs a revision reconciled:
// each change happens a minute after the previous one.
func TestImpact(t *testing.T) {
	const web1, web2, worker = "impact/web1", "impact/web2", "impact/worker"
	dir := catalogDir(t, []string{"impact"}, map[string]string{
		web1:   webService("registry.example.com/impact/web1:1.0.0"),
		web2:   webService("registry.example.com/impact/web2:1.0.0"),
		worker: "  template: worker\n  image: registry.example.com/impact/worker:1.0.0\n  port: 8080\n  replicas: 2\n",
	})
	d := run(t, dir)
	d.phase(time.Minute, PhaseReady, web1, web2, worker)

	// reconciledAt says, per service, when each environment was last
	// reconciled.
	reconciledAt := func(ids ...string) map[string]time.Time {
		out := map[string]time.Time{}
		for _, id := range ids {
			for _, env := range []string{"staging", "prod"} {
				out[id+" "+env] = *d.env(id, env).LastReconcile
			}
		}
		return out
	}
	expect := func(change string, at time.Time, touched, untouched []string) {
		t.Helper()
		time.Sleep(time.Second) // anything queued by mistake would run now
		for pair, when := range reconciledAt(touched...) {
			if !when.Equal(at) {
				t.Errorf("%s: %s last reconciled at %s, want %s", change, pair, when, at)
			}
		}
		for pair, when := range reconciledAt(untouched...) {
			if !when.Before(at) {
				t.Errorf("%s: %s reconciled at %s: it is not affected", change, pair, when)
			}
		}
	}

	t.Run("a service's change reconciles that service alone", func(t *testing.T) {
		d.clock.Step(time.Minute)
		editFile(t, dir, "services/impact/web1/service.yaml", "web1:1.0.0", "web1:1.1.0")
		d.refetch()
		d.phase(time.Minute, PhaseReady, web1)
		expect("web1's change", d.clock.Now(), []string{web1}, []string{web2, worker})
		if img := image(t, "prod", "impact-prod", "web1"); img != "registry.example.com/impact/web1:1.1.0" {
			t.Errorf("web1 runs %s", img)
		}
	})

	t.Run("a template's change reaches the services using it", func(t *testing.T) {
		d.clock.Step(time.Minute)
		editFile(t, dir, "templates/worker/templates/deployment.yaml", `include "pave.deployment" .`,
			`include "pave.deployment" . | replace "kind: Deployment\nmetadata:\n" "kind: Deployment\nmetadata:\n  annotations:\n    platform.example.com/tier: worker\n"`)
		d.refetch()
		d.phase(time.Minute, PhaseReady, worker)
		expect("the worker template's change", d.clock.Now(), []string{worker}, []string{web1, web2})
		for _, cluster := range []string{"staging", "prod"} {
			cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, cluster))
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{"worker": "worker", "web1": "", "web2": ""} {
				dep, err := cs.AppsV1().Deployments("impact-"+cluster).Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := dep.Annotations["platform.example.com/tier"]; got != want {
					t.Errorf("%s: %s's tier annotation %q, want %q", cluster, name, got, want)
				}
			}
		}
	})
}
