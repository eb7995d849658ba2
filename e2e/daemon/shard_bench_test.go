package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/reconciler/shard"
)

// BenchmarkShardedDaemon measures pave serve run as three shards
// (--shards 3, three processes, each with BenchmarkDaemon's client limits)
// on N synthetic web-services in the staging and prod clusters, N = 1000
// and 10,000 (PAVE_BENCH_SERVICES=N runs N alone): the first sync against
// the floor measured in the same run, a one-service commit through the
// webhook of the replica owning it, a replica killed with SIGKILL (how
// long until a commit to one of its services is applied by another, and
// until the others hold its whole share), its restart (until the shares
// are rebalanced), every replica's resident memory, and that no service
// was ever claimed by two replicas at once. Health is measured at every
// size: each cluster gets simulated nodes for every pod of the catalog (2
// replicas a service), and is emptied by a reset (etcd's data removed)
// before the floor and before pave. Run it alone:
//
//	go test ./e2e/daemon -run '^$' -bench ShardedDaemon/1000 -benchtime 1x -timeout 120m
func BenchmarkShardedDaemon(b *testing.B) {
	sizes := []int{1000, 10000}
	if n, err := strconv.Atoi(os.Getenv("PAVE_BENCH_SERVICES")); err == nil && n > 0 {
		sizes = []int{n}
	}
	for _, size := range sizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchShardedOnce(b, size, i)
			}
		})
	}
}

func benchShardedOnce(b *testing.B, size, round int) {
	// Empty clusters (an earlier size's objects gone with etcd's data),
	// with simulated nodes for every pod of the catalog (2 a service), so
	// health is measured at every size, and room for the surge pods of
	// the rollouts the commits below start (one a service; without it, a
	// catalog that fills its nodes exactly never finishes a rollout).
	testcluster.Reset(b)
	ensurePodCapacity(b, 2*size+100)
	work := b.TempDir()
	r := exampleRepo(b, work, "services")
	bare := r.bare
	// About 100 services a team, as in a platform that large (at least the
	// example's three teams): a team's services share its namespace in
	// each environment, and with 3,333 of them in one namespace the
	// controller-manager used nearly as much CPU as the API server in the
	// 10,000 case's floor, which then went at half the speed.
	teams := []string{"payments", "storefront", "data"}
	var more strings.Builder
	for j := len(teams); j < size/100; j++ {
		name := fmt.Sprintf("team-%03d", j)
		teams = append(teams, name)
		fmt.Fprintf(&more, "  - name: %s\n    owners: [%s@example.com]\n", name, name)
	}
	r.edit("pave.yaml", "\nteams:\n", "\nteams:\n"+more.String())
	var ids []string
	for j := range size {
		ids = append(ids, fmt.Sprintf("%s/s%d-svc-%05d", teams[j%len(teams)], round, j))
	}
	r.writeWebServices(ids)
	git(b, r.dir, "init", "-q", "-b", "main")
	rev := r.commitPush(fmt.Sprintf("%d services", size))

	// The floor: the same objects applied by the plainest fast client with
	// one replica's client limits, until every Deployment is available;
	// then the clusters emptied again. PAVE_BENCH_FLOOR=APPLY,READY (Go
	// durations a run of the same size logged) takes them as given
	// instead: the 10,000 case's floor alone takes half an hour, and the
	// table then says the floor is from another run.
	var floor, floorReady time.Duration
	floorName := "floor"
	if given := os.Getenv("PAVE_BENCH_FLOOR"); given != "" {
		floor, floorReady = givenFloor(b, given)
		floorName = "given"
		b.Logf("floor given by PAVE_BENCH_FLOOR, not measured in this run: apply %s, until every Deployment available %s", floor, floorReady)
	} else {
		floor, floorReady = applyFloorReady(b, r.dir, 500, 1000, 16, true)
		// Each figure is logged as it is measured (go test -v shows it
		// at once), so that a run cut short keeps what it measured.
		b.Logf("floor: apply %s, until every Deployment available %s", floor.Round(time.Millisecond), floorReady.Round(time.Millisecond))
		testcluster.Reset(b)
	}

	hook := filepath.Join(work, "hook")
	if err := os.WriteFile(hook, []byte("hook-secret"), 0o600); err != nil {
		b.Fatal(err)
	}
	members := []string{"a", "b", "c"}
	logs := map[string]string{} // process → log file; c runs twice
	reps := map[string]*daemon{}
	mem := &rssPeaks{peak: map[string]int{}}
	start := func(id, proc string) *daemon {
		logs[proc] = filepath.Join(work, proc+".log")
		d := startPave(b, logs[proc], "--repo", "file://"+bare, "--branch", "main", "--cache-dir", filepath.Join(work, "cache-"+id),
			"--webhook-secret-file", hook, "--interval", "1h", "--resync-interval", "1h", "--concurrency", "16", "--qps", "500", "--burst", "1000",
			"--wait-timeout", "5m", "--shards", "3", "--shard-identity", id, "--log-level", "trace", "--profiling")
		mem.add(proc, d)
		return d
	}
	stopSampling := mem.sample(500 * time.Millisecond)
	defer stopSampling()
	// PAVE_BENCH_PROFILES=DIR keeps the replicas' logs (debug level:
	// claims, members, reconciles), to read where a takeover's time went.
	if dir := os.Getenv("PAVE_BENCH_PROFILES"); dir != "" {
		b.Cleanup(func() {
			for proc, file := range logs {
				if data, err := os.ReadFile(file); err == nil {
					_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("replica-%s-%d.log", proc, size)), data, 0o644)
				}
			}
		})
	}

	b.ResetTimer()
	began := time.Now()
	for _, id := range members {
		reps[id] = start(id, id)
	}
	// First sync: every pair applied at rev and Ready by its owner, and no
	// replica listing a service outside its share.
	// A first sync where no pair moves for 10 minutes is stuck: it fails
	// then, naming the replicas that stopped writing on the way.
	var firstApplied, firstReady time.Duration
	progress, moved := -1, time.Now()
	waitFor(b, 120*time.Minute, "first sync on three shards", func() (bool, string) {
		time.Sleep(time.Second) // the status of every service is work for the replicas too
		applied, ready, pairs, stray := shareProgress(reps, ids, members, rev)
		if stray != "" {
			return false, stray
		}
		if pairs != progress {
			progress, moved = pairs, time.Now()
		} else if time.Since(moved) > 10*time.Minute {
			b.Fatalf("first sync stuck for %s at %d of %d applied, %d Ready; the replicas' fencing on the way: %s",
				time.Since(moved).Round(time.Second), applied, len(ids), ready, logLines(logs, "stopped writing"))
		}
		if firstApplied == 0 && applied == len(ids) {
			firstApplied = time.Since(began)
		}
		if firstReady == 0 && ready == len(ids) {
			firstReady = time.Since(began)
		}
		return firstApplied > 0 && firstReady > 0, fmt.Sprintf("%d of %d applied in both environments, %d Ready there (%d pair steps of %d)", applied, len(ids), ready, pairs, 4*len(ids))
	})
	b.Logf("first sync: every pair applied %s, Ready %s", firstApplied.Round(time.Millisecond), firstReady.Round(time.Millisecond))
	owned := map[string]int{}
	for _, s := range ids {
		owned[shard.Assign(members, s)]++
	}

	// One service, through the webhook of the replica that owns it.
	one := ids[0]
	owner := shard.Assign(members, one)
	r.edit("services/"+one+"/service.yaml", ":1.0.0", ":1.0.1")
	rev = r.commitPush("one service")
	pushed := time.Now()
	if code := reps[owner].TriggerWebhook(b, rev); code != http.StatusAccepted {
		b.Fatalf("webhook of %s: %d", owner, code)
	}
	oneAt := trackOne(b, reps[owner], one, rev, pushed, 3*time.Minute)
	b.Logf("one-service commit through %s's webhook: %v", owner, oneAt)

	// SIGKILL c: its Lease lapses without a release. A commit to one of its
	// services, pushed right after, is applied by its heir among a and b.
	var victim string
	for _, s := range ids[1:] {
		if shard.Assign(members, s) == "c" {
			victim = s
			break
		}
	}
	heir := shard.Assign([]string{"a", "b"}, victim)
	killed := time.Now()
	reps["c"].cmd.Process.Signal(syscall.SIGKILL)
	<-reps["c"].done
	r.edit("services/"+victim+"/service.yaml", ":1.0.0", ":1.0.1")
	rev = r.commitPush("a commit to " + victim)
	if code := reps["a"].TriggerWebhook(b, rev); code != http.StatusAccepted {
		b.Fatalf("webhook of a: %d", code)
	}
	// Meanwhile, until a and b hold every service, c's whole share
	// included (measured beside the commit, not after it).
	held := make(chan time.Duration, 1)
	stopHeld := make(chan struct{})
	defer close(stopHeld) // a failure below ends the polling too
	go func() {
		for time.Since(killed) < 60*time.Minute {
			select {
			case <-stopHeld:
				return
			default:
			}
			if ok, _ := splitAs(reps, ids, []string{"a", "b"}, "")(); ok {
				held <- time.Since(killed)
				return
			}
			time.Sleep(time.Second)
		}
		held <- 0
	}()
	takeAt := trackOne(b, reps[heir], victim, rev, killed, 10*time.Minute)
	b.Logf("c killed: a commit to %s applied by %s: %v", victim, heir, takeAt)
	shareTaken := <-held
	if shareTaken == 0 {
		_, state := splitAs(reps, ids, []string{"a", "b"}, "")()
		b.Fatalf("a and b do not hold every service an hour after c was killed: %s", state)
	}
	b.Logf("c killed: a and b hold every service %s later", shareTaken.Round(time.Millisecond))
	if dir := os.Getenv("PAVE_BENCH_PROFILES"); dir != "" {
		// What the heirs hold in memory, each with half of c's share more.
		for _, id := range []string{"a", "b"} {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("heap-%s-after-takeover-%d.prof", id, size)), reps[id].pprof("heap"), 0o644)
		}
	}

	// c again, under the same identity: it waits for its former Lease to
	// lapse, then takes its share back.
	restarted := time.Now()
	reps["c"] = start("c", "c2")
	waitFor(b, 60*time.Minute, "shares rebalanced with c back", func() (bool, string) {
		time.Sleep(time.Second)
		return splitAs(reps, ids, members, "")()
	})
	rebalanced := time.Since(restarted)
	b.StopTimer()
	stopSampling()

	// No two replicas ever held a claim on one service at once, and
	// before the kill each service was claimed by its owner alone.
	claims := readClaims(b, logs)
	overlaps := overlapping(claims, map[string]time.Time{"c": killed})
	for _, o := range overlaps {
		b.Error(o)
	}
	for _, c := range claims {
		if want := shard.Assign(members, c.service); c.from.Before(killed) && c.member != want {
			b.Errorf("%s claimed %s at %s before any replica stopped; its owner is %s", c.proc, c.service, c.from.Format(time.StampMilli), want)
		}
	}

	// The table: case, pave, floor or target, ratio.
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-66s %12s %22s %7s\n", fmt.Sprintf("case (%d services × 2 environments, 3 shards)", size), "pave", "floor or target", "ratio")
	row := func(name string, pave, ref time.Duration, refName string) {
		fmt.Fprintf(&tbl, "%-66s %11.2fs %14s %6.2fs %7.2f\n", name, pave.Seconds(), refName, ref.Seconds(), pave.Seconds()/ref.Seconds())
	}
	row("first sync, every pair Ready", firstReady, floorReady, floorName+"-ready")
	row("first sync, every pair applied (prod after staging Ready)", firstApplied, floor, floorName+"-apply")
	row("one-service commit, owner's webhook → applied in staging", oneAt["staging-applied"], 2*time.Second, "target")
	row("one-service commit, owner's webhook → applied in prod", oneAt["prod-applied"], 2*time.Second, "target")
	row("one-service commit, owner's webhook → Ready in staging", oneAt["staging-ready"], 5*time.Second, "target")
	row("one-service commit, owner's webhook → Ready in prod", oneAt["prod-ready"], 5*time.Second, "target")
	row(fmt.Sprintf("c killed → a commit to one of c's applied by %s in prod", heir), takeAt["prod-applied"], 30*time.Second, "target")
	row(fmt.Sprintf("c killed → a commit to one of c's Ready by %s in prod", heir), takeAt["prod-ready"], 30*time.Second, "target")
	row(fmt.Sprintf("c killed → a and b hold c's whole share (%d services)", owned["c"]), shareTaken, 30*time.Second, "target")
	fmt.Fprintf(&tbl, "%-66s %11.2fs %22s %7s\n", "c restarted → shares rebalanced", rebalanced.Seconds(), "", "")
	fmt.Fprintf(&tbl, "%-66s %12d %14s %7d %7s\n", fmt.Sprintf("services claimed by two replicas at once (of %d claims)", len(claims)), len(overlaps), "target", 0, "")
	fenced := 0
	if l := logLines(logs, "stopped writing"); l != "none" {
		fenced = len(strings.Split(l, "\n"))
		b.Logf("replicas that stopped writing, their Lease not renewed in time:\n%s", l)
	}
	fmt.Fprintf(&tbl, "%-66s %12d %22s %7s\n", "times a replica stopped writing (its Lease not renewed in time)", fenced, "", "")
	peaks, total := mem.result()
	// Each replica against its container's memory limit in the chart,
	// past which the kubelet would kill it (pave runs with that limit as
	// GOMEMLIMIT, as the chart runs it).
	limit := chartMemoryLimit(b) >> 20
	for _, id := range members {
		fmt.Fprintf(&tbl, "%-66s %9.0fMiB %14s %4dMiB %7.2f\n", fmt.Sprintf("resident memory, peak, replica %s (%d services)", id, owned[id]), float64(peaks[id])/1024, "chart limit", limit, float64(peaks[id])/1024/float64(limit))
	}
	fmt.Fprintf(&tbl, "%-66s %9.0fMiB %14s %4dMiB %7.2f\n", "resident memory, peak of the sum over live replicas", float64(total)/1024, "target", 1536, float64(total)/1024/1536)
	// On stdout: b.Log keeps only a benchmark's first 10 lines.
	fmt.Print(tbl.String())

	b.ReportMetric(floor.Seconds(), "floor-apply-s")
	b.ReportMetric(firstApplied.Seconds(), "first-sync-applied-s")
	b.ReportMetric(firstApplied.Seconds()/floor.Seconds(), "first-sync-applied/floor-apply")
	b.ReportMetric(floorReady.Seconds(), "floor-ready-s")
	b.ReportMetric(firstReady.Seconds(), "first-sync-ready-s")
	b.ReportMetric(firstReady.Seconds()/floorReady.Seconds(), "first-sync-ready/floor-ready")
	for _, k := range slices.Sorted(maps.Keys(oneAt)) {
		b.ReportMetric(oneAt[k].Seconds(), "one-service-"+k+"-s")
	}
	b.ReportMetric(takeAt["prod-applied"].Seconds(), "kill-to-applied-s")
	b.ReportMetric(shareTaken.Seconds(), "kill-to-share-taken-s")
	b.ReportMetric(rebalanced.Seconds(), "restart-to-rebalanced-s")
	b.ReportMetric(float64(len(overlaps)), "overlapping-claims")
	b.ReportMetric(float64(total)/1024, "rss-sum-peak-MiB")
	for _, id := range members {
		b.ReportMetric(float64(peaks[id])/1024, "rss-peak-"+id+"-MiB")
	}
}

// logLines returns the lines of the replicas' logs that contain text,
// each after its process's name.
func logLines(logs map[string]string, text string) string {
	var out []string
	for _, proc := range slices.Sorted(maps.Keys(logs)) {
		data, _ := os.ReadFile(logs[proc])
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, text) {
				out = append(out, proc+": "+line)
			}
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "\n")
}

// ensurePodCapacity gives both clusters simulated nodes enough for pods
// pods (the catalog's Deployments at their replicas), adding nodes where
// the default two hold fewer.
func ensurePodCapacity(tb testing.TB, pods int) {
	tb.Helper()
	for _, cluster := range []string{"staging", "prod"} {
		cs, err := kubernetes.NewForConfig(testcluster.ConfigFor(tb, cluster))
		if err != nil {
			tb.Fatal(err)
		}
		nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		have, per := 0, 0
		for _, node := range nodes.Items {
			n := int(node.Status.Allocatable.Pods().Value())
			have, per = have+n, max(per, n)
		}
		if have >= pods || per == 0 {
			continue
		}
		more := (pods - have + per - 1) / per
		testcluster.AddNodes(tb, cluster, more)
		tb.Logf("%s: %d simulated nodes added, for %d pods", cluster, more, pods)
	}
}

// givenFloor reads PAVE_BENCH_FLOOR: "APPLY,READY", two Go durations.
func givenFloor(tb testing.TB, given string) (apply, ready time.Duration) {
	tb.Helper()
	a, r, ok := strings.Cut(given, ",")
	var errA, errR error
	apply, errA = time.ParseDuration(strings.TrimSpace(a))
	ready, errR = time.ParseDuration(strings.TrimSpace(r))
	if !ok || errA != nil || errR != nil || apply <= 0 || ready < apply {
		tb.Fatalf("PAVE_BENCH_FLOOR=%q: want APPLY,READY, two Go durations as a floor run logged them (e.g. 29m11.6s,29m22.2s)", given)
	}
	return apply, ready
}

// shareProgress counts the services of ids applied at revision in both
// environments by their owner among live (and Ready there), and the pairs
// (service × environment) applied or Ready there, each counted once for
// each: the first environment's pairs all come before the next one's, so
// at 10,000 services no service is applied in both for many minutes. It
// names a replica listing a service outside its share, if one does.
func shareProgress(reps map[string]*daemon, ids, live []string, revision string) (applied, ready, pairs int, stray string) {
	listed := map[string]map[string]serviceStatus{}
	for _, id := range live {
		listed[id] = reps[id].services()
	}
	mine := map[string]int{}
	for _, s := range ids {
		owner := shard.Assign(live, s)
		st, ok := listed[owner][s]
		if !ok {
			continue
		}
		mine[owner]++
		if len(st.Environments) < 2 {
			continue
		}
		all, allReady := true, true
		for _, e := range st.Environments {
			all = all && e.AppliedRevision == revision
			allReady = allReady && e.AppliedRevision == revision && e.Phase == "Ready"
			if e.AppliedRevision == revision {
				pairs++
				if e.Phase == "Ready" {
					pairs++
				}
			}
		}
		if all {
			applied++
		}
		if allReady {
			ready++
		}
	}
	for _, id := range live {
		if n := len(listed[id]); n > mine[id] {
			stray = fmt.Sprintf("%s lists %d services, %d of them its share", id, n, mine[id])
		}
	}
	return applied, ready, pairs, stray
}

// trackOne waits until service is applied at revision and Ready in both
// environments of d's status, and returns when each happened after since:
// "staging-applied", "prod-ready"…
func trackOne(tb testing.TB, d *daemon, service, revision string, since time.Time, timeout time.Duration) map[string]time.Duration {
	tb.Helper()
	at := map[string]time.Duration{}
	waitFor(tb, timeout, service+" at "+short(revision), func() (bool, string) {
		// Raw as well, so that a timeout shows the pair's whole status
		// (phase, gate, errors), not only what was reached.
		var raw json.RawMessage
		d.get("/api/v1/services/"+service, &raw)
		var s serviceStatus
		_ = json.Unmarshal(raw, &s)
		for env, e := range s.Environments {
			if e.AppliedRevision != revision {
				continue
			}
			if _, ok := at[env+"-applied"]; !ok {
				at[env+"-applied"] = time.Since(since)
			}
			if _, ok := at[env+"-ready"]; !ok && e.Phase == "Ready" {
				at[env+"-ready"] = time.Since(since)
			}
		}
		time.Sleep(20 * time.Millisecond)
		return len(at) == 4, fmt.Sprintf("reached %v; status %s", at, raw)
	})
	return at
}

// rssPeaks samples the resident memory of every replica process: each
// replica's peak (by identity: a restarted replica's incarnations count as
// one), and the peak of their sum.
type rssPeaks struct {
	mu    sync.Mutex
	procs map[string]*daemon
	peak  map[string]int // identity → KiB
	total int            // KiB
}

func (m *rssPeaks) add(proc string, d *daemon) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.procs == nil {
		m.procs = map[string]*daemon{}
	}
	m.procs[proc] = d
}

// sample samples every interval until stop is called (stop may be called
// more than once).
func (m *rssPeaks) sample(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			m.mu.Lock()
			sum := 0
			for proc, d := range m.procs {
				if !d.alive() {
					continue
				}
				kib := rss(d.cmd.Process.Pid)
				sum += kib
				id := proc[:1] // c2 is c
				m.peak[id] = max(m.peak[id], kib)
			}
			m.total = max(m.total, sum)
			m.mu.Unlock()
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); <-finished })
	}
}

func (m *rssPeaks) result() (map[string]int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak, m.total
}
