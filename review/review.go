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

	mu sync.Mutex
	// snapshots (base) are what each pair rendered, kept as JSON until
	// the head's render of the pair is compared with it.
	snapshots map[pairKey]*snapshot
	// pairs (head) are what comparing each pair's renders found.
	pairs map[pairKey]*pairDiff
	// renders (head) are the renders of the services the change edits,
	// which judgeRules evaluates again with the base's rules.
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
	headRulesOK := err == nil
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

	// Base: the impacted services, and the removed ones, for the diff and
	// the violation states. It goes first, keeping what each pair renders
	// as JSON, so that the head's renders are compared with it as they
	// come and neither side's objects are all held at once.
	var bs *side
	baseResults := map[pairKey]*Result{}
	baseRulesOK := false
	if baseCat != nil {
		bs = newSide(baseCat)
		if headRulesOK && !rulesChanged(opts.Changed) {
			// The same policies and pave.yaml on both sides: one engine
			// judges both, and a pair whose input is the same on both
			// sides is evaluated once (the engine replays it).
			bs.engine, err = hs.engine, nil
		} else {
			bs.engine, err = policy.Load(base.FS, catalog.PoliciesDir, policy.Options{Config: baseCat.Config, Now: now})
		}
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

	// Head: validate, render and evaluate every impacted service, and
	// compare each pair with the base's as soon as it is rendered.
	if len(impact.Services) > 0 {
		run := hs.run(ctx, impact.Services, opts, func(o *pipeline.Outcome) { hs.compare(bs, o, directServices(opts.Changed)) })
		for _, e := range run.Errors {
			rv.Errors = append(rv.Errors, policy.ErrorOf(e))
		}
		rv.Results = append(rv.Results, resultsOf(run)...)
	}

	combine(rv, bs, hs, baseResults, envs)
	if err := judgeRules(ctx, rv, base, head, bs, hs, baseRulesOK, opts.Changed); err != nil {
		return nil, err
	}
	blastRadius(rv, bs, hs, impact)
	return rv, nil
}

// rulesChanged tells whether a change touches what an engine is made
// of: the policies or pave.yaml.
func rulesChanged(changed []string) bool {
	return slices.ContainsFunc(changed, func(p string) bool {
		return p == catalog.ConfigFile || strings.HasPrefix(p, catalog.PoliciesDir+"/")
	})
}

// noPolicies is an engine without policies, for a side whose policies do
// not compile: its services are rendered and nothing is evaluated.
func noPolicies(cat *catalog.Catalog, now func() time.Time) (*policy.Engine, error) {
	return policy.Load(fstest.MapFS{}, catalog.PoliciesDir, policy.Options{Config: cat.Config, Now: now})
}

func newSide(cat *catalog.Catalog) *side {
	// Each pair is rendered once: a cache would only hold them all.
	s := &side{cat: cat, byID: make(map[string]*catalog.Service, len(cat.Services)), renderer: render.New(cat, render.Options{NoCache: true}),
		snapshots: map[pairKey]*snapshot{}, pairs: map[pairKey]*pairDiff{}, renders: renders{}}
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

// evaluate renders and evaluates the services of ids the side has (the
// base), keeping a snapshot of what each pair renders.
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
	for _, r := range resultsOf(s.run(ctx, ids, opts, s.keep)) {
		out[pairOf(r)] = r
	}
}

// run validates, renders and evaluates the services of ids through the
// pipeline, handing each rendered pair to each; the run keeps none.
func (s *side) run(ctx context.Context, ids []string, opts Options, each func(*pipeline.Outcome)) *pipeline.Run {
	return pipeline.New(s.cat, s.renderer, s.engine).Run(ctx, pipeline.Options{Services: ids, Environment: opts.Environment, Workers: opts.Workers, DropRendered: true, Each: each})
}

// snapshot is a pair as the base rendered it: its objects as JSON, a
// fraction of the memory of the objects themselves.
type snapshot struct {
	source  string // service.yaml
	objects [][]byte
}

// keep snapshots what a base pair rendered.
func (s *side) keep(o *pipeline.Outcome) {
	if o.Rendered == nil {
		return
	}
	snap := &snapshot{source: o.Rendered.Source, objects: make([][]byte, len(o.Rendered.Objects))}
	for i, obj := range o.Rendered.Objects {
		data, err := obj.MarshalJSON()
		if err != nil {
			// Rendered objects come from JSON and YAML: they always encode.
			panic(fmt.Sprintf("review: encode %s %s: %v", obj.GetKind(), obj.GetName(), err))
		}
		snap.objects[i] = data
	}
	s.mu.Lock()
	s.snapshots[pairKey{o.Service.ID(), o.Environment}] = snap
	s.mu.Unlock()
}

// take removes the snapshot of a pair; nil when the side did not render
// it.
func (s *side) take(k pairKey) *snapshot {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.snapshots[k]
	delete(s.snapshots, k)
	return snap
}

// decode turns a snapshot back into objects; nil for none.
func (snap *snapshot) decode() []*unstructured.Unstructured {
	if snap == nil {
		return nil
	}
	out := make([]*unstructured.Unstructured, len(snap.objects))
	for i, data := range snap.objects {
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(data); err != nil {
			panic(fmt.Sprintf("review: decode a snapshot of %s: %v", snap.source, err))
		}
		out[i] = o
	}
	return out
}

// pairDiff is what comparing a pair's renders found.
type pairDiff struct {
	// head and base: the pair rendered on that side.
	head, base bool
	diff       []ObjectChange
}

// directServices are the services whose own files the change edits (see
// judgeRules).
func directServices(changed []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range changed {
		if id := catalog.ServiceIDOf(p); id != "" {
			out[id] = true
		}
	}
	return out
}

// compare compares what a head pair rendered with the base's snapshot of
// it (bs is nil when the base has no catalog), and keeps the render of a
// service the change edits for judgeRules.
func (hs *side) compare(bs *side, o *pipeline.Outcome, direct map[string]bool) {
	k := pairKey{o.Service.ID(), o.Environment}
	snap := bs.take(k)
	pd := &pairDiff{head: o.Rendered != nil, base: snap != nil}
	if o.Rendered != nil {
		pd.diff = keptNamespaces(Compare(snap.decode(), o.Rendered.Objects, CompareOptions{SecretEnv: slices.Concat(secretEnvOf(bs, k), secretEnvOf(hs, k))}))
		if bs != nil {
			pd.diff = existingNamespaces(pd.diff, bs.cat, hs.byID[k.service], k.env)
		}
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.pairs[k] = pd
	if o.Rendered != nil && direct[k.service] {
		hs.renders[k] = o.Rendered
	}
}

// secretEnvOf are the secretEnv names of a pair's service on a side.
func secretEnvOf(s *side, k pairKey) []string {
	if s == nil {
		return nil
	}
	svc, ok := s.byID[k.service]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(svc.ForEnvironment(k.env).SecretEnv))
}

// combine sets every head result's change, diff and violation states, and
// adds the removed pairs.
func combine(rv *Review, bs, hs *side, baseResults map[pairKey]*Result, envs []string) {
	invalidAtHead := map[string]bool{}
	for _, f := range hs.cat.Invalid {
		invalidAtHead[catalog.ServiceIDOf(f)] = true
	}
	seen := map[pairKey]bool{}
	for _, res := range rv.Results {
		k := pairOf(res)
		seen[k] = true
		markStates(res, baseResults[k])
		if k.env == "" {
			continue // a service's own problems: no rendered change
		}
		pd := hs.pairs[k]
		if pd == nil {
			pd = &pairDiff{}
		}
		switch {
		case !pd.head && !pd.base:
			res.Change = ChangeAdded
		case !pd.head:
			// It rendered at base and fails at head: the errors say why.
			res.Change = ChangeChanged
		default:
			res.Diff = pd.diff
			switch {
			case !pd.base:
				res.Change = ChangeAdded
			case len(res.Diff) == 0:
				res.Change = ChangeUnchanged
			default:
				res.Change = ChangeChanged
			}
		}
	}
	if bs == nil {
		return
	}
	// Pairs rendered at base and gone at head: removed services, removed
	// environments. A service invalid at head is not removed: its errors
	// are reported instead.
	for _, k := range bs.snapshotKeys() {
		if seen[k] || invalidAtHead[k.service] {
			continue
		}
		if _, ok := hs.byID[k.service]; ok && slices.Contains(envs, k.env) {
			continue // not impacted
		}
		br := bs.take(k)
		res := &Result{
			Service: k.service, Environment: k.env, File: br.source, Status: policy.StatusPass,
			Violations: []Violation{}, Errors: []policy.Error{}, Change: ChangeRemoved,
			Diff: keptNamespaces(Compare(br.decode(), nil, CompareOptions{SecretEnv: secretEnvOf(bs, k)})),
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

// renders are rendered service × environment pairs of a side.
type renders map[pairKey]*render.Result

func (r renders) get(k pairKey) *render.Result { return r[k] }

// snapshotKeys lists the pairs the side holds snapshots of, sorted by
// service and environment.
func (s *side) snapshotKeys() []pairKey {
	s.mu.Lock()
	keys := slices.Collect(maps.Keys(s.snapshots))
	s.mu.Unlock()
	slices.SortFunc(keys, func(a, b pairKey) int {
		return cmp.Or(strings.Compare(a.service, b.service), strings.Compare(a.env, b.env))
	})
	return keys
}
