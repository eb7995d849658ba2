package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
	"github.com/pave-dev/pave/report"
)

// TestOneMessagePerProblem: a denial and a render error read the same
// whichever way they are reached — the daemon's single pair (Evaluate),
// apply and diff (Run's outcomes, Problems) and pave check's text — and
// read as documented.
func TestOneMessagePerProblem(t *testing.T) {
	checkout := strings.Replace(exampleService(t, checkoutFile), ":1.4.2", ":latest", 1)
	web := strings.Replace(exampleService(t, "services/storefront/web/service.yaml"),
		"ingress:\n    host: shop.example.com\n", "ingress:\n    host: shop.example.com\n  patches:\n    - target: {kind: StatefulSet}\n      patch: '[{op: add, path: /x, value: 1}]'\n", 1)
	cat := exampleWith(t, map[string]string{checkoutFile: checkout, "services/storefront/web/service.yaml": web})
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(cat, render.New(cat, render.Options{}), engine)
	ctx := context.Background()

	// The daemon: one pair.
	daemon := map[string][]string{}
	for _, id := range []string{"payments/checkout", "storefront/web"} {
		svc, _ := cat.Service(id)
		out := p.Evaluate(ctx, svc, "prod")
		if !out.Blocked() {
			t.Fatalf("%s (prod) is not blocked: %+v", id, out.Verdict)
		}
		for _, prob := range out.Problems() {
			daemon[id] = append(daemon[id], pipeline.Message(prob))
		}
	}
	wantPrefix := map[string]string{
		"payments/checkout": checkoutFile + ":8: deny image-tag-pinned: Deployment/checkout: ",
		"storefront/web":    "services/storefront/web/service.yaml:18: error: render: patch spec.patches[0]",
	}
	for id, prefix := range wantPrefix {
		if len(daemon[id]) != 1 || !strings.HasPrefix(daemon[id][0], prefix) {
			t.Errorf("%s: messages %q, want one starting %q", id, daemon[id], prefix)
		}
	}

	// apply and diff: the run's outcomes; they prefix the pair.
	run := p.Run(ctx, pipeline.Options{Environment: "prod", Workers: 3})
	for _, out := range run.Outcomes() {
		id := out.Service.ID()
		var got []string
		for _, prob := range out.Problems() {
			got = append(got, pipeline.Message(prob))
			if s := prob.String(); s != id+" (prod): "+pipeline.Message(prob) {
				t.Errorf("String() = %q", s)
			}
		}
		if !slices.Equal(got, daemon[id]) {
			t.Errorf("%s: run says %q, the single pair %q", id, got, daemon[id])
		}
	}

	// pave check: the text report prints the same line under the pair.
	var text bytes.Buffer
	if err := (report.Text{}).Format(&text, report.FromRun(run)); err != nil {
		t.Fatal(err)
	}
	for id, msgs := range daemon {
		for _, m := range msgs {
			if !strings.Contains(text.String(), "\n  "+m+"\n") {
				t.Errorf("%s: pave check's text does not say %q:\n%s", id, m, text.String())
			}
		}
	}
}

// slowFirst delays the first services' renders, so that with several
// workers they finish last.
type slowFirst struct {
	r     *render.Renderer
	order map[string]int
}

func (s slowFirst) Render(svc *catalog.Service, env string) (*render.Result, error) {
	time.Sleep(time.Duration(len(s.order)-s.order[svc.ID()]) * 3 * time.Millisecond)
	return s.r.Render(svc, env)
}

// TestRunKeepsOrderWithWorkers: outcomes come in catalog order (services
// by id, environments in delivery order) however many workers run and
// whatever order they finish in, and match a run on one worker.
func TestRunKeepsOrderWithWorkers(t *testing.T) {
	cat := exampleWith(t, nil)
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	order := map[string]int{}
	for i, s := range cat.Services {
		order[s.ID()] = i
	}
	r := slowFirst{r: render.New(cat, render.Options{}), order: order}
	labels := func(run *pipeline.Run) []string {
		var out []string
		for _, o := range run.Outcomes() {
			out = append(out, fmt.Sprintf("%s (%s) %s %s", o.Service.ID(), o.Environment, o.Verdict.Status, o.Rendered.Hash))
		}
		return out
	}
	one := labels(pipeline.New(cat, r, engine).Run(context.Background(), pipeline.Options{Workers: 1}))
	many := labels(pipeline.New(cat, r, engine).Run(context.Background(), pipeline.Options{Workers: 8}))
	if len(one) != 2*len(cat.Services) {
		t.Fatalf("%d outcomes, want %d", len(one), 2*len(cat.Services))
	}
	if !slices.Equal(one, many) {
		t.Errorf("8 workers:\n%s\n1 worker:\n%s", strings.Join(many, "\n"), strings.Join(one, "\n"))
	}
	var want []string
	for _, id := range slices.Sorted(maps.Keys(order)) {
		for _, env := range cat.Config.EnvironmentNames() {
			want = append(want, id+" ("+env+")")
		}
	}
	for i, l := range many {
		if !strings.HasPrefix(l, want[i]+" ") {
			t.Errorf("outcome %d is %s, want %s", i, l, want[i])
		}
	}
}

// TestInvalidServiceReadsTheSame: the validation errors of an invalid
// service.yaml, as the daemon gets them for one service (Invalid), are
// the lines pave check prints under it; a valid service is not invalid.
func TestInvalidServiceReadsTheSame(t *testing.T) {
	checkout := strings.Replace(exampleService(t, checkoutFile), "port: 8080", `port: "8080"`, 1)
	cat := exampleWith(t, map[string]string{checkoutFile: checkout})
	engine, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config})
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(cat, render.New(cat, render.Options{}), engine)
	probs, invalid := p.Invalid("payments/checkout")
	if !invalid || len(probs) != 1 {
		t.Fatalf("Invalid = %+v, %v; want one problem", probs, invalid)
	}
	msg := pipeline.Message(probs[0])
	if want := checkoutFile + ":9: error: spec.port: expected an integer"; !strings.HasPrefix(msg, want) {
		t.Errorf("message %q, want it to start %q", msg, want)
	}
	var text bytes.Buffer
	if err := (report.Text{}).Format(&text, report.FromRun(p.Run(context.Background(), pipeline.Options{Services: []string{"payments/checkout"}}))); err != nil {
		t.Fatal(err)
	}
	if want := "ERROR payments/checkout\n  " + msg + "\n"; !strings.Contains(text.String(), want) {
		t.Errorf("pave check does not say %q:\n%s", want, text.String())
	}
	if _, invalid := p.Invalid("storefront/web"); invalid {
		t.Error("a valid service is reported invalid")
	}
}
