package pipeline_test

import (
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
)

// clusterRoleCatalog makes the example's worker template render a
// ClusterRole named by name (a template expression).
func clusterRoleCatalog(t *testing.T, name, paveYAML string) map[string]string {
	t.Helper()
	cfg, err := os.ReadFile(exampleCatalog + "/pave.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"pave.yaml": string(cfg) + "\ntemplates:\n  worker:\n    allowClusterScoped: [ClusterRole]\n    clusterScopedNames: [queue-reader]\n" + paveYAML,
		"templates/worker/templates/clusterrole.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: " + name + "\nrules: []\n",
	}
}

// TestClusterScopedNameClaimedTwice: two services rendering one
// cluster-scoped object into a cluster are refused, each on its
// service.yaml, as two claims of one ingress host are.
func TestClusterScopedNameClaimedTwice(t *testing.T) {
	cat := exampleWith(t, clusterRoleCatalog(t, "queue-reader", ""))
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	for _, opts := range []pipeline.Options{{}, {Services: []string{"data/events-consumer"}, Environment: "prod"}} {
		run := runCatalog(t, cat, opts)
		found := 0
		for _, o := range run.Outcomes() {
			id := o.Service.ID()
			var msgs []string
			for _, e := range o.Verdict.Errors {
				msgs = append(msgs, e.Message)
			}
			text := strings.Join(msgs, "\n")
			claimed := strings.Contains(text, `ClusterRole.rbac.authorization.k8s.io "queue-reader" is cluster-scoped, and `)
			switch id {
			case "data/events-consumer", "payments/ledger-worker", "storefront/search-indexer":
				if !claimed || o.Verdict.Status != policy.StatusError || !o.Blocked() {
					t.Errorf("%v: %s (%s) is not refused for the ClusterRole: %s %s", opts, id, o.Environment, o.Verdict.Status, text)
					continue
				}
				found++
				e := o.Verdict.Errors[len(o.Verdict.Errors)-1]
				if e.File != o.Service.File || e.Line != 7 {
					t.Errorf("%s: the error is at %s:%d, want %s:7 (spec.template)", id, e.File, e.Line, o.Service.File)
				}
				for _, other := range []string{"services/data/events-consumer/service.yaml", "services/payments/ledger-worker/service.yaml", "services/storefront/search-indexer/service.yaml"} {
					if other != o.Service.File && !strings.Contains(e.Message, other+" ("+o.Environment+")") {
						t.Errorf("%s: the error does not name %s: %s", id, other, e.Message)
					}
				}
			default:
				if claimed {
					t.Errorf("%s does not render the ClusterRole but is refused for it", id)
				}
			}
		}
		if want := 3 * len(run.Environments); opts.Services != nil {
			if found != 1 {
				t.Errorf("selected run: %d refusals, want 1", found)
			}
		} else if found != want {
			t.Errorf("%d refusals, want %d", found, want)
		}
	}

	// Named for the service, as pave derives cluster-scoped names, there
	// is no clash.
	run := runCatalog(t, exampleWith(t, clusterRoleCatalog(t, "{{ .Values.pave.team }}-{{ .Values.pave.service }}-reader", "")), pipeline.Options{})
	for _, o := range run.Outcomes() {
		for _, e := range o.Verdict.Errors {
			if strings.Contains(e.Message, "cluster-scoped") {
				t.Errorf("%s (%s): %s", o.Service.ID(), o.Environment, e.Message)
			}
		}
	}
}

// TestClusterScopedNameOnASharedCluster: one service in two environments
// on one cluster renders its cluster-scoped object twice.
func TestClusterScopedNameOnASharedCluster(t *testing.T) {
	files := clusterRoleCatalog(t, "{{ .Values.pave.team }}-{{ .Values.pave.service }}-reader", "")
	files["pave.yaml"] = strings.Replace(files["pave.yaml"], "    cluster: prod\n", "    cluster: staging\n", 1)
	cat := exampleWith(t, files)
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	run := runCatalog(t, cat, pipeline.Options{Services: []string{"payments/ledger-worker"}, Environment: "staging"})
	o := run.Outcomes()[0]
	want := `render: ClusterRole.rbac.authorization.k8s.io "payments-ledger-worker-reader" is cluster-scoped, and this service in environment prod also renders it into cluster staging`
	if len(o.Verdict.Errors) == 0 || !strings.HasPrefix(o.Verdict.Errors[len(o.Verdict.Errors)-1].Message, want) {
		t.Errorf("errors %+v, want %s", o.Verdict.Errors, want)
	}
}

// TestDropRenderedKeepsVerdicts: a run that drops what it rendered (pave
// check, which then holds no rendered object of the catalog) holds no
// render, sees each one in Options.Each, and gives the same verdicts —
// the cluster-scoped names two services claim among them — as a run that
// keeps them.
func TestDropRenderedKeepsVerdicts(t *testing.T) {
	cat := exampleWith(t, clusterRoleCatalog(t, "queue-reader", ""))
	if len(cat.Errors) > 0 {
		t.Fatal(cat.Errors)
	}
	for _, opts := range []pipeline.Options{{}, {Services: []string{"data/events-consumer"}, Environment: "prod"}} {
		kept := runCatalog(t, cat, opts)
		var mu sync.Mutex
		seen := 0
		dropped := opts
		dropped.DropRendered = true
		dropped.Each = func(o *pipeline.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			if o.Rendered != nil {
				seen++
			}
		}
		run := runCatalog(t, cat, dropped)
		want, got := kept.Outcomes(), run.Outcomes()
		if len(got) != len(want) || seen != len(want) {
			t.Fatalf("%v: %d outcomes (%d rendered seen by Each), want %d", opts, len(got), seen, len(want))
		}
		for i, o := range got {
			if o.Rendered != nil {
				t.Errorf("%v: %s (%s) keeps its render", opts, o.Service.ID(), o.Environment)
			}
			if !reflect.DeepEqual(o.Verdict, want[i].Verdict) {
				t.Errorf("%v: %s (%s): verdict %+v, want %+v", opts, o.Service.ID(), o.Environment, o.Verdict, want[i].Verdict)
			}
		}
	}
}
