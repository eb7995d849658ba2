package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"
)

// Catalog is a loaded catalog: its configuration, its templates, every
// valid service, and the errors of the files that are not.
type Catalog struct {
	// FS is the catalog's files, rooted at the catalog folder.
	FS        fs.FS
	Config    *Config
	Templates map[string]*Template
	// Libraries are the library charts under templates/ (Chart.yaml
	// "type: library"), by folder name: templates include them as
	// dependencies (repository: file://../<name>); services cannot use them.
	Libraries map[string]*Template
	// Services are the valid services, sorted by team and name.
	Services []*Service
	// Errors lists every problem found, sorted by file and line. A service
	// with errors is left out of Services; the others are unaffected.
	Errors ErrorList
	// Invalid lists the service files that had errors, in themselves or
	// in their exceptions file, sorted.
	Invalid []string
	// Warnings are problems that block nothing, sorted by file and line:
	// an exception past its expiry date, which no longer applies.
	Warnings ErrorList
	// Exceptions are the exceptions files that decode, valid or not,
	// sorted by file; a valid one is also its service's ExceptionFile.
	Exceptions []*Exceptions

	hostClaims HostClaims
	closer     io.Closer
}

// HostClaims says which service holds each ingress host, per environment:
// claims[env][host] is the service's id ("team/name"). Hosts are lowercase.
type HostClaims map[string]map[string]string

// LoadOptions tune how a catalog is loaded.
type LoadOptions struct {
	// Now is the clock that bounds exception expiries (today +
	// pave.yaml exceptions.maxLifetime); time.Now when nil.
	Now func() time.Time
	// HostClaims are the ingress hosts held before this revision: those of
	// the base of a review, or of the revision the daemon loaded last
	// (Catalog.HostClaims). A host stays with the service that holds it
	// for as long as that service exists and, when it is valid, still
	// claims the host: a newcomer claiming it is refused, the holder is
	// not. Without them, a host claimed by two services is refused on both.
	HostClaims HostClaims
	// Previous, with Changed (the paths that differ between Previous's
	// revision and this one), lets a load keep Previous's parsed services
	// whose folders did not change instead of reading and validating them
	// again: what the daemon does on each commit. Only a commit that
	// changes nothing but services and exceptions keeps any (pave.yaml or
	// a template decides what a service.yaml may say).
	Previous *Catalog
	Changed  []string
}

// reusable returns the services of opts.Previous a load may keep, by file:
// those whose folder no changed path is in, when every changed path is a
// service's or an exception's (or outside the catalog's folders).
func (opts LoadOptions) reusable() map[string]*Service {
	if opts.Previous == nil {
		return nil
	}
	dirty := map[string]bool{}
	for _, p := range opts.Changed {
		switch {
		case strings.HasPrefix(p, ServicesDir+"/"):
			parts := strings.SplitN(p, "/", 4)
			if len(parts) < 4 {
				return nil // a file directly under services/ or a team's folder
			}
			dirty[path.Join(parts[0], parts[1], parts[2])] = true
		case strings.HasPrefix(p, ExceptionsDir+"/"):
			// Exceptions are read again on every load.
		case p == ConfigFile || strings.HasPrefix(p, TemplatesDir+"/") || strings.HasPrefix(p, PoliciesDir+"/"):
			return nil
		case !strings.Contains(p, "/"):
			// A file at the root (a README): nothing a service depends on.
		default:
			return nil
		}
	}
	keep := map[string]*Service{}
	for _, svc := range opts.Previous.Services {
		if !dirty[path.Dir(svc.File)] {
			keep[svc.File] = svc
		}
	}
	return keep
}

// Template is a golden-path chart under templates/<name>/.
type Template struct {
	Name        string
	Version     string
	Description string
	// Dir is the chart folder relative to the catalog root.
	Dir string
	// Libraries are the library charts of the catalog this template
	// depends on (repository: file://../<name>), by folder name, sorted.
	Libraries []string

	// settings is the chart's values.schema.json, when it has one that
	// compiles: which settings the template takes.
	settings *settingsSchema
	// reads are what its templates read of .Values, for a chart with
	// neither a schema nor a mapping.
	reads chartReads
	// mappingError is the first problem of its pave.yaml values mapping
	// with the chart; services using it are refused until it is mended.
	mappingError string
}

// TemplatesUsing lists the templates that are, or depend on, the chart in
// templates/<dir>, sorted: a change under that folder reaches them all.
func (c *Catalog) TemplatesUsing(dir string) []string {
	var out []string
	for name, t := range c.Templates {
		if name == dir || t.UsesLibrary(dir) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// UsesLibrary tells whether the template depends on the catalog's library
// chart templates/<name>.
func (t *Template) UsesLibrary(name string) bool { return slices.Contains(t.Libraries, name) }

// ConfigError means pave.yaml is missing or invalid: nothing in the
// catalog can be trusted, so no service is loaded.
type ConfigError struct {
	Errors ErrorList
}

func (e *ConfigError) Error() string {
	return "invalid catalog configuration:\n" + e.Errors.Error()
}

// Service returns the valid service with the given id ("team/name").
func (c *Catalog) Service(id string) (*Service, bool) {
	i := slices.IndexFunc(c.Services, func(s *Service) bool { return s.ID() == id })
	if i < 0 {
		return nil, false
	}
	return c.Services[i], true
}

// OpenDir opens a catalog folder as a file system that cannot be left:
// paths with "..", and symlinks pointing outside, are refused by the
// operating system's rooted lookups.
func OpenDir(dir string) (fs.FS, io.Closer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("open catalog: %w", err)
	}
	return root.FS(), root, nil
}

// LoadDir loads the catalog in a folder. The catalog keeps the folder open
// for later reads (templates, patches): Close it when done.
func LoadDir(dir string) (*Catalog, error) {
	fsys, closer, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	cat, err := Load(fsys)
	if err != nil {
		closer.Close()
		return nil, err
	}
	cat.closer = closer
	return cat, nil
}

// Close releases the catalog folder opened by LoadDir.
func (c *Catalog) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// Load reads pave.yaml, the templates, every service and every exceptions
// file. It returns an error only when the catalog as a whole cannot be used
// (pave.yaml missing or invalid); problems with single services are
// collected in Catalog.Errors and leave the other services loaded.
func Load(fsys fs.FS) (*Catalog, error) { return LoadWith(fsys, LoadOptions{}) }

// LoadWith is Load with options.
func LoadWith(fsys fs.FS, opts LoadOptions) (*Catalog, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := LoadConfig(fsys)
	if err != nil {
		return nil, err
	}
	c := &Catalog{FS: fsys, Config: cfg}
	c.Templates, c.Libraries, c.Errors = loadTemplates(fsys)
	c.checkMappings()

	ctx := serviceContext{config: cfg, templates: c.Templates}
	files, linked, walkErrs := serviceFiles(fsys)
	c.Errors = append(c.Errors, walkErrs...)
	present := map[string]bool{} // every service with a service.yaml, valid or not
	for file := range linked {
		present[ServiceIDOf(file)] = true
	}
	keep := opts.reusable()
	for _, file := range files {
		present[ServiceIDOf(file)] = true
		if linked[file] {
			continue
		}
		if prev, ok := keep[file]; ok {
			// Unchanged since the previous load: the same bytes against the
			// same pave.yaml and templates. A copy, as loading sets fields.
			s := *prev
			c.Services = append(c.Services, &s)
			continue
		}
		ctx.team, ctx.name, _ = Owner(file)
		s, errs := loadService(fsys, file, ctx)
		if len(errs) > 0 {
			c.Errors = append(c.Errors, errs...)
			continue
		}
		c.Services = append(c.Services, s)
	}
	c.checkIngressHosts(opts.HostClaims, present)
	exceptions := c.loadExceptions(fsys, files, today(opts.Now()))
	c.Warnings = expiredExceptions(c.Exceptions, today(opts.Now()))
	c.Errors.Sort()
	for _, f := range c.Errors.Files() {
		switch {
		case strings.HasPrefix(f, ServicesDir+"/"):
			c.Invalid = append(c.Invalid, f)
		case strings.HasPrefix(f, ExceptionsDir+"/") && slices.Contains(files, ServiceFileOf(f)):
			// Bad exceptions make their service invalid: it is neither
			// applied nor pruned until they are mended.
			c.Invalid = append(c.Invalid, ServiceFileOf(f))
		}
	}
	slices.Sort(c.Invalid)
	c.Invalid = slices.Compact(c.Invalid)
	c.Services = slices.DeleteFunc(c.Services, func(s *Service) bool {
		_, bad := slices.BinarySearch(c.Invalid, s.File)
		return bad
	})
	for _, s := range c.Services {
		s.ExceptionFile = exceptions[s.ID()]
	}
	slices.SortFunc(c.Services, func(a, b *Service) int {
		return cmp.Or(cmp.Compare(a.Metadata.Team, b.Metadata.Team), cmp.Compare(a.Metadata.Name, b.Metadata.Name))
	})
	c.hostClaims = c.claimHosts(opts.HostClaims, present)
	return c, nil
}

// today is the UTC day of t.
func today(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// HostClaims returns which service holds each ingress host after this
// catalog: the hosts of its valid services, and the hosts held before
// (LoadOptions.HostClaims) by services that are invalid in it, which keep
// them until they are fixed or removed. Pass it to the load of the next
// revision. A nil catalog holds nothing.
func (c *Catalog) HostClaims() HostClaims {
	if c == nil {
		return nil
	}
	return c.hostClaims
}

func (c *Catalog) claimHosts(prior HostClaims, present map[string]bool) HostClaims {
	claims := HostClaims{}
	valid := map[string]bool{}
	for _, s := range c.Services {
		valid[s.ID()] = true
	}
	for _, env := range c.Config.EnvironmentNames() {
		m := map[string]string{}
		for host, id := range prior[env] {
			if present[id] && !valid[id] {
				m[host] = id
			}
		}
		for _, s := range c.Services {
			if in := s.ForEnvironment(env).Ingress; in != nil && in.Host != "" {
				m[strings.ToLower(in.Host)] = s.ID()
			}
		}
		if len(m) > 0 {
			claims[env] = m
		}
	}
	return claims
}

// LoadConfig reads and validates pave.yaml.
func LoadConfig(fsys fs.FS) (*Config, error) {
	data, err := readFile(fsys, ConfigFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{Errors: ErrorList{{File: ConfigFile, Message: "not found: a catalog has pave.yaml at its root (is --catalog right?)"}}}
		}
		return nil, &ConfigError{Errors: ErrorList{{File: ConfigFile, Message: err.Error()}}}
	}
	cfg, errs := ParseConfig(ConfigFile, data)
	if len(errs) > 0 {
		return nil, &ConfigError{Errors: errs}
	}
	return cfg, nil
}

// ReadFile reads a regular catalog file of at most MaxFileSize bytes,
// refusing symlinks.
func ReadFile(fsys fs.FS, name string) ([]byte, error) { return readFile(fsys, name) }

func readFile(fsys fs.FS, name string) ([]byte, error) {
	info, err := fs.Lstat(fsys, name)
	if err != nil {
		return nil, err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil, errors.New("symlinks are not allowed in the catalog")
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("file is %d bytes, over the %d-byte limit", info.Size(), MaxFileSize)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// serviceFiles finds services/<team>/<name>/service.yaml, refusing
// misplaced service files. A symlink anywhere in a service's folder (or the
// folder itself being one) makes the service invalid: its file is listed
// in linked, with the error on it naming the link, and nothing of it is
// read. The walk reads only folder listings.
func serviceFiles(fsys fs.FS) (files []string, linked map[string]bool, errs ErrorList) {
	linked = map[string]bool{}
	err := fs.WalkDir(fsys, ServicesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &Error{File: p, Message: err.Error()})
			return nil
		}
		depth := strings.Count(p, "/")
		if d.Type()&fs.ModeSymlink != 0 {
			if depth < 2 {
				errs = append(errs, &Error{File: p, Message: "symlinks are not allowed in the catalog"})
				return nil
			}
			parts := strings.SplitN(p, "/", 4)
			file := path.Join(parts[0], parts[1], parts[2], ServiceFile)
			linked[file] = true
			errs = append(errs, &Error{File: file, Message: fmt.Sprintf("symlinks are not allowed in the catalog: %s is one, so nothing of this service is read", p)})
			return nil
		}
		if d.IsDir() {
			if depth == 1 || depth == 2 {
				if !isDNSLabel(d.Name()) {
					errs = append(errs, &Error{File: p + "/", Message: fmt.Sprintf("folder name %q must be a DNS-1123 label (lowercase letters, digits and '-')", d.Name())})
					return fs.SkipDir
				}
			}
			return nil
		}
		switch name := d.Name(); {
		case name == ServiceFile && depth == 3:
			files = append(files, p)
		case name == ServiceFile:
			errs = append(errs, &Error{File: p, Message: "a service definition belongs at services/<team>/<name>/service.yaml"})
		case depth == 3 && (name == "service.yml" || strings.EqualFold(name, ServiceFile)):
			errs = append(errs, &Error{File: p, Message: "service definitions must be named service.yaml"})
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, &Error{File: ServicesDir, Message: err.Error()})
	}
	return files, linked, errs
}

// loadService reads, decodes and validates one service file.
func loadService(fsys fs.FS, file string, ctx serviceContext) (*Service, ErrorList) {
	data, err := readFile(fsys, file)
	if err != nil {
		return nil, ErrorList{{File: file, Message: err.Error()}}
	}
	dir := path.Dir(file)
	ctx.patchExists = func(rel string) bool {
		info, err := fs.Lstat(fsys, dir+"/"+rel)
		return err == nil && info.Mode().IsRegular()
	}
	return parseService(file, data, ctx)
}

// parseService decodes and validates a service.yaml's bytes.
func parseService(file string, data []byte, ctx serviceContext) (*Service, ErrorList) {
	s := &Service{File: file}
	v, perr := decodeDocument(file, data, s)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	s.positions = v.d.pos
	v.service(s, ctx)
	if len(v.d.errs) > 0 {
		return nil, dedupe(v.d.errs)
	}
	return s, nil
}

// ParseService decodes and validates a service.yaml against a catalog
// configuration and its templates. file is the path relative to the
// catalog root (services/<team>/<name>/service.yaml); patch files are not
// checked for existence.
func ParseService(file string, data []byte, cfg *Config, templates map[string]*Template) (*Service, ErrorList) {
	ctx := serviceContext{config: cfg, templates: templates}
	if ServiceFileOf(file) == file {
		ctx.team, ctx.name, _ = Owner(file)
	}
	return parseService(file, data, ctx)
}

// checkIngressHosts refuses an ingress host claimed by more than one
// service in an environment. The service that held the host before (prior)
// keeps it, as long as it exists and does not give the host up, and only
// the newcomers are refused; with no holder known, every claimant is.
func (c *Catalog) checkIngressHosts(prior HostClaims, present map[string]bool) {
	type claim struct {
		s    *Service
		path string
	}
	parsed := make(map[string]bool, len(c.Services))
	for _, s := range c.Services {
		parsed[s.ID()] = true
	}
	why := "neither held it before, so each is refused"
	if prior == nil {
		why = "with no earlier revision to tell which claimed it first, each is refused"
	}
	for _, env := range c.Config.EnvironmentNames() {
		claims := map[string][]claim{}
		for _, s := range c.Services {
			st := s.ForEnvironment(env)
			if st.Ingress == nil || st.Ingress.Host == "" {
				continue
			}
			host := strings.ToLower(st.Ingress.Host)
			claims[host] = append(claims[host], claim{s, s.FieldPath(env, "ingress.host")})
		}
		for host, cs := range claims {
			holder := prior[env][host]
			kept := present[holder]
			if kept && parsed[holder] {
				// A valid holder keeps the host only while it claims it.
				kept = slices.ContainsFunc(cs, func(a claim) bool { return a.s.ID() == holder })
			}
			for _, a := range cs {
				var msg string
				switch {
				case kept && a.s.ID() == holder:
					continue
				case kept:
					msg = fmt.Sprintf("%s: host %q is already claimed by %s in environment %s", a.path, host, holder, env)
				case len(cs) > 1:
					var others []string
					for _, b := range cs {
						if b.s != a.s {
							others = append(others, b.s.File)
						}
					}
					msg = fmt.Sprintf("%s: host %q is also claimed by %s in environment %s; %s", a.path, host, strings.Join(others, ", "), env, why)
				default:
					continue
				}
				c.Errors = append(c.Errors, &Error{File: a.s.File, Position: a.s.Position(a.path), Message: msg})
			}
		}
	}
	c.Errors = dedupe(c.Errors)
}

type chartFile struct {
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
}

// chartDependency is a dependencies entry of a Chart.yaml, with the
// position of its repository (or of the entry when it has none).
type chartDependency struct {
	Name, Repository, Version string
	Position
	VersionPos Position
}

// LocalRepository is the scheme of a chart dependency resolved from the
// catalog itself: file://../<library> in a template's Chart.yaml.
const LocalRepository = "file://"

// chartDependencies reads the dependencies of a Chart.yaml with their
// positions.
func chartDependencies(data []byte) []chartDependency {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	var out []chartDependency
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "dependencies" || top.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, entry := range top.Content[i+1].Content {
			if entry.Kind != yaml.MappingNode {
				continue
			}
			d := chartDependency{Position: nodePos(entry)}
			for j := 0; j+1 < len(entry.Content); j += 2 {
				k, v := entry.Content[j], entry.Content[j+1]
				switch k.Value {
				case "name":
					d.Name = v.Value
				case "repository":
					d.Repository = v.Value
					d.Position = nodePos(v)
				case "version":
					d.Version = v.Value
					d.VersionPos = nodePos(v)
				}
			}
			out = append(out, d)
		}
	}
	return out
}

// LocalLibrary resolves a file:// repository of the chart in dir to the
// folder name of a chart under templates/, or explains why it cannot.
func LocalLibrary(dir, repository string) (string, error) {
	rel := strings.TrimPrefix(repository, LocalRepository)
	target := path.Clean(path.Join(dir, rel))
	name, ok := strings.CutPrefix(target, TemplatesDir+"/")
	if strings.HasPrefix(rel, "/") || !ok || name == "" || strings.Contains(name, "/") || target == dir {
		return "", fmt.Errorf("%s is outside the catalog's charts: pave resolves file:// only to a library chart of %s/ (file://../<library>)", repository, TemplatesDir)
	}
	return name, nil
}

// loadTemplates lists templates/<name>/Chart.yaml. A broken chart is
// reported and left out, so the services using it fail, not the others.
// Library charts (type: library) are listed apart: they are not templates.
func loadTemplates(fsys fs.FS) (templates, libraries map[string]*Template, errs ErrorList) {
	templates = map[string]*Template{}
	libraries = map[string]*Template{}
	entries, err := fs.ReadDir(fsys, TemplatesDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, &Error{File: TemplatesDir, Message: err.Error()})
		}
		return templates, libraries, errs
	}
	type loaded struct {
		t    *Template
		deps []chartDependency
	}
	var charts []loaded
	present := map[string]bool{} // every folder with a Chart.yaml, valid or not
	for _, e := range entries {
		dir := TemplatesDir + "/" + e.Name()
		if e.Type()&fs.ModeSymlink != 0 {
			errs = append(errs, &Error{File: dir, Message: "symlinks are not allowed in the catalog"})
			continue
		}
		if !e.IsDir() {
			continue
		}
		file := dir + "/Chart.yaml"
		data, err := readFile(fsys, file)
		if err != nil {
			errs = append(errs, &Error{File: file, Message: fmt.Sprintf("template %s: %v", e.Name(), err)})
			continue
		}
		present[e.Name()] = true
		var cf chartFile
		if err := yaml.Unmarshal(data, &cf); err != nil {
			errs = append(errs, yamlSyntaxError(file, data, err))
			continue
		}
		switch {
		case cf.Name != e.Name():
			errs = append(errs, &Error{File: file, Position: Position{Line: 1, Column: 1}, Message: fmt.Sprintf("chart name %q must match its folder %q", cf.Name, e.Name())})
			continue
		case cf.Version == "":
			errs = append(errs, &Error{File: file, Position: Position{Line: 1, Column: 1}, Message: "chart version is required"})
			continue
		}
		t := &Template{Name: cf.Name, Version: cf.Version, Description: cf.Description, Dir: dir}
		if cf.Type == "library" {
			libraries[e.Name()] = t
		}
		charts = append(charts, loaded{t, chartDependencies(data)})
	}
	// Libraries first, so that a template depending on a broken one says so.
	slices.SortStableFunc(charts, func(a, b loaded) int {
		return cmp.Compare(boolRank(libraries[b.t.Name] != nil), boolRank(libraries[a.t.Name] != nil))
	})
	broken := map[string]bool{}
	for _, ch := range charts {
		file := ch.t.Dir + "/Chart.yaml"
		ok := true
		for _, d := range ch.deps {
			if !strings.HasPrefix(d.Repository, LocalRepository) {
				continue // vendored under charts/: checked when rendering
			}
			fail := func(format string, args ...any) {
				errs = append(errs, &Error{File: file, Position: d.Position, Message: fmt.Sprintf("dependency %q: ", d.Name) + fmt.Sprintf(format, args...)})
				ok = false
			}
			name, err := LocalLibrary(ch.t.Dir, d.Repository)
			switch lib, isLib := libraries[name]; {
			case err != nil:
				fail("%v", err)
			case broken[name]:
				fail("the library chart %s/%s has errors", TemplatesDir, name)
			case !present[name]:
				fail("%s/%s has no chart (no %s/%s/Chart.yaml)", TemplatesDir, name, TemplatesDir, name)
			case !isLib:
				fail("%s/%s is not a library chart (its Chart.yaml needs type: library)", TemplatesDir, name)
			case libraries[ch.t.Name] != nil:
				fail("a library chart cannot itself depend on %s (pave resolves one level of file:// libraries)", d.Repository)
			case d.Name != lib.Name:
				fail("the name must be %q, the name of the chart at %s", lib.Name, d.Repository)
			case d.Version != "" && !versionMatches(d.Version, lib.Version):
				d.Position = d.VersionPos
				fail("version %s of %s/%s does not satisfy %q", lib.Version, TemplatesDir, name, d.Version)
			default:
				ch.t.Libraries = append(ch.t.Libraries, name)
			}
		}
		if !ok {
			if libraries[ch.t.Name] != nil {
				broken[ch.t.Name] = true
				delete(libraries, ch.t.Name)
			}
			continue
		}
		slices.Sort(ch.t.Libraries)
		ch.t.Libraries = slices.Compact(ch.t.Libraries)
		if libraries[ch.t.Name] == nil {
			ch.t.settings = loadSettingsSchema(fsys, ch.t.Dir)
			if ch.t.settings == nil {
				ch.t.reads = readChartValues(fsys, ch.t)
			}
			if _, err := fs.Stat(fsys, ch.t.Dir+"/values.schema.json"); ch.t.settings == nil && err == nil {
				// A schema that does not compile fails every render, loudly.
				ch.t.reads.all = true
			}
			templates[ch.t.Name] = ch.t
		}
	}
	return templates, libraries, errs
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// versionMatches tells whether a chart version satisfies a dependency's
// version constraint; one that does not parse matches nothing.
func versionMatches(constraint, version string) bool {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(version)
	return err == nil && c.Check(v)
}
