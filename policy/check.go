package policy

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// Renderer renders a service for an environment; *render.Renderer is one.
type Renderer interface {
	Render(svc *catalog.Service, env string) (*render.Result, error)
}

// CheckOptions select what Check covers.
type CheckOptions struct {
	// Services are ids ("team/name"); all services when empty. Ids of
	// invalid services are reported with their validation errors.
	Services []string
	// Environment limits the check to one environment; all when empty.
	Environment string
	// Workers evaluate in parallel; GOMAXPROCS when zero.
	Workers int
}

// Check validates, renders and evaluates services of a loaded catalog:
// every invalid service.yaml and every render failure is a result with
// status "error", every service × environment that rendered is evaluated.
// One service's failure never stops the others.
func (e *Engine) Check(ctx context.Context, cat *catalog.Catalog, r Renderer, opts CheckOptions) *Report {
	report := &Report{Results: []*Result{}}
	for _, p := range e.policies {
		cp := *p
		report.Policies = append(report.Policies, &cp)
	}
	wanted := make(map[string]bool, len(opts.Services))
	for _, id := range opts.Services {
		wanted[catalog.ServicesDir+"/"+id+"/"+catalog.ServiceFile] = true
	}
	selected := func(file string) bool { return len(opts.Services) == 0 || wanted[file] }

	// Validation errors: one result per invalid service, with the errors
	// of its service.yaml and its exceptions file; errors in other files
	// concern the catalog.
	invalid := map[string]*Result{}
	for _, ce := range cat.Errors {
		file := cmp.Or(catalog.ServiceFileOf(ce.File), ce.File)
		if !selected(file) {
			continue
		}
		if !slices.Contains(cat.Invalid, file) {
			report.Errors = append(report.Errors, errorFrom(ce))
			continue
		}
		res, ok := invalid[file]
		if !ok {
			res = &Result{Service: serviceID(file), File: file, Violations: []Violation{}}
			invalid[file] = res
			report.Results = append(report.Results, res)
		}
		res.Errors = append(res.Errors, errorFrom(ce))
	}

	var services []*catalog.Service
	for _, s := range cat.Services {
		if selected(s.File) {
			services = append(services, s)
		}
	}
	var envs []string
	for _, env := range cat.Config.EnvironmentNames() {
		if opts.Environment == "" || env == opts.Environment {
			envs = append(envs, env)
		}
	}

	// Evaluate every service × environment in parallel, keeping the order.
	type job struct {
		svc *catalog.Service
		env string
		out **Result
	}
	perService := make([][]*Result, len(services))
	jobs := make(chan job)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				*j.out = e.checkOne(ctx, cat, r, j.svc, j.env)
			}
		})
	}
	for i, s := range services {
		perService[i] = make([]*Result, len(envs))
		for k, env := range envs {
			jobs <- job{s, env, &perService[i][k]}
		}
	}
	close(jobs)
	wg.Wait()

	for i, s := range services {
		if own := e.serviceProblems(s, perService[i], len(envs) == len(cat.Config.Environments)); own != nil {
			report.Results = append(report.Results, own)
		}
		report.Results = append(report.Results, perService[i]...)
		for _, x := range e.ExceptionEntries(s) {
			if opts.Environment == "" || len(x.Environments) == 0 || slices.Contains(x.Environments, opts.Environment) {
				report.Exceptions = append(report.Exceptions, x)
			}
		}
	}
	slices.SortStableFunc(report.Results, func(a, b *Result) int { return strings.Compare(a.Service, b.Service) })
	for _, res := range report.Results {
		res.Status = res.status()
	}
	return report
}

func (e *Engine) checkOne(ctx context.Context, cat *catalog.Catalog, r Renderer, svc *catalog.Service, env string) *Result {
	rendered, err := r.Render(svc, env)
	if err != nil {
		res := &Result{Service: svc.ID(), Environment: env, File: svc.File, Violations: []Violation{}}
		rerrs := render.Errors(err)
		for _, re := range rerrs {
			msg := re.Message
			if re.Template != "" {
				msg = re.Template + ": " + msg
			}
			res.Errors = append(res.Errors, Error{File: re.File, Line: re.Line, Message: "render: " + msg})
		}
		if len(rerrs) == 0 {
			res.Errors = append(res.Errors, Error{File: svc.File, Message: err.Error()})
		}
		return res
	}
	return e.Evaluate(ctx, Input{Service: svc, Environment: env, Namespace: rendered.Namespace, Objects: rendered.Objects})
}

// serviceProblems reports what concerns a service rather than one of its
// environments: exceptions naming unknown policies (errors), and
// exceptions that matched nothing (stale warnings). An exception is only
// stale when every environment it holds in was checked and none used it.
func (e *Engine) serviceProblems(svc *catalog.Service, results []*Result, allEnvs bool) *Result {
	res := &Result{Service: svc.ID(), File: svc.File, Violations: []Violation{}}
	used := map[string]bool{}
	evaluated := map[string]bool{}
	for _, r := range results {
		if len(r.Errors) == 0 {
			evaluated[r.Environment] = true
		}
		for _, v := range r.Violations {
			if v.Exception != nil && v.Severity == Deny {
				used[v.Exception.Field] = true
			}
		}
	}
	allEvaluated := allEnvs
	for _, r := range results {
		allEvaluated = allEvaluated && evaluated[r.Environment]
	}
	res.Errors = append(res.Errors, e.unknownPolicies(svc)...)
	for _, x := range exceptionsOf(svc, "", e.opts.Now()) {
		if _, known := e.byID[x.Policy]; !known {
			continue
		}
		checked := allEvaluated
		if len(x.Environments) > 0 {
			checked = true
			for _, env := range x.Environments {
				checked = checked && evaluated[env]
			}
		}
		if checked && !used[x.Field] {
			xc := x
			res.Violations = append(res.Violations, Violation{
				Policy:    x.Policy,
				Severity:  Warn,
				Message:   fmt.Sprintf("stale exception: %s denies nothing in this service; remove the exception", x.Policy),
				Hint:      "delete this exception from " + x.File,
				Field:     x.Field,
				File:      x.File,
				Line:      x.Line,
				Exception: &xc,
			})
		}
	}
	if len(res.Errors) == 0 && len(res.Violations) == 0 {
		return nil
	}
	if res.Errors == nil {
		res.Errors = []Error{}
	}
	sortViolations(res.Violations)
	return res
}

// unknownPolicies reports the service's exceptions that name a policy the
// catalog does not have, at the exception's policy line.
func (e *Engine) unknownPolicies(svc *catalog.Service) []Error {
	var errs []Error
	for _, err := range e.UnknownExceptions(svc) {
		errs = append(errs, errorFrom(err))
	}
	return errs
}

// UnknownExceptions reports the exceptions of a service that name a policy
// the catalog does not have: a validation error at the exception's line in
// its exceptions file.
func (e *Engine) UnknownExceptions(svc *catalog.Service) catalog.ErrorList {
	xf := svc.ExceptionFile
	if xf == nil {
		return nil
	}
	var errs catalog.ErrorList
	for i, x := range xf.Exceptions {
		if _, known := e.byID[x.Policy]; !known {
			field := fmt.Sprintf("exceptions[%d].policy", i)
			msg := fmt.Sprintf("%s: unknown policy %q (policies: %s)", field, x.Policy, strings.Join(e.policyIDs(), ", "))
			errs = append(errs, &catalog.Error{File: xf.File, Position: xf.Position(field), Message: msg})
		}
	}
	return errs
}

func (e *Engine) policyIDs() []string {
	ids := make([]string, len(e.policies))
	for i, p := range e.policies {
		ids[i] = p.ID
	}
	return ids
}

// serviceID is "team/name" of services/team/name/service.yaml.
func serviceID(file string) string {
	parts := strings.Split(file, "/")
	if len(parts) == 4 {
		return parts[1] + "/" + parts[2]
	}
	return file
}
