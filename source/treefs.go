package source

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// gitRev locates a git revision's objects, for ChangedPaths.
type gitRev struct {
	repoDir string
	commit  plumbing.Hash
	tree    plumbing.Hash
}

// treeFS is a read-only fs.FS over one git tree, read from the objects of
// the bare clone: no checkout, no work tree. The directory structure is
// indexed when it is created; blobs are read on Open. It has its own
// storage handle (go-git storage is not safe for concurrent use), guarded
// by mu, so it can be read while the source fetches the next revision.
type treeFS struct {
	root    *treeEntry
	modTime time.Time

	mu    sync.Mutex
	store *filesystem.Storage
}

type treeEntry struct {
	name     string
	mode     fs.FileMode
	hash     plumbing.Hash
	size     int64 // -1 until read (blobs)
	children []*treeEntry
}

var (
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
	_ fs.ReadLinkFS = (*treeFS)(nil)
)

func openStorage(repoDir string) *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(repoDir), cache.NewObjectLRU(8*cache.MiByte))
}

func newTreeFS(repoDir string, tree plumbing.Hash, modTime time.Time) (*treeFS, error) {
	f := &treeFS{modTime: modTime, store: openStorage(repoDir)}
	f.root = &treeEntry{name: ".", mode: fs.ModeDir | 0o555, hash: tree}
	if err := f.index(f.root); err != nil {
		return nil, err
	}
	return f, nil
}

// index reads the tree objects under dir.
func (f *treeFS) index(dir *treeEntry) error {
	t, err := object.GetTree(f.store, dir.hash)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		c := &treeEntry{name: e.Name, hash: e.Hash, size: -1}
		switch e.Mode {
		case filemode.Dir:
			c.mode = fs.ModeDir | 0o555
			if err := f.index(c); err != nil {
				return err
			}
		case filemode.Symlink:
			c.mode = fs.ModeSymlink | 0o777
		case filemode.Executable:
			c.mode = 0o555
		case filemode.Submodule:
			c.mode, c.size = fs.ModeIrregular|0o444, 0
		default:
			c.mode = 0o444
		}
		dir.children = append(dir.children, c)
	}
	slices.SortFunc(dir.children, func(a, b *treeEntry) int { return strings.Compare(a.name, b.name) })
	return nil
}

// blob reads a blob's content.
func (f *treeFS) blob(e *treeEntry) ([]byte, error) {
	if e.mode&fs.ModeIrregular != 0 {
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := object.GetBlob(f.store, e.hash)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	e.size = int64(len(data))
	return data, nil
}

// sizeOf returns a blob's size without reading it.
func (f *treeFS) sizeOf(e *treeEntry) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.size >= 0 || e.mode.IsDir() {
		return max(e.size, 0), nil
	}
	obj, err := f.store.EncodedObject(plumbing.BlobObject, e.hash)
	if err != nil {
		return 0, err
	}
	e.size = obj.Size()
	return e.size, nil
}

func (f *treeFS) info(e *treeEntry) (*entryInfo, error) {
	size, err := f.sizeOf(e)
	if err != nil {
		return nil, err
	}
	return &entryInfo{name: e.name, mode: e.mode, size: size, modTime: f.modTime}, nil
}

// lookup finds name. It never follows a symlink: a path through one fails,
// and so does the link itself unless follow is false (Lstat, ReadLink),
// which describes the link rather than what it points to.
func (f *treeFS) lookup(op, name string, follow bool) (*treeEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return f.root, nil
	}
	dir := f.root
	rest := name
	for {
		elem, more, _ := strings.Cut(rest, "/")
		child := dir.child(elem)
		if child == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		last := more == ""
		if child.mode&fs.ModeSymlink != 0 && (!last || follow) {
			link := name[:len(name)-len(rest)] + elem
			return nil, &fs.PathError{Op: op, Path: name, Err: &SymlinkError{Link: link}}
		}
		if last {
			return child, nil
		}
		if !child.mode.IsDir() {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		dir, rest = child, more
	}
}

// SymlinkError is returned for a path that is, or goes through, a symlink
// in a git tree: pave reads a catalog's files as committed and never
// follows a link, whether it points inside the tree or not.
type SymlinkError struct {
	// Link is the symlink's path in the tree.
	Link string
}

func (e *SymlinkError) Error() string {
	return e.Link + " is a symlink; pave does not follow symlinks"
}

func (e *treeEntry) child(name string) *treeEntry {
	i, ok := slices.BinarySearchFunc(e.children, name, func(c *treeEntry, n string) int { return strings.Compare(c.name, n) })
	if !ok {
		return nil
	}
	return e.children[i]
}

// Open opens a file or directory; a symlink is not followed but refused.
func (f *treeFS) Open(name string) (fs.File, error) {
	e, err := f.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	info, err := f.info(e)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if e.mode.IsDir() {
		return &treeDir{fsys: f, entry: e, info: info, path: name}, nil
	}
	data, err := f.blob(e)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{Reader: bytes.NewReader(data), info: info}, nil
}

// ReadFile reads a whole file; a symlink is refused.
func (f *treeFS) ReadFile(name string) ([]byte, error) {
	e, err := f.lookup("readfile", name, true)
	if err != nil {
		return nil, err
	}
	if e.mode.IsDir() {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errors.New("is a directory")}
	}
	data, err := f.blob(e)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir lists a directory, sorted by name; symlinks are listed as such.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := f.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !e.mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return f.dirEntries(e.children), nil
}

func (f *treeFS) dirEntries(children []*treeEntry) []fs.DirEntry {
	out := make([]fs.DirEntry, len(children))
	for i, c := range children {
		out[i] = dirEntry{fsys: f, e: c}
	}
	return out
}

// Stat describes a file; a symlink is refused (Lstat describes it).
func (f *treeFS) Stat(name string) (fs.FileInfo, error) {
	e, err := f.lookup("stat", name, true)
	if err != nil {
		return nil, err
	}
	info, err := f.info(e)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return info, nil
}

// Lstat describes a file without following a final symlink.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) {
	e, err := f.lookup("lstat", name, false)
	if err != nil {
		return nil, err
	}
	info, err := f.info(e)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return info, nil
}

// ReadLink returns a symlink's target as committed.
func (f *treeFS) ReadLink(name string) (string, error) {
	e, err := f.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := f.blob(e)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

type entryInfo struct {
	name    string
	mode    fs.FileMode
	size    int64
	modTime time.Time
}

func (i *entryInfo) Name() string       { return i.name }
func (i *entryInfo) Size() int64        { return i.size }
func (i *entryInfo) Mode() fs.FileMode  { return i.mode }
func (i *entryInfo) ModTime() time.Time { return i.modTime }
func (i *entryInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *entryInfo) Sys() any           { return nil }

type dirEntry struct {
	fsys *treeFS
	e    *treeEntry
}

func (d dirEntry) Name() string               { return d.e.name }
func (d dirEntry) IsDir() bool                { return d.e.mode.IsDir() }
func (d dirEntry) Type() fs.FileMode          { return d.e.mode.Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return d.fsys.info(d.e) }
func (d dirEntry) String() string             { return fs.FormatDirEntry(d) }

type treeFile struct {
	*bytes.Reader
	info *entryInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Close() error               { return nil }

type treeDir struct {
	fsys   *treeFS
	entry  *treeEntry
	info   *entryInfo
	path   string
	offset int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errors.New("is a directory")}
}

func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entry.children[d.offset:]
	if n <= 0 {
		d.offset += len(rest)
		return d.fsys.dirEntries(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.offset += len(rest)
	return d.fsys.dirEntries(rest), nil
}
