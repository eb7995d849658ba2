// Package render turns a service of the catalog into the Kubernetes objects
// of one environment: its golden-path Helm chart rendered in-process, the
// service's kustomize patches applied, and every object placed in the
// team's namespace and stamped with where it came from.
//
// The API is small: New(catalog, options) and Renderer.Render(service,
// environment). The catalog's file system is injected, so tests render
// in-memory catalogs. Rendering never reaches the network or a cluster,
// never reads outside the catalog, and gives byte-identical output for the
// same inputs. Each render is bounded in time and output size (Options),
// and each object's scope comes from its API group and kind (Scopes).
package render

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pave-dev/pave/catalog"
)

// Options configure a Renderer.
type Options struct {
	// Revision is the catalog revision (a git commit), stamped on every
	// object as pave.dev/revision when set.
	Revision string
	// Cache keeps renders across Renderers (one per catalog revision). Nil
	// gives the Renderer a cache of its own, unless NoCache is set.
	Cache *Cache
	// NoCache keeps no render: for one pass over a catalog that renders
	// each service and environment once (pave check), where a cache
	// would only hold every rendered object until the end.
	NoCache bool
	// RenderTimeout bounds the time Helm takes to render one service for
	// one environment (default DefaultRenderTimeout).
	RenderTimeout time.Duration
	// MaxRenderedBytes bounds the manifests Helm renders for one service
	// and environment (default DefaultMaxRenderedBytes).
	MaxRenderedBytes int
}

// Renderer renders the services of one loaded catalog. It is safe for
// concurrent use.
type Renderer struct {
	cat   *catalog.Catalog
	opts  Options
	cache *Cache

	// scopes tells the scope of each rendered kind.
	scopes *Scopes

	mu     sync.Mutex
	charts map[string]*chartSlot
	// platformHash is the hash of what of pave.yaml shapes a render
	// (platform values, sizes, template allowances, custom resources) and
	// of the size bound.
	platformHash string
}

type chartSlot struct {
	once sync.Once
	gp   *goldenPath
	err  error
}

// Result is one service rendered for one environment. Its objects share
// maps with the cache: treat them as read-only (DeepCopy to change them).
type Result struct {
	Service     string // team/name
	Team        string
	Name        string
	Environment string
	Namespace   string
	// Template is "name@chartVersion".
	Template string
	// Source is the service.yaml path relative to the catalog root.
	Source   string
	Revision string
	// Objects are sorted: the Namespace first, then by kind priority, kind,
	// namespace and name.
	Objects []*unstructured.Unstructured
	// Hash is the SHA-256 of the rendered manifests, without the revision
	// annotation: it changes only when what would be applied changes.
	Hash string
	// AllowedNamespaces are the namespaces besides Namespace that pave.yaml
	// lets this service's template use.
	AllowedNamespaces []string
	// KubeVersions are the Kubernetes versions the template's charts
	// support (Chart.yaml kubeVersion): see CheckKubeVersion.
	KubeVersions []KubeVersionRequirement
}

// ObjectsHash identifies the Objects as policies see them (without the
// revision stamped on them, which policies do not see): the Hash of the
// render. Results with the same ObjectsHash hold the same objects but for
// their revision (policy.Input's ObjectsHash). Empty when the result has
// no Hash.
func (r *Result) ObjectsHash() string {
	return r.Hash
}

// YAML returns the objects as a multi-document YAML stream with sorted keys.
func (r *Result) YAML() []byte {
	var b bytes.Buffer
	for _, o := range r.Objects {
		b.WriteString("---\n")
		data, err := sigsyaml.Marshal(o.Object)
		if err != nil {
			// Objects come from JSON; they always marshal.
			panic(fmt.Sprintf("render: marshal %s: %v", objectID(o), err))
		}
		b.Write(data)
	}
	return b.Bytes()
}

// New returns a Renderer for a loaded catalog.
func New(cat *catalog.Catalog, opts Options) *Renderer {
	if opts.RenderTimeout <= 0 {
		opts.RenderTimeout = DefaultRenderTimeout
	}
	if opts.MaxRenderedBytes <= 0 {
		opts.MaxRenderedBytes = DefaultMaxRenderedBytes
	}
	r := &Renderer{cat: cat, opts: opts, cache: opts.Cache, charts: map[string]*chartSlot{}, scopes: NewScopes(cat.Config.CustomResources)}
	if r.cache == nil && !opts.NoCache {
		r.cache = NewCache()
	}
	h := sha256.New()
	_ = json.NewEncoder(h).Encode([]any{cat.Config.Platform, cat.Config.Sizes, cat.Config.Templates, cat.Config.Environments, cat.Config.CustomResources, opts.MaxRenderedBytes})
	r.platformHash = hex.EncodeToString(h.Sum(nil))
	return r
}

// goldenPath loads a template once per Renderer.
func (r *Renderer) goldenPath(name string) (*goldenPath, error) {
	r.mu.Lock()
	slot, ok := r.charts[name]
	if !ok {
		slot = &chartSlot{}
		r.charts[name] = slot
	}
	r.mu.Unlock()
	slot.once.Do(func() {
		slot.gp, slot.err = loadGoldenPath(r.cat, name)
	})
	return slot.gp, slot.err
}

// RenderAll renders every valid service of the catalog in every
// environment (or only env, when set), in catalog order. It never stops
// at a failure: the errors of each service are returned with the results
// of the others.
func (r *Renderer) RenderAll(env string) ([]*Result, []error) {
	var results []*Result
	var errs []error
	for _, svc := range r.cat.Services {
		for _, e := range r.cat.Config.EnvironmentNames() {
			if env != "" && e != env {
				continue
			}
			res, err := r.Render(svc, e)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			results = append(results, res)
		}
	}
	return results, errs
}

// Render renders one service for one environment. Errors are *Error, or an
// ErrorList of them when several fields are wrong.
func (r *Renderer) Render(svc *catalog.Service, envName string) (*Result, error) {
	return r.render(svc, envName, false)
}

// Hash is the Hash of the Result Render returns, and its error. A render
// the cache keeps is not decoded for it: asking whether a service's
// render changed costs a cache key and a lookup.
func (r *Renderer) Hash(svc *catalog.Service, envName string) (string, error) {
	res, err := r.render(svc, envName, true)
	if err != nil {
		return "", err
	}
	return res.Hash, nil
}

// render is Render; with hashOnly, the Result of a kept render holds its
// Hash alone.
func (r *Renderer) render(svc *catalog.Service, envName string, hashOnly bool) (*Result, error) {
	env, ok := r.cat.Config.Environment(envName)
	if !ok {
		return nil, fmt.Errorf("render %s: unknown environment %q", svc.ID(), envName)
	}
	fail := func(field, format string, args ...any) error {
		return fieldError(svc, envName, field, fmt.Sprintf(format, args...))
	}
	gp, err := r.goldenPath(svc.TemplateName())
	if err != nil {
		e := fail("", "%v", err)
		e.(*Error).Position = svc.Position("spec.template")
		return nil, e
	}
	st := svc.ForEnvironment(envName)
	sizeName := st.Size
	if sizeName == "" {
		sizeName = r.cat.Config.Defaults.Size
	}
	size, ok := r.cat.Config.Sizes[sizeName]
	if !ok {
		return nil, fail("size", "unknown size %q", sizeName)
	}
	namespace := env.NamespaceFor(svc.Metadata.Team)
	if env.KubeVersion != "" {
		if err := checkKubeVersion(gp.kubeVersions, env.KubeVersion, fmt.Sprintf("environment %s (pave.yaml environments[].kubeVersion)", envName)); err != nil {
			e := fail("", "%v", err)
			e.(*Error).Position = svc.Position("spec.template")
			return nil, e
		}
	}

	// The cache key covers every input except the revision, which is
	// stamped on afterwards.
	// It is computed without a cache too: it reads the patch files, and
	// refuses the same ones either way.
	key, err := r.cacheKey(svc, st, envName, gp)
	if err != nil {
		return nil, fail("", "%v", err)
	}
	if c, ok := r.cache.get(key); ok {
		if hashOnly {
			return &Result{Hash: c.hash}, nil
		}
		return r.cachedResult(svc, envName, namespace, gp, c)
	}

	var vals map[string]any
	if m := r.cat.Config.Mapping(gp.name); m != nil {
		vals, err = mappedValues(m, st, paveContext(svc, env, namespace, size, gp, r.opts.Revision), r.cat.Config.Platform)
		if err != nil {
			return nil, r.mappingError(svc, envName, gp, err)
		}
	} else if vals, err = values(svc, st, env, namespace, size, gp, r.cat.Config.Platform, r.opts.Revision); err != nil {
		return nil, fail("", "build values: %v", err)
	}
	objs, rerr := r.renderChart(svc, envName, namespace, gp, vals, capabilities(env))
	if rerr != nil {
		return nil, rerr
	}
	pl := placement{
		namespace: namespace,
		template:  gp.name,
		policy:    r.cat.Config.Templates[gp.name],
		scopes:    r.scopes,
		owner:     svc.Metadata.Team + "-" + svc.Metadata.Name,
	}
	if err := pl.place(objs); err != nil {
		e := fail("", "%v", err)
		e.(*Error).Position = svc.Position("spec.template")
		return nil, e
	}
	if len(st.Patches) > 0 {
		var perrs []*Error
		if objs, perrs = applyPatches(r.cat.FS, svc, envName, namespace, st.Patches, objs); perrs != nil {
			return nil, perrs[0]
		}
		// Patches keep every object's identity; placing the objects again
		// puts back the namespace patches do not see.
		if err := pl.place(objs); err != nil {
			return nil, fail("patches", "after patches: %v", err)
		}
	}
	for _, o := range objs {
		stamp(o, svc, envName, gp.ID())
	}
	objs = append(objs, namespaceObject(namespace, svc.Metadata.Team, envName))
	sortObjects(objs)
	for i := 1; i < len(objs); i++ {
		if objectID(objs[i]) == objectID(objs[i-1]) && objs[i].GetAPIVersion() == objs[i-1].GetAPIVersion() {
			return nil, fail("", "template %s renders %s twice", gp.ID(), objectID(objs[i]))
		}
	}
	if r.cache == nil {
		// Nothing kept (NoCache): the result owns the render's objects.
		return r.result(svc, envName, namespace, gp, objs, hashObjects(objs)), nil
	}
	c, err := r.cache.newCached(objs)
	if err != nil {
		return nil, fail("", "keep the render: %v", err)
	}
	r.cache.put(key, c)
	if hashOnly {
		return &Result{Hash: c.hash}, nil
	}
	return r.cachedResult(svc, envName, namespace, gp, c)
}

// cachedResult builds a Result from a kept render: a fresh copy of its
// objects.
func (r *Renderer) cachedResult(svc *catalog.Service, env, namespace string, gp *goldenPath, c *cached) (*Result, error) {
	objs, err := r.cache.objects(c)
	if err != nil {
		return nil, fieldError(svc, env, "", fmt.Sprintf("template %s: read the kept render: %v", gp.ID(), err))
	}
	return r.result(svc, env, namespace, gp, objs, c.hash), nil
}

// result builds a Result from a render's objects (its own: they are
// changed), with the revision stamped on all but the Namespace.
func (r *Renderer) result(svc *catalog.Service, env, namespace string, gp *goldenPath, objs []*unstructured.Unstructured, hash string) *Result {
	if r.opts.Revision != "" {
		for _, o := range objs {
			if o.GetKind() == "Namespace" {
				continue
			}
			ann := o.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[AnnotationRevision] = r.opts.Revision
			o.SetAnnotations(ann)
		}
	}
	return &Result{
		Service:     svc.ID(),
		Team:        svc.Metadata.Team,
		Name:        svc.Metadata.Name,
		Environment: env,
		Namespace:   namespace,
		Template:    gp.ID(),
		Source:      svc.File,
		Revision:    r.opts.Revision,
		Objects:     objs,
		Hash:        hash,
		// The daemon checks them against the version the cluster reports.
		KubeVersions: gp.kubeVersions,

		AllowedNamespaces: r.cat.Config.Templates[gp.name].AllowNamespaces,
	}
}

func hashObjects(objs []*unstructured.Unstructured) string {
	h := sha256.New()
	for _, o := range objs {
		data, _ := json.Marshal(o.Object)
		h.Write(data)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

var lookupCall = regexp.MustCompile(`\{\{-?[^}]*\blookup\b`)

// renderChart runs the Helm engine and parses its output into objects.
func (r *Renderer) renderChart(svc *catalog.Service, env, namespace string, gp *goldenPath, vals map[string]any, caps chartutil.Capabilities) ([]*unstructured.Unstructured, error) {
	templateErr := func(err error) error {
		loc, msg := templateLocation(err, gp.instr, gp.file)
		return &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: loc, Message: msg}
	}
	coalesced, err := chartutil.CoalesceValues(gp.chart, vals)
	if err != nil {
		return nil, templateErr(err)
	}
	if gp.schema != nil {
		if vs := validateSchema(gp.schema, gp.ownValues(coalesced, vals)); len(vs) > 0 {
			errs := schemaErrors(svc, env, gp, vs)
			if m := r.cat.Config.Mapping(gp.name); m != nil {
				errs = r.mappedSchemaErrors(svc, env, gp, m, vs)
			}
			if len(errs) == 1 {
				return nil, errs[0]
			}
			return nil, ErrorList(errs)
		}
	}
	if gp.hasDependencies {
		// Processing dependencies changes the chart: one render of it at a
		// time, until the engine is done with it (see runEngine).
		gp.mu.Lock()
		if err := chartutil.ProcessDependenciesWithMerge(gp.chart, coalesced); err != nil {
			gp.mu.Unlock()
			return nil, templateErr(err)
		}
	}
	renderVals, err := chartutil.ToRenderValuesWithSchemaValidation(gp.chart, coalesced, chartutil.ReleaseOptions{
		Name: svc.Metadata.Name, Namespace: namespace, Revision: 1, IsInstall: true,
	}, &caps, true)
	if err != nil {
		if gp.hasDependencies {
			gp.mu.Unlock()
		}
		return nil, templateErr(err)
	}
	if len(gp.subSchemas) > 0 {
		top, _ := renderVals["Values"].(chartutil.Values)
		if vs := gp.validateSubcharts(gp.chart, top, nil); len(vs) > 0 {
			if gp.hasDependencies {
				gp.mu.Unlock()
			}
			errs := subchartErrors(svc, env, gp, vs)
			if len(errs) == 1 {
				return nil, errs[0]
			}
			return nil, ErrorList(errs)
		}
	}
	files, berr, err := r.runEngine(gp, renderVals)
	if berr != nil {
		loc := ""
		if berr.file != "" {
			loc = gp.file(berr.file) + ":" + strconv.Itoa(berr.line)
		}
		return nil, &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: loc, Message: berr.message}
	}
	if err != nil {
		return nil, templateErr(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var manifests []string
	total, largest := 0, ""
	for _, name := range names {
		// Every file counts toward the bound, NOTES.txt included.
		total += len(files[name])
		if largest == "" || len(files[name]) > len(files[largest]) {
			largest = name
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		if strings.HasPrefix(base, "_") || strings.HasSuffix(base, "NOTES.txt") || !strings.Contains(name, "/templates/") {
			continue
		}
		manifests = append(manifests, name)
	}
	if total > r.opts.MaxRenderedBytes {
		return nil, &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: gp.file(largest),
			Message: fmt.Sprintf("the service renders %s (%s of it here), more than the %s pave renders for one service (render option MaxRenderedBytes)", formatBytes(total), formatBytes(len(files[largest])), formatBytes(r.opts.MaxRenderedBytes))}
	}
	var objs []*unstructured.Unstructured
	for _, name := range manifests {
		parsed, err := parseManifests(files[name])
		if err != nil {
			return nil, &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: gp.file(name), Message: fmt.Sprintf("renders invalid YAML: %v", err)}
		}
		if parsed, err = withoutHooks(parsed); err != nil {
			return nil, &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: gp.file(name), Message: err.Error()}
		}
		if isTestsFile(name) && len(parsed) > 0 {
			// Random functions are let through in templates/tests/ because
			// what it renders is dropped: it must all be helm test's hooks.
			return nil, &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Template: gp.file(name),
				Message: fmt.Sprintf("templates/tests/ holds the hooks of helm test, which pave does not render, yet it renders %s %q, which is not one: move it out of tests/", parsed[0].GetKind(), parsed[0].GetName())}
		}
		objs = append(objs, parsed...)
	}
	if len(objs) == 0 {
		return nil, &Error{Service: svc.ID(), Environment: env, File: svc.File, Position: svc.Position("spec.template"), Message: fmt.Sprintf("template %s renders no objects", gp.ID())}
	}
	return objs, nil
}

// runEngine runs Helm's engine under the render's bounds. When the time is
// up it returns without waiting: the engine stops at its next checkpoint.
// A bound that stopped the render is returned as a *boundError.
func (r *Renderer) runEngine(gp *goldenPath, vals chartutil.Values) (map[string]string, *boundError, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.RenderTimeout)
	defer cancel()
	budget := &renderBudget{ctx: ctx, checkpoints: gp.instr.checkpoints, maxBytes: r.opts.MaxRenderedBytes, timeout: r.opts.RenderTimeout}
	type result struct {
		files map[string]string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		if gp.hasDependencies {
			defer gp.mu.Unlock()
		}
		files, err := engine.RenderWithClientProvider(gp.chart, vals, budget)
		done <- result{files, err}
	}()
	select {
	case res := <-done:
		if budget.stopped != nil {
			return nil, budget.stopped, nil
		}
		if res.err != nil {
			return nil, nil, res.err
		}
		return res.files, nil, nil
	case <-ctx.Done():
		file, line := budget.position()
		return nil, &boundError{file: file, line: line, message: timeoutMessage(r.opts.RenderTimeout)}, nil
	}
}

// parseManifests splits a rendered template into objects, skipping empty
// documents.
func parseManifests(data string) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		o, err := decodeManifest(doc)
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		if o.GetName() == "" {
			return nil, fmt.Errorf("%s has no metadata.name", o.GetKind())
		}
		objs = append(objs, o)
	}
}

// ErrorList is several render errors of one service and environment.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Errors flattens a render error into its *Error parts.
func Errors(err error) []*Error {
	var list ErrorList
	if errors.As(err, &list) {
		return list
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}
