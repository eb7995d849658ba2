package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/reconciler/shard"
)

// TestShardedReplicas runs pave serve as three shards (--shards 3) on one
// catalog with the default lease timings: every service is applied, by
// one replica only; a replica killed with SIGKILL has its share taken over
// by the other two, and a commit to one of its services is applied within
// 30 s of the kill; started again, it takes its share back. Through it
// all, no service is ever claimed by two replicas at once (every claim's
// window, from each replica's log, is disjoint from the other replicas'
// windows on the same service).
func TestShardedReplicas(t *testing.T) {
	resetClusters(t)
	work := t.TempDir()
	r := exampleRepo(t, work)
	bare := r.bare
	var added []string
	for i, team := range []string{"payments", "storefront", "data", "payments", "storefront", "data", "payments", "storefront", "data", "payments"} {
		added = append(added, fmt.Sprintf("%s/shard-%02d", team, i))
	}
	r.writeWebServices(added)
	ids := append(slices.Clone(exampleServices), added...)
	git(t, r.dir, "init", "-q", "-b", "main")
	rev := r.commitPush("catalog")

	members := []string{"a", "b", "c"}
	logs := map[string]string{} // process → log file; c runs twice
	hook := filepath.Join(work, "hook")
	if err := os.WriteFile(hook, []byte("hook-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No polling: a push reaches every shard through the one replica the
	// forge's webhook calls (a), which announces it on its member Lease.
	start := func(id, proc string) *daemon {
		logs[proc] = filepath.Join(work, proc+".log")
		return startPave(t, logs[proc], "--repo", "file://"+bare, "--branch", "main", "--cache-dir", filepath.Join(work, "cache-"+id),
			"--interval", "1h", "--resync-interval", "1h", "--wait-timeout", "0", "--webhook-secret-file", hook,
			"--shards", "3", "--shard-identity", id, "--log-level", "trace")
	}
	reps := map[string]*daemon{}
	for _, id := range members {
		reps[id] = start(id, id)
	}
	// shares is what each live replica's status API lists.
	shares := func(ids ...string) map[string][]string {
		out := map[string][]string{}
		for _, id := range ids {
			for svc := range reps[id].services() {
				out[id] = append(out[id], svc)
			}
		}
		return out
	}
	splitAs := func(live []string, revision string) func() (bool, string) { return splitAs(reps, ids, live, revision) }
	took := waitFor(t, 3*time.Minute, "three shards apply the catalog", splitAs(members, rev))
	t.Logf("first sync on three shards: %s", took.Round(time.Millisecond))
	for id, svcs := range shares(members...) {
		if len(svcs) == 0 {
			t.Errorf("%s owns no service", id)
		}
	}
	resp, err := http.Get(reps["b"].url + "/api/v1/source")
	if err != nil {
		t.Fatal(err)
	}
	var src struct {
		Shard string `json:"shard"`
	}
	json.NewDecoder(resp.Body).Decode(&src)
	resp.Body.Close()
	if got := resp.Header.Get("X-Pave-Shard"); got != "b" || src.Shard != "b" {
		t.Errorf("X-Pave-Shard: %q, /api/v1/source's shard: %q, want b", got, src.Shard)
	}
	if n := reps["a"].metric("pave_shard_members", `shard="a"`); n != 3 {
		t.Errorf("pave_shard_members of a: %v", n)
	}
	// Converged once: before the kill, each service was claimed only by
	// its owner.
	for _, c := range readClaims(t, logs) {
		if want := shard.Assign(members, c.service); c.member != want {
			t.Errorf("%s claimed %s at %s before any replica stopped; its owner is %s", c.proc, c.service, c.from.Format(time.StampMilli), want)
		}
	}

	// SIGKILL c: no release, its Lease lapses. A commit to one of its
	// services is applied by a or b within 30 s of the kill.
	var victim string
	for _, s := range ids {
		if shard.Assign(members, s) == "c" && strings.Contains(s, "/shard-") {
			victim = s
			break
		}
	}
	if victim == "" {
		t.Fatal("c owns none of the shard-* services; change the catalog")
	}
	team, name, _ := strings.Cut(victim, "/")
	killed := time.Now()
	reps["c"].cmd.Process.Signal(syscall.SIGKILL)
	<-reps["c"].done
	r.edit("services/"+victim+"/service.yaml", ":1.0.0", ":1.0.1")
	rev = r.commitPush("a commit to " + victim)
	if code := reps["a"].TriggerWebhook(t, rev); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	prod, err := kubernetes.NewForConfig(testcluster.ConfigFor(t, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 45*time.Second, victim+" applied in prod after c was killed", func() (bool, string) {
		d, err := prod.AppsV1().Deployments(team+"-prod").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		img := d.Spec.Template.Spec.Containers[0].Image
		return strings.HasSuffix(img, ":1.0.1"), img
	})
	if took := time.Since(killed); took > 30*time.Second {
		t.Errorf("%s, c's, applied %s after c was killed, want within 30 s", victim, took.Round(time.Millisecond))
	} else {
		t.Logf("%s, c's, applied %s after c was killed", victim, took.Round(time.Millisecond))
	}
	waitFor(t, time.Minute, "a and b hold every service", splitAs([]string{"a", "b"}, ""))

	// c again, under the same identity: it waits for its former Lease to
	// lapse, then takes its share back.
	restarted := time.Now()
	reps["c"] = start("c", "c2")
	waitFor(t, 2*time.Minute, "shares rebalanced with c back", splitAs(members, ""))
	t.Logf("rebalanced %s after c restarted", (time.Since(restarted)).Round(time.Millisecond))
	r.edit("services/"+victim+"/service.yaml", ":1.0.1", ":1.0.2")
	rev = r.commitPush("another commit to " + victim)
	pushed := time.Now()
	if code := reps["a"].TriggerWebhook(t, rev); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	waitFor(t, time.Minute, "c applies its service again", func() (bool, string) {
		n := appliedIn(reps["c"].services(), []string{victim}, rev)
		return n == 1, victim + " not applied by c at " + short(rev)
	})
	if took := time.Since(pushed); took > 20*time.Second { // polling is off (1h): only the announce brings it
		t.Errorf("a push through a's webhook reached c's service %s later, want within c's next list of the Leases (5 s) and the apply", took.Round(time.Millisecond))
	} else {
		t.Logf("a push through a's webhook applied by c %s later", took.Round(time.Millisecond))
	}

	// No two replicas ever held a claim on one service at once.
	stopped := map[string]time.Time{"c": killed}
	claims := readClaims(t, logs)
	for _, o := range overlapping(claims, stopped) {
		t.Error(o)
	}
	t.Logf("%d claims, none overlapping across replicas", len(claims))
}

// overlapping lists the claims on one service by two processes whose
// windows overlap (a process in stopped ended its open claims then).
func overlapping(claims []claim, stopped map[string]time.Time) []string {
	// By service, so that 20,000 pairs' claims are not compared all
	// with all.
	by := map[string][]claim{}
	for _, c := range claims {
		by[c.service] = append(by[c.service], c)
	}
	var out []string
	for _, cs := range by {
		for i, x := range cs {
			for _, y := range cs[i+1:] {
				if x.proc == y.proc {
					continue
				}
				xTo, yTo := x.until(stopped), y.until(stopped)
				if x.from.Before(yTo) && y.from.Before(xTo) {
					out = append(out, fmt.Sprintf("%s claimed by %s %s–%s and by %s %s–%s", x.service, x.proc, x.from.Format(time.StampMilli), xTo.Format(time.StampMilli),
						y.proc, y.from.Format(time.StampMilli), yTo.Format(time.StampMilli)))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// splitAs holds when the live replicas have each applied their share (as
// Assign gives it over live) at revision ("": any), and list nothing else.
func splitAs(reps map[string]*daemon, ids, live []string, revision string) func() (bool, string) {
	return func() (bool, string) {
		for _, id := range live {
			svcs := reps[id].services()
			var want []string
			for _, s := range ids {
				if shard.Assign(live, s) == id {
					want = append(want, s)
				}
			}
			if n := appliedAtOrAny(svcs, want, revision); n != len(want) {
				return false, fmt.Sprintf("%s: %d of its %d services applied at %s", id, n, len(want), short(revision))
			}
			if len(svcs) != len(want) {
				var got []string
				for s := range svcs {
					got = append(got, s)
				}
				sort.Strings(got)
				return false, fmt.Sprintf("%s lists %v, its share is %v", id, got, want)
			}
		}
		return true, ""
	}
}

// TestShardedChartRBAC runs two shards as the ServiceAccount of
// charts/pave with sharding.enabled, with exactly the chart's RBAC: the
// example catalog is applied, split between them, and nothing they do is
// forbidden; one stopped with SIGTERM releases its member Lease, and the
// other takes its share without waiting for the Lease to lapse.
func TestShardedChartRBAC(t *testing.T) {
	resetClusters(t)
	const release = "pave-chart-shards"
	values := map[string]any{"leaderElection": false, "replicas": 2, "sharding": map[string]any{"enabled": true}}
	stagingKubeconfig, _ := installChartRBAC(t, "staging", release, values)
	prodKubeconfig, _ := installChartRBAC(t, "prod", release, values)
	dir := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dir, os.DirFS("../../catalog-repo-example")); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	reps := map[string]*daemon{}
	for _, id := range []string{"x", "y"} {
		reps[id] = startPave(t, filepath.Join(logDir, id+".log"), "--path", dir, "--cluster", "staging="+stagingKubeconfig, "--cluster", "prod="+prodKubeconfig,
			"--interval", "1h", "--wait-timeout", "0", "--shards", "2", "--shard-identity", id)
	}
	waitFor(t, 3*time.Minute, "two shards apply the catalog as the chart's ServiceAccount", splitAs(reps, exampleServices, []string{"x", "y"}, ""))

	stopped := time.Now()
	reps["y"].cmd.Process.Signal(syscall.SIGTERM)
	<-reps["y"].done
	took := waitFor(t, time.Minute, "x takes y's share", splitAs(reps, exampleServices, []string{"x"}, ""))
	if took > 10*time.Second {
		t.Errorf("y's share taken over %s after it stopped, want well under the lease duration (15s): it released its Lease", took.Round(time.Millisecond))
	}
	t.Logf("y stopped; x holds every service %s later", time.Since(stopped).Round(time.Millisecond))
	for _, id := range []string{"x", "y"} {
		data, _ := os.ReadFile(filepath.Join(logDir, id+".log"))
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "forbidden") {
				t.Errorf("%s was refused something it needs: %s", id, line)
			}
		}
	}
}

// appliedAtOrAny counts the services of ids applied in both environments
// at revision ("": at any revision).
func appliedAtOrAny(svcs map[string]serviceStatus, ids []string, revision string) int {
	n := 0
	for _, id := range ids {
		s, ok := svcs[id]
		if !ok || len(s.Environments) < 2 {
			continue
		}
		done := true
		for _, e := range s.Environments {
			done = done && e.AppliedRevision != "" && (revision == "" || e.AppliedRevision == revision)
		}
		if done {
			n++
		}
	}
	return n
}

// claim is one reconcile's claim on a service, from a replica's log.
type claim struct {
	proc, member, service string
	id                    int
	from, to              time.Time // to is zero while not released
}

// until is when the claim ended: its release, or its process's death.
func (c claim) until(stopped map[string]time.Time) time.Time {
	if !c.to.IsZero() {
		return c.to
	}
	if t, ok := stopped[c.proc]; ok {
		return t
	}
	return time.Now()
}

// readClaims reads the claimed/released lines of every process's log.
// The replicas run with --log-level trace: at debug and above, the logger
// samples (after 100 lines of one message in a second, one in 100), and
// a takeover claims and releases more than that.
func readClaims(t testing.TB, logs map[string]string) []claim {
	t.Helper()
	var out []claim
	for proc, file := range logs {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		open := map[int]int{}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg     string `json:"msg"`
				TS      string `json:"ts"`
				Shard   string `json:"shard"`
				Service string `json:"service"`
				Claim   int    `json:"claim"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil || (line.Msg != "claimed" && line.Msg != "released") {
				continue
			}
			ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", line.TS)
			if err != nil {
				t.Fatalf("%s: timestamp %q: %v", file, line.TS, err)
			}
			if line.Msg == "claimed" {
				open[line.Claim] = len(out)
				out = append(out, claim{proc: proc, member: line.Shard, service: line.Service, id: line.Claim, from: ts})
			} else if i, ok := open[line.Claim]; ok {
				out[i].to = ts
				delete(open, line.Claim)
			}
		}
		f.Close()
	}
	return out
}
