package review

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pave-dev/pave/source"
)

// WorkTree is the Ref of the side read from the catalog folder on disk.
const WorkTree = "working tree"

// Side is one revision of the catalog: a git commit or the working tree.
type Side struct {
	Info RevisionInfo
	// FS is rooted at the catalog (the folder holding pave.yaml).
	FS fs.FS

	rev    *source.Revision // nil for the working tree
	prefix string           // the catalog folder inside the repository
	closer func() error
}

// Close releases the files of a working-tree side.
func (s *Side) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer()
}

// Repo is the git repository holding a catalog.
type Repo struct {
	repo *source.Repository
	dir  string
	// Prefix is the catalog folder relative to the repository root,
	// slash-separated; empty when the catalog is the whole repository.
	Prefix string
}

// Open finds the git repository holding the catalog folder dir.
func Open(dir string) (*Repo, error) {
	repo, err := source.OpenRepository(dir)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(repo.Root)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("catalog %s is outside its git repository %s", dir, repo.Root)
	}
	r := &Repo{repo: repo, dir: dir, Prefix: filepath.ToSlash(rel)}
	if r.Prefix == "." {
		r.Prefix = ""
	}
	return r, nil
}

// Revision reads the catalog at a git revision ("origin/main", "HEAD~1",
// a commit hash), straight from git objects.
func (r *Repo) Revision(ref string) (*Side, error) {
	rev, err := r.repo.Revision(ref)
	if err != nil {
		return nil, err
	}
	fsys := rev.FS
	if r.Prefix != "" {
		if fsys, err = fs.Sub(rev.FS, r.Prefix); err != nil {
			return nil, fmt.Errorf("revision %s: %w", ref, err)
		}
	}
	return &Side{
		Info:   RevisionInfo{Ref: ref, Commit: rev.ID, Message: rev.Message},
		FS:     fsys,
		rev:    rev,
		prefix: r.Prefix,
	}, nil
}

// WorkTree reads the catalog folder as it is on disk, committed or not.
func (r *Repo) WorkTree() (*Side, error) {
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", r.dir, err)
	}
	return &Side{Info: RevisionInfo{Ref: WorkTree}, FS: root.FS(), prefix: r.Prefix, closer: root.Close}, nil
}

// Changed lists the catalog files that differ between two sides, relative
// to the catalog root and sorted: a tree diff between two commits, a
// comparison of contents when one side is the working tree.
func Changed(base, head *Side) ([]string, error) {
	if base.rev != nil && head.rev != nil {
		all, err := source.ChangedPaths(base.rev, head.rev)
		if err != nil {
			return nil, err
		}
		if base.prefix == "" {
			return all, nil
		}
		var out []string
		for _, p := range all {
			if rel, ok := strings.CutPrefix(p, base.prefix+"/"); ok {
				out = append(out, rel)
			}
		}
		return out, nil
	}
	a, err := files(base.FS)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", base.Info.Ref, err)
	}
	b, err := files(head.FS)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", head.Info.Ref, err)
	}
	var out []string
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	for p, fa := range a {
		fb, ok := b[p]
		if !ok {
			out = append(out, p)
			continue
		}
		same, err := fa.same(fb)
		if err != nil {
			return nil, err
		}
		if !same {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// file is one file of a side, read when compared.
type file struct {
	fsys fs.FS
	name string
	mode fs.FileMode
	size int64
}

func (f file) same(g file) (bool, error) {
	if f.mode.Type() != g.mode.Type() {
		return false, nil
	}
	if f.mode.Type()&fs.ModeSymlink != 0 {
		a, errA := fs.ReadLink(f.fsys, f.name)
		b, errB := fs.ReadLink(g.fsys, g.name)
		return a == b && errA == nil && errB == nil, nil
	}
	if f.size >= 0 && g.size >= 0 && f.size != g.size {
		return false, nil
	}
	a, err := fs.ReadFile(f.fsys, f.name)
	if err != nil {
		return false, err
	}
	b, err := fs.ReadFile(g.fsys, g.name)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

// files lists the regular files and symlinks of a catalog, skipping
// version-control folders.
func files(fsys fs.FS) (map[string]file, error) {
	out := map[string]file{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == "." {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			if base := path.Base(p); p != "." && (base == ".git" || base == ".hg") {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := int64(-1)
		if info.Mode().IsRegular() {
			size = info.Size()
		}
		out[p] = file{fsys: fsys, name: p, mode: info.Mode(), size: size}
		return nil
	})
	return out, err
}
