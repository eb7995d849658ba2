package apply

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fluxcd/pkg/ssa"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/e2e/testcluster"
	"github.com/pave-dev/pave/render"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Fuzzing (make fuzz runs a target with -run '^$') and listing the
	// tests (make fuzz finds its targets with -list) need no cluster.
	for _, name := range []string{"test.fuzz", "test.fuzzworker", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			os.Exit(m.Run())
		}
	}
	testcluster.MainN(m, "staging", "prod")
}

const exampleCatalog = "../../catalog-repo-example"

// writeCounter counts the write requests (anything but GET, and dry runs)
// a client sends, and its reads of objects (not discovery, not /readyz,
// not pave's own inventories).
type writeCounter struct {
	writes      atomic.Int64
	objectReads atomic.Int64
	dryRuns     atomic.Int64
	// inventoryLists counts the requests listing inventories.
	inventoryLists atomic.Int64
}

type countingTransport struct {
	next    http.RoundTripper
	counter *writeCounter
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead && !strings.Contains(req.URL.RawQuery, "dryRun=All") {
		c.counter.writes.Add(1)
	}
	if strings.Contains(req.URL.RawQuery, "dryRun=All") {
		c.counter.dryRuns.Add(1)
	}
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	discovery := (segs[0] == "api" && len(segs) <= 2) || (segs[0] == "apis" && len(segs) <= 3) || segs[0] == "readyz"
	if req.Method == http.MethodGet && !discovery && !strings.HasPrefix(req.URL.Path, "/api/v1/namespaces/"+SystemNamespace+"/") {
		c.counter.objectReads.Add(1)
	}
	if req.Method == http.MethodGet && req.URL.Path == "/api/v1/namespaces/"+SystemNamespace+"/configmaps" {
		c.counter.inventoryLists.Add(1)
	}
	return c.next.RoundTrip(req)
}

type testFleet struct {
	*Fleet
	counters map[string]*writeCounter
}

func (f *testFleet) writes() int64 {
	var n int64
	for _, c := range f.counters {
		n += c.writes.Load()
	}
	return n
}

func (f *testFleet) dryRuns() int64 {
	var n int64
	for _, c := range f.counters {
		n += c.dryRuns.Load()
	}
	return n
}

func (f *testFleet) objectReads() int64 {
	var n int64
	for _, c := range f.counters {
		n += c.objectReads.Load()
	}
	return n
}

func (f *testFleet) client(t *testing.T, cluster string) client.Client {
	return f.Appliers[cluster].Cluster.Client
}

func newFleet(t testing.TB, opts Options) *testFleet {
	t.Helper()
	f := &testFleet{Fleet: &Fleet{Appliers: map[string]*Applier{}, Concurrency: 4, PingTimeout: 3 * time.Second}, counters: map[string]*writeCounter{}}
	for _, name := range []string{"staging", "prod"} {
		cfg := rest.CopyConfig(testcluster.ConfigFor(t, name))
		counter := &writeCounter{}
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, counter: counter} }
		c, err := NewCluster(name, cfg, DefaultClusterOptions())
		if err != nil {
			t.Fatal(err)
		}
		f.counters[name] = counter
		f.Appliers[name] = New(c, opts)
	}
	return f
}

func testOptions() Options {
	o := DefaultOptions()
	o.WaitTimeout = 60 * time.Second
	o.PollInterval = 250 * time.Millisecond
	return o
}

// testCatalog is the example catalog's pave.yaml and templates with the
// given services; teams are added to pave.yaml for each team used.
func testCatalog(t testing.TB, services map[string]string) *catalog.Catalog {
	t.Helper()
	return testCatalogWith(t, services, "")
}

// testCatalogWith is testCatalog with more of pave.yaml (a templates:
// block, say).
func testCatalogWith(t testing.TB, services map[string]string, paveYAML string) *catalog.Catalog {
	t.Helper()
	fsys := fstest.MapFS{}
	src := os.DirFS(exampleCatalog)
	err := fs.WalkDir(src, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, p)
		fsys[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	teams := map[string]bool{}
	for id, body := range services {
		team, name, _ := strings.Cut(id, "/")
		teams[team] = true
		fsys["services/"+id+"/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata: {name: %s, team: %s}\nspec:\n%s", name, team, body)}
	}
	cfg := "apiVersion: pave.dev/v1alpha1\nkind: Catalog\nenvironments:\n  - {name: staging, cluster: staging}\n  - {name: prod, cluster: prod}\nregistries: [registry.example.com]\nplatform: {ingressClass: nginx, ingressNamespace: ingress-nginx}\nteams:\n"
	for team := range teams {
		cfg += fmt.Sprintf("  - {name: %s, owners: [%s@example.com]}\n", team, team)
	}
	fsys["pave.yaml"] = &fstest.MapFile{Data: []byte(cfg + paveYAML)}
	cat, err := catalog.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	return cat
}

func webService(image string, extra string) string {
	return "  template: web-service\n  image: " + image + "\n  port: 8080\n  replicas: 2\n" + extra
}

// round renders the catalog and builds a round applying all of it.
func round(t *testing.T, cat *catalog.Catalog) Round {
	t.Helper()
	results, errs := render.New(cat, render.Options{Revision: "test"}).RenderAll("")
	for _, err := range errs {
		t.Fatal(err)
	}
	r := Round{Config: cat.Config, Rendered: results, Catalog: map[string]bool{}, Blocked: map[Pair]error{}, Teams: cat.Config.TeamNames()}
	for _, s := range cat.Services {
		r.Catalog[s.ID()] = true
	}
	return r
}

func reconcile(t *testing.T, f *testFleet, r Round) []*Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return f.Reconcile(ctx, r)
}

func mustSucceed(t *testing.T, results []*Result, wantHealth HealthStatus) {
	t.Helper()
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s (%s): %v", r.Service, r.Environment, r.Err)
		}
		if wantHealth != "" && r.Health.Status != wantHealth {
			t.Errorf("%s (%s): health %s (%s: %s), want %s", r.Service, r.Environment, r.Health.Status, r.Health.Object, r.Health.Message, wantHealth)
		}
	}
}

func actions(r *Result) map[string]ssa.Action {
	m := map[string]ssa.Action{}
	for _, c := range append(append([]Change{}, r.Changes...), r.Pruned...) {
		m[c.Object.Kind+"/"+c.Object.Name] = c.Action
	}
	return m
}

func find(results []*Result, service, env string) *Result {
	for _, r := range results {
		if r.Service == service && r.Environment == env {
			return r
		}
	}
	return nil
}

// TestExampleCatalog: the first apply of the whole example catalog makes
// every service Ready in both environments, and a second run finds every
// object unchanged and writes nothing.
func TestExampleCatalog(t *testing.T) {
	cat, err := catalog.LoadDir(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	f := newFleet(t, testOptions())
	r := round(t, cat)
	first := reconcile(t, f, r)
	if len(first) != len(cat.Services)*2 {
		t.Fatalf("%d results, want %d", len(first), len(cat.Services)*2)
	}
	mustSucceed(t, first, HealthReady)
	for _, res := range first {
		for _, c := range res.Changes {
			// The team Namespace is shared: another service may have
			// created it a moment before.
			if c.Action != ssa.CreatedAction && c.Object.Kind != "Namespace" {
				t.Errorf("%s (%s): first apply %s %s", res.Service, res.Environment, c.Object, c.Action)
			}
		}
	}

	before := f.writes()
	second := reconcile(t, f, r)
	mustSucceed(t, second, HealthReady)
	for _, res := range second {
		if !res.Skipped {
			t.Errorf("%s (%s): second run not skipped", res.Service, res.Environment)
		}
		for _, c := range res.Changes {
			if c.Action != ssa.UnchangedAction {
				t.Errorf("%s (%s): %s %s on a no-op run", res.Service, res.Environment, c.Object, c.Action)
			}
		}
	}
	if w := f.writes() - before; w != 0 {
		t.Errorf("a no-op run sent %d write requests", w)
	}
	// Scope and ownership checks cost nothing when nothing is written:
	// discovery is cached, and the inventory alone says the render is
	// unchanged (health, when waited for, reads the objects).
	for _, a := range f.Appliers {
		a.Options.Wait = false
	}
	beforeReads := f.objectReads()
	mustSucceed(t, reconcile(t, f, r), HealthUnknown)
	if n := f.objectReads() - beforeReads; n != 0 {
		t.Errorf("a no-op run without --wait read %d objects", n)
	}
	// Inventories survive in the clusters.
	invs, err := f.Appliers["prod"].Inventories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, inv := range invs {
		if inv.Environment == "prod" && strings.HasPrefix(inv.Source, "services/") && inv.Revision == "test" {
			n++
		}
	}
	if n < len(cat.Services) {
		t.Errorf("prod holds %d inventories of the example catalog, want %d", n, len(cat.Services))
	}
}

// TestImageChangeConfiguresOnlyTheDeployment: a commit that changes a
// service's image writes its Deployment alone, with one request per
// cluster (and the inventory): the other objects are known unchanged from
// the digests the inventory keeps, so they are neither diffed nor written
// and keep the revision they were written at.
func TestImageChangeConfiguresOnlyTheDeployment(t *testing.T) {
	f := newFleet(t, testOptions())
	services := map[string]string{"img/api": webService("registry.example.com/img/api:1.0.0", "  env: {LOG_LEVEL: info}\n")}
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), HealthReady)
	services["img/api"] = webService("registry.example.com/img/api:1.1.0", "  env: {LOG_LEVEL: info}\n")
	r := round(t, testCatalog(t, services))
	for _, res := range r.Rendered {
		for i, o := range res.Objects {
			// A new commit: every object carries the new revision.
			if ann := o.GetAnnotations(); ann != nil && ann[render.AnnotationRevision] != "" {
				c := o.DeepCopy()
				ann = c.GetAnnotations()
				ann[render.AnnotationRevision] = "second"
				c.SetAnnotations(ann)
				res.Objects[i] = c
			}
		}
	}
	writes, dryRuns := f.writes(), f.dryRuns()
	results := reconcile(t, f, r)
	mustSucceed(t, results, HealthReady)
	if n := f.dryRuns() - dryRuns; n != 0 {
		t.Errorf("the image change sent %d dry runs", n)
	}
	if n := f.writes() - writes; n != 2*int64(len(results)) {
		t.Errorf("the image change sent %d writes to %d clusters, want the Deployment and the inventory in each", n, len(results))
	}
	for _, res := range results {
		for obj, action := range actions(res) {
			want := ssa.UnchangedAction
			if obj == "Deployment/api" {
				want = ssa.ConfiguredAction
			}
			if action != want {
				t.Errorf("%s: %s %s, want %s", res.Environment, obj, action, want)
			}
		}
	}
	var d appsv1.Deployment
	if err := f.client(t, "prod").Get(context.Background(), client.ObjectKey{Namespace: "img-prod", Name: "api"}, &d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/img/api:1.1.0" || d.Annotations[render.AnnotationRevision] != "second" {
		t.Errorf("image = %s, revision %s", img, d.Annotations[render.AnnotationRevision])
	}
	var sa corev1.ServiceAccount
	if err := f.client(t, "prod").Get(context.Background(), client.ObjectKey{Namespace: "img-prod", Name: "api"}, &sa); err != nil {
		t.Fatal(err)
	}
	if rev := sa.Annotations[render.AnnotationRevision]; rev != "test" {
		t.Errorf("an unchanged object took the new revision %q", rev)
	}
}

func TestObjectRemovedFromTemplateIsPruned(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx := context.Background()
	services := map[string]string{
		"prune/api": webService("registry.example.com/prune/api:1.0.0", "  ingress: {host: api.prune.example.com}\n"),
		"prune/web": webService("registry.example.com/prune/web:1.0.0", "  ingress: {host: web.prune.example.com}\n"),
	}
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), HealthReady)

	// Someone takes web's Ingress over (relabels it): pave must leave it.
	c := f.client(t, "prod")
	var taken networkingv1.Ingress
	if err := c.Get(ctx, client.ObjectKey{Namespace: "prune-prod", Name: "web"}, &taken); err != nil {
		t.Fatal(err)
	}
	taken.Labels[render.LabelService] = "someone-else"
	if err := c.Update(ctx, &taken); err != nil {
		t.Fatal(err)
	}

	services["prune/api"] = webService("registry.example.com/prune/api:1.0.0", "")
	services["prune/web"] = webService("registry.example.com/prune/web:1.0.0", "")
	results := reconcile(t, f, round(t, testCatalog(t, services)))
	mustSucceed(t, results, HealthReady)
	if a := actions(find(results, "prune/api", "prod"))["Ingress/api"]; a != ssa.DeletedAction {
		t.Errorf("api's Ingress: %s, want deleted", a)
	}
	if a := actions(find(results, "prune/web", "prod"))["Ingress/web"]; a != ssa.SkippedAction {
		t.Errorf("web's relabelled Ingress: %s, want skipped", a)
	}
	err := c.Get(ctx, client.ObjectKey{Namespace: "prune-prod", Name: "api"}, &networkingv1.Ingress{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("api's Ingress still there: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "prune-prod", Name: "web"}, &networkingv1.Ingress{}); err != nil {
		t.Errorf("an object pave no longer owns was deleted: %v", err)
	}
	inv, err := readInventory(ctx, c, "prune", "api", "prod")
	if err != nil || inv == nil {
		t.Fatal(inv, err)
	}
	for _, r := range inv.Objects {
		if r.Kind == "Ingress" {
			t.Error("the inventory still lists the pruned Ingress")
		}
	}
}

func TestServiceRemovedIsPrunedEverywhere(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx := context.Background()
	services := map[string]string{
		"gone/keep":  webService("registry.example.com/gone/keep:1.0.0", ""),
		"gone/leave": webService("registry.example.com/gone/leave:1.0.0", ""),
	}
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), HealthReady)
	delete(services, "gone/leave")
	r := round(t, testCatalog(t, services))
	r.PruneRemoved = true
	r.AllowMassPrune = true // this cluster holds only this test's services so far
	results := reconcile(t, f, r)
	mustSucceed(t, results, "")
	for _, env := range []string{"staging", "prod"} {
		res := find(results, "gone/leave", env)
		if res == nil || res.Health.Status != HealthPruned {
			t.Fatalf("%s: gone/leave not pruned: %+v", env, res)
		}
		c := f.client(t, env)
		if err := c.Get(ctx, client.ObjectKey{Namespace: "gone-" + env, Name: "leave"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: Deployment still there: %v", env, err)
		}
		if inv, _ := readInventory(ctx, c, "gone", "leave", env); inv != nil {
			t.Errorf("%s: inventory still there", env)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "gone-" + env, Name: "keep"}, &appsv1.Deployment{}); err != nil {
			t.Errorf("%s: the other service was touched: %v", env, err)
		}
	}
}

// TestRenderErrorDeletesNothing: a service whose render (or policy) failed
// is blocked: its objects stay, and it is not taken for removed.
func TestRenderErrorDeletesNothing(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx := context.Background()
	services := map[string]string{
		"broken/api": webService("registry.example.com/broken/api:1.0.0", ""),
		"broken/web": webService("registry.example.com/broken/web:1.0.0", ""),
	}
	r := round(t, testCatalog(t, services))
	mustSucceed(t, reconcile(t, f, r), HealthReady)

	// Next commit: api fails to render everywhere.
	r2 := round(t, testCatalog(t, map[string]string{"broken/web": services["broken/web"]}))
	r2.Catalog["broken/api"] = true
	r2.Blocked[Pair{"broken/api", "staging"}] = fmt.Errorf("render failed")
	r2.Blocked[Pair{"broken/api", "prod"}] = fmt.Errorf("render failed")
	r2.PruneRemoved = true
	before := f.writes()
	mustSucceed(t, reconcile(t, f, r2), HealthReady)
	if w := f.writes() - before; w != 0 {
		t.Errorf("%d writes", w)
	}
	for _, env := range []string{"staging", "prod"} {
		if err := f.client(t, env).Get(ctx, client.ObjectKey{Namespace: "broken-" + env, Name: "api"}, &appsv1.Deployment{}); err != nil {
			t.Errorf("%s: %v", env, err)
		}
	}
	// And an empty render is refused outright.
	empty := *r.Rendered[0]
	empty.Objects = nil
	res := f.Appliers["staging"].Apply(ctx, r.Config, &empty, false, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "render produced no objects") {
		t.Errorf("empty render: %v", res.Err)
	}
}

func TestMassPruneIsRefused(t *testing.T) {
	f := newFleet(t, testOptions())
	ctx := context.Background()
	services := map[string]string{"mass/only": webService("registry.example.com/mass/only:1.0.0", "")}
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), HealthReady)

	// Removing the team's only service would delete all of its objects.
	r := round(t, testCatalog(t, map[string]string{"mass/other": webService("registry.example.com/mass/other:1.0.0", "")}))
	r.PruneRemoved = true
	results := reconcile(t, f, r)
	res := find(results, "mass/only", "prod")
	if res == nil || res.Err == nil || !strings.Contains(res.Err.Error(), "mass-prune guard: refusing to delete all") {
		t.Fatalf("want a refusal, got %+v", res)
	}
	if err := f.client(t, "prod").Get(ctx, client.ObjectKey{Namespace: "mass-prod", Name: "only"}, &appsv1.Deployment{}); err != nil {
		t.Errorf("guarded objects were deleted: %v", err)
	}
	r.AllowMassPrune = true
	results = reconcile(t, f, r)
	if res := find(results, "mass/only", "prod"); res == nil || res.Err != nil || res.Health.Status != HealthPruned {
		t.Fatalf("with --allow-mass-prune: %+v", res)
	}
}

func TestDriftIsDetectedAttributedAndCorrected(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	services := map[string]string{"drift/api": webService("registry.example.com/drift/api:1.0.0", "")}
	r := round(t, testCatalog(t, services))
	mustSucceed(t, reconcile(t, f, r), HealthReady)

	edit := func() {
		c := f.client(t, "prod")
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: "drift-prod", Name: "api"}, &d); err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = "registry.example.com/drift/api:hotfix"
		if err := c.Update(ctx, &d, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
	}
	image := func() string {
		var d appsv1.Deployment
		if err := f.client(t, "prod").Get(ctx, client.ObjectKey{Namespace: "drift-prod", Name: "api"}, &d); err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}

	// warn: reported, not corrected.
	f.Appliers["prod"].Options.DriftMode = DriftWarn
	edit()
	r.Resync = true
	res := find(reconcile(t, f, r), "drift/api", "prod")
	if len(res.Drift) != 1 || res.Drift[0].Corrected {
		t.Fatalf("drift (warn): %+v", res.Drift)
	}
	if got := image(); got != "registry.example.com/drift/api:hotfix" {
		t.Errorf("warn mode corrected the image: %s", got)
	}

	// correct: reported, attributed and corrected.
	f.Appliers["prod"].Options.DriftMode = DriftCorrect
	res = find(reconcile(t, f, r), "drift/api", "prod")
	if len(res.Drift) != 1 {
		t.Fatalf("drift: %+v", res.Drift)
	}
	ev := res.Drift[0]
	want := "kubectl-edit changed spec.template.spec.containers[0].image on Deployment/drift-prod/api"
	if ev.String() != want || !ev.Corrected || ev.Operation != "Update" {
		t.Errorf("drift event: %q (corrected %v, %s), want %q", ev.String(), ev.Corrected, ev.Operation, want)
	}
	if got := image(); got != "registry.example.com/drift/api:1.0.0" {
		t.Errorf("image not corrected: %s", got)
	}
	// The staging copy was untouched and is clean.
	if st := find(reconcile(t, f, r), "drift/api", "staging"); len(st.Drift) != 0 {
		t.Errorf("staging drift: %+v", st.Drift)
	}
}

func TestHPAOwnedReplicasAreLeftAlone(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, testOptions())
	services := map[string]string{"hpa/api": "  template: web-service\n  image: registry.example.com/hpa/api:1.0.0\n  port: 8080\n  autoscaling: {min: 2, max: 5}\n"}
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), HealthReady)

	// The autoscaler scales the Deployment.
	c := f.client(t, "prod")
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "hpa-prod", Name: "api"}, &d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Replicas = ptr(int32(4))
	if err := c.Update(ctx, &d, client.FieldOwner("horizontal-pod-autoscaler")); err != nil {
		t.Fatal(err)
	}
	// A resync and an image change leave the replicas to the autoscaler.
	r := round(t, testCatalog(t, services))
	r.Resync = true
	if res := find(reconcile(t, f, r), "hpa/api", "prod"); len(res.Drift) != 0 {
		t.Errorf("replicas owned by the autoscaler reported as drift: %+v", res.Drift)
	}
	services["hpa/api"] = strings.Replace(services["hpa/api"], "1.0.0", "1.0.1", 1)
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), "")
	if err := c.Get(ctx, client.ObjectKey{Namespace: "hpa-prod", Name: "api"}, &d); err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 4 {
		t.Errorf("replicas = %d, want the autoscaler's 4", *d.Spec.Replicas)
	}
}

func TestHealthFailureIsReported(t *testing.T) {
	opts := testOptions()
	opts.WaitTimeout = 15 * time.Second
	f := newFleet(t, opts)
	services := map[string]string{"sick/api": webService("registry.example.com/sick/api:1.0.0",
		"  patches:\n    - target: {kind: Deployment}\n      patch: |-\n        - {op: add, path: /spec/template/metadata/annotations/"+strings.ReplaceAll(testcluster.UnreadyAnnotation, "/", "~1")+", value: \"true\"}\n")}
	r := round(t, testCatalog(t, services))
	r.Environments = []string{"staging"}
	res := find(reconcile(t, f, r), "sick/api", "staging")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h := res.Health
	if h.Status != HealthFailed || h.Object != "Deployment/sick-staging/api" || !strings.Contains(h.Message, testcluster.SimulatedFailureReason) {
		t.Errorf("health: %+v", h)
	}
	t.Logf("health message: %s", h.Message)
}

func TestUnreachableClusterDoesNotBlockTheOther(t *testing.T) {
	f := newFleet(t, testOptions())
	services := map[string]string{"reach/api": webService("registry.example.com/reach/api:1.0.0", "")}
	restore := testcluster.Unreachable(t, "prod")
	start := time.Now()
	results := reconcile(t, f, round(t, testCatalog(t, services)))
	prod, staging := find(results, "reach/api", "prod"), find(results, "reach/api", "staging")
	if prod == nil || !IsUnreachable(prod.Err) || prod.Health.Status != HealthUnreachable {
		t.Errorf("prod: %+v", prod)
	}
	if staging == nil || staging.Err != nil || staging.Health.Status != HealthReady {
		t.Errorf("staging: %+v", staging)
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("took %s", d)
	}
	restore()
	mustSucceed(t, reconcile(t, f, round(t, testCatalog(t, services))), HealthReady)
}

func TestIsolationIsCheckedAgain(t *testing.T) {
	cat := testCatalog(t, map[string]string{"iso/api": webService("registry.example.com/iso/api:1.0.0", "")})
	r := round(t, cat)
	res := r.Rendered[0]
	bad := *res
	bad.Objects = append(bad.Objects[:0:0], res.Objects...)
	o := res.Objects[len(res.Objects)-1].DeepCopy()
	o.SetNamespace("kube-system")
	bad.Objects = append(bad.Objects, o)
	f := newFleet(t, testOptions())
	got := f.Appliers["staging"].Apply(context.Background(), cat.Config, &bad, false, nil)
	if got.Err == nil || !strings.Contains(got.Err.Error(), `isolation: `) {
		t.Errorf("err = %v", got.Err)
	}
	var cm corev1.ConfigMap
	if err := f.client(t, "staging").Get(context.Background(), client.ObjectKey{Namespace: SystemNamespace, Name: inventoryName("iso", "api", "staging")}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("an inventory was written: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestImpersonationLetsRBACLimitTheBlastRadius: with Impersonate, a team's
// objects are written as the team's user, so they fail until RBAC allows
// that user in the team's namespace; the Namespace itself is pave's.
func TestImpersonationLetsRBACLimitTheBlastRadius(t *testing.T) {
	ctx := context.Background()
	opts := testOptions()
	opts.Impersonate = "system:serviceaccount:pave-system:team-{team}"
	f := newFleet(t, opts)
	r := round(t, testCatalog(t, map[string]string{"imp/api": webService("registry.example.com/imp/api:1.0.0", "")}))
	r.Environments = []string{"staging"}
	res := find(reconcile(t, f, r), "imp/api", "staging")
	if res.Err == nil || !strings.Contains(res.Err.Error(), `User "system:serviceaccount:pave-system:team-imp" cannot`) {
		t.Fatalf("without RBAC the team's writes must be forbidden: %v", res.Err)
	}
	c := f.client(t, "staging")
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "imp-staging", Name: "team-imp"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "system:serviceaccount:pave-system:team-imp"}},
	}
	if err := c.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	res = find(reconcile(t, f, r), "imp/api", "staging")
	if res.Err != nil || res.Health.Status != HealthReady {
		t.Fatalf("with RBAC: %v %+v", res.Err, res.Health)
	}
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "imp-staging", Name: "api"}, &d); err != nil {
		t.Fatal(err)
	}
}
