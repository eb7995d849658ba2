// Package pipeline is pave's one way from a loaded catalog to a verdict:
// validate → render → evaluate → blocked?. The daemon, pave apply, pave
// diff, pave check and the review all call it, so a service is judged,
// and a problem worded, the same way by every entry point.
//
// A Pipeline holds a catalog, a renderer and a policy engine; it is safe
// for concurrent use. Evaluate judges one service in one environment —
// the daemon's step for each pair it reconciles:
//
//	p := pipeline.New(cat, renderer, engine) // once per catalog revision
//	if probs, invalid := p.Invalid(id); invalid {
//		// service.yaml (or its exceptions file) does not validate:
//		// status errors = Message of each problem; nothing applied or pruned
//	}
//	out := p.Evaluate(ctx, svc, env)
//	// metrics: out.RenderTime, out.EvaluateTime; out.Verdict is the
//	// policy.Result the status API shows
//	if out.Blocked() {
//		var msgs []string
//		for _, prob := range out.Problems() {
//			msgs = append(msgs, pipeline.Message(prob))
//		}
//		// out.Rendered == nil: it did not render (out.RenderErr says why);
//		// otherwise a policy denies it or could not run. Status errors and
//		// the PolicyDenied event carry msgs; nothing applied or pruned.
//	}
//	// apply out.Rendered
//
// Run does the same for a selection of services in one environment or
// all of them, Options.Workers at a time (errgroup), and adds what concerns a
// service as a whole (an invalid service.yaml, exceptions naming unknown
// policies or denying nothing) and the catalog's own errors. Its order is
// deterministic: services by id, environments in delivery order.
//
// Message is the one text of a problem (a denial, a warning, an error),
// the same in pave check's text, pave apply and diff, and — once it calls
// Evaluate — the daemon's status and events:
//
//	services/payments/checkout/service.yaml:8: deny image-tag-pinned: Deployment/checkout: …
//	services/storefront/web/service.yaml:18: error: render: patch spec.patches[0]: …
//
// pave check prints it under the pair it concerns; lists that mix pairs
// prefix the pair (Problem.String).
package pipeline

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

// Renderer renders a service for an environment; *render.Renderer is one.
type Renderer interface {
	Render(svc *catalog.Service, env string) (*render.Result, error)
}

// Pipeline judges the services of one loaded catalog. It is safe for
// concurrent use when its renderer and engine are (render.Renderer and
// policy.Engine are).
type Pipeline struct {
	catalog  *catalog.Catalog
	renderer Renderer
	engine   *policy.Engine
}

// New returns the pipeline of a catalog, rendering with r and evaluating
// with engine.
func New(cat *catalog.Catalog, r Renderer, engine *policy.Engine) *Pipeline {
	return &Pipeline{catalog: cat, renderer: r, engine: engine}
}

// Outcome is one service in one environment.
type Outcome struct {
	Service     *catalog.Service
	Environment string
	// Rendered is what the service renders to; nil when rendering failed.
	Rendered *render.Result
	// RenderErr is why rendering failed (its render.Errors are in
	// Verdict.Errors too).
	RenderErr error
	// Verdict holds the policy results and every error (render errors
	// included, as "render: …"); its Status is pass, fail or error.
	Verdict *policy.Result
	// RenderTime and EvaluateTime are how long each step took (for
	// metrics); EvaluateTime is zero when rendering failed.
	RenderTime, EvaluateTime time.Duration

	// clusterScoped are the cluster-scoped objects of a render that Run
	// dropped (Options.DropRendered), for checkClusterScopedNames.
	clusterScoped []*unstructured.Unstructured
}

// Blocked reports whether the pair must not be applied: it failed to
// render or to evaluate, or a policy denies it without exception.
func (o *Outcome) Blocked() bool {
	return o.Verdict.Status != policy.StatusPass
}

// Problems are what blocks the pair: its errors, then its denials without
// exception. None when it is not blocked.
func (o *Outcome) Problems() []Problem {
	var out []Problem
	for _, e := range o.Verdict.Errors {
		out = append(out, ErrorProblem(o.Verdict.Service, o.Environment, e))
	}
	for _, v := range o.Verdict.Violations {
		if v.Blocking() {
			out = append(out, ViolationProblem(o.Verdict.Service, o.Environment, v))
		}
	}
	return out
}

// Evaluate renders one service for one environment and evaluates what it
// renders. A render failure is an outcome with errors, never a panic or
// an error return: one service's failure never stops the others.
func (p *Pipeline) Evaluate(ctx context.Context, svc *catalog.Service, env string) *Outcome {
	out := &Outcome{Service: svc, Environment: env}
	start := time.Now()
	rendered, err := p.renderer.Render(svc, env)
	out.RenderTime = time.Since(start)
	if err != nil {
		out.RenderErr = err
		res := &policy.Result{Service: svc.ID(), Environment: env, File: svc.File, Status: policy.StatusError, Violations: []policy.Violation{}}
		rerrs := render.Errors(err)
		for _, re := range rerrs {
			msg := re.Message
			if re.Template != "" {
				msg = re.Template + ": " + msg
			}
			res.Errors = append(res.Errors, policy.Error{File: re.File, Line: re.Line, Message: "render: " + msg})
		}
		if len(rerrs) == 0 {
			res.Errors = append(res.Errors, policy.Error{File: svc.File, Message: err.Error()})
		}
		out.Verdict = res
		return out
	}
	out.Rendered = rendered
	start = time.Now()
	out.Verdict = p.engine.Evaluate(ctx, policy.Input{Service: svc, Environment: env, Namespace: rendered.Namespace, Objects: rendered.Objects, ObjectsHash: rendered.ObjectsHash(), FS: p.catalog.FS})
	out.EvaluateTime = time.Since(start)
	return out
}

// timedOut reports whether a verdict's only errors are evaluations that
// ran out of time.
func timedOut(v *policy.Result) bool {
	return v != nil && len(v.Errors) > 0 && !slices.ContainsFunc(v.Errors, func(e policy.Error) bool { return !e.TimedOut })
}

// Invalid reports whether the service id ("team/name") is invalid — its
// service.yaml, or its exceptions file, did not validate, so it is not in
// the catalog's services — and its validation errors as problems. Nothing
// of an invalid service is rendered, applied or pruned.
func (p *Pipeline) Invalid(id string) ([]Problem, bool) {
	team, name, _ := strings.Cut(id, "/")
	file := catalog.ServiceFileFor(team, name)
	if !slices.Contains(p.catalog.Invalid, file) {
		return nil, false
	}
	var out []Problem
	for _, ce := range p.catalog.Errors {
		if catalog.ServiceFileOf(ce.File) == file {
			out = append(out, ErrorProblem(id, "", policy.ErrorOf(ce)))
		}
	}
	return out, true
}

// Options select what Run covers.
type Options struct {
	// Services are ids ("team/name"); all services when empty. Ids of
	// invalid services are reported with their validation errors.
	Services []string
	// Environment limits the run to one environment; all when empty.
	Environment string
	// Workers evaluate in parallel; GOMAXPROCS when zero.
	Workers int
	// DropRendered leaves each outcome without its rendered objects
	// (Outcome.Rendered is nil) once it is evaluated: a run that only
	// reports verdicts (pave check) then holds a verdict per pair, not
	// every object of the catalog at once.
	DropRendered bool
	// Each, when set, is called with every outcome as soon as it is
	// evaluated, on the worker that evaluated it (so concurrently), and
	// before DropRendered drops its objects: a caller that needs what a
	// pair rendered only for a moment (the review's diff) takes it there.
	// The verdict may still gain the errors of the cluster-scoped check
	// after it.
	Each func(*Outcome)
}

// Service is one service of a run.
type Service struct {
	// ID is "team/name", File its service.yaml.
	ID   string
	File string
	// Service is nil when service.yaml is invalid.
	Service *catalog.Service
	// Own holds what concerns the service as a whole, without environment:
	// the errors of an invalid service.yaml or exceptions file, exceptions
	// naming unknown policies (errors), exceptions that deny nothing
	// (warnings). Nil when there is none.
	Own *policy.Result
	// Outcomes are its environments, in delivery order; none when invalid.
	Outcomes []*Outcome
}

// Run is a whole pass over (a selection of) the catalog.
type Run struct {
	// Environments are the environments run, in delivery order.
	Environments []string
	// Services are sorted by id; invalid ones included.
	Services []*Service
	// Errors concern the catalog as a whole (files that belong to no
	// service: a broken template, say).
	Errors catalog.ErrorList
	// Policies are the engine's policies, sorted by id.
	Policies []*policy.Policy
	// Exceptions are the exceptions of the valid services run that hold in
	// the environments run, expiry judged by the engine's clock, in the
	// catalog's order.
	Exceptions []policy.ServiceException
}

// Outcomes lists every service × environment of the run, in order.
func (r *Run) Outcomes() []*Outcome {
	var out []*Outcome
	for _, s := range r.Services {
		out = append(out, s.Outcomes...)
	}
	return out
}

// Run validates, renders and evaluates the selected services in parallel
// (opts.Workers at a time), keeping the order.
func (p *Pipeline) Run(ctx context.Context, opts Options) *Run {
	cat := p.catalog
	run := &Run{}
	for _, pol := range p.engine.Policies() {
		cp := *pol
		run.Policies = append(run.Policies, &cp)
	}
	wanted := make(map[string]bool, len(opts.Services))
	for _, id := range opts.Services {
		wanted[id] = true
	}
	selected := func(id string) bool { return len(opts.Services) == 0 || wanted[id] }

	// Validation errors: one Service per invalid service.yaml, with the
	// errors of the file and of its exceptions file; errors of any other
	// file concern the catalog.
	invalid := map[string]*Service{}
	for _, ce := range cat.Errors {
		file := catalog.ServiceFileOf(ce.File)
		id := catalog.ServiceIDOf(file)
		if (file == "" && len(opts.Services) > 0) || (file != "" && !selected(id)) {
			continue
		}
		if file == "" || !slices.Contains(cat.Invalid, file) {
			run.Errors = append(run.Errors, ce)
			continue
		}
		s, ok := invalid[file]
		if !ok {
			s = &Service{ID: id, File: file, Own: &policy.Result{Service: id, File: file, Status: policy.StatusError, Violations: []policy.Violation{}}}
			invalid[file] = s
			run.Services = append(run.Services, s)
		}
		s.Own.Errors = append(s.Own.Errors, policy.ErrorOf(ce))
	}

	for _, env := range cat.Config.EnvironmentNames() {
		if opts.Environment == "" || env == opts.Environment {
			run.Environments = append(run.Environments, env)
		}
	}
	var valid []*Service
	for _, svc := range cat.Services {
		if selected(svc.ID()) {
			s := &Service{ID: svc.ID(), File: svc.File, Service: svc, Outcomes: make([]*Outcome, len(run.Environments))}
			valid = append(valid, s)
		}
	}

	// Every service × environment in parallel, each written to its place.
	// A fixed set of workers takes the pairs in turn rather than a
	// goroutine per pair: policy evaluation and templates recurse deeply,
	// and a fresh goroutine grows (copies) its stack again for every pair.
	type job struct {
		s   *Service
		k   int
		env string
	}
	done := func(j job, o *Outcome) {
		if opts.Each != nil {
			opts.Each(o)
		}
		if opts.DropRendered && o.Rendered != nil {
			o.clusterScoped = slices.DeleteFunc(slices.Clone(o.Rendered.Objects), func(u *unstructured.Unstructured) bool { return !isClusterScoped(u) })
			o.Rendered = nil
		}
		j.s.Outcomes[j.k] = o
	}
	jobs := make(chan job)
	var (
		g     errgroup.Group
		mu    sync.Mutex
		again []job
	)
	workers := max(1, cmp.Or(opts.Workers, runtime.GOMAXPROCS(0)))
	// An evaluation that ran alone already is not run again.
	alone := workers == 1 || len(valid)*len(run.Environments) <= 1
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				o := p.Evaluate(ctx, j.s.Service, j.env)
				if !alone && timedOut(o.Verdict) {
					mu.Lock()
					again = append(again, j)
					mu.Unlock()
					continue
				}
				done(j, o)
			}
			return nil
		})
	}
	for _, s := range valid {
		for k, env := range run.Environments {
			jobs <- job{s, k, env}
		}
	}
	close(jobs)
	_ = g.Wait() // the jobs return no error: failures are outcomes
	// An evaluation that ran out of time among the others (the timeout is
	// wall-clock, and a busy machine stretches it) is run once more, alone:
	// only a policy slow on a quiet machine fails the check.
	for _, j := range again {
		done(j, p.Evaluate(ctx, j.s.Service, j.env))
	}
	p.checkClusterScopedNames(run, valid)

	all := len(run.Environments) == len(cat.Config.Environments)
	for _, s := range valid {
		verdicts := make([]*policy.Result, len(s.Outcomes))
		for i, o := range s.Outcomes {
			verdicts[i] = o.Verdict
		}
		s.Own = p.engine.ServiceResult(s.Service, verdicts, all)
		for _, x := range p.engine.ServiceExceptions(s.Service) {
			if opts.Environment == "" || len(x.Environments) == 0 || slices.Contains(x.Environments, opts.Environment) {
				run.Exceptions = append(run.Exceptions, x)
			}
		}
		run.Services = append(run.Services, s)
	}
	slices.SortStableFunc(run.Services, func(a, b *Service) int { return strings.Compare(a.ID, b.ID) })
	return run
}
