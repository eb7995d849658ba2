package pipeline_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

// busyPolicy spends a fixed amount of CPU on every evaluation (as %d
// numbers) and denies nothing.
const busyPolicy = `# METADATA
# title: Busy
# custom:
#   id: busy
package pave.policies.busy

deny contains msg if {
	count([i | some i in numbers.range(1, %d); i %% 7 == 100]) > 0
	msg := "never"
}
`

// TestTimedOutEvaluationsAreRunAgainAlone: the policy timeout is wall
// clock, and a check's workers compete for the CPU; an evaluation that
// ran out of time among the others is run once more alone, and fails the
// check only when it is too slow alone as well.
func TestTimedOutEvaluationsAreRunAgainAlone(t *testing.T) {
	cat := exampleWith(t, map[string]string{"policies/busy.rego": fmt.Sprintf(busyPolicy, 20000)})
	ids := []string{"payments/checkout", "storefront/web", "data/events-consumer"}
	svc := func(id string) *catalog.Service {
		for _, s := range cat.Services {
			if s.ID() == id {
				return s
			}
		}
		t.Fatalf("no service %s", id)
		return nil
	}
	engine := func(timeout time.Duration) *policy.Engine {
		e, err := policy.Load(cat.FS, catalog.PoliciesDir, policy.Options{Config: cat.Config, Timeout: timeout, MemoPairs: -1})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	rnd := render.New(cat, render.Options{})
	evaluate := func(e *policy.Engine, id string) (*policy.Result, time.Duration) {
		rendered, err := rnd.Render(svc(id), "staging")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res := e.Evaluate(context.Background(), policy.Input{Service: svc(id), Environment: "staging", Namespace: rendered.Namespace, Objects: rendered.Objects, FS: cat.FS})
		return res, time.Since(start)
	}

	// One evaluation alone, on one CPU, sets the scale (the race
	// detector, or a slow machine, stretches everything alike).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	unbounded := engine(time.Minute)
	evaluate(unbounded, ids[0]) // warm up
	_, alone := evaluate(unbounded, ids[0])
	// A timeout of three times that: six evaluations at once on one CPU
	// take about six times as long each.
	timeout := 3 * alone
	e := engine(timeout)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		timedOut int
	)
	for range 2 {
		for _, id := range ids {
			wg.Go(func() {
				res, _ := evaluate(e, id)
				mu.Lock()
				defer mu.Unlock()
				for _, pe := range res.Errors {
					if pe.TimedOut {
						timedOut++
						break
					}
				}
			})
		}
	}
	wg.Wait()
	if timedOut == 0 {
		t.Fatalf("six evaluations at once on one CPU, each %s alone, did not exceed a %s timeout: the test's premise fails", alone, timeout)
	}

	t.Run("in time alone", func(t *testing.T) {
		run := pipeline.New(cat, rnd, engine(timeout)).Run(context.Background(), pipeline.Options{Services: ids, Workers: 6})
		for _, o := range run.Outcomes() {
			if len(o.Verdict.Errors) > 0 {
				t.Errorf("%s (%s): %v, want it run again alone and passing", o.Service.ID(), o.Environment, o.Verdict.Errors)
			}
		}
	})
	t.Run("too slow alone", func(t *testing.T) {
		// Twenty times the work alone, against the same timeout.
		slow := exampleWith(t, map[string]string{"policies/busy.rego": fmt.Sprintf(busyPolicy, 400000)})
		e, err := policy.Load(slow.FS, catalog.PoliciesDir, policy.Options{Config: slow.Config, Timeout: timeout, MemoPairs: -1})
		if err != nil {
			t.Fatal(err)
		}
		run := pipeline.New(slow, render.New(slow, render.Options{}), e).Run(context.Background(), pipeline.Options{Services: ids, Workers: 6})
		for _, o := range run.Outcomes() {
			if len(o.Verdict.Errors) != 1 || !o.Verdict.Errors[0].TimedOut || !strings.Contains(o.Verdict.Errors[0].Message, "timed out") {
				t.Errorf("%s (%s): %v, want the timeout", o.Service.ID(), o.Environment, o.Verdict.Errors)
			}
		}
	})
}
