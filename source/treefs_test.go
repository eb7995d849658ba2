package source

import (
	"errors"
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
		"templates/t/Chart.yaml": "name: t\n",
	})
	fsys := rev.FS
	if err := fstest.TestFS(fsys, "pave.yaml", "empty.txt", "dir/a.txt", "dir/sub/b.txt", "templates/t/Chart.yaml"); err != nil {
		t.Fatal(err)
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

// TestTreeFSDoesNotFollowSymlinks: a committed symlink is described (Lstat,
// ReadLink, ReadDir) but never followed, wherever it points: reading it, or
// a path through it, fails naming the link.
func TestTreeFSDoesNotFollowSymlinks(t *testing.T) {
	rev := gitRevision(t, map[string]string{
		"pave.yaml":     "kind: Catalog\n",
		"dir/a.txt":     "a\n",
		"dir/sub/b.txt": "bee\n",
		"link":          "->dir/a.txt",
		"dir/uplink":    "->../pave.yaml",
		"dirlink":       "->dir/sub",
		"dir/deeplink":  "->sub",
		"passwd":        "->/etc/passwd",
		"up":            "->../../secret",
		"loop":          "->loop",
	})
	fsys := rev.FS
	links := map[string]string{
		"link": "dir/a.txt", "dir/uplink": "../pave.yaml", "dirlink": "dir/sub", "dir/deeplink": "sub",
		"passwd": "/etc/passwd", "up": "../../secret", "loop": "loop",
	}
	for name, target := range links {
		info, err := fs.Lstat(fsys, name)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(%s) = %v, %v; want a symlink", name, info, err)
		}
		if got, err := fs.ReadLink(fsys, name); err != nil || got != target {
			t.Errorf("ReadLink(%s) = %q, %v; want %q", name, got, err, target)
		}
	}
	for name, link := range map[string]string{
		"link": "link", "dir/uplink": "dir/uplink", "passwd": "passwd", "up": "up", "loop": "loop",
		"dirlink": "dirlink", "dirlink/b.txt": "dirlink", "dir/deeplink/b.txt": "dir/deeplink", "loop/x": "loop",
	} {
		checks := map[string]func() error{
			"Open":     func() error { f, err := fsys.Open(name); closeIf(f); return err },
			"ReadFile": func() error { _, err := fs.ReadFile(fsys, name); return err },
			"Stat":     func() error { _, err := fs.Stat(fsys, name); return err },
			"ReadDir":  func() error { _, err := fs.ReadDir(fsys, name); return err },
		}
		for op, check := range checks {
			err := check()
			var se *SymlinkError
			if !errors.As(err, &se) || se.Link != link {
				t.Errorf("%s(%s) = %v; want an error naming the symlink %s", op, name, err, link)
			}
		}
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			listed = append(listed, e.Name())
		}
	}
	if want := []string{"dirlink", "link", "loop", "passwd", "up"}; !slices.Equal(listed, want) {
		t.Errorf("symlinks listed by ReadDir: %q, want %q", listed, want)
	}
}

func closeIf(f fs.File) {
	if f != nil {
		f.Close()
	}
}

// The example catalog, committed to git, loads from the tree exactly as it
// does from disk; a committed symlink is refused by the loader.
func TestGitCatalogLoad(t *testing.T) {
	example := filepath.Join("..", "catalog-repo-example")
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

	// A folder of another service linked in as patches/: the service is
	// invalid, the error names the link, the others load.
	victim := cat.Services[len(cat.Services)-1]
	work.commit("restore", map[string]string{
		"services/payments/checkout/service.yaml": readString(t, rev.FS, "services/payments/checkout/service.yaml"),
		"services/payments/checkout/real.yaml":    "",
	})
	work.commit("linked folder", map[string]string{victim.Dir() + "/patches/borrowed": "->../../../payments/checkout"})
	work.push("HEAD")
	cat3, err := catalog.Load(fetch(t, g).FS)
	if err != nil {
		t.Fatal(err)
	}
	want := victim.File + ": symlinks are not allowed in the catalog: " + victim.Dir() + "/patches/borrowed is one, so nothing of this service is read"
	if got := cat3.Errors.Error(); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := cat3.Service(victim.ID()); ok || len(cat3.Services) != len(cat.Services)-1 {
		t.Errorf("%d services with %s linking a folder in, want %d without it", len(cat3.Services), victim.ID(), len(cat.Services)-1)
	}
}
