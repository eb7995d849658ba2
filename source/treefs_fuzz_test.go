package source

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// modelEntry is a file, folder or symlink of a tree written for a test.
type modelEntry struct {
	dir    bool
	link   bool
	data   string // a file's content, or a symlink's target
	childs []string
}

// writeTree stores files (path → content; "->target" makes a symlink) as
// git objects in st, without git, and returns the root tree and the model
// of every entry, folders included.
func writeTree(t testing.TB, st *filesystem.Storage, files map[string]string) (plumbing.Hash, map[string]*modelEntry) {
	t.Helper()
	model := map[string]*modelEntry{".": {dir: true}}
	for name, content := range files {
		e := &modelEntry{data: content}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			e.link, e.data = true, target
		}
		model[name] = e
		for child, dir := name, path.Dir(name); ; child, dir = dir, path.Dir(dir) {
			parent, ok := model[dir]
			if !ok {
				parent = &modelEntry{dir: true}
				model[dir] = parent
			}
			if !slices.Contains(parent.childs, path.Base(child)) {
				parent.childs = append(parent.childs, path.Base(child))
			}
			if dir == "." || ok {
				break
			}
		}
	}
	var put func(dir string) plumbing.Hash
	put = func(dir string) plumbing.Hash {
		var entries []object.TreeEntry
		for _, name := range model[dir].childs {
			p := path.Join(dir, name)
			e := model[p]
			switch {
			case e.dir:
				entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: put(p)})
			case e.link:
				entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Symlink, Hash: putObject(t, st, plumbing.BlobObject, []byte(e.data))})
			default:
				entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: putObject(t, st, plumbing.BlobObject, []byte(e.data))})
			}
		}
		// Git orders a tree's entries by name, a folder's as if it ended in "/".
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
		obj := st.NewEncodedObject()
		if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
			t.Fatal(err)
		}
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return put("."), model
}

func putObject(t testing.TB, st *filesystem.Storage, typ plumbing.ObjectType, data []byte) plumbing.Hash {
	obj := st.NewEncodedObject()
	obj.SetType(typ)
	w, err := obj.Writer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	w.Close()
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// FuzzTreeFSSymlinks commits symlinks with arbitrary targets into a tree
// and reads an arbitrary path from it. The tree never follows a link and
// never serves anything but the entry at exactly that path: a path that
// is, or goes through, a symlink is refused naming the link, Lstat and
// ReadLink describe the link as committed, and every file read has the
// content committed at its path.
func FuzzTreeFSSymlinks(f *testing.F) {
	for _, seed := range [][3]string{
		{"dir/a.txt", "../pave.yaml", "l1"},
		{"dir", "sub", "l1/a.txt"},
		{"/etc/passwd", "../../..", "dir/l2/b.txt"},
		{"..", ".", "dir/l2"},
		{"l1", "l2", "services/payments/checkout/patches/p.yaml"},
		{"../../../../pave.yaml", "/", "services/payments/checkout/patches"},
		{"dir/sub/b.txt", "b.txt", "dir/sub/b.txt"},
		{"", "\x00", "nope/x"},
		{"dir/a.txt", "dir/a.txt", "../x"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	repo := f.TempDir()
	st := openStorage(repo)
	f.Fuzz(func(t *testing.T, target1, target2, name string) {
		root, model := writeTree(t, st, map[string]string{
			"pave.yaml":     "kind: Catalog\n",
			"dir/a.txt":     "a\n",
			"dir/sub/b.txt": "bee\n",
			"l1":            "->" + target1,
			"dir/l2":        "->" + target2,
			"services/payments/checkout/service.yaml":   "kind: Service\n",
			"services/payments/checkout/patches":        "->" + target1,
			"services/storefront/web/patches/p.yaml":    "kind: Deployment\n",
			"services/storefront/web/patches/link.yaml": "->" + target2,
		})
		fsys, err := newTreeFS(repo, root, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		// What the path is, walking the model without following links.
		var entry *modelEntry
		link := ""
		if fs.ValidPath(name) {
			entry, link = lookupModel(model, name)
		}
		checkTreeRead(t, fsys, name, entry, link)
	})
}

// lookupModel finds name in the model without following links: the entry
// at name, or the first symlink on the way to it.
func lookupModel(model map[string]*modelEntry, name string) (entry *modelEntry, link string) {
	if name == "." {
		return model["."], ""
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		e, ok := model[p]
		if !ok {
			return nil, ""
		}
		if i == len(parts)-1 {
			return e, ""
		}
		if e.link {
			return nil, p
		}
		if !e.dir {
			return nil, ""
		}
	}
	return nil, ""
}

func checkTreeRead(t *testing.T, fsys *treeFS, name string, entry *modelEntry, through string) {
	t.Helper()
	isLinkErr := func(err error, link string) bool {
		var se *SymlinkError
		return errors.As(err, &se) && se.Link == link
	}
	data, readErr := fs.ReadFile(fsys, name)
	f, openErr := fsys.Open(name)
	if f != nil {
		f.Close()
	}
	_, statErr := fsys.Stat(name)
	list, dirErr := fsys.ReadDir(name)
	linfo, lstatErr := fsys.Lstat(name)
	target, linkErr := fsys.ReadLink(name)

	switch {
	case through != "":
		for op, err := range map[string]error{"ReadFile": readErr, "Open": openErr, "Stat": statErr, "ReadDir": dirErr, "Lstat": lstatErr, "ReadLink": linkErr} {
			if !isLinkErr(err, through) {
				t.Fatalf("%s(%q) through the symlink %s: %v, want it refused naming the link", op, name, through, err)
			}
		}
	case entry == nil:
		for op, err := range map[string]error{"ReadFile": readErr, "Open": openErr, "Stat": statErr, "ReadDir": dirErr, "Lstat": lstatErr, "ReadLink": linkErr} {
			if err == nil {
				t.Fatalf("%s(%q) of no entry succeeded", op, name)
			}
		}
	case entry.link:
		for op, err := range map[string]error{"ReadFile": readErr, "Open": openErr, "Stat": statErr, "ReadDir": dirErr} {
			if !isLinkErr(err, name) {
				t.Fatalf("%s(%q) of a symlink: %v, want it refused naming the link", op, name, err)
			}
		}
		if lstatErr != nil || linfo.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("Lstat(%q) = %v, %v; want a symlink", name, linfo, lstatErr)
		}
		if linkErr != nil || target != entry.data {
			t.Fatalf("ReadLink(%q) = %q, %v; want %q", name, target, linkErr, entry.data)
		}
	case entry.dir:
		var names []string
		for _, e := range list {
			names = append(names, e.Name())
		}
		want := slices.Sorted(slices.Values(entry.childs))
		if dirErr != nil || !slices.Equal(names, want) {
			t.Fatalf("ReadDir(%q) = %q, %v; want %q", name, names, dirErr, want)
		}
		if openErr != nil || statErr != nil || lstatErr != nil || readErr == nil || linkErr == nil {
			t.Fatalf("folder %q: open %v, stat %v, lstat %v, readfile %v, readlink %v", name, openErr, statErr, lstatErr, readErr, linkErr)
		}
	default:
		if readErr != nil || string(data) != entry.data {
			t.Fatalf("ReadFile(%q) = %q, %v; want %q", name, data, readErr, entry.data)
		}
		if openErr != nil || statErr != nil || lstatErr != nil || dirErr == nil || linkErr == nil {
			t.Fatalf("file %q: open %v, stat %v, lstat %v, readdir %v, readlink %v", name, openErr, statErr, lstatErr, dirErr, linkErr)
		}
	}
}
