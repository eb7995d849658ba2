package catalog

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// testCatalog returns the small catalog in testdata/catalog as an
// in-memory file system that tests add services to.
func testCatalog(t testing.TB) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	root := filepath.Join("testdata", "catalog")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const checkoutFile = "services/payments/checkout/service.yaml"

var (
	wantRE = regexp.MustCompile(`^# want (\d+):(\d+) (.*)$`)
	pathRE = regexp.MustCompile(`^# path: (\S+)$`)
)

// TestInvalidServices loads every fixture in testdata/invalid as a service
// of the test catalog. Each fixture says in its leading comments which
// errors it must produce ("# want LINE:COL message-prefix") and, when not
// services/payments/checkout/service.yaml, where it lives ("# path: ...").
// Every wanted error must be reported, and nothing else.
func TestInvalidServices(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) < 25 {
		t.Fatalf("expected at least 25 invalid fixtures, found %d", len(fixtures))
	}
	for _, fixture := range fixtures {
		t.Run(strings.TrimSuffix(filepath.Base(fixture), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			file := checkoutFile
			var wants []Error
			for _, line := range strings.Split(string(data), "\n") {
				if m := pathRE.FindStringSubmatch(line); m != nil {
					file = m[1]
				}
				if m := wantRE.FindStringSubmatch(line); m != nil {
					l, _ := strconv.Atoi(m[1])
					c, _ := strconv.Atoi(m[2])
					wants = append(wants, Error{Position: Position{Line: l, Column: c}, Message: m[3]})
				}
			}
			if len(wants) == 0 {
				t.Fatal("fixture has no '# want' line")
			}
			fsys := testCatalog(t)
			fsys[file] = &fstest.MapFile{Data: data, Mode: 0o644}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := cat.Errors
			for _, w := range wants {
				found := false
				for _, g := range got {
					if g.Line == w.Line && g.Column == w.Column && strings.HasPrefix(g.Message, w.Message) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing error %d:%d %s", w.Line, w.Column, w.Message)
				}
			}
			if len(got) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%v", len(got), len(wants), got)
			}
			for _, g := range got {
				if g.File != file && !strings.HasPrefix(file, g.File) {
					t.Errorf("error names file %q, want %q", g.File, file)
				}
			}
			if _, ok := cat.Service("payments/checkout"); ok {
				t.Error("an invalid service must not be loaded")
			}
		})
	}
}

func TestExampleCatalogIsValid(t *testing.T) {
	cat, err := LoadDir(filepath.Join("..", "catalog-repo-example"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) > 0 {
		t.Fatalf("example catalog has errors:\n%v", cat.Errors)
	}
	teams := map[string]bool{}
	templates := map[string]bool{}
	var overrides, secretEnv, ingress, exceptions int
	for _, s := range cat.Services {
		teams[s.Metadata.Team] = true
		templates[s.TemplateName()] = true
		if len(s.Spec.Environments) > 0 {
			overrides++
		}
		if len(s.Spec.SecretEnv) > 0 {
			secretEnv++
		}
		if s.Spec.Ingress != nil {
			ingress++
		}
		if s.ExceptionFile != nil {
			exceptions++
		}
	}
	if len(cat.Services) < 7 || len(teams) < 3 || len(templates) < 3 {
		t.Errorf("example catalog has %d services, %d teams, %d templates; want at least 7, 3, 3", len(cat.Services), len(teams), len(templates))
	}
	if overrides == 0 || secretEnv == 0 || ingress == 0 || exceptions == 0 {
		t.Errorf("example catalog must show overrides (%d), secretEnv (%d), ingress (%d) and exceptions (%d)", overrides, secretEnv, ingress, exceptions)
	}
}

// TestOneBadServiceLeavesOthersLoaded: errors in one service never keep
// the others from loading, and every error of every file is collected.
func TestOneBadServiceLeavesOthersLoaded(t *testing.T) {
	fsys := testCatalog(t)
	good := "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: %s\n  team: %s\nspec:\n  template: worker\n  image: registry.example.com/%s:1.0.0\n"
	fsys["services/payments/ledger/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, good, "ledger", "payments", "ledger")}
	fsys["services/storefront/web/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, good, "web", "storefront", "web")}
	fsys["services/storefront/search/service.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: search\n  team: storefront\nspec:\n  template: worker\n  port: x\n  replicas: 0\n")}
	fsys["services/payments/refunds/service.yaml"] = &fstest.MapFile{Data: []byte("kind: Service\nmetadata: {name: refunds, team: payments}\nspec: {template: nope, image: registry.example.com/r:1}\n")}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range cat.Services {
		ids = append(ids, s.ID())
	}
	if got := strings.Join(ids, ","); got != "payments/ledger,storefront/web" {
		t.Errorf("valid services = %s", got)
	}
	want := []string{
		"services/payments/refunds/service.yaml:1:1: apiVersion is required (pave.dev/v1alpha1)",
		"services/payments/refunds/service.yaml:3:18: spec.template: unknown template \"nope\"",
		"services/storefront/search/service.yaml:6:1: spec.image is required",
		"services/storefront/search/service.yaml:8:9: spec.port: expected an integer, got a string (\"x\")",
		"services/storefront/search/service.yaml:9:13: spec.replicas: 0 is outside 1-100",
	}
	if len(cat.Errors) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(cat.Errors), len(want), cat.Errors)
	}
	for i, w := range want {
		if !strings.HasPrefix(cat.Errors[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, cat.Errors[i].Error(), w)
		}
	}
	if got := strings.Join(cat.Invalid, ","); got != "services/payments/refunds/service.yaml,services/storefront/search/service.yaml" {
		t.Errorf("invalid = %s", got)
	}
}

func TestDuplicateIngressHostIsAnErrorOnBothServices(t *testing.T) {
	fsys := testCatalog(t)
	svc := "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: %[1]s\n  team: %[2]s\nspec:\n  template: web-service\n  image: registry.example.com/%[1]s:1.0.0\n  ingress:\n    host: %[3]s\n"
	fsys["services/payments/checkout/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, svc, "checkout", "payments", "shop.example.com")}
	fsys["services/storefront/web/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, svc, "web", "storefront", "shop.example.com")}
	fsys["services/storefront/api/service.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, svc, "api", "storefront", "api.example.com")}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`services/payments/checkout/service.yaml:10:11: spec.ingress.host: host "shop.example.com" is also claimed by services/storefront/web/service.yaml in environment prod; with no earlier revision to tell which claimed it first, each is refused`,
		`services/payments/checkout/service.yaml:10:11: spec.ingress.host: host "shop.example.com" is also claimed by services/storefront/web/service.yaml in environment staging; with no earlier revision to tell which claimed it first, each is refused`,
		`services/storefront/web/service.yaml:10:11: spec.ingress.host: host "shop.example.com" is also claimed by services/payments/checkout/service.yaml in environment prod; with no earlier revision to tell which claimed it first, each is refused`,
		`services/storefront/web/service.yaml:10:11: spec.ingress.host: host "shop.example.com" is also claimed by services/payments/checkout/service.yaml in environment staging; with no earlier revision to tell which claimed it first, each is refused`,
	}
	if got := cat.Errors.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if len(cat.Services) != 1 || cat.Services[0].ID() != "storefront/api" {
		t.Errorf("only storefront/api should stay valid, got %v", cat.Services)
	}
}

// TestIngressHostBelongsToItsHolder: given the hosts held before (the
// base of a review, the daemon's last revision), a newcomer claiming a
// held host is refused and the holder is not, whether or not the holder is
// valid in the new revision; a host given up or left by a removed service
// is free again.
func TestIngressHostBelongsToItsHolder(t *testing.T) {
	svc := func(name, team, host string) *fstest.MapFile {
		return &fstest.MapFile{Data: fmt.Appendf(nil, "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: %[1]s\n  team: %[2]s\nspec:\n  template: web-service\n  image: registry.example.com/%[1]s:1.0.0\n  ingress:\n    host: %[3]s\n", name, team, host)}
	}
	const checkout, web, api = "services/payments/checkout/service.yaml", "services/storefront/web/service.yaml", "services/storefront/api/service.yaml"
	load := func(claims HostClaims, files map[string]*fstest.MapFile) *Catalog {
		t.Helper()
		fsys := testCatalog(t)
		maps.Copy(fsys, files)
		cat, err := LoadWith(fsys, LoadOptions{HostClaims: claims})
		if err != nil {
			t.Fatal(err)
		}
		return cat
	}
	base := load(nil, map[string]*fstest.MapFile{checkout: svc("checkout", "payments", "shop.example.com")})
	held := base.HostClaims()
	if want := (HostClaims{"staging": {"shop.example.com": "payments/checkout"}, "prod": {"shop.example.com": "payments/checkout"}}); !reflect.DeepEqual(held, want) {
		t.Fatalf("claims of the base = %v, want %v", held, want)
	}
	newcomer := func(env string) string {
		return web + `:10:11: spec.ingress.host: host "shop.example.com" is already claimed by payments/checkout in environment ` + env
	}
	for _, tc := range []struct {
		name   string
		files  map[string]*fstest.MapFile
		errors []string
		valid  []string
		claims HostClaims
	}{
		{
			name:   "newcomer",
			files:  map[string]*fstest.MapFile{checkout: svc("checkout", "payments", "shop.example.com"), web: svc("web", "storefront", "shop.example.com")},
			errors: []string{newcomer("prod"), newcomer("staging")},
			valid:  []string{"payments/checkout"},
			claims: held,
		},
		{
			name:   "holder invalid",
			files:  map[string]*fstest.MapFile{checkout: {Data: append(svc("checkout", "payments", "shop.example.com").Data, "  replicas: 0\n"...)}, web: svc("web", "storefront", "shop.example.com")},
			errors: []string{checkout + ":11:13: spec.replicas: 0 is outside 1-100", newcomer("prod"), newcomer("staging")},
			claims: held,
		},
		{
			name:   "holder gave the host up",
			files:  map[string]*fstest.MapFile{checkout: svc("checkout", "payments", "pay.example.com"), web: svc("web", "storefront", "shop.example.com")},
			valid:  []string{"payments/checkout", "storefront/web"},
			claims: HostClaims{"staging": {"pay.example.com": "payments/checkout", "shop.example.com": "storefront/web"}, "prod": {"pay.example.com": "payments/checkout", "shop.example.com": "storefront/web"}},
		},
		{
			name:   "holder removed",
			files:  map[string]*fstest.MapFile{web: svc("web", "storefront", "shop.example.com")},
			valid:  []string{"storefront/web"},
			claims: HostClaims{"staging": {"shop.example.com": "storefront/web"}, "prod": {"shop.example.com": "storefront/web"}},
		},
		{
			name:  "two newcomers",
			files: map[string]*fstest.MapFile{checkout: svc("checkout", "payments", "shop.example.com"), web: svc("web", "storefront", "new.example.com"), api: svc("api", "storefront", "new.example.com")},
			errors: []string{
				api + `:10:11: spec.ingress.host: host "new.example.com" is also claimed by services/storefront/web/service.yaml in environment prod; neither held it before, so each is refused`,
				api + `:10:11: spec.ingress.host: host "new.example.com" is also claimed by services/storefront/web/service.yaml in environment staging; neither held it before, so each is refused`,
				web + `:10:11: spec.ingress.host: host "new.example.com" is also claimed by services/storefront/api/service.yaml in environment prod; neither held it before, so each is refused`,
				web + `:10:11: spec.ingress.host: host "new.example.com" is also claimed by services/storefront/api/service.yaml in environment staging; neither held it before, so each is refused`,
			},
			valid:  []string{"payments/checkout"},
			claims: held,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat := load(held, tc.files)
			var errs, ids []string
			for _, e := range cat.Errors {
				errs = append(errs, e.Error())
			}
			for _, s := range cat.Services {
				ids = append(ids, s.ID())
			}
			if !slices.Equal(errs, tc.errors) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(tc.errors, "\n"))
			}
			if !slices.Equal(ids, tc.valid) {
				t.Errorf("valid services = %q, want %q", ids, tc.valid)
			}
			if got := cat.HostClaims(); !reflect.DeepEqual(got, tc.claims) {
				t.Errorf("claims after = %v, want %v", got, tc.claims)
			}
		})
	}
}

func TestFileLevelErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not UTF-8", []byte("apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: caf\xe9\n"), checkoutFile + ":4:12: file is not valid UTF-8 (byte 0xe9)"},
		{"over 1 MiB", append([]byte("apiVersion: pave.dev/v1alpha1\n# "), bytes.Repeat([]byte("x"), MaxFileSize)...), checkoutFile + ": file is 1048608 bytes, over the 1048576-byte limit"},
		{"NUL byte", []byte("kind: Service\x00\n"), checkoutFile + ":1:14: file contains a NUL byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCatalog(t)
			fsys[checkoutFile] = &fstest.MapFile{Data: tt.data}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if got := cat.Errors.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMisplacedServiceFiles(t *testing.T) {
	fsys := testCatalog(t)
	fsys["services/payments/service.yaml"] = &fstest.MapFile{Data: []byte("kind: Service\n")}
	fsys["services/payments/checkout/service.yml"] = &fstest.MapFile{Data: []byte("kind: Service\n")}
	fsys["services/payments/checkout/README.md"] = &fstest.MapFile{Data: []byte("# checkout\n")}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := "services/payments/checkout/service.yml: service definitions must be named service.yaml\n" +
		"services/payments/service.yaml: a service definition belongs at services/<team>/<name>/service.yaml"
	if got := cat.Errors.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestSymlinksAreRefused uses a real folder: a symlinked service file, a
// symlinked service folder pointing outside the catalog, and a patches
// folder linked to another service's folder inside the catalog each make
// their service invalid; the others load.
func TestSymlinksAreRefused(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for rel, f := range testCatalog(t) {
		write(rel, string(f.Data))
	}
	svc := "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: %s\n  team: payments\nspec:\n  template: worker\n  image: registry.example.com/x:1.0.0\n"
	if err := os.WriteFile(filepath.Join(outside, "service.yaml"), fmt.Appendf(nil, svc, "stolen"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("services/payments/real/service.yaml", fmt.Sprintf(svc, "real"))
	if err := os.Symlink(outside, filepath.Join(dir, "services/payments/stolen")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "services/payments/linked"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "services/payments/real/service.yaml"), filepath.Join(dir, "services/payments/linked/service.yaml")); err != nil {
		t.Fatal(err)
	}
	write("services/payments/inside/service.yaml", fmt.Sprintf(svc, "inside"))
	if err := os.Symlink("../real", filepath.Join(dir, "services/payments/inside/patches")); err != nil {
		t.Fatal(err)
	}
	cat, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "services/payments/inside/service.yaml: symlinks are not allowed in the catalog: services/payments/inside/patches is one, so nothing of this service is read\n" +
		"services/payments/linked/service.yaml: symlinks are not allowed in the catalog: services/payments/linked/service.yaml is one, so nothing of this service is read\n" +
		"services/payments/stolen/service.yaml: symlinks are not allowed in the catalog: services/payments/stolen is one, so nothing of this service is read"
	if got := cat.Errors.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if len(cat.Services) != 1 || cat.Services[0].ID() != "payments/real" {
		t.Errorf("services = %v", cat.Services)
	}
	if want := []string{"services/payments/inside/service.yaml", "services/payments/linked/service.yaml", "services/payments/stolen/service.yaml"}; !slices.Equal(cat.Invalid, want) {
		t.Errorf("invalid = %q, want %q", cat.Invalid, want)
	}

	// pave.yaml itself as a symlink out of the catalog.
	if err := os.Rename(filepath.Join(dir, "pave.yaml"), filepath.Join(outside, "pave.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "pave.yaml"), filepath.Join(dir, "pave.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "pave.yaml: symlinks are not allowed") {
		t.Errorf("symlinked pave.yaml: err = %v", err)
	}
}

// readRecorder is a catalog in memory that records which files are read.
type readRecorder struct {
	fstest.MapFS
	read []string
}

func (r *readRecorder) record(name string) { r.read = append(r.read, name) }

func (r *readRecorder) Open(name string) (fs.File, error) {
	r.record(name)
	return r.MapFS.Open(name)
}

func (r *readRecorder) ReadFile(name string) ([]byte, error) {
	r.record(name)
	return r.MapFS.ReadFile(name)
}

func (r *readRecorder) Stat(name string) (fs.FileInfo, error) {
	r.record(name)
	return r.MapFS.Stat(name)
}

func (r *readRecorder) Lstat(name string) (fs.FileInfo, error) {
	r.record(name)
	return r.MapFS.Lstat(name)
}

// TestSymlinkInServiceFolder: a symlink at any depth of a service's folder,
// a file or a folder, pointing inside the catalog or not, makes that
// service invalid with an error naming the link, before its service.yaml
// or patches are read; the other services load.
func TestSymlinkInServiceFolder(t *testing.T) {
	svc := func(team, name string) *fstest.MapFile {
		return &fstest.MapFile{Data: fmt.Appendf(nil, `apiVersion: pave.dev/v1alpha1
kind: Service
metadata: {name: %s, team: %s}
spec:
  template: worker
  image: registry.example.com/x:1.0.0
  patches: [{path: patches/p.yaml}]
`, name, team)}
	}
	patch := &fstest.MapFile{Data: []byte("kind: Deployment\nmetadata: {name: x}\n")}
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
	}
	fsys := &readRecorder{MapFS: testCatalog(t)}
	for file, f := range map[string]*fstest.MapFile{
		"services/storefront/web/service.yaml":            svc("storefront", "web"),
		"services/storefront/web/patches/p.yaml":          patch,
		"services/payments/refunds/service.yaml":          svc("payments", "refunds"),
		"services/payments/refunds/patches/p.yaml":        patch,
		"services/payments/checkout/service.yaml":         svc("payments", "checkout"),
		"services/payments/checkout/patches/p.yaml":       patch,
		"services/payments/checkout/patches/shared":       link("../../../storefront/web/patches"),
		"services/payments/deep/service.yaml":             svc("payments", "deep"),
		"services/payments/deep/patches/p.yaml":           patch,
		"services/payments/deep/patches/a/b/c/token.yaml": link("/var/run/secrets/token"),
		"services/payments/whole/service.yaml":            svc("payments", "whole"),
		"services/payments/whole/patches":                 link("../refunds/patches"),
	} {
		fsys.MapFS[file] = f
	}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"services/payments/checkout/service.yaml: symlinks are not allowed in the catalog: services/payments/checkout/patches/shared is one, so nothing of this service is read",
		"services/payments/deep/service.yaml: symlinks are not allowed in the catalog: services/payments/deep/patches/a/b/c/token.yaml is one, so nothing of this service is read",
		"services/payments/whole/service.yaml: symlinks are not allowed in the catalog: services/payments/whole/patches is one, so nothing of this service is read",
	}
	if got := strings.Split(cat.Errors.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var ids []string
	for _, s := range cat.Services {
		ids = append(ids, s.ID())
	}
	if want := []string{"payments/refunds", "storefront/web"}; !slices.Equal(ids, want) {
		t.Errorf("services = %q, want %q", ids, want)
	}
	for _, name := range fsys.read {
		for _, bad := range []string{"checkout", "deep", "whole"} {
			if strings.HasPrefix(name, "services/payments/"+bad+"/") {
				t.Errorf("%s was read", name)
			}
		}
	}
}

// TestDefaultTemplate: a service without spec.template gets pave.yaml's
// defaults.template; it used to be refused as if pave.yaml had none.
func TestDefaultTemplate(t *testing.T) {
	service := `apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  image: registry.example.com/payments/checkout:1.0.0
`
	tests := []struct {
		name     string
		defaults string
		template string // of the loaded service
		err      string // "LINE:COL message"
	}{
		{"default applies", "defaults:\n  template: worker\n", "worker", ""},
		{"no default", "", "", "6:1 spec.template is required (templates: cron-job, web-service, worker)"},
		{"default is not a template", "defaults:\n  template: lambda\n", "", `6:1 spec.template is not set and pave.yaml defaults.template "lambda" is not a template (templates: cron-job, web-service, worker)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCatalog(t)
			fsys["pave.yaml"].Data = append(slices.Clone(fsys["pave.yaml"].Data), tt.defaults...)
			fsys[checkoutFile] = &fstest.MapFile{Data: []byte(service), Mode: 0o644}
			cat, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			var errs []string
			for _, e := range cat.Errors {
				errs = append(errs, fmt.Sprintf("%d:%d %s", e.Line, e.Column, e.Message))
			}
			s, ok := cat.Service("payments/checkout")
			if tt.err == "" {
				if !ok || s.Spec.Template != tt.template || s.TemplateName() != tt.template || len(errs) > 0 {
					t.Fatalf("service loaded: %v, errors %v", ok, errs)
				}
				return
			}
			if ok || len(errs) != 1 || errs[0] != tt.err {
				t.Errorf("loaded %v, errors:\n%v\nwant:\n%s", ok, errs, tt.err)
			}
		})
	}
}
