package policy

import (
	"context"
	"io/fs"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
)

// memoPolicies deny a Deployment with fewer than two replicas (from the
// objects) and an image outside the registry (from the settings).
var memoPolicies = map[string]string{
	"policies/replicas.rego": `package pave.policies.min_replicas

deny contains {"msg": sprintf("%s has %d replicas", [obj.metadata.name, obj.spec.replicas]), "object": {"kind": "Deployment", "name": obj.metadata.name}} if {
	some obj in input.objects
	obj.kind == "Deployment"
	obj.spec.replicas < 2
}
`,
	"policies/registry.rego": `package pave.policies.registry

deny contains {"msg": sprintf("image %s is not from registry.example.com", [input.service.image]), "field": "image"} if {
	not startswith(input.service.image, "registry.example.com/")
}
`,
}

func memoEngine(t *testing.T, files map[string]string, opts Options) *Engine {
	t.Helper()
	if opts.Config == nil {
		opts.Config = testConfigValue(t)
	}
	e, err := Load(mapFS(files), "policies", opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func deploymentWithReplicas(n int64) *unstructured.Unstructured {
	o := deploymentObject("checkout")
	o.Object["spec"] = map[string]any{"replicas": n}
	return o
}

// verdict is what a user sees of a result: status and each violation.
func verdict(r *Result) string {
	var b strings.Builder
	b.WriteString(r.Status)
	for _, v := range r.Violations {
		b.WriteString("\n" + string(v.Severity) + " " + v.Policy + " " + v.Message + " @" + v.Field)
		if v.Excepted {
			b.WriteString(" (excepted)")
		}
	}
	for _, e := range r.Errors {
		b.WriteString("\nerror " + e.Message)
	}
	return b.String()
}

// TestMemoReplaysOnlyTheSameInput: evaluating a pair again over the same
// input replays the kept results and gives the same result; any change
// of what the policies see (the objects, the settings, the environment)
// evaluates again, with or without the caller's ObjectsHash.
func TestMemoReplaysOnlyTheSameInput(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, checkoutYAML)
	otherImage := parseService(t, cfg, strings.Replace(checkoutYAML, "registry.example.com/payments", "docker.io/payments", 1))
	// Lines moved: the same settings, results on other lines.
	moved := parseService(t, cfg, strings.Replace(checkoutYAML, "spec:\n", "spec:\n  # a comment\n", 1))
	ctx := context.Background()
	in := func(s *catalog.Service, env string, replicas int64, hash string) Input {
		return Input{Service: s, Environment: env, Namespace: "payments-" + env, Objects: []*unstructured.Unstructured{deploymentWithReplicas(replicas)}, ObjectsHash: hash}
	}
	for _, hashed := range []bool{false, true} {
		hash := func(replicas int64) string {
			if !hashed {
				return ""
			}
			return map[int64]string{1: "one", 2: "two"}[replicas]
		}
		e := memoEngine(t, memoPolicies, Options{Config: cfg})
		steps := []struct {
			name   string
			in     Input
			replay bool
			want   string
		}{
			{"first", in(svc, "prod", 2, hash(2)), false, "pass"},
			{"same input", in(svc, "prod", 2, hash(2)), true, "pass"},
			{"objects changed", in(svc, "prod", 1, hash(1)), false, "fail\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"},
			{"same again", in(svc, "prod", 1, hash(1)), true, "fail\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"},
			{"other environment", in(svc, "staging", 1, hash(1)), false, "fail\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"},
			{"settings changed", in(otherImage, "prod", 1, hash(1)), false, "fail\ndeny registry image docker.io/payments/checkout:1.4.2 is not from registry.example.com @spec.image\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"},
			{"settings back", in(svc, "prod", 1, hash(1)), false, "fail\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"},
			{"lines moved", in(moved, "prod", 1, hash(1)), true, "fail\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"},
		}
		for _, st := range steps {
			before := e.memo.hits
			got := e.Evaluate(ctx, st.in)
			if v := verdict(got); v != st.want {
				t.Errorf("hashed=%v %s: got\n%s\nwant\n%s", hashed, st.name, v, st.want)
			}
			if replayed := e.memo.hits > before; replayed != st.replay {
				t.Errorf("hashed=%v %s: replayed %v, want %v", hashed, st.name, replayed, st.replay)
			}
			// The same result as an engine that keeps nothing.
			fresh := memoEngine(t, memoPolicies, Options{Config: cfg, MemoPairs: -1})
			if fresh.memo != nil {
				t.Fatal("MemoPairs -1 keeps a memo")
			}
			if want := fresh.Evaluate(ctx, st.in); !reflect.DeepEqual(got, want) {
				t.Errorf("hashed=%v %s: got %+v\nwithout memo %+v", hashed, st.name, got, want)
			}
		}
		// Results are placed afresh: the moved service's lines are its own.
		got := e.Evaluate(ctx, in(moved, "prod", 1, hash(1)))
		if line, want := got.Violations[0].Line, moved.Position("spec.patches[0]").Line; line != want || line == svc.Position("spec.patches[0]").Line {
			t.Errorf("hashed=%v: replayed violation on line %d, want %d", hashed, line, want)
		}
	}
}

// TestMemoDiesWithItsPolicies: a changed policy is a new engine, which
// judges by the new rule.
func TestMemoDiesWithItsPolicies(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, checkoutYAML)
	input := Input{Service: svc, Environment: "prod", Objects: []*unstructured.Unstructured{deploymentWithReplicas(2)}}
	e := memoEngine(t, memoPolicies, Options{Config: cfg})
	for range 2 {
		if got := verdict(e.Evaluate(context.Background(), input)); got != "pass" {
			t.Fatalf("old policies: %s", got)
		}
	}
	changed := map[string]string{"policies/replicas.rego": strings.Replace(memoPolicies["policies/replicas.rego"], "< 2", "< 3", 1)}
	e = memoEngine(t, changed, Options{Config: cfg})
	if got, want := verdict(e.Evaluate(context.Background(), input)), "fail\ndeny min-replicas checkout has 2 replicas @spec.patches[0]"; got != want {
		t.Errorf("new policies: %s, want %s", got, want)
	}
}

// TestMemoOutlivesACommentChange: policies compiled again from files that
// differ only in comments and line positions share the results the engine
// before them remembers, and give the same verdicts; a change to a rule, to
// its METADATA, or to a file's name does not, and is judged afresh.
func TestMemoOutlivesACommentChange(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, checkoutYAML)
	input := Input{Service: svc, Environment: "prod", Objects: []*unstructured.Unstructured{deploymentWithReplicas(2)}}
	ctx := context.Background()
	edit := func(from map[string]string, file, old, new string) map[string]string {
		files := maps.Clone(from)
		if !strings.Contains(files[file], old) {
			t.Fatalf("%s has no %q", file, old)
		}
		files[file] = strings.Replace(files[file], old, new, 1)
		return files
	}
	with := func(file, old, new string) map[string]string { return edit(memoPolicies, file, old, new) }
	commented := with("policies/replicas.rego", "\ndeny", "\n# Two replicas at least: one can be drained.\n\n\ndeny")
	commented = edit(commented, "policies/registry.rego", "\n}\n", "\n\t# The platform's registry only.\n}\n# The end.\n")
	// A rule that reads its own METADATA sees where it is.
	titled := maps.Clone(memoPolicies)
	titled["policies/titled.rego"] = "package pave.policies.titled\n\n# METADATA\n# title: Titled\nwarn contains sprintf(\"%v\", [rego.metadata.rule()]) if {\n\tinput.environment == \"nowhere\"\n}\n"
	cases := []struct {
		name  string
		files map[string]string
		share bool
		want  string
	}{
		{"comments and blank lines", commented, true, "pass"},
		{"a rule changed", with("policies/replicas.rego", "< 2", "< 3"), false, "fail\ndeny min-replicas checkout has 2 replicas @spec.patches[0]"},
		{"METADATA added", with("policies/registry.rego", "package", "# METADATA\n# title: Images from the platform's registry\npackage"), false, "pass"},
		{"a file renamed", map[string]string{"policies/replicas.rego": memoPolicies["policies/replicas.rego"], "policies/images.rego": memoPolicies["policies/registry.rego"]}, false, "pass"},
	}
	cases = append(cases, struct {
		name  string
		files map[string]string
		share bool
		want  string
	}{"comments where a rule reads its METADATA", edit(titled, "policies/titled.rego", "\n\n#", "\n# moved\n\n#"), false, "pass"})
	for _, c := range cases {
		before := memoPolicies
		if _, ok := c.files["policies/titled.rego"]; ok {
			before = titled
		}
		prev := memoEngine(t, before, Options{Config: cfg})
		if got := verdict(prev.Evaluate(ctx, input)); got != "pass" {
			t.Fatalf("%s: before: %s", c.name, got)
		}
		e := memoEngine(t, c.files, Options{Config: cfg})
		if got := e.ShareResults(prev); got != c.share {
			t.Errorf("%s: shares results: %v, want %v", c.name, got, c.share)
		}
		hits := e.memo.hits
		if got := verdict(e.Evaluate(ctx, input)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		if replayed := e.memo.hits > hits; replayed != c.share {
			t.Errorf("%s: replayed %v, want %v", c.name, replayed, c.share)
		}
	}
	// An engine that keeps no results shares none.
	prev := memoEngine(t, memoPolicies, Options{Config: cfg})
	if e := memoEngine(t, memoPolicies, Options{Config: cfg, MemoPairs: -1}); e.ShareResults(prev) {
		t.Error("an engine without a memo took one")
	}
}

// TestMemoAppliesExceptionsAfresh: a replayed evaluation applies the
// exceptions as they are now — one that expired since, one added since.
func TestMemoAppliesExceptionsAfresh(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, checkoutYAML)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	e := memoEngine(t, memoPolicies, Options{Config: cfg, Now: func() time.Time { return now }})
	input := Input{Service: svc, Environment: "prod", Objects: []*unstructured.Unstructured{deploymentWithReplicas(1)}}
	const denied = "fail\ndeny min-replicas checkout has 1 replicas @spec.patches[0]"
	if got := verdict(e.Evaluate(context.Background(), input)); got != denied {
		t.Fatalf("without exception: %s", got)
	}

	// An exception added (the same settings and objects: a replay).
	withException := *svc
	withException.ExceptionFile = &catalog.Exceptions{File: "exceptions/payments/checkout.yaml", Valid: true, Exceptions: []catalog.Exception{
		{Policy: "min-replicas", Reason: "migration", ApprovedBy: "platform@example.com", Expires: catalog.Date{Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}}
	input.Service = &withException
	hits := e.memo.hits
	if got, want := verdict(e.Evaluate(context.Background(), input)), "pass\ndeny min-replicas checkout has 1 replicas @spec.patches[0] (excepted)"; got != want {
		t.Errorf("exception added: %s, want %s", got, want)
	}
	// Expired: the next day, the denial applies again.
	now = now.Add(24 * time.Hour)
	if got, want := verdict(e.Evaluate(context.Background(), input)), denied+"\nwarn min-replicas exception for min-replicas expired on 2030-01-01; the denial applies again @exceptions[0]"; got != want {
		t.Errorf("exception expired: %s, want %s", got, want)
	}
	if e.memo.hits != hits+2 {
		t.Errorf("%d replays, want 2", e.memo.hits-hits)
	}
}

// TestMemoKeepsNothingForClockPolicies: policies that read the clock give
// other results at other times over the same input: nothing is replayed.
func TestMemoKeepsNothingForClockPolicies(t *testing.T) {
	for _, call := range []string{"time.now_ns()", `crypto.x509.parse_and_verify_certificates("x")`} {
		src := "package pave.policies.x\n\ndeny contains sprintf(\"%v\", [x]) if {\n\tx := " + call + "\n}\n"
		e := memoEngine(t, map[string]string{"policies/x.rego": src}, Options{})
		if e.memo != nil {
			t.Errorf("%s: the engine keeps results", call)
		}
	}
	if e := memoEngine(t, memoPolicies, Options{}); e.memo == nil {
		t.Error("policies without the clock keep no results")
	}
}

// TestMemoIsBounded: the memo holds at most twice its limit of pairs, and
// drops the ones not evaluated for longest.
func TestMemoIsBounded(t *testing.T) {
	cfg := testConfigValue(t)
	e := memoEngine(t, memoPolicies, Options{Config: cfg, MemoPairs: 2})
	ctx := context.Background()
	var services []*catalog.Service
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		templates := map[string]*catalog.Template{"web-service": {Name: "web-service", Version: "1.0.0"}}
		svc, errs := catalog.ParseService("services/payments/"+name+"/service.yaml", []byte(strings.Replace(checkoutYAML, "name: checkout", "name: "+name, 1)), cfg, templates)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		services = append(services, svc)
	}
	eval := func(i int) bool {
		hits := e.memo.hits
		e.Evaluate(ctx, Input{Service: services[i], Environment: "prod", Objects: []*unstructured.Unstructured{deploymentWithReplicas(2)}})
		return e.memo.hits > hits
	}
	for i := range services {
		eval(i)
		if n := len(e.memo.cur) + len(e.memo.old); n > 4 {
			t.Fatalf("the memo holds %d pairs, over 2×2", n)
		}
	}
	// d and e are the last two, c the one before: kept; a is gone.
	for _, tt := range []struct {
		i    int
		kept bool
	}{{4, true}, {3, true}, {2, true}, {0, false}} {
		if got := eval(tt.i); got != tt.kept {
			t.Errorf("%s: replayed %v, want %v", services[tt.i].ID(), got, tt.kept)
		}
	}
}

// TestPatchFilesAreReadFromTheServicesRevision: an engine outlives the
// revision it was loaded from; a result on an object a patch file makes
// is placed by the patch file of the revision the service comes from.
func TestPatchFilesAreReadFromTheServicesRevision(t *testing.T) {
	cfg := testConfigValue(t)
	const svcYAML = `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  template: web-service
  image: registry.example.com/payments/checkout:1.4.2
  port: 8080
  patches:
    - path: patches/replicas.yaml
`
	svc := parseService(t, cfg, svcYAML)
	patch := func(name string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + "}\nspec: {replicas: 1}\n"
	}
	files := map[string]string{"services/payments/checkout/patches/replicas.yaml": patch("other")}
	for k, v := range memoPolicies {
		files[k] = v
	}
	// Loaded at a revision whose patch is for another Deployment.
	e, err := Load(mapFS(files), "policies", Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	later := mapFS(map[string]string{"services/payments/checkout/patches/replicas.yaml": patch("checkout")})
	for _, tt := range []struct {
		name  string
		fs    fs.FS
		field string
	}{{"the engine's revision", nil, "spec.template"}, {"the service's revision", later, "spec.patches[0]"}} {
		res := e.Evaluate(context.Background(), Input{Service: svc, Environment: "prod", Objects: []*unstructured.Unstructured{deploymentWithReplicas(1)}, FS: tt.fs})
		if len(res.Violations) != 1 || res.Violations[0].Field != tt.field {
			t.Errorf("%s: %+v, want the denial at %s", tt.name, res.Violations, tt.field)
		}
	}
}

// TestPoliciesDoNotSeeTheRevision: the revision pave stamps on what it
// applies differs at every commit; policies do not see it, so a commit
// that leaves a service's render as it was replays its verdict instead of
// evaluating again, and a policy that reads the annotation finds nothing.
func TestPoliciesDoNotSeeTheRevision(t *testing.T) {
	cfg := testConfigValue(t)
	svc := parseService(t, cfg, checkoutYAML)
	files := map[string]string{"policies/revision.rego": `package pave.policies.revision

deny contains {"msg": sprintf("%s carries revision %s", [obj.metadata.name, obj.metadata.annotations["pave.dev/revision"]])} if {
	some obj in input.objects
	obj.metadata.annotations["pave.dev/revision"]
}
`}
	for k, v := range memoPolicies {
		files[k] = v
	}
	e := memoEngine(t, files, Options{Config: cfg})
	at := func(rev string) Input {
		o := deploymentWithReplicas(2)
		o.SetAnnotations(map[string]string{"pave.dev/revision": rev, "example.com/keep": "yes"})
		return Input{Service: svc, Environment: "prod", Namespace: "payments-prod", Objects: []*unstructured.Unstructured{o}, ObjectsHash: "render-hash"}
	}
	first := at("aaaa")
	if got := verdict(e.Evaluate(context.Background(), first)); got != "pass" {
		t.Fatalf("first commit: %s", got)
	}
	if first.Objects[0].GetAnnotations()["pave.dev/revision"] != "aaaa" {
		t.Error("the caller's object lost its revision")
	}
	hits := e.memo.hits
	if got := verdict(e.Evaluate(context.Background(), at("bbbb"))); got != "pass" {
		t.Errorf("next commit: %s", got)
	}
	if e.memo.hits != hits+1 {
		t.Error("a commit that left the render as it was evaluated the pair again")
	}
}
