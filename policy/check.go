package policy

import (
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

	// Validation errors: one result per invalid service file; errors in
	// other files concern the catalog.
	invalid := map[string]*Result{}
	for _, ce := range cat.Errors {
		if !selected(ce.File) {
			continue
		}
		if !slices.Contains(cat.Invalid, ce.File) {
			report.Errors = append(report.Errors, errorFrom(ce))
			continue
		}
		res, ok := invalid[ce.File]
		if !ok {
			res = &Result{Service: serviceID(ce.File), File: ce.File, Violations: []Violation{}}
			invalid[ce.File] = res
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
// exceptions that matched nothing (stale warnings). An exception of the
// base spec is only stale when every environment was checked and none
// used it.
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
	check := func(field string, x catalog.Exception, envChecked bool) {
		line := svc.Position(field).Line
		if _, known := e.byID[x.Policy]; !known {
			res.Errors = append(res.Errors, Error{File: svc.File, Line: svc.Position(field + ".policy").Line, Message: fmt.Sprintf("%s.policy: unknown policy %q (policies: %s)", field, x.Policy, strings.Join(e.policyIDs(), ", "))})
			return
		}
		if envChecked && !used[field] {
			res.Violations = append(res.Violations, Violation{
				Policy:    x.Policy,
				Severity:  Warn,
				Message:   fmt.Sprintf("stale exception: %s denies nothing in this service; remove the exception", x.Policy),
				Hint:      "delete this exception from service.yaml",
				Field:     field,
				File:      svc.File,
				Line:      line,
				Exception: &Exception{Policy: x.Policy, Reason: x.Reason, ApprovedBy: x.ApprovedBy, Expires: x.Expires.String(), Field: field, Line: line},
			})
		}
	}
	allEvaluated := allEnvs
	for _, r := range results {
		allEvaluated = allEvaluated && evaluated[r.Environment]
	}
	for i, x := range svc.Spec.Exceptions {
		check(fmt.Sprintf("spec.exceptions[%d]", i), x, allEvaluated)
	}
	for _, env := range svc.EnvironmentNames() {
		for i, x := range svc.Spec.Environments[env].Exceptions {
			check(fmt.Sprintf("spec.environments.%s.exceptions[%d]", env, i), x, evaluated[env])
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

// UnknownExceptions reports the exceptions of a service that name a policy
// the catalog does not have: a validation error at the exception's line.
func (e *Engine) UnknownExceptions(svc *catalog.Service) catalog.ErrorList {
	var errs catalog.ErrorList
	check := func(field string, x catalog.Exception) {
		if _, known := e.byID[x.Policy]; !known {
			errs = append(errs, &catalog.Error{File: svc.File, Position: svc.Position(field + ".policy"), Message: fmt.Sprintf("%s.policy: unknown policy %q (policies: %s)", field, x.Policy, strings.Join(e.policyIDs(), ", "))})
		}
	}
	for i, x := range svc.Spec.Exceptions {
		check(fmt.Sprintf("spec.exceptions[%d]", i), x)
	}
	for _, env := range svc.EnvironmentNames() {
		for i, x := range svc.Spec.Environments[env].Exceptions {
			check(fmt.Sprintf("spec.environments.%s.exceptions[%d]", env, i), x)
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
