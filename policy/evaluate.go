package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/catalog"
)

// Input is one service in one environment, as rendered.
type Input struct {
	Service     *catalog.Service
	Environment string
	Namespace   string
	Objects     []*unstructured.Unstructured
	// ObjectsHash, when set, identifies Objects as policies see them
	// (without the revision annotation): inputs with the same ObjectsHash
	// hold the same objects (render.Result's Hash does). When empty the
	// engine hashes the objects itself to recognise an input it has
	// evaluated.
	ObjectsHash string
	// FS is the catalog the service was loaded from, which its patch
	// files are read from to place results; the engine's when nil. An
	// engine outlives the revision it was loaded from (the daemon keeps
	// it while policies/ and pave.yaml do not change).
	FS fs.FS
}

// Evaluate runs every policy over one service in one environment and
// applies the service's exceptions: pave's own packages once over the
// service, conftest packages once per rendered object, Gatekeeper
// constraints once per object of their kinds. A policy that fails or runs
// past the timeout fails closed: the result has status "error".
func (e *Engine) Evaluate(ctx context.Context, in Input) *Result {
	in.Objects = withoutRevision(in.Objects)
	svc := in.Service
	newResult := func() *Result {
		return &Result{Service: svc.ID(), Environment: in.Environment, File: svc.File, Violations: []Violation{}, Errors: []Error{}}
	}
	if len(e.service.rules) == 0 && len(e.object.rules) == 0 && len(e.constraints) == 0 {
		res := newResult()
		res.Status = res.status()
		return res
	}
	settings := svc.ForEnvironment(in.Environment)
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	fsys := in.FS
	if fsys == nil {
		fsys = e.fsys
	}
	loc := locator{fsys: fsys, svc: svc, env: in.Environment, settings: settings}
	ev := &evaluation{engine: e, ctx: ctx, res: newResult(), loc: &loc, label: fmt.Sprintf("%s (%s)", svc.ID(), in.Environment)}
	settingsJSON, err := json.Marshal(settings)
	if err != nil {
		ev.fail(fmt.Sprintf("policy input of %s: %v", ev.label, err))
	} else {
		var key string
		var digest [32]byte
		if e.memo != nil {
			key, digest = memoKey(in), inputDigest(in, settingsJSON)
			ev.replay = e.memo.get(key, digest)
		}
		ev.evaluate(in, settingsJSON)
		if ev.mismatch {
			// Never: the same input runs the same queries. Should it
			// not, they run again.
			ev = &evaluation{engine: e, ctx: ctx, res: newResult(), loc: &loc, label: ev.label}
			ev.evaluate(in, settingsJSON)
		}
		if e.memo != nil && ev.replay == nil && !ev.failed {
			e.memo.put(key, digest, ev.record)
		}
	}
	res := ev.res
	e.applyExceptions(res, svc, in.Environment)
	sortViolations(res.Violations)
	res.Status = res.status()
	return res
}

// evaluate runs (or replays) pave's own packages over the service, then
// the conftest packages and constraints over its objects.
func (ev *evaluation) evaluate(in Input, settingsJSON []byte) {
	e := ev.engine
	if len(e.service.rules) > 0 {
		var input ast.Value
		if ev.replay == nil {
			var err error
			if input, err = inputValue(in.Service, settingsJSON, in); err != nil {
				ev.fail(fmt.Sprintf("policy input of %s: %v", ev.label, err))
				return
			}
		}
		if !ev.run(&e.service, input, nil, nil) {
			return
		}
	}
	if len(ev.res.Errors) == 0 && (len(e.object.rules) > 0 || len(e.constraints) > 0) {
		ev.objects(in)
	}
	if ev.replay != nil && len(ev.record) != len(ev.replay) {
		ev.mismatch = true
	}
}

// evaluation is one Evaluate under way.
type evaluation struct {
	engine *Engine
	ctx    context.Context
	res    *Result
	loc    *locator
	label  string // "payments/checkout (prod)"
	// failed: a query failed or its input could not be built; the
	// results are not kept.
	failed bool
	// replay holds the results of each query run in order, kept from an
	// evaluation of the same input (nil: run the queries); record
	// collects them as the queries run.
	replay []memoRun
	record []memoRun
	// mismatch: the kept results do not match the queries the input
	// runs (never expected); the evaluation is done again.
	mismatch bool
}

// objects runs the conftest packages over each rendered object, and each
// constraint over the objects of its kinds (the pod templates of
// workloads too when it checks Pods), until the first error.
func (ev *evaluation) objects(in Input) {
	e := ev.engine
	for _, o := range in.Objects {
		ref := &ObjectRef{Kind: o.GetKind(), Name: o.GetName()}
		if len(e.object.rules) > 0 {
			var input ast.Value
			if ev.replay == nil {
				var err error
				if input, err = ast.InterfaceToValue(o.Object); err != nil {
					ev.fail(fmt.Sprintf("policy input of %s, %s/%s: %v", ev.label, ref.Kind, ref.Name, err))
					return
				}
			}
			if !ev.run(&e.object, input, ref, nil) {
				return
			}
		}
		if len(e.constraints) == 0 {
			continue
		}
		// The reviews are built once per object, for every constraint.
		reviews, err := reviewsOf(o, in.Namespace)
		if err != nil {
			ev.fail(fmt.Sprintf("policy input of %s, %s/%s: %v", ev.label, ref.Kind, ref.Name, err))
			return
		}
		for _, c := range e.constraints {
			for _, rv := range reviews {
				if !c.reviews(o.GetKind(), rv.implied) {
					continue
				}
				input := ast.NewObject(ast.Item(ast.StringTerm("review"), ast.NewTerm(rv.value)), ast.Item(ast.StringTerm("parameters"), ast.NewTerm(c.parameters)))
				if !ev.run(c.template, input, ref, &result{constraint: c, implied: rv.implied}) {
					return
				}
			}
		}
	}
}

// result says how to report the results of a foreign (conftest or
// Gatekeeper) evaluation; nil for pave's own.
type result struct {
	constraint *constraint
	// implied: the object is the Pod a workload's template implies.
	implied bool
}

// run evaluates one query set over one input and adds its results; false
// when the evaluation failed (its error added).
func (ev *evaluation) run(qs *querySet, input ast.Value, obj *ObjectRef, foreign *result) bool {
	e := ev.engine
	var sets [][]any
	if ev.replay != nil {
		// The same input, in the same order: the same query comes next.
		n := len(ev.record)
		if n >= len(ev.replay) {
			ev.mismatch = true
			return false
		}
		sets = ev.replay[n].sets(qs)
		ev.record = append(ev.record, nil)
	} else {
		rs, err := qs.query.Eval(ev.ctx, rego.EvalParsedInput(input))
		if err != nil {
			if errors.Is(ev.ctx.Err(), context.DeadlineExceeded) || topdown.IsCancel(err) {
				ev.fail(fmt.Sprintf("policy evaluation of %s timed out after %s", ev.label, e.opts.Timeout))
				ev.res.Errors[len(ev.res.Errors)-1].TimedOut = true
				return false
			}
			ev.fail(fmt.Sprintf("policy evaluation of %s failed: %v", ev.label, err))
			return false
		}
		if len(rs) != 1 {
			// Every result set is defined, even when empty.
			ev.fail(fmt.Sprintf("policy evaluation of %s gave no result", ev.label))
			return false
		}
		run := memoRunOf(qs, rs)
		ev.record = append(ev.record, run)
		sets = run.sets(qs)
	}
	for i, r := range qs.rules {
		set := sets[i]
		pol := r.pkg.policy
		if foreign != nil && foreign.constraint != nil {
			pol = foreign.constraint.policy
		}
		for _, item := range set {
			var v Violation
			var err error
			if r.pkg.mode == modeService {
				v, err = e.violation(r, item, ev.loc)
			} else {
				v, err = foreignViolation(r, pol, item, obj, foreign, ev.loc)
			}
			if err != nil {
				ev.res.Errors = append(ev.res.Errors, Error{File: pol.File, Line: pol.Line, Message: fmt.Sprintf("policy %s: %v", pol.ID, err)})
				continue
			}
			ev.res.Violations = append(ev.res.Violations, v)
		}
	}
	return true
}

func (ev *evaluation) fail(msg string) {
	ev.failed = true
	ev.res.Errors = append(ev.res.Errors, Error{File: ev.loc.svc.File, Message: msg})
}

// foreignViolation is one result of a conftest package or a Gatekeeper
// template: a message, or an object with msg (other keys, such as
// Gatekeeper's details, are left out). It is reported on the object it
// was found on, at spec.image when it quotes the service's image, else at
// the patch that made the object or at spec.template.
func foreignViolation(r ruleRef, pol *Policy, item any, obj *ObjectRef, foreign *result, loc *locator) (Violation, error) {
	sev := r.severity
	if foreign != nil && foreign.constraint != nil && foreign.constraint.severity == Warn {
		sev = Warn
	}
	v := Violation{Policy: pol.ID, Severity: sev, Hint: pol.Remediation, Object: obj}
	var msg string
	switch x := item.(type) {
	case string:
		msg = x
	case map[string]any:
		s, ok := x["msg"].(string)
		if !ok || s == "" {
			return v, fmt.Errorf("%s %s has no msg string", r.name, describeValue(x))
		}
		msg = s
	default:
		return v, fmt.Errorf("%s contains %s; want a string or an object with msg", r.name, describeValue(item))
	}
	// The object leads the message, as in pave's own, unless the
	// library's message names it already.
	switch {
	case foreign != nil && foreign.implied:
		v.Message = fmt.Sprintf("%s/%s (pod template): %s", obj.Kind, obj.Name, msg)
	case strings.Contains(msg, obj.Kind) && strings.Contains(msg, obj.Name):
		v.Message = msg
	default:
		v.Message = fmt.Sprintf("%s/%s: %s", obj.Kind, obj.Name, msg)
	}
	v.File = loc.svc.File
	// Where pave can tell: a message quoting the service's image is about
	// spec.image (or the environment's override of it).
	field := ""
	if img := loc.settings.Image; img != "" && strings.Contains(msg, img) {
		field = "image"
	}
	v.Field, v.Line = loc.locate(field, obj)
	return v, nil
}

// objectReview is Gatekeeper's input.review of an object, or of the Pod
// a workload's template implies.
type objectReview struct {
	value   ast.Value
	implied bool
}

// podTemplatePaths are where workloads keep their pod template.
var podTemplatePaths = map[string][]string{
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
	"PodTemplate":           {"template"},
}

// reviews says whether a constraint reviews an object of a kind: one of
// its kinds (any kind when it names none); the Pod a workload's template
// implies when it names Pod (as Gatekeeper's expansion does).
func (c *constraint) reviews(kind string, implied bool) bool {
	if implied {
		return slices.Contains(c.kinds, "Pod")
	}
	return len(c.kinds) == 0 || slices.Contains(c.kinds, kind)
}

// reviewsOf is the review of an object and, for a workload, of the Pod
// its template implies.
func reviewsOf(o *unstructured.Unstructured, namespace string) ([]objectReview, error) {
	v, err := ast.InterfaceToValue(review(o.Object, namespace))
	if err != nil {
		return nil, err
	}
	out := []objectReview{{value: v}}
	tp, ok := podTemplatePaths[o.GetKind()]
	if !ok {
		return out, nil
	}
	tmpl, found, _ := unstructured.NestedMap(o.Object, tp...)
	if !found {
		return out, nil
	}
	md, _ := tmpl["metadata"].(map[string]any)
	md = maps.Clone(md)
	if md == nil {
		md = map[string]any{}
	}
	if _, ok := md["name"]; !ok {
		md["name"] = o.GetName()
	}
	if ns := o.GetNamespace(); ns != "" {
		md["namespace"] = ns
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": tmpl["spec"]}
	v, err = ast.InterfaceToValue(review(pod, namespace))
	if err != nil {
		return nil, err
	}
	return append(out, objectReview{value: v, implied: true}), nil
}

// review is Gatekeeper's input.review of an object being created.
func review(obj map[string]any, namespace string) map[string]any {
	u := unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	ns := u.GetNamespace()
	if ns == "" {
		ns = namespace
	}
	return map[string]any{
		"kind":      map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
		"name":      u.GetName(),
		"namespace": ns,
		"operation": "CREATE",
		"object":    obj,
		"userInfo":  map[string]any{},
	}
}

// RevisionAnnotation is the annotation pave serve stamps with the commit
// on what it applies (render.AnnotationRevision: policy comes before
// render in the layering, and pipeline's tests hold the two equal).
const RevisionAnnotation = "pave.dev/revision"

// withoutRevision returns the objects as policies see them: without the
// revision annotation pave stamps on what it applies, which differs at
// every commit. A verdict does not depend on the commit it comes from, and
// a pair whose render a commit did not change is not evaluated again (the
// memo). The objects are copied only where they carry it.
func withoutRevision(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for i, o := range objs {
		meta, _ := o.Object["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		if _, ok := ann[RevisionAnnotation]; !ok {
			if out != nil {
				out = append(out, o)
			}
			continue
		}
		if out == nil {
			out = append(make([]*unstructured.Unstructured, 0, len(objs)), objs[:i]...)
		}
		ann = maps.Clone(ann)
		delete(ann, RevisionAnnotation)
		meta = maps.Clone(meta)
		if len(ann) == 0 {
			delete(meta, "annotations")
		} else {
			meta["annotations"] = ann
		}
		obj := maps.Clone(o.Object)
		obj["metadata"] = meta
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	if out == nil {
		return objs
	}
	return out
}

// inputValue builds the policy input: the service's settings for the
// environment (with its name, team and template), the environment, the
// namespace and the rendered objects.
func inputValue(svc *catalog.Service, settings []byte, in Input) (ast.Value, error) {
	var service map[string]any
	if err := json.Unmarshal(settings, &service); err != nil {
		return nil, err
	}
	service["name"] = svc.Metadata.Name
	service["team"] = svc.Metadata.Team
	service["template"] = svc.TemplateName()
	objects := make([]any, len(in.Objects))
	for i, o := range in.Objects {
		objects[i] = o.Object
	}
	return ast.InterfaceToValue(map[string]any{
		"service":     service,
		"environment": in.Environment,
		"namespace":   in.Namespace,
		"objects":     objects,
	})
}

// violation turns one element of a deny or warn set into a Violation:
// either a message string or an object {policy, msg, object, field, hint}.
func (e *Engine) violation(r ruleRef, item any, loc *locator) (Violation, error) {
	v := Violation{Policy: r.pkg.policy.ID, Severity: r.severity, Hint: r.pkg.policy.Remediation}
	switch x := item.(type) {
	case string:
		v.Message = x
	case map[string]any:
		str := func(key string) (string, error) {
			val, ok := x[key]
			if !ok || val == nil {
				return "", nil
			}
			s, ok := val.(string)
			if !ok {
				return "", fmt.Errorf("%s %s: %q must be a string", r.name, describeValue(x), key)
			}
			return s, nil
		}
		var err error
		var msg, message, policy, field, hint string
		for _, f := range []struct {
			key string
			dst *string
		}{{"msg", &msg}, {"message", &message}, {"policy", &policy}, {"field", &field}, {"hint", &hint}} {
			if *f.dst, err = str(f.key); err != nil {
				return v, err
			}
		}
		v.Message = cmp.Or(msg, message)
		if v.Message == "" {
			return v, fmt.Errorf("%s %s has no msg", r.name, describeValue(x))
		}
		if policy != "" {
			if _, known := e.byID[policy]; !known {
				return v, fmt.Errorf("%s names unknown policy %q", r.name, policy)
			}
			v.Policy = policy
			v.Hint = e.byID[policy].Remediation
		}
		v.Hint = cmp.Or(hint, v.Hint)
		v.Field = field
		if obj, ok := x["object"].(map[string]any); ok {
			kind, _ := obj["kind"].(string)
			name, _ := obj["name"].(string)
			if kind != "" || name != "" {
				v.Object = &ObjectRef{Kind: kind, Name: name}
			}
		}
	default:
		return v, fmt.Errorf("%s contains %s; want a string or an object with msg", r.name, describeValue(item))
	}
	v.File = loc.svc.File
	v.Field, v.Line = loc.locate(v.Field, v.Object)
	return v, nil
}

func describeValue(v any) string {
	data, _ := json.Marshal(v)
	s := string(data)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// locator maps results to the line of service.yaml responsible for them.
type locator struct {
	fsys     fs.FS // the catalog, for the patch files
	svc      *catalog.Service
	env      string
	settings catalog.Settings
	// patches are the targets of the service's patches, read on first use.
	patches []patchTarget
	read    bool
}

type patchTarget struct {
	field      string // spec.patches[0] or spec.environments.prod.patches[0]
	kind, name string // regular expressions; "" matches anything
}

// locate returns the service.yaml path and line for a result. field is
// relative to the settings ("image", "env.API_TOKEN") or a full path
// ("spec.image", "metadata.name"). Without a field, a result on an object
// changed by a patch points at the patch; anything else at the template.
func (l *locator) locate(field string, obj *ObjectRef) (string, int) {
	var p string
	switch {
	case field == "":
		p = "spec.template"
		if obj != nil {
			if pt, ok := l.patchFor(obj); ok {
				p = pt
			}
		}
	case strings.HasPrefix(field, "spec.environments."), strings.HasPrefix(field, "metadata."), field == "metadata", field == "apiVersion", field == "kind":
		p = field
	case field == "template" || field == "spec.template":
		p = "spec.template"
	default:
		p = l.svc.FieldPath(l.env, strings.TrimPrefix(field, "spec."))
	}
	return p, l.svc.Position(p).Line
}

func (l *locator) patchFor(obj *ObjectRef) (string, bool) {
	if !l.read {
		l.read = true
		l.patches = patchTargets(l.fsys, l.svc, l.env, l.settings.Patches)
	}
	for _, pt := range l.patches {
		if matchName(pt.kind, obj.Kind) && matchName(pt.name, obj.Name) {
			return pt.field, true
		}
	}
	return "", false
}

// patchTargets finds which objects each patch of the merged settings
// changes: its target, or the kind and name a strategic-merge patch names.
func patchTargets(fsys fs.FS, svc *catalog.Service, env string, patches []catalog.Patch) []patchTarget {
	out := make([]patchTarget, 0, len(patches))
	base := len(svc.Spec.Patches)
	for i, p := range patches {
		field := fmt.Sprintf("spec.patches[%d]", i)
		if i >= base {
			field = fmt.Sprintf("spec.environments.%s.patches[%d]", env, i-base)
		}
		if p.Target != nil {
			out = append(out, patchTarget{field: field, kind: p.Target.Kind, name: p.Target.Name})
			continue
		}
		content := []byte(p.Patch)
		if p.Path != "" && fsys != nil {
			data, err := catalog.ReadFile(fsys, path.Join(svc.Dir(), p.Path))
			if err != nil {
				continue
			}
			content = data
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := sigsyaml.Unmarshal(content, &head); err != nil || head.Kind == "" {
			continue
		}
		out = append(out, patchTarget{field: field, kind: regexp.QuoteMeta(head.Kind), name: regexp.QuoteMeta(head.Metadata.Name)})
	}
	return out
}

// matchName matches like kustomize targets: a regular expression anchored
// at both ends; empty matches anything.
func matchName(pattern, value string) bool {
	if pattern == "" {
		return true
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return pattern == value
	}
	return re.MatchString(value)
}

// applyExceptions marks the denials an unexpired exception of the
// service's exceptions file covers in env as excepted, and warns about
// expired exceptions that would have matched.
func (e *Engine) applyExceptions(res *Result, svc *catalog.Service, env string) {
	exceptions := exceptionsOf(svc, env, e.opts.Now())
	if len(exceptions) == 0 {
		return
	}
	expiredWarned := map[string]bool{}
	for i := range res.Violations {
		v := &res.Violations[i]
		if v.Severity != Deny {
			continue
		}
		for j := range exceptions {
			x := &exceptions[j]
			if x.Policy != v.Policy {
				continue
			}
			xc := *x
			v.Exception = &xc
			if x.Expired {
				if !expiredWarned[x.Field] {
					expiredWarned[x.Field] = true
					wc := *x
					res.Violations = append(res.Violations, Violation{
						Policy:    x.Policy,
						Severity:  Warn,
						Message:   fmt.Sprintf("exception for %s expired on %s; the denial applies again", x.Policy, x.Expires),
						Hint:      "fix the cause, or have the exception renewed with a new expiry date",
						Field:     x.Field,
						File:      x.File,
						Line:      x.Line,
						Exception: &wc,
					})
					v = &res.Violations[i] // the append may have moved it
				}
				continue
			}
			v.Excepted = true
			break
		}
	}
}

// exceptionsOf lists the service's exceptions that hold in env, in the
// order of its exceptions file; every one of them when env is "".
func exceptionsOf(svc *catalog.Service, env string, now time.Time) []Exception {
	return fileExceptions(svc.ExceptionFile, env, now)
}

// fileExceptions lists the exceptions of an exceptions file (nil: none)
// that hold in env; every one of them when env is "".
func fileExceptions(xf *catalog.Exceptions, env string, now time.Time) []Exception {
	if xf == nil {
		return nil
	}
	var out []Exception
	for i, x := range xf.Exceptions {
		if env != "" && !x.AppliesTo(env) {
			continue
		}
		field := fmt.Sprintf("exceptions[%d]", i)
		out = append(out, Exception{
			Policy:       x.Policy,
			Environments: slices.Clone(x.Environments),
			Reason:       x.Reason,
			ApprovedBy:   x.ApprovedBy,
			Expires:      x.Expires.String(),
			Expired:      expired(x.Expires, now),
			File:         xf.File,
			Field:        field,
			Line:         xf.Position(field).Line,
		})
	}
	return out
}

// expired: an exception holds through the whole of its expiry day (UTC).
func expired(d catalog.Date, now time.Time) bool {
	return !now.UTC().Before(d.Time.AddDate(0, 0, 1))
}

func sortViolations(vs []Violation) {
	rank := func(v Violation) int {
		switch {
		case v.Blocking():
			return 0
		case v.Excepted:
			return 2
		case v.Severity == Warn:
			return 1
		}
		return 3
	}
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Policy, b.Policy),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
