package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

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
	dep, err := deployment(t, cluster, ns, name)
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
		return d.snap != nil && d.snap.waves != nil && d.snap.waves.rev == rev, rev
	})
	return d.rolloutOf(id)
}

// runsNewest waits until every service runs the source's current
// revision Ready in env.
func (d *testDaemon) runsNewest(timeout time.Duration, env string, ids ...string) {
	d.t.Helper()
	d.waitFor(timeout, fmt.Sprintf("%v Ready at the newest revision in %s", ids, env), func() (bool, string) {
		rev := d.Status.Source().Revision
		for _, id := range ids {
			if e := d.env(id, env); e == nil || e.Phase != PhaseReady || e.AppliedRevision != rev {
				return false, fmt.Sprintf("%s: %+v", id, e)
			}
		}
		return true, ""
	})
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
	services, ids := webServices(team, 20)
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
	d.runsNewest(2*time.Minute, "staging", canary)
	d.gateIs(time.Minute, second, "staging", "wave 1 of template web-service soaking, 5m left")
	e := d.gateIs(time.Minute, rest[0], "staging", "waiting for wave 2 of template web-service to be Ready")
	if e.Wave != "3 of 3 (template web-service)" || e.Phase != PhaseReady {
		t.Errorf("a service of the last wave: wave %q, phase %s; want 3 of 3, Ready on the previous template", e.Wave, e.Phase)
	}
	templateRuns(t, "staging", "2", canary)
	templateRuns(t, "staging", "1", append([]string{second}, rest...)...)
	if ro := d.Rollouts(context.Background()); len(ro) != 1 || ro[0].Template != "web-service" || len(ro[0].Waves) != 3 ||
		ro[0].Waves[0].Environments["staging"] != (WaveEnvironment{State: "done", Done: 1}) || ro[0].Waves[2].Environments["staging"] != (WaveEnvironment{State: "pending"}) {
		t.Errorf("rollouts: %+v", ro)
	}
	// The same through the status API.
	api := httptest.NewServer(d.APIHandler(APIOptions{}))
	defer api.Close()
	resp, err := http.Get(api.URL + "/api/v1/rollouts")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Rollouts []RolloutStatus }
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || len(body.Rollouts) != 1 || body.Rollouts[0].Template != "web-service" || body.Rollouts[0].Waves[0].Environments["staging"].State != "done" {
		t.Errorf("GET /api/v1/rollouts: %+v (%v)", body, err)
	}
	// The canary goes on to prod (staging runs it Ready); nothing else does.
	d.runsNewest(2*time.Minute, "prod", canary)
	templateRuns(t, "prod", "2", canary)
	templateRuns(t, "prod", "1", second, rest[0], rest[17])

	d.clock.Step(5 * time.Minute)
	d.runsNewest(2*time.Minute, "staging", second)
	d.gateIs(time.Minute, rest[0], "staging", "wave 2 of template web-service soaking, 5m left")
	templateRuns(t, "staging", "1", rest...)
	d.clock.Step(5 * time.Minute)
	d.runsNewest(3*time.Minute, "staging", rest...)
	// prod's second wave soaks from when it became Ready there.
	d.runsNewest(2*time.Minute, "prod", second)
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
	if ro := d.Rollouts(context.Background()); len(ro) != 1 || ro[0].Waves[0].Environments["staging"].State != "halted" {
		t.Errorf("rollouts while halted: %+v", ro)
	}
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
	d.plan(second)
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
	if p := d.plan(ids[0]); p == nil || p.waves[0][0] != canary {
		t.Errorf("after the fix the canary should still lead the rollout: %+v", p)
	}
}

// TestTemplateWavesApprovalAndRestart: in an environment whose promotion
// is manual, pave promote --template approves one wave at a time; a
// restarted pave (a new clone too) derives the same waves from what the
// clusters run, so the rollout goes on where it stood.
func TestTemplateWavesApprovalAndRestart(t *testing.T) {
	const team = "wapprove"
	services := map[string]string{}
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("%s/svc%d", team, i)
		services[id] = webService("registry.example.com/wapprove/app:1.0.0")
		ids = append(ids, id)
	}
	dir := catalogDir(t, []string{team}, services)
	editFile(t, dir, "pave.yaml", "\nteams:\n", "\nrollout: {waves: [\"1\", \"100%\"]}\n\nteams:\n")
	editFile(t, dir, libHelpers, podAnchor, podAnchor+"    "+goldenKey+": \"1\"\n")
	withPromotion(t, dir, "{approval: manual}")
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "six services", start.Add(-time.Hour))
	d := runSource(t, dir, gitSource(t, dir, t.TempDir()))
	ctx := context.Background()
	for _, id := range ids {
		d.runsNewest(time.Minute, "staging", id)
		d.gateIs(time.Minute, id, "prod", "awaiting approval")
		if err := d.Promote(ctx, id, "prod"); err != nil {
			t.Fatal(err)
		}
	}
	d.phase(2*time.Minute, PhaseReady, ids...)
	if err := d.PromoteTemplate(ctx, "web-service", "prod"); !errors.Is(err, ErrConflict) {
		t.Errorf("pave promote --template with no rollout in progress: %v, want a conflict", err)
	}

	// The template change: staging goes wave by wave on its own, prod's
	// canary waits for an approval.
	editFile(t, dir, libHelpers, goldenKey+": \"1\"", goldenKey+": \"2\"")
	commitAll(t, repo, "template 2", start)
	d.refetch()
	p := d.plan(ids[0])
	if p == nil || len(p.waves) != 2 || len(p.waves[0]) != 1 {
		t.Fatalf("waves 1, 100%% over 6 services: %+v", p)
	}
	canary, rest := p.waves[0][0], p.waves[1]
	d.runsNewest(2*time.Minute, "staging", ids...)
	templateRuns(t, "staging", "2", ids...)
	d.gateIs(time.Minute, canary, "prod", "awaiting approval")
	d.gateIs(time.Minute, rest[0], "prod", "waiting for wave 1 of template web-service to be Ready")
	d.stop()

	// A new pave finds prod on the old template and plans the same waves.
	d = runSource(t, dir, gitSource(t, dir, t.TempDir()))
	if p := d.plan(ids[0]); p == nil || p.waves[0][0] != canary {
		t.Fatalf("after a restart the rollout is %+v, want the same canary %s", p, canary)
	}
	d.gateIs(time.Minute, canary, "prod", "awaiting approval")
	d.gateIs(time.Minute, rest[len(rest)-1], "prod", "waiting for wave 1 of template web-service to be Ready")
	templateRuns(t, "prod", "1", ids...)

	// One approval, one wave.
	if err := d.PromoteTemplate(ctx, "web-service", "prod"); err != nil {
		t.Fatal(err)
	}
	d.runsNewest(2*time.Minute, "prod", canary)
	templateRuns(t, "prod", "2", canary)
	for _, id := range rest {
		d.gateIs(time.Minute, id, "prod", "awaiting approval")
	}
	templateRuns(t, "prod", "1", rest...)
	if err := d.PromoteTemplate(ctx, "web-service", "prod"); err != nil {
		t.Fatal(err)
	}
	d.phase(2*time.Minute, PhaseReady, ids...)
	templateRuns(t, "prod", "2", ids...)
	if err := d.PromoteTemplate(ctx, "web-service", "prod"); !errors.Is(err, ErrConflict) {
		t.Errorf("pave promote --template with nothing awaiting approval: %v, want a conflict", err)
	}
}
