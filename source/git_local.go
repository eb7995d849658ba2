package source

import (
	"context"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// copyLocal fetches from a repository on this machine (file:// URL). go-git's
// file transport runs git-upload-pack; pave runs no programs, so the objects
// are copied in-process instead.
func (g *Git) copyLocal(ctx context.Context, local plumbing.ReferenceName) error {
	src, err := git.PlainOpenWithOptions(g.endpoint.Path, &git.PlainOpenOptions{})
	if err != nil {
		return fmt.Errorf("open local repository: %w", err)
	}
	ref, err := src.Reference(plumbing.NewBranchReferenceName(g.opts.Branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return fmt.Errorf("branch %q not found in the repository", g.opts.Branch)
	}
	if err != nil {
		return err
	}
	if err := copyObjects(ctx, src.Storer, g.repo.Storer, ref.Hash()); err != nil {
		return err
	}
	return g.repo.Storer.SetReference(plumbing.NewHashReference(local, ref.Hash()))
}

// copyObjects copies the commit head and everything it reaches that dst
// lacks. Objects are written after everything they point to, so an object
// present in dst is known to be complete and its history is skipped.
func copyObjects(ctx context.Context, src, dst storer.EncodedObjectStorer, head plumbing.Hash) error {
	type item struct {
		hash     plumbing.Hash
		typ      plumbing.ObjectType
		expanded bool
	}
	has := func(h plumbing.Hash) bool { return dst.HasEncodedObject(h) == nil }
	copyObj := func(h plumbing.Hash, t plumbing.ObjectType) error {
		obj, err := src.EncodedObject(t, h)
		if err != nil {
			return fmt.Errorf("read %s %s: %w", t, h, err)
		}
		if _, err := dst.SetEncodedObject(obj); err != nil {
			return fmt.Errorf("write %s %s: %w", t, h, err)
		}
		return nil
	}
	stack := []item{{hash: head, typ: plumbing.CommitObject}}
	seen := map[plumbing.Hash]bool{}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := stack[len(stack)-1]
		if it.expanded {
			stack = stack[:len(stack)-1]
			if err := copyObj(it.hash, it.typ); err != nil {
				return err
			}
			continue
		}
		if seen[it.hash] || has(it.hash) {
			stack = stack[:len(stack)-1]
			continue
		}
		seen[it.hash] = true
		stack[len(stack)-1].expanded = true
		switch it.typ {
		case plumbing.CommitObject:
			obj, err := src.EncodedObject(plumbing.CommitObject, it.hash)
			if err != nil {
				return fmt.Errorf("read commit %s: %w", it.hash, err)
			}
			c, err := object.DecodeCommit(src, obj)
			if err != nil {
				return err
			}
			stack = append(stack, item{hash: c.TreeHash, typ: plumbing.TreeObject})
			for _, p := range c.ParentHashes {
				stack = append(stack, item{hash: p, typ: plumbing.CommitObject})
			}
		case plumbing.TreeObject:
			obj, err := src.EncodedObject(plumbing.TreeObject, it.hash)
			if err != nil {
				return fmt.Errorf("read tree %s: %w", it.hash, err)
			}
			t, err := object.DecodeTree(src, obj)
			if err != nil {
				return err
			}
			for _, e := range t.Entries {
				switch e.Mode {
				case filemode.Submodule:
					// a commit of another repository: not ours to copy
				case filemode.Dir:
					stack = append(stack, item{hash: e.Hash, typ: plumbing.TreeObject})
				default:
					stack = append(stack, item{hash: e.Hash, typ: plumbing.BlobObject})
				}
			}
		}
	}
	return nil
}
