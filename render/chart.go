package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"
	"k8s.io/client-go/dynamic"

	"github.com/pave-dev/pave/catalog"
)

// maxChartSize bounds the bytes read for one chart.
const maxChartSize = 16 << 20

// goldenPath is a loaded template: the Helm chart, the hash of its files,
// and its compiled values schema.
type goldenPath struct {
	name    string
	dir     string // relative to the catalog root
	chart   *chart.Chart
	hash    string
	schema  *jsonschema.Schema
	version string

	// instr holds the checkpoints added to the chart's templates, which
	// bound the time and output of a render.
	instr *instrumentedChart
	// dependencies are processed per render, which mutates the chart.
	hasDependencies bool
	mu              sync.Mutex

	// kubeVersions are the Chart.yaml kubeVersion constraints of the
	// chart and the charts it includes.
	kubeVersions []KubeVersionRequirement
	// subSchemas are the compiled values schemas of the subcharts, by the
	// hash of their bytes.
	subSchemas map[[32]byte]subchartSchema

	// sources maps the Helm names of the library charts' files
	// ("web-service/charts/_lib/") to their folder under templates/
	// ("_lib/").
	sources map[string]string
}

// ID is "name@version", as stamped in the pave.dev/template annotation.
func (g *goldenPath) ID() string { return g.name + "@" + g.version }

// loadGoldenPath reads templates/<name>/ from the catalog into a Helm chart,
// honouring .helmignore, refusing symlinks and anything outside the folder,
// and requiring every dependency to be vendored under charts/ or to be a
// library chart of the catalog (repository: file://../<library>), which is
// read from templates/<library>/ by the same rules.
func loadGoldenPath(cat *catalog.Catalog, name string) (*goldenPath, error) {
	t, ok := cat.Templates[name]
	if !ok {
		if _, lib := cat.Libraries[name]; lib {
			return nil, fmt.Errorf("%s/%s is a library chart, not a template: include it as a dependency of a template", catalog.TemplatesDir, name)
		}
		return nil, fmt.Errorf("unknown template %q", name)
	}
	h := sha256.New()
	ch, err := loadChart(cat.FS, t.Dir, h)
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", name, err)
	}
	g := &goldenPath{
		name:    name,
		dir:     t.Dir,
		chart:   ch,
		version: ch.Metadata.Version,
		sources: map[string]string{},
	}
	vendored := map[string]bool{}
	for _, sub := range ch.Dependencies() {
		vendored[sub.Name()] = true
	}
	for _, dep := range ch.Metadata.Dependencies {
		if !strings.HasPrefix(dep.Repository, catalog.LocalRepository) {
			if !vendored[dep.Name] {
				return nil, fmt.Errorf("load template %s: dependency %q is not vendored under %s/charts/ (pave never fetches charts at render time)", name, dep.Name, t.Dir)
			}
			continue
		}
		if vendored[dep.Name] {
			return nil, fmt.Errorf("load template %s: dependency %q is both vendored under %s/charts/ and resolved from %s: remove one", name, dep.Name, t.Dir, dep.Repository)
		}
		lib, err := loadLibrary(cat, t, dep.Name, dep.Repository, h)
		if err != nil {
			return nil, fmt.Errorf("load template %s: %w", name, err)
		}
		ch.AddDependency(lib)
		g.sources[path.Join(ch.ChartFullPath(), "charts", lib.Name())+"/"] = lib.Name() + "/"
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("load template %s: %w", name, err)
	}
	g.hash = hex.EncodeToString(h.Sum(nil))
	g.hasDependencies = len(ch.Metadata.Dependencies) > 0
	if g.hasDependencies && librariesOnly(ch) {
		// Libraries are always enabled and import no values: processing
		// them does not depend on the service, so it is done once here
		// and renders of the chart need not take turns.
		if err := chartutil.ProcessDependenciesWithMerge(ch, map[string]any{}); err != nil {
			return nil, fmt.Errorf("load template %s: %w", name, err)
		}
		g.hasDependencies = false
	}
	if err := g.checkCRDs(cat.Config.CustomResources); err != nil {
		return nil, fmt.Errorf("load template %s: %w", name, err)
	}
	if g.kubeVersions, err = g.kubeVersionRequirements(); err != nil {
		return nil, fmt.Errorf("load template %s: %w", name, err)
	}
	if g.subSchemas, err = g.subchartSchemas(); err != nil {
		return nil, fmt.Errorf("load template %s: %w", name, err)
	}
	g.instr = instrumentChart(ch)
	if len(ch.Schema) > 0 {
		if g.schema, err = compileSchema(t.Dir+"/values.schema.json", ch.Schema); err != nil {
			return nil, fmt.Errorf("load template %s: %w", name, err)
		}
	}
	return g, nil
}

// librariesOnly tells whether every dependency of the chart is one of the
// catalog's library charts, used without condition, tags, alias or
// import-values, and has no dependencies of its own.
func librariesOnly(ch *chart.Chart) bool {
	for _, d := range ch.Metadata.Dependencies {
		if !strings.HasPrefix(d.Repository, catalog.LocalRepository) || d.Condition != "" || len(d.Tags) > 0 || d.Alias != "" || len(d.ImportValues) > 0 {
			return false
		}
	}
	for _, sub := range ch.Dependencies() {
		if len(sub.Metadata.Dependencies) > 0 || len(sub.Dependencies()) > 0 {
			return false
		}
	}
	return true
}

// loadLibrary reads the catalog's library chart a template depends on by
// file://, hashing its files into h after the template's: a change to the
// library changes the render cache key of every template using it.
func loadLibrary(cat *catalog.Catalog, t *catalog.Template, dep, repository string, h io.Writer) (*chart.Chart, error) {
	name, err := catalog.LocalLibrary(t.Dir, repository)
	if err != nil {
		return nil, fmt.Errorf("dependency %q: %w", dep, err)
	}
	lib, ok := cat.Libraries[name]
	if !ok || !t.UsesLibrary(name) {
		// The catalog reported why when it loaded the template.
		return nil, fmt.Errorf("dependency %q: %s is not a library chart of the catalog", dep, repository)
	}
	fmt.Fprintf(h, "library\x00%s\x00", lib.Name)
	ch, err := loadChart(cat.FS, lib.Dir, h)
	if err != nil {
		return nil, fmt.Errorf("dependency %q: %w", dep, err)
	}
	if ch.Metadata.Type != "library" || ch.Name() != dep {
		return nil, fmt.Errorf("dependency %q: %s is not the library chart %q", dep, lib.Dir, dep)
	}
	return ch, nil
}

// loadChart reads the chart in dir, honouring its .helmignore and
// refusing symlinks, and writes each file's name and bytes to h.
func loadChart(fsys fs.FS, dir string, h io.Writer) (*chart.Chart, error) {
	var rules *ignore.Rules
	if data, err := catalog.ReadFile(fsys, dir+"/"+ignore.HelmIgnore); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", dir, ignore.HelmIgnore, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s/%s: %w", dir, ignore.HelmIgnore, err)
	} else {
		rules = ignore.Empty()
	}
	rules.AddDefaults()

	var files []*loader.BufferedFile
	total := 0
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if rel == "" {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: symlinks are not allowed in the catalog", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if rules.Ignore(rel, info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		total += len(data)
		if total > maxChartSize {
			return fmt.Errorf("%s: chart is larger than %d bytes", dir, maxChartSize)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
		files = append(files, &loader.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}

// ownValues are the coalesced values without the empty maps Helm adds
// for the library charts: the template's schema checks the service's
// settings, and a library takes none (a service that sets one is told).
func (g *goldenPath) ownValues(coalesced, vals map[string]any) map[string]any {
	if len(g.sources) == 0 {
		return coalesced
	}
	out := maps.Clone(coalesced)
	for _, dir := range g.sources {
		name := strings.TrimSuffix(dir, "/")
		if _, set := vals[name]; !set {
			delete(out, name)
		}
	}
	return out
}

// noLoader refuses every $ref outside the schema itself: rendering never
// reads files beyond the chart or reaches the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref to %s is not allowed: values.schema.json must be self-contained", url)
}

func compileSchema(file string, data []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const url = "pave:///values.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// noLookup makes Helm's lookup function fail: render never talks to a
// cluster, so the same catalog always renders the same way.
type noLookup struct{}

func (noLookup) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	return nil, false, fmt.Errorf("lookup of %s %s is not available: pave renders without a cluster", apiVersion, kind)
}

// templateFile turns a Helm template name (web-service/templates/x.yaml)
// into its catalog path.
func templateFile(name string) string {
	return path.Join(catalog.TemplatesDir, name)
}

// file turns a Helm template name into its catalog path, a library's
// files (web-service/charts/_lib/templates/x.tpl) into their own
// (templates/_lib/templates/x.tpl).
func (g *goldenPath) file(name string) string {
	for prefix, dir := range g.sources {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			return templateFile(dir + rest)
		}
	}
	return templateFile(name)
}
