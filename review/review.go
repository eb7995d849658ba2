// Package review answers a pull request's questions before anything
// reaches a cluster (pave check --base): what the change creates, changes
// or deletes in every environment, whether it passes the platform's
// policies and which denials it introduces, and — for a template or
// policy change — its blast radius across all services.
//
//	repo, _ := review.Open("catalog")
//	base, _ := repo.Revision("origin/main")
//	head, _ := repo.WorkTree()
//	changed, _ := review.Changed(base, head)
//	report, _ := review.Run(ctx, base, head, review.Options{Changed: changed})
//
// Both sides are read straight from git (no checkout) or, for the head,
// from the catalog folder on disk. The changed files decide the impacted
// service × environment pairs: a service folder → that service; a
// template → its users at base and head; policies or pave.yaml → every
// service; a deleted service → its pairs, removed. Each impacted pair is
// rendered and evaluated on both sides, and the report's results carry
// its change (added, changed, removed, unchanged), the object-level diff
// and the state of every violation (new, existing, fixed).
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
	"sync"
	"testing/fstest"
	"time"

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
	// FailOn is policy.FailOnAny (the default) or policy.FailOnNew.
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
	cat     *catalog.Catalog
	byID    map[string]*catalog.Service
	engine  *policy.Engine // without policies when they do not compile
	renders *recorder
}

// Run reviews the change from base to head. It returns an error only when
// a side cannot be read at all; an invalid head (pave.yaml, a service, a
// policy) is reported in the report, located at its file and line.
func Run(ctx context.Context, base, head *Side, opts Options) (*policy.Report, error) {
	if opts.FailOn == "" {
		opts.FailOn = policy.FailOnAny
	}
	if opts.FailOn != policy.FailOnAny && opts.FailOn != policy.FailOnNew {
		return nil, fmt.Errorf("fail on %q: want %s or %s", opts.FailOn, policy.FailOnAny, policy.FailOnNew)
	}
	review := &policy.Review{Base: base.Info, Head: head.Info, FailOn: opts.FailOn, Changed: opts.Changed, Groups: []policy.Group{}}
	if review.Changed == nil {
		review.Changed = []string{}
	}
	report := &policy.Report{Results: []*policy.Result{}, Review: review}

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
			report.Errors = append(report.Errors, policy.Error{File: e.File, Line: e.Line, Message: e.Message})
		}
		return report, nil
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
	review.Environments = envs

	impact := catalog.Affected(opts.Changed, baseCat, headCat)
	// New, changed and removed exceptions: the first thing a reviewer sees.
	report.Exceptions = exceptionChanges(baseCat, headCat, now())
	hs := newSide(headCat)
	hs.engine, err = policy.Load(head.FS, catalog.PoliciesDir, policy.Options{Config: headCat.Config, Now: now})
	var compileErr *policy.CompileError
	switch {
	case errors.As(err, &compileErr):
		// Fail closed: report the policies, still show what changes.
		for _, e := range compileErr.Errors {
			report.Errors = append(report.Errors, policy.Error{File: e.File, Line: e.Line, Message: "policy does not compile: " + e.Message})
		}
		if hs.engine, err = noPolicies(headCat, now); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("policies at %s: %w", head.Info.Ref, err)
	}
	for _, p := range hs.engine.Policies() {
		cp := *p
		report.Policies = append(report.Policies, &cp)
	}

	// Head: validate, render and evaluate every impacted service.
	if len(impact.Services) > 0 {
		headReport := pipeline.New(headCat, hs.renders, hs.engine).Run(ctx, pipeline.Options{Services: impact.Services, Environment: opts.Environment, Workers: opts.Workers}).Report()
		report.Errors = append(report.Errors, headReport.Errors...)
		report.Results = append(report.Results, headReport.Results...)
	}

	// Base: the same services, and the removed ones, for the diff and the
	// violation states.
	var bs *side
	baseResults := map[pairKey]*policy.Result{}
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

	combine(report, bs, hs, baseResults, envs, opts.Workers)
	if err := judgeRules(ctx, report, base, head, bs, hs, baseRulesOK, opts.Changed); err != nil {
		return nil, err
	}
	blastRadius(report, bs, hs, impact)
	return report, nil
}

// noPolicies is an engine without policies, for a side whose policies do
// not compile: its services are rendered and nothing is evaluated.
func noPolicies(cat *catalog.Catalog, now func() time.Time) (*policy.Engine, error) {
	return policy.Load(fstest.MapFS{}, catalog.PoliciesDir, policy.Options{Config: cat.Config, Now: now})
}

func newSide(cat *catalog.Catalog) *side {
	s := &side{cat: cat, byID: make(map[string]*catalog.Service, len(cat.Services)), renders: newRecorder(render.New(cat, render.Options{}))}
	for _, svc := range cat.Services {
		s.byID[svc.ID()] = svc
	}
	return s
}

// pairKey names a service × environment; environment "" holds the
// service's own problems.
type pairKey struct{ service, env string }

func keyOf(r *policy.Result) pairKey { return pairKey{r.Service, r.Environment} }

// evaluate renders and evaluates the services of ids the side has.
func (s *side) evaluate(ctx context.Context, ids []string, opts Options, out map[pairKey]*policy.Result) {
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
	rep := pipeline.New(s.cat, s.renders, s.engine).Run(ctx, pipeline.Options{Services: ids, Environment: opts.Environment, Workers: opts.Workers}).Report()
	for _, r := range rep.Results {
		out[keyOf(r)] = r
	}
}

// combine sets every head result's change, diff and violation states, and
// adds the removed pairs.
func combine(report *policy.Report, bs, hs *side, baseResults map[pairKey]*policy.Result, envs []string, workers int) {
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
	jobs := make(chan *policy.Result)
	var wg sync.WaitGroup
	for range cmp.Or(workers, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for res := range jobs {
				k := keyOf(res)
				markStates(res, baseResults[k])
				if k.env == "" {
					continue // a service's own problems: no rendered change
				}
				headRender := hs.renders.get(k)
				var baseRender *render.Result
				if bs != nil {
					baseRender = bs.renders.get(k)
				}
				switch {
				case headRender == nil && baseRender == nil:
					res.Change = policy.ChangeAdded
				case headRender == nil:
					// It rendered at base and fails at head: the errors say why.
					res.Change = policy.ChangeChanged
				default:
					res.Diff = keptNamespaces(render.Compare(objectsOf(baseRender), headRender.Objects, render.CompareOptions{SecretEnv: slices.Concat(secretEnv(bs, k), secretEnv(hs, k))}))
					switch {
					case baseRender == nil:
						res.Change = policy.ChangeAdded
					case len(res.Diff) == 0:
						res.Change = policy.ChangeUnchanged
					default:
						res.Change = policy.ChangeChanged
					}
				}
			}
		})
	}
	for _, res := range report.Results {
		seen[keyOf(res)] = true
		jobs <- res
	}
	close(jobs)
	wg.Wait()
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
		res := &policy.Result{
			Service: k.service, Environment: k.env, File: br.Source, Status: policy.StatusPass,
			Violations: []policy.Violation{}, Errors: []policy.Error{}, Change: policy.ChangeRemoved,
			Diff: keptNamespaces(render.Compare(br.Objects, nil, render.CompareOptions{SecretEnv: secretEnv(bs, k)})),
		}
		report.Results = append(report.Results, res)
	}
	order := map[string]int{}
	for i, env := range bs.cat.Config.EnvironmentNames() {
		order[env] = len(envs) + i
	}
	for i, env := range envs {
		order[env] = i
	}
	slices.SortStableFunc(report.Results, func(a, b *policy.Result) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), cmp.Compare(envRank(order, a.Environment), envRank(order, b.Environment)))
	})
}

// keptNamespaces drops the Namespaces a diff removes: pave never deletes
// a Namespace (the team's other services, and data, live in it), so the
// review does not announce it.
func keptNamespaces(diff []render.ObjectChange) []render.ObjectChange {
	return slices.DeleteFunc(diff, func(c render.ObjectChange) bool {
		return c.Action == render.ActionRemoved && c.Kind == "Namespace" && c.APIVersion == "v1"
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

// recorder renders and keeps what it rendered, for the diff.
type recorder struct {
	r  *render.Renderer
	mu sync.Mutex
	m  map[pairKey]*render.Result
}

func newRecorder(r *render.Renderer) *recorder {
	return &recorder{r: r, m: map[pairKey]*render.Result{}}
}

// Render implements pipeline.Renderer.
func (rec *recorder) Render(svc *catalog.Service, env string) (*render.Result, error) {
	res, err := rec.r.Render(svc, env)
	if err == nil {
		rec.mu.Lock()
		rec.m[pairKey{svc.ID(), env}] = res
		rec.mu.Unlock()
	}
	return res, err
}

func (rec *recorder) get(k pairKey) *render.Result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.m[k]
}

func (rec *recorder) keys() []pairKey {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	keys := make([]pairKey, 0, len(rec.m))
	for k := range rec.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pairKey) int {
		return cmp.Or(strings.Compare(a.service, b.service), strings.Compare(a.env, b.env))
	})
	return keys
}
