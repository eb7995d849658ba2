package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// The library chart's pod annotations: a template change edits them.
const (
	libHelpers = "templates/_lib/templates/_helpers.tpl"
	podAnchor  = "    kubectl.kubernetes.io/default-container: {{ $svc | quote }}\n"
	goldenKey  = "example.com/golden-path"
)

// podAnnotation reads an annotation of a Deployment's pod template in a
// cluster ("<none>" when absent).
func podAnnotation(t *testing.T, cluster, ns, name, key string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: Deployment %s/%s: %v", cluster, ns, name, err)
	}
	v, ok := dep.Spec.Template.Annotations[key]
	if !ok {
		return "<none>"
	}
	return v
}

// templateRuns checks, in the cluster, which version of the template
// each service runs.
func templateRuns(t *testing.T, cluster, want string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		team, name, _ := strings.Cut(id, "/")
		if got := podAnnotation(t, cluster, team+"-"+cluster, name, goldenKey); got != want {
			t.Errorf("%s: %s runs template version %s, want %s", cluster, id, got, want)
		}
	}
}

// plan waits until the daemon planned the rollouts of the source's
// current revision, and returns a service's (nil: none).
func (d *testDaemon) plan(id string) *rolloutPlan {
	d.t.Helper()
	d.waitFor(10*time.Second, "rollouts planned", func() (bool, string) {
		d.mu.RLock()
		defer d.mu.RUnlock()
		rev := d.Status.Source().Revision
		return d.waves != nil && d.waves.rev == rev, rev
	})
	return d.rolloutOf(id)
}

// TestTemplateWaves: a template change over 20 services rolls out in
// waves of 1, 10% and the rest in each environment, each wave Ready and
// soaked before the next starts, services not reached keeping the
// previous template in the cluster; a change that fails halts at the
// first failing service and leaves the others on the old template, a
// commit that does not touch them does not un-halt them, and the fix lets
// the rollout go on.
func TestTemplateWaves(t *testing.T) {
	const team = "waves"
	services := map[string]string{}
	var ids []string
	for i := range 20 {
		id := fmt.Sprintf("%s/svc%02d", team, i)
		services[id] = webService("registry.example.com/waves/app:1.0.0")
		ids = append(ids, id)
	}
	dir := catalogDir(t, []string{team}, services)
	editFile(t, dir, "pave.yaml", "\nteams:\n", "\nrollout:\n  waves: [\"1\", \"10%\", \"100%\"]\n  soak: 5m\n\nteams:\n")
	editFile(t, dir, libHelpers, podAnchor, podAnchor+"    "+goldenKey+": \"1\"\n")
	d := run(t, dir, func(o *Options, _ map[string]*rest.Config) { o.Apply.WaitTimeout = 30 * time.Second })
	d.phase(3*time.Minute, PhaseReady, ids...)
	if p := d.plan(ids[0]); p != nil {
		t.Fatalf("the first revision is new to every service, yet a rollout: %v", p.waves)
	}

	// A good template change.
	editFile(t, dir, libHelpers, goldenKey+": \"1\"", goldenKey+": \"2\"")
	d.refetch()
	p := d.plan(ids[0])
	if p == nil || len(p.waves) != 3 || len(p.waves[0]) != 1 || len(p.waves[1]) != 1 || len(p.waves[2]) != 18 {
		t.Fatalf("rollout of a template change over 20 services: %+v, want waves of 1, 1 and 18", p)
	}
	canary, second, rest := p.waves[0][0], p.waves[1][0], p.waves[2]
	d.envPhase(2*time.Minute, canary, "staging", PhaseReady)
	d.gateIs(time.Minute, second, "staging", "wave 1 of template web-service soaking, 5m left")
	e := d.gateIs(time.Minute, rest[0], "staging", "waiting for wave 2 of template web-service to be Ready")
	if e.Wave != "3 of 3 (template web-service)" || e.Phase != PhaseReady {
		t.Errorf("a service of the last wave: wave %q, phase %s; want 3 of 3, Ready on the previous template", e.Wave, e.Phase)
	}
	templateRuns(t, "staging", "2", canary)
	templateRuns(t, "staging", "1", append([]string{second}, rest...)...)
	// The canary goes on to prod (staging runs it Ready); nothing else does.
	d.envPhase(2*time.Minute, canary, "prod", PhaseReady)
	templateRuns(t, "prod", "2", canary)
	templateRuns(t, "prod", "1", second, rest[0], rest[17])

	d.clock.Step(5 * time.Minute)
	d.envPhase(2*time.Minute, second, "staging", PhaseReady)
	d.gateIs(time.Minute, rest[0], "staging", "wave 2 of template web-service soaking, 5m left")
	templateRuns(t, "staging", "1", rest...)
	d.clock.Step(5 * time.Minute)
	d.waitFor(3*time.Minute, "the last wave in staging", func() (bool, string) {
		for _, id := range rest {
			if e := d.env(id, "staging"); e == nil || e.Phase != PhaseReady || e.AppliedRevision != d.Status.Source().Revision {
				return false, fmt.Sprintf("%s: %+v", id, e)
			}
		}
		return true, ""
	})
	// prod's second wave soaks from when it became Ready there.
	d.envPhase(2*time.Minute, second, "prod", PhaseReady)
	d.gateIs(time.Minute, rest[0], "prod", "wave 2 of template web-service soaking, 5m left")
	d.clock.Step(5 * time.Minute)
	d.phase(3*time.Minute, PhaseReady, ids...)
	templateRuns(t, "staging", "2", ids...)
	templateRuns(t, "prod", "2", ids...)

	// A bad template change halts at the canary.
	d.clock.Step(time.Hour)
	editFile(t, dir, libHelpers, goldenKey+": \"2\"\n", goldenKey+": \"3\"\n    "+testcluster.UnreadyAnnotation+": \"true\"\n")
	d.refetch()
	p = d.plan(ids[0])
	if p == nil || p.waves[0][0] != canary {
		t.Fatalf("the canary changed from one template change to the next: %+v", p)
	}
	d.envPhase(3*time.Minute, canary, "staging", PhaseFailed)
	e = d.gateIs(time.Minute, second, "staging", "halted: wave 1 of template web-service: "+canary+" Failed: ")
	if !strings.Contains(e.Gate, "Deployment") {
		t.Errorf("halted gate %q does not name the failing object", e.Gate)
	}
	d.gateIs(time.Minute, rest[17], "staging", "halted: wave 1 of template web-service: "+canary+" Failed: ")
	d.gateIs(time.Minute, canary, "prod", "halted: staging Failed: ")
	d.clock.Step(time.Hour)
	templateRuns(t, "staging", "2", append([]string{second}, rest...)...)
	templateRuns(t, "prod", "2", ids...)

	// A commit that does not touch them does not un-halt them.
	writeFile(t, dir, "README.md", "notes\n")
	d.refetch()
	d.queue.Add(pairKey{second, "staging"})
	d.gateIs(time.Minute, second, "staging", "halted: wave 1 of template web-service: "+canary)
	templateRuns(t, "staging", "2", second, rest[0])

	// The fix (a revert): the canary runs it, and every other service
	// already runs what it renders.
	editFile(t, dir, libHelpers, goldenKey+": \"3\"\n    "+testcluster.UnreadyAnnotation+": \"true\"\n", goldenKey+": \"2\"\n")
	d.refetch()
	d.phase(3*time.Minute, PhaseReady, ids...)
	templateRuns(t, "staging", "2", ids...)
	templateRuns(t, "prod", "2", ids...)
	if p := d.plan(ids[0]); p != nil && slices.Index(p.waves[len(p.waves)-1], canary) < 0 {
		t.Errorf("after the fix the canary should be the only one left to reach: %v", p.waves)
	}
}
