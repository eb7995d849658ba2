package source

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Repository is a git repository on disk (a clone with a work tree, or a
// bare one), read without checking anything out: pave check --base reads
// the base and head revisions of a pull request from it.
type Repository struct {
	// Root is the top of the work tree (the repository folder when bare).
	Root string

	repo   *git.Repository
	gitDir string
}

// OpenRepository opens the repository holding dir, which may be any
// folder inside its work tree.
func OpenRepository(dir string) (*Repository, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("%s is not inside a git repository", dir)
		}
		return nil, fmt.Errorf("open git repository at %s: %w", dir, err)
	}
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("open git repository at %s: unsupported storage", dir)
	}
	r := &Repository{repo: repo, gitDir: st.Filesystem().Root(), Root: abs}
	if wt, err := repo.Worktree(); err == nil {
		r.Root = wt.Filesystem.Root()
	} else {
		r.Root = r.gitDir
	}
	return r, nil
}

// Revision reads a revision: a branch, tag or remote-tracking name
// ("main", "origin/main"), a commit hash or an expression such as
// "HEAD~1". Its FS is the commit's whole tree.
func (r *Repository) Revision(name string) (*Revision, error) {
	hash, err := r.repo.ResolveRevision(plumbing.Revision(name))
	if err != nil {
		return nil, fmt.Errorf("revision %q not found in %s (%v): fetch it first, e.g. `git fetch origin main` or actions/checkout with fetch-depth: 0", name, r.Root, err)
	}
	commit, err := r.repo.CommitObject(*hash)
	if err != nil {
		return nil, fmt.Errorf("revision %q: read commit %s: %w", name, hash, err)
	}
	rev := &Revision{
		ID:      hash.String(),
		Time:    commit.Committer.When,
		Message: firstLine(commit.Message),
		Author:  fmt.Sprintf("%s <%s>", commit.Author.Name, commit.Author.Email),
		git:     &gitRev{repoDir: r.gitDir, commit: *hash, tree: commit.TreeHash},
	}
	rev.FS, err = newTreeFS(r.gitDir, commit.TreeHash, rev.Time)
	if err != nil {
		return nil, fmt.Errorf("revision %q: read tree of %s: %w", name, hash, err)
	}
	return rev, nil
}
