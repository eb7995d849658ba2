// Package review answers a pull request's questions before anything
// reaches a cluster (pave check --base): what the change creates, changes
// or deletes in every environment, whether it passes the platform's
// policies and which denials it introduces, and — for a template or
// policy change — its blast radius across all services.
//
//	repo, _ := review.Open("catalog")
//	base, _ := repo.Revision("origin/main")
//	head, _ := repo.WorkTree()
//	changed, _ := rv.Changed(base, head)
//	rv, _ := review.Run(ctx, base, head, review.Options{Changed: changed})
//
// Both sides are read straight from git (no checkout) or, for the head,
// from the catalog folder on disk. The changed files decide the impacted
// service × environment pairs: a service folder → that service; a
// template → its users at base and head; policies or pave.yaml → every
// service; a deleted service → its pairs, removed. Each impacted pair is
// rendered and evaluated on both sides (through the pipeline package),
// and the review's results carry its change (added, changed, removed,
// unchanged), the object-level diff (Compare) and the state of every
// violation (new, existing, fixed). The report package formats it.
package review

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/pipeline"
	"github.com/pave-dev/pave/policy"
	"github.com/pave-dev/pave/render"
)

// Options tune a review.
type Options struct {
	// Changed are the catalog files that differ between the sides (see
	// Changed).
	Changed []string
	// FailOn is FailOnAny (the default) or FailOnNew.
	FailOn string
	// Environment limits the review to one environment; all when empty.
	Environment string
	// Workers render and evaluate in parallel; GOMAXPROCS when zero.
	Workers int
	// Now is the clock exceptions expire by; time.Now when nil.
	Now func() time.Time
}

// side is one revision, loaded.
type side struct {
	cat      *catalog.Catalog
	byID     map[string]*catalog.Service
	engine   *policy.Engine // without policies when they do not compile
	renderer *render.Renderer
	// renders are what the side's pipeline runs rendered, for the diff.
	renders renders
}

// Run reviews the change from base to head. It returns an error only when
// a side cannot be read at all; an invalid head (pave.yaml, a service, a
// policy) is reported in the review, located at its file and line.
func Run(ctx context.Context, base, head *Side, opts Options) (*Review, error) {
	if opts.FailOn == "" {
		opts.FailOn = FailOnAny
	}
	if opts.FailOn != FailOnAny && opts.FailOn != FailOnNew {
		return nil, fmt.Errorf("fail on %q: want %s or %s", opts.FailOn, FailOnAny, FailOnNew)
	}
	rv := &Review{Base: base.Info, Head: head.Info, FailOn: opts.FailOn, Changed: opts.Changed, Groups: []Group{}, Results: []*Result{}}
	if rv.Changed == nil {
		rv.Changed = []string{}
	}

	now := opts.Now
	if now == nil {
		now = time.Now
	}
	// The base is loaded first: an ingress host stays with the service that
	// holds it at the base, and only a newcomer claiming it is refused.
	baseCat, baseErr := catalog.LoadWith(base.FS, catalog.LoadOptions{Now: now})
	headCat, err := catalog.LoadWith(head.FS, catalog.LoadOptions{Now: now, HostClaims: baseCat.HostClaims()})
	var cfgErr *catalog.ConfigError
	if errors.As(err, &cfgErr) {
		// Nothing at head can be trusted: report pave.yaml, review nothing.
		for _, e := range cfgErr.Errors {
			rv.Errors = append(rv.Errors, policy.ErrorOf(e))
		}
		return rv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load catalog at %s: %w", head.Info.Ref, err)
	}
	if baseErr != nil && !errors.As(baseErr, &cfgErr) {
		return nil, fmt.Errorf("load catalog at %s: %w", base.Info.Ref, baseErr)
	}
	if baseErr != nil {
		baseCat = nil // no usable catalog at base: everything is added
	}

	envs := headCat.Config.EnvironmentNames()
	if opts.Environment != "" {
		if !slices.Contains(envs, opts.Environment) {
			return nil, fmt.Errorf("unknown environment %q (pave.yaml environments: %v)", opts.Environment, envs)
		}
		envs = []string{opts.Environment}
	}
	rv.Environments = envs

	impact := catalog.Affected(opts.Changed, baseCat, headCat)
	// New, changed and removed exceptions: the first thing a reviewer sees.
	rv.Exceptions = exceptionChanges(baseCat, headCat, now())
	hs := newSide(headCat)
	hs.engine, err = policy.Load(head.FS, catalog.PoliciesDir, policy.Options{Config: headCat.Config, Now: now})
	var compileErr *policy.CompileError
	switch {
	case errors.As(err, &compileErr):
		// Fail closed: report the policies, still show what changes.
		rv.Errors = append(rv.Errors, compileErr.ResultErrors()...)
		if hs.engine, err = noPolicies(headCat, now); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("policies at %s: %w", head.Info.Ref, err)
	}
	for _, p := range hs.engine.Policies() {
		cp := *p
		rv.HeadPolicies = append(rv.HeadPolicies, &cp)
	}

	// Head: validate, render and evaluate every impacted service.
	if len(impact.Services) > 0 {
		run := hs.run(ctx, impact.Services, opts)
		for _, e := range run.Errors {
			rv.Errors = append(rv.Errors, policy.ErrorOf(e))
		}
		rv.Results = append(rv.Results, resultsOf(run)...)
	}

	// Base: the same services, and the removed ones, for the diff and the
	// violation states.
	var bs *side
	baseResults := map[pairKey]*Result{}
	baseRulesOK := false
	if baseCat != nil {
		bs = newSide(baseCat)
		bs.engine, err = policy.Load(base.FS, catalog.PoliciesDir, policy.Options{Config: baseCat.Config, Now: now})
		baseRulesOK = err == nil
		if err != nil {
			// The base's policies do not load: its services are still
			// rendered for the diff, and every head violation is new.
			if bs.engine, err = noPolicies(baseCat, now); err != nil {
				return nil, err
			}
		}
		baseIDs := slices.Concat(impact.Services, impact.Removed)
		bs.evaluate(ctx, baseIDs, opts, baseResults)
	}

	combine(rv, bs, hs, baseResults, envs, opts.Workers)
	if err := judgeRules(ctx, rv, base, head, bs, hs, baseRulesOK, opts.Changed); err != nil {
		return nil, err
	}
	blastRadius(rv, bs, hs, impact)
	return rv, nil
}

// noPolicies is an engine without policies, for a side whose policies do
// not compile: its services are rendered and nothing is evaluated.
func noPolicies(cat *catalog.Catalog, now func() time.Time) (*policy.Engine, error) {
	return policy.Load(fstest.MapFS{}, catalog.PoliciesDir, policy.Options{Config: cat.Config, Now: now})
}

func newSide(cat *catalog.Catalog) *side {
	s := &side{cat: cat, byID: make(map[string]*catalog.Service, len(cat.Services)), renderer: render.New(cat, render.Options{}), renders: renders{}}
	for _, svc := range cat.Services {
		s.byID[svc.ID()] = svc
	}
	return s
}

// pairKey names a service × environment; environment "" holds the
// service's own problems.
type pairKey struct{ service, env string }

func pairOf(r *Result) pairKey { return pairKey{r.Service, r.Environment} }

// resultsOf lists a pipeline run's results in order: each service's own
// problems, then its environments.
func resultsOf(run *pipeline.Run) []*Result {
	var out []*Result
	for _, s := range run.Services {
		if s.Own != nil {
			out = append(out, resultOf(s.Own))
		}
		for _, o := range s.Outcomes {
			out = append(out, resultOf(o.Verdict))
		}
	}
	return out
}

// evaluate renders and evaluates the services of ids the side has.
func (s *side) evaluate(ctx context.Context, ids []string, opts Options, out map[pairKey]*Result) {
	var services []*catalog.Service
	for _, id := range ids {
		if svc, ok := s.byID[id]; ok {
			services = append(services, svc)
		}
	}
	if len(services) == 0 {
		return
	}
	ids = make([]string, len(services))
	for i, svc := range services {
		ids[i] = svc.ID()
	}
	for _, r := range resultsOf(s.run(ctx, ids, opts)) {
		out[pairOf(r)] = r
	}
}

// run validates, renders and evaluates the services of ids through the
// pipeline, and keeps what rendered.
func (s *side) run(ctx context.Context, ids []string, opts Options) *pipeline.Run {
	run := pipeline.New(s.cat, s.renderer, s.engine).Run(ctx, pipeline.Options{Services: ids, Environment: opts.Environment, Workers: opts.Workers})
	for _, o := range run.Outcomes() {
		if o.Rendered != nil {
			s.renders[pairKey{o.Service.ID(), o.Environment}] = o.Rendered
		}
	}
	return run
}

// combine sets every head result's change, diff and violation states, and
// adds the removed pairs.
func combine(rv *Review, bs, hs *side, baseResults map[pairKey]*Result, envs []string, workers int) {
	invalidAtHead := map[string]bool{}
	for _, f := range hs.cat.Invalid {
		invalidAtHead[catalog.ServiceIDOf(f)] = true
	}
	seen := map[pairKey]bool{}
	secretEnv := func(s *side, k pairKey) []string {
		if s == nil {
			return nil
		}
		svc, ok := s.byID[k.service]
		if !ok {
			return nil
		}
		return slices.Sorted(maps.Keys(svc.ForEnvironment(k.env).SecretEnv))
	}
	// Diffing marshals every changed object on both sides: spread it over
	// the workers like rendering.
	var g errgroup.Group
	g.SetLimit(cmp.Or(workers, runtime.GOMAXPROCS(0)))
	for _, res := range rv.Results {
		seen[pairOf(res)] = true
		g.Go(func() error {
			k := pairOf(res)
			markStates(res, baseResults[k])
			if k.env == "" {
				return nil // a service's own problems: no rendered change
			}
			headRender := hs.renders.get(k)
			var baseRender *render.Result
			if bs != nil {
				baseRender = bs.renders.get(k)
			}
			switch {
			case headRender == nil && baseRender == nil:
				res.Change = ChangeAdded
			case headRender == nil:
				// It rendered at base and fails at head: the errors say why.
				res.Change = ChangeChanged
			default:
				res.Diff = keptNamespaces(Compare(objectsOf(baseRender), headRender.Objects, CompareOptions{SecretEnv: slices.Concat(secretEnv(bs, k), secretEnv(hs, k))}))
				if bs != nil {
					res.Diff = existingNamespaces(res.Diff, bs.cat, hs.byID[k.service], k.env)
				}
				switch {
				case baseRender == nil:
					res.Change = ChangeAdded
				case len(res.Diff) == 0:
					res.Change = ChangeUnchanged
				default:
					res.Change = ChangeChanged
				}
			}
			return nil
		})
	}
	_ = g.Wait() // the jobs return no error
	if bs == nil {
		return
	}
	// Pairs rendered at base and gone at head: removed services, removed
	// environments. A service invalid at head is not removed: its errors
	// are reported instead.
	for _, k := range bs.renders.keys() {
		if seen[k] || invalidAtHead[k.service] {
			continue
		}
		if _, ok := hs.byID[k.service]; ok && slices.Contains(envs, k.env) {
			continue // not impacted
		}
		br := bs.renders.get(k)
		res := &Result{
			Service: k.service, Environment: k.env, File: br.Source, Status: policy.StatusPass,
			Violations: []Violation{}, Errors: []policy.Error{}, Change: ChangeRemoved,
			Diff: keptNamespaces(Compare(br.Objects, nil, CompareOptions{SecretEnv: secretEnv(bs, k)})),
		}
		rv.Results = append(rv.Results, res)
	}
	order := map[string]int{}
	for i, env := range bs.cat.Config.EnvironmentNames() {
		order[env] = len(envs) + i
	}
	for i, env := range envs {
		order[env] = i
	}
	slices.SortStableFunc(rv.Results, func(a, b *Result) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), cmp.Compare(envRank(order, a.Environment), envRank(order, b.Environment)))
	})
}

// keptNamespaces drops the Namespaces a diff removes: pave never deletes
// a Namespace (the team's other services, and data, live in it), so the
// review does not announce it.
func keptNamespaces(diff []ObjectChange) []ObjectChange {
	return slices.DeleteFunc(diff, func(c ObjectChange) bool {
		return c.Action == ActionRemoved && c.Kind == "Namespace" && c.APIVersion == "v1"
	})
}

// existingNamespaces drops the team Namespace a diff of svc adds in env
// when it is there at base already: another valid service of the team
// renders it at base in that environment, under the same name. The
// Namespace is the team's, shared by its services, so a new service in it
// creates nothing there and the review does not announce "+Namespace".
func existingNamespaces(diff []ObjectChange, base *catalog.Catalog, svc *catalog.Service, env string) []ObjectChange {
	if svc == nil {
		return diff
	}
	e, ok := base.Config.Environment(env)
	if !ok {
		return diff
	}
	ns := e.NamespaceFor(svc.Metadata.Team)
	if !slices.ContainsFunc(base.Services, func(o *catalog.Service) bool {
		return o.Metadata.Team == svc.Metadata.Team && o.ID() != svc.ID()
	}) {
		return diff
	}
	return slices.DeleteFunc(diff, func(c ObjectChange) bool {
		return c.Action == ActionAdded && c.Kind == "Namespace" && c.APIVersion == "v1" && c.Name == ns
	})
}

func envRank(order map[string]int, env string) int {
	if env == "" {
		return -1
	}
	return order[env]
}

func objectsOf(r *render.Result) []*unstructured.Unstructured {
	if r == nil {
		return nil
	}
	return r.Objects
}

// renders are the rendered service × environment pairs of a side.
type renders map[pairKey]*render.Result

func (r renders) get(k pairKey) *render.Result { return r[k] }

// keys lists the pairs, sorted by service and environment.
func (r renders) keys() []pairKey {
	keys := slices.Collect(maps.Keys(r))
	slices.SortFunc(keys, func(a, b pairKey) int {
		return cmp.Or(strings.Compare(a.service, b.service), strings.Compare(a.env, b.env))
	})
	return keys
}
