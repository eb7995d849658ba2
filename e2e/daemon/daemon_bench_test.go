package daemon

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkDaemon measures pave serve on 1000 synthetic web-services in the
// staging and prod clusters: the first sync (and its ratio to the floor, the
// same objects applied by the plainest fast client in the same run), a
// one-service commit applied through a signed webhook, a web-service
// template change rolled out to all of them in waves (when each wave is
// done in each environment), and the daemon's resident memory.
// Run it alone: go test ./e2e/daemon -run '^$' -bench Daemon -benchtime 1x -timeout 150m
func BenchmarkDaemon(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchDaemonOnce(b, i)
	}
}

func benchDaemonOnce(b *testing.B, round int) {
	resetClusters(b)
	work := b.TempDir()
	tb := b
	r := exampleRepo(tb, work, "services")
	bare := r.bare
	teams := []string{"payments", "storefront", "data"}
	// PAVE_BENCH_SERVICES sizes the catalog (default 1000), to look at a
	// smaller one while working on pave.
	size := 1000
	if n, err := strconv.Atoi(os.Getenv("PAVE_BENCH_SERVICES")); err == nil && n > 0 {
		size = n
	}
	var ids []string
	for j := range size {
		team := teams[j%3]
		ids = append(ids, fmt.Sprintf("%s/b%d-svc-%04d", team, round, j))
	}
	r.writeWebServices(ids)
	// The web-service template rolls out in one wave at first (the
	// template change measured against the floor's), then in the default
	// waves.
	r.edit("pave.yaml", "\nteams:\n", "\n"+oneWave+"teams:\n")
	git(tb, r.dir, "init", "-q", "-b", "main")
	rev := r.commitPush(fmt.Sprintf("%d services", size))

	// The floor: the same objects applied by the plainest fast client,
	// with pave's client limits, then (floor-ready) until every
	// Deployment is available; then removed again.
	floor, floorReady := applyFloorReady(b, r.dir, 500, 1000, 16, true)
	// And the floor of the template change below: the objects it changes
	// applied to the clusters that run the catalog, staging then prod,
	// each until Ready before the next (the promotion gate).
	changed := filepath.Join(work, "changed")
	if err := os.CopyFS(changed, os.DirFS(r.dir)); err != nil {
		b.Fatal(err)
	}
	editFile(b, filepath.Join(changed, deploymentTemplate), templateMark, templateChange("1"))
	clusters := []string{"staging", "prod"}
	sample := func() loadSample { return sampleLoad(tb, clusters) }
	floorSteps, floorChanged := applyFloorChange(b, r.dir, changed, benchAnnotation, "1", 500, 1000, 16, sample)
	resetClusters(b)

	hook := filepath.Join(work, "hook")
	os.WriteFile(hook, []byte("hook-secret"), 0o600)
	d := startPave(tb, filepath.Join(work, "pave.log"), "--repo", "file://"+bare, "--branch", "main", "--cache-dir", filepath.Join(work, "cache"),
		"--webhook-secret-file", hook, "--interval", "1h", "--resync-interval", "1h", "--concurrency", "16", "--qps", "500", "--burst", "1000",
		// The simulated nodes hold the 2000 pods of each cluster: health
		// is measured, and each wave of the template change waits for it.
		"--wait-timeout", "5m", "--profiling")
	defer d.cmd.Process.Kill()
	b.Logf("pave serve: %s, profiles at %s/debug/pprof/", d.url, d.probe)

	b.ResetTimer()
	start := time.Now()
	waitFor(tb, 60*time.Minute, "first sync", d.appliedAt(ids, rev))
	first := time.Since(start)

	// One service, through the webhook.
	r.edit("services/"+ids[0]+"/service.yaml", ":1.0.0", ":1.0.1")
	rev = r.commitPush("one service")
	start = time.Now()
	d.TriggerWebhook(tb, rev)
	// When it is applied, then Ready, in staging, then in prod (which
	// waits for staging to be Ready: the promotion gate).
	oneAt := map[string]time.Duration{}
	waitFor(tb, 2*time.Minute, "one service", func() (bool, string) {
		var s serviceStatus
		d.get("/api/v1/services/"+ids[0], &s)
		for env, e := range s.Environments {
			if e.AppliedRevision != rev {
				continue
			}
			if _, ok := oneAt[env+"-applied"]; !ok {
				oneAt[env+"-applied"] = time.Since(start)
			}
			if _, ok := oneAt[env+"-ready"]; !ok && e.Phase == "Ready" {
				oneAt[env+"-ready"] = time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
		return len(oneAt) == 4, fmt.Sprint(oneAt)
	})
	one := oneAt["prod-applied"]

	// A template change affecting all of them, in one wave: its ratio to
	// the floor's change is the cost of pave's writes and health.
	// The Deployment is the library's (templates/_lib): web-service alone adds to it.
	// Its writes are timed in the clusters (every Deployment carrying
	// the new annotation), each environment's Ready from the status API.
	r.edit(deploymentTemplate, templateMark, templateChange("1"))
	rev = r.commitPush("template change in one wave")
	written := watchAnnotation(tb, clusters, size, benchAnnotation, "1", sample)
	loadBefore := sample()
	start = written.start
	if dir := os.Getenv("PAVE_BENCH_PROFILES"); dir != "" {
		// The first 30 s of the rollout, and where the workers are 10 s
		// into it.
		go func() {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("cpu-template-change-%d.prof", size)), d.pprof("profile?seconds=30"), 0o644)
		}()
		go func() {
			time.Sleep(10 * time.Second)
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("goroutines-template-change-%d.txt", size)), d.pprof("goroutine?debug=1"), 0o644)
		}()
	}
	d.TriggerWebhook(tb, rev)
	oneWaveReady := map[string]time.Duration{}
	waitFor(tb, 60*time.Minute, "template change in one wave: ready", func() (bool, string) {
		time.Sleep(time.Second)
		ready := map[string]int{}
		for _, s := range d.services() {
			for env, e := range s.Environments {
				if e.AppliedRevision == rev && e.Phase == "Ready" {
					ready[env]++
				}
			}
		}
		for env, n := range ready {
			if _, ok := oneWaveReady[env]; !ok && n == len(ids) {
				oneWaveReady[env] = time.Since(start)
			}
		}
		return len(oneWaveReady) == 2, fmt.Sprintf("Ready at the revision: %v", ready)
	})
	// The clock's own watch may be a moment behind pave's under this
	// load: every Deployment is written once all are Ready, so wait for
	// the clock to see them (a cluster it missed would read as 0 s).
	waitFor(tb, 2*time.Minute, "template change in one wave: the clock sees every Deployment written", func() (bool, string) {
		time.Sleep(100 * time.Millisecond)
		for _, c := range clusters {
			if !written.saw(c) {
				return false, c + " not yet"
			}
		}
		return true, ""
	})
	oneWaveWritten, oneWaveLoads := written.times()

	// The same change again, in the default waves of 1, 10% and the rest
	// in each environment (pave.yaml's override removed in the same
	// commit).
	r.edit(deploymentTemplate, templateChange("1"), templateChange("2"))
	r.edit("pave.yaml", oneWave, "")
	rev = r.commitPush("template change in waves")
	start = time.Now()
	d.TriggerWebhook(tb, rev)
	waves := &waveClock{start: start, done: map[string]time.Duration{}}
	waitFor(tb, 60*time.Minute, "template rollout", func() (bool, string) {
		time.Sleep(time.Second)
		svcs := d.services()
		waves.observe(tb, svcs, rev)
		n := appliedIn(svcs, ids, rev)
		return n == len(ids), fmt.Sprintf("%d of %d applied", n, len(ids))
	})
	tmpl := time.Since(start)
	// Ready as well: the rollout's last wave is healthy.
	waitFor(tb, 60*time.Minute, "template rollout ready", d.allAt(ids, "Ready", rev))
	tmplReady := time.Since(start)
	// Resident memory once the rollout settled, and the peak of the
	// whole run so far.
	d.settle(tb)
	rssAfter, rssPeak := rss(d.cmd.Process.Pid), rssOf(d.cmd.Process.Pid, "VmHWM:")

	// No-op rounds: a commit that changes nothing any service renders
	// queues every pair; each is rendered (from the render cache),
	// checked, found unchanged against its inventory and healthy in the
	// watches, and takes the revision without a write. First a pave.yaml
	// comment (the policies stay compiled), then a comment in a policy
	// file (they are compiled again, with the same rules: the results
	// they remember are kept).
	noop := func(name, file, old, new string) (time.Duration, float64) {
		writes := func() float64 {
			return d.metric("pave_apply_objects_total", `action="created"`) + d.metric("pave_apply_objects_total", `action="configured"`)
		}
		before := writes()
		r.edit(file, old, new)
		rev = r.commitPush(name)
		var profile chan []byte
		if dir := os.Getenv("PAVE_BENCH_PROFILES"); dir != "" {
			profile = make(chan []byte, 1)
			go func() { profile <- d.pprof("profile?seconds=8") }()
			time.Sleep(100 * time.Millisecond)
			defer func() {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("cpu-%s-%d.prof", strings.ReplaceAll(name, " ", "-"), size)), <-profile, 0o644)
			}()
		}
		start := time.Now()
		d.TriggerWebhook(tb, rev)
		waitFor(tb, 10*time.Minute, name, d.appliedAt(ids, rev))
		// Until the last pair was recorded at the revision, by the
		// daemon's own clock (this machine's): the status is polled
		// each second, too coarse for a round this short.
		var last time.Time
		for _, s := range d.services() {
			for _, e := range s.Environments {
				if e.AppliedRevision == rev && e.LastReconcile != nil && e.LastReconcile.After(last) {
					last = *e.LastReconcile
				}
			}
		}
		return last.Sub(start), writes() - before
	}
	noopRound, noopWrites := noop("pave.yaml comment", "pave.yaml", "teams:\n", "# A comment: nothing rendered changes.\nteams:\n")
	noopPolicies, noopPoliciesWrites := noop("policy comment", noopPolicy, "\nimport ", "\n# A comment: the rules stay the same.\nimport ")

	// A restart on clusters that already run everything: its first sync
	// renders everything again (the render cache is in memory) but writes
	// nothing (each inventory from one list per cluster, health from the
	// watches).
	d.cmd.Process.Kill()
	<-d.done
	start = time.Now()
	d = startPave(tb, filepath.Join(work, "pave.log"), "--repo", "file://"+bare, "--branch", "main", "--cache-dir", filepath.Join(work, "cache"),
		"--webhook-secret-file", hook, "--interval", "1h", "--resync-interval", "1h", "--concurrency", "16", "--qps", "500", "--burst", "1000",
		"--wait-timeout", "5m", "--profiling")
	waitFor(tb, 10*time.Minute, "restart: first sync", func() (bool, string) {
		time.Sleep(100 * time.Millisecond)
		return d.get("/readyz", nil) == 200, "first sync not finished"
	})
	restart := time.Since(start)
	waitFor(tb, 10*time.Minute, "restart: all ready", d.allAt(ids, "Ready", rev))
	writes := d.metric("pave_apply_objects_total", `action="created"`) + d.metric("pave_apply_objects_total", `action="configured"`)
	b.StopTimer()

	// The table README's performance section shows: case, pave, floor or
	// target, ratio.
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-58s %12s %22s %7s\n", "case ("+strconv.Itoa(size)+" services × 2 environments)", "pave", "floor or target", "ratio")
	row := func(name string, pave, ref time.Duration, refName string) {
		fmt.Fprintf(&tbl, "%-58s %11.2fs %14s %6.2fs %7.2f\n", name, pave.Seconds(), refName, ref.Seconds(), pave.Seconds()/ref.Seconds())
	}
	row("first sync, every pair Ready", first, floorReady, "floor-ready")
	row("first sync, against the floor's apply alone", first, floor, "floor-apply")
	row("one-service commit: webhook → Ready in staging", oneAt["staging-ready"], 5*time.Second, "target")
	row("one-service commit: webhook → Ready in prod", oneAt["prod-ready"], 5*time.Second, "target")
	for i, step := range floorSteps {
		row(fmt.Sprintf("template change in one wave: %s written (%d objects)", step.env, floorChanged/len(floorSteps)), oneWaveWritten[step.env], step.written, "floor-written")
		row(fmt.Sprintf("template change in one wave: %s Ready", step.env), oneWaveReady[step.env], step.ready, "floor-ready")
		if i == len(floorSteps)-1 {
			row("template change in waves 1/10%/100%, all Ready", tmplReady, step.ready, "floor-ready")
		}
	}
	row(fmt.Sprintf("no-op round: a pave.yaml comment (%.0f writes)", noopWrites), noopRound, 2*time.Second, "target")
	row(fmt.Sprintf("no-op round: a policy comment, compiled again (%.0f writes)", noopPoliciesWrites), noopPolicies, 2*time.Second, "target")
	row(fmt.Sprintf("restart on clusters that run everything (%.0f writes)", writes), restart, floor, "floor-apply")
	fmt.Fprintf(&tbl, "%-58s %10.0fMiB %14s %6dMiB %7.2f\n", "resident memory after the template change, settled", float64(rssAfter)/1024, "target", 300, float64(rssAfter)/1024/300)
	fmt.Fprintf(&tbl, "%-58s %10.0fMiB\n", "resident memory at its peak (first sync to rollout)", float64(rssPeak)/1024)
	// Where the time of the template change's writes went, from the
	// commit until each cluster had them all, next to the floor's.
	for _, step := range floorSteps {
		fmt.Fprintf(&tbl, "\ntemplate change in one wave, until %s was written: the floor's writes\n%s\n", step.env, step.load)
		if l, ok := oneWaveLoads[step.env]; ok {
			fmt.Fprintf(&tbl, "pave's, from the commit\n%s\n", l.since(loadBefore))
		}
	}
	// On stdout: the testing package cuts a benchmark's long logs.
	fmt.Print(tbl.String())

	b.ReportMetric(floor.Seconds(), "floor-apply-s")
	b.ReportMetric(floorReady.Seconds(), "floor-ready-s")
	b.ReportMetric(first.Seconds()/floorReady.Seconds(), "first-sync/floor-ready")
	b.ReportMetric(first.Seconds(), "first-sync-s")
	b.ReportMetric(tmplReady.Seconds(), "template-ready-s")
	for _, step := range floorSteps {
		b.ReportMetric(step.written.Seconds(), "floor-change-"+step.env+"-written-s")
		b.ReportMetric(step.ready.Seconds(), "floor-change-"+step.env+"-ready-s")
		b.ReportMetric(oneWaveWritten[step.env].Seconds(), "template-one-wave-"+step.env+"-written-s")
		b.ReportMetric(oneWaveReady[step.env].Seconds(), "template-one-wave-"+step.env+"-ready-s")
	}
	b.ReportMetric(noopRound.Seconds(), "noop-round-s")
	b.ReportMetric(noopWrites, "noop-round-writes")
	b.ReportMetric(noopPolicies.Seconds(), "noop-policy-round-s")
	b.ReportMetric(noopPoliciesWrites, "noop-policy-round-writes")
	b.ReportMetric(restart.Seconds(), "restart-to-synced-s")
	b.ReportMetric(writes, "restart-writes")
	b.ReportMetric(float64(rssAfter)/1024, "rss-after-rollout-MiB")
	b.ReportMetric(float64(rssPeak)/1024, "rss-peak-MiB")
	b.ReportMetric(one.Seconds(), "webhook-to-applied-s")
	for _, k := range slices.Sorted(maps.Keys(oneAt)) {
		b.ReportMetric(oneAt[k].Seconds(), "one-service-"+k+"-s")
	}
	b.ReportMetric(tmpl.Seconds(), "template-1000-s")
	for _, k := range slices.Sorted(maps.Keys(waves.done)) {
		b.ReportMetric(waves.done[k].Seconds(), k+"-s")
	}
	d.settle(tb)
	b.ReportMetric(float64(rss(d.cmd.Process.Pid))/1024, "rss-after-restart-MiB")
	b.ReportMetric(d.metric("go_memstats_heap_inuse_bytes")/(1<<20), "heap-inuse-after-restart-MiB")
	// PAVE_BENCH_PROFILES=DIR keeps the heap profile after the restart's
	// sync, to see what the memory holds.
	if dir := os.Getenv("PAVE_BENCH_PROFILES"); dir != "" {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("heap-%d.prof", size)), d.pprof("heap"), 0o644)
	}
}

// The bench's template change: an annotation on every Deployment the
// web-service template renders.
const (
	benchAnnotation    = "platform.example.com/bench"
	deploymentTemplate = "templates/web-service/templates/deployment.yaml"
	templateMark       = `include "pave.deployment" .`
	noopPolicy         = "policies/probes_required.rego"
	oneWave            = "templates:\n  web-service:\n    rollout: {waves: [\"100%\"]}\n"
)

func templateChange(value string) string {
	return templateMark + ` | replace "kind: Deployment\nmetadata:\n" "kind: Deployment\nmetadata:\n  annotations:\n    ` + benchAnnotation + `: \"` + value + `\"\n"`
}

// editFile replaces the first old in a file with new.
func editFile(tb testing.TB, path, old, new string) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		tb.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// waveClock records when each wave of a template rollout is applied in
// each environment, from the status API's wave of every pair, and fails
// when a wave starts before the one before it is done.
type waveClock struct {
	start time.Time
	// done: "staging-wave1" → time from the commit until all of it ran
	// the revision.
	done map[string]time.Duration
}

func (w *waveClock) observe(tb testing.TB, svcs map[string]serviceStatus, rev string) {
	tb.Helper()
	type key struct {
		env  string
		wave int
	}
	total, applied := map[key]int{}, map[key]int{}
	for _, s := range svcs {
		for env, e := range s.Environments {
			var n int
			if _, err := fmt.Sscanf(e.Wave, "%d of", &n); err != nil {
				continue
			}
			k := key{env, n}
			total[k]++
			if e.AppliedRevision == rev {
				applied[k]++
			}
		}
	}
	for k, n := range total {
		name := fmt.Sprintf("%s-wave%d", k.env, k.wave)
		if _, seen := w.done[name]; !seen && applied[k] == n {
			w.done[name] = time.Since(w.start)
		}
		if prev := (key{k.env, k.wave - 1}); k.wave > 1 && applied[k] > 0 && applied[prev] < total[prev] {
			tb.Fatalf("%s: wave %d started (%d of %d applied) before wave %d was done (%d of %d)", k.env, k.wave, applied[k], n, k.wave-1, applied[prev], total[prev])
		}
	}
}

// pprof reads one of pave's profiles (--profiling), empty on an error.
func (d *daemon) pprof(name string) []byte {
	resp, err := http.Get(d.probe + "/debug/pprof/" + name)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return data
}

// settle waits until pave's queue is empty, and three seconds more for
// it to give the round's memory back.
func (d *daemon) settle(tb testing.TB) {
	tb.Helper()
	waitFor(tb, time.Minute, "queue empty", func() (bool, string) {
		n := d.metric("pave_queue_depth")
		return n == 0, fmt.Sprintf("%.0f queued", n)
	})
	time.Sleep(3 * time.Second)
}

func rss(pid int) int { return rssOf(pid, "VmRSS:") }

// rssOf reads one KiB figure of a process's /proc status (VmRSS:, VmHWM:
// the peak).
func rssOf(pid int, field string) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

// appliedAt holds when every service of ids is applied at revision in both
// environments.
func (d *daemon) appliedAt(ids []string, revision string) func() (bool, string) {
	return func() (bool, string) {
		svcs := map[string]serviceStatus{}
		if len(ids) == 1 {
			// One service: ask for it alone, not for the whole catalog.
			var s serviceStatus
			d.get("/api/v1/services/"+ids[0], &s)
			svcs[ids[0]] = s
		} else {
			// Polling the whole status of 1000 services is work for the
			// daemon too: not too often.
			time.Sleep(time.Second)
			svcs = d.services()
		}
		n := appliedIn(svcs, ids, revision)
		return n == len(ids), fmt.Sprintf("%d of %d applied", n, len(ids))
	}
}

// appliedIn counts the services of ids applied at revision in both
// environments.
func appliedIn(svcs map[string]serviceStatus, ids []string, revision string) int {
	n := 0
	for _, id := range ids {
		s, ok := svcs[id]
		if !ok || len(s.Environments) < 2 {
			continue
		}
		done := true
		for _, e := range s.Environments {
			done = done && e.AppliedRevision == revision
		}
		if done {
			n++
		}
	}
	return n
}

// BenchmarkPromotion measures one service's commit going through the
// environments in order, with health and a soak of 0: commit → Ready in
// staging → Ready in prod (the promotion gate adds the second leg). The
// staging leg is the floor the prod leg is compared with: both apply the
// same objects and wait for the same health, so their ratio is the gate's
// cost.
// Run it alone: go test ./e2e/daemon -run '^$' -bench Promotion -benchtime 5x
func BenchmarkPromotion(b *testing.B) {
	resetClusters(b)
	work := b.TempDir()
	r := exampleRepo(b, work, "services", "exceptions")
	bare := r.bare
	r.edit("pave.yaml", "teams:\n", "teams:\n  - name: bench\n    owners: [bench@example.com]\n")
	r.write("services/bench/promote/service.yaml", "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: promote, team: bench}\nspec:\n  template: web-service\n  image: registry.example.com/bench/promote:1.0.0\n  port: 8080\n  replicas: 2\n")
	git(b, r.dir, "init", "-q", "-b", "main")
	rev := r.commitPush("bench/promote 1.0.0")

	hook := filepath.Join(work, "hook")
	os.WriteFile(hook, []byte("hook-secret"), 0o600)
	d := startPave(b, filepath.Join(work, "pave.log"), "--repo", "file://"+bare, "--branch", "main", "--cache-dir", filepath.Join(work, "cache"),
		"--webhook-secret-file", hook, "--interval", "1h", "--resync-interval", "1h", "--wait-timeout", "1m")
	defer d.cmd.Process.Kill()
	id := []string{"bench/promote"}
	waitFor(b, 3*time.Minute, "first revision Ready in both environments", d.allAt(id, "Ready", rev))

	readyIn := func(env, revision string) func() (bool, string) {
		return func() (bool, string) {
			var s serviceStatus
			d.get("/api/v1/services/bench/promote", &s)
			e := s.Environments[env]
			if e == nil {
				return false, "no status"
			}
			return e.Phase == "Ready" && e.AppliedRevision == revision, e.Phase + " " + e.Gate
		}
	}
	var staging, prod time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.edit("services/bench/promote/service.yaml", fmt.Sprintf(":1.0.%d", i), fmt.Sprintf(":1.0.%d", i+1))
		rev = r.commitPush(fmt.Sprintf("bench/promote 1.0.%d", i+1))
		start := time.Now()
		d.TriggerWebhook(b, rev)
		waitFor(b, time.Minute, "Ready in staging", readyIn("staging", rev))
		atStaging := time.Since(start)
		waitFor(b, time.Minute, "Ready in prod", readyIn("prod", rev))
		staging += atStaging
		prod += time.Since(start) - atStaging
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(staging.Seconds()/n, "commit-to-staging-ready-s")
	b.ReportMetric((staging+prod).Seconds()/n, "commit-to-prod-ready-s")
	b.ReportMetric(prod.Seconds()/staging.Seconds(), "prod-leg/staging-leg")
}
