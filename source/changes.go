package source

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ChangedPaths lists the files (slash-separated, relative to the catalog
// root) added, removed or modified between two revisions of one source,
// sorted. For git it diffs the two commits' trees, whether or not one
// descends from the other (a force-push); for folders it compares the
// snapshots' file digests. A nil from means "everything in to" (the first
// revision).
func ChangedPaths(from, to *Revision) ([]string, error) {
	if to == nil {
		return nil, errors.New("changed paths: no revision")
	}
	switch {
	case to.git != nil:
		return gitChanges(from, to)
	case to.files != nil:
		if from == nil {
			return slices.Sorted(maps.Keys(to.files)), nil
		}
		if from.files == nil {
			return nil, errors.New("changed paths: revisions of different kinds of source")
		}
		var out []string
		for p, sum := range to.files {
			if from.files[p] != sum {
				out = append(out, p)
			}
		}
		for p := range from.files {
			if _, ok := to.files[p]; !ok {
				out = append(out, p)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	return nil, errors.New("changed paths: revision not made by this package")
}

func gitChanges(from, to *Revision) ([]string, error) {
	if from != nil && from.git == nil {
		return nil, errors.New("changed paths: revisions of different kinds of source")
	}
	store := openStorage(to.git.repoDir) // a handle of our own: the source's is not shared
	toTree, err := object.GetTree(store, to.git.tree)
	if err != nil {
		return nil, fmt.Errorf("changed paths: tree of %s: %w", to.ID, err)
	}
	if from == nil {
		var out []string
		walker := object.NewTreeWalker(toTree, true, nil)
		defer walker.Close()
		for {
			name, entry, err := walker.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("changed paths: %w", err)
			}
			if entry.Mode != filemode.Dir {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	if from.git.tree == to.git.tree {
		return nil, nil
	}
	fromTree, err := object.GetTree(store, from.git.tree)
	if err != nil {
		return nil, fmt.Errorf("changed paths: tree of %s: %w", from.ID, err)
	}
	changes, err := object.DiffTree(fromTree, toTree)
	if err != nil {
		return nil, fmt.Errorf("changed paths %s..%s: %w", from.Short(), to.Short(), err)
	}
	var out []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
