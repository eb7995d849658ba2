package source

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pave-dev/pave/catalog"
)

// gitRevision commits files to a new repository and fetches it over file://.
func gitRevision(t *testing.T, files map[string]string) *Revision {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "r.git")
	work := newWorkRepo(t, bare)
	work.commit("fixture", files)
	work.push("HEAD")
	g, err := NewGit(GitOptions{URL: "file://" + bare, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return fetch(t, g)
}

func TestTreeFS(t *testing.T) {
	rev := gitRevision(t, map[string]string{
		"pave.yaml":              "kind: Catalog\n",
		"empty.txt":              "\n",
		"dir/a.txt":              "a\n",
		"dir/sub/b.txt":          "bee\n",
		"dir/sub/c.txt":          "sea\n",
		"link":                   "->dir/a.txt",
		"dir/uplink":             "->../pave.yaml",
		"dirlink":                "->dir/sub",
		"templates/t/Chart.yaml": "name: t\n",
	})
	fsys := rev.FS
	if err := fstest.TestFS(fsys, "pave.yaml", "dir/a.txt", "dir/sub/b.txt", "link", "dir/uplink", "dirlink", "templates/t/Chart.yaml"); err != nil {
		t.Fatal(err)
	}

	info, err := fs.Lstat(fsys, "link")
	if err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("Lstat(link) = %v, %v; want a symlink", info, err)
	}
	if target, err := fs.ReadLink(fsys, "link"); err != nil || target != "dir/a.txt" {
		t.Errorf("ReadLink(link) = %q, %v", target, err)
	}
	if got := readString(t, fsys, "link"); got != "a\n" {
		t.Errorf("ReadFile(link) = %q: Open follows links inside the tree", got)
	}
	if got := readString(t, fsys, "dirlink/b.txt"); got != "bee\n" {
		t.Errorf("ReadFile(dirlink/b.txt) = %q", got)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			links = append(links, e.Name())
		}
	}
	if !slices.Equal(links, []string{"dirlink", "link"}) {
		t.Errorf("symlinks listed by ReadDir: %q", links)
	}
	if _, err := fs.ReadLink(fsys, "pave.yaml"); err == nil {
		t.Error("ReadLink of a regular file succeeded")
	}
	if info, err := fs.Stat(fsys, "dir/sub/b.txt"); err != nil || info.Size() != 4 || !info.ModTime().Equal(rev.Time) || info.Mode() != 0o444 {
		t.Errorf("Stat(dir/sub/b.txt) = %v, %v", info, err)
	}
	for _, bad := range []string{"/pave.yaml", "../x", "dir/../pave.yaml", "nope", "pave.yaml/x"} {
		if _, err := fsys.Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestTreeFSSymlinkOutside(t *testing.T) {
	rev := gitRevision(t, map[string]string{
		"pave.yaml": "kind: Catalog\n",
		"passwd":    "->/etc/passwd",
		"up":        "->../../secret",
		"loop":      "->loop",
	})
	for _, name := range []string{"passwd", "up", "loop"} {
		if _, err := fs.ReadFile(rev.FS, name); err == nil {
			t.Errorf("ReadFile(%s) succeeded", name)
		}
		if info, err := fs.Lstat(rev.FS, name); err != nil || info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(%s) = %v, %v; want a symlink", name, info, err)
		}
	}
}

// The example catalog, committed to git, loads from the tree exactly as it
// does from disk; a committed symlink is refused by the loader.
func TestGitCatalogLoad(t *testing.T) {
	example := filepath.Join("..", "..", "catalog-repo-example")
	onDisk, err := catalog.LoadDir(example)
	if err != nil {
		t.Fatal(err)
	}
	defer onDisk.Close()

	bare := filepath.Join(t.TempDir(), "catalog.git")
	work := newWorkRepo(t, bare)
	copyDir(t, example, work.dir)
	work.commit("example catalog", nil)
	work.push("HEAD")
	g, err := NewGit(GitOptions{URL: "file://" + bare, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rev := fetch(t, g)
	cat, err := catalog.Load(rev.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Errors) != 0 {
		t.Fatalf("errors loading from git:\n%v", cat.Errors)
	}
	if len(cat.Services) != 8 || len(cat.Services) != len(onDisk.Services) {
		t.Errorf("loaded %d services from git, %d from disk; want 8", len(cat.Services), len(onDisk.Services))
	}
	for i, s := range cat.Services {
		if i < len(onDisk.Services) && s.ID() != onDisk.Services[i].ID() {
			t.Errorf("service %d: %s from git, %s from disk", i, s.ID(), onDisk.Services[i].ID())
		}
	}

	work.commit("symlink", map[string]string{
		"services/payments/checkout/service.yaml": "",
		"services/payments/checkout/real.yaml":    readString(t, rev.FS, "services/payments/checkout/service.yaml"),
	})
	work.commit("symlink", map[string]string{"services/payments/checkout/service.yaml": "->real.yaml"})
	work.push("HEAD")
	rev2 := fetch(t, g)
	cat2, err := catalog.Load(rev2.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat2.Service("payments/checkout"); ok || !strings.Contains(cat2.Errors.Error(), "symlinks are not allowed") {
		t.Errorf("a symlinked service.yaml was not refused; errors:\n%v", cat2.Errors)
	}
	if len(cat2.Services) != len(cat.Services)-1 {
		t.Errorf("%d services after the symlink, want %d: one bad service affects only itself", len(cat2.Services), len(cat.Services)-1)
	}
}
