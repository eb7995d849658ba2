// Package source delivers revisions of the catalog to the reconciler: from a
// git repository (pave serve --repo URL --branch NAME) or from a local folder
// (pave serve --path DIR).
//
// # Sources
//
// Both kinds implement [Source]:
//
//	src, err := source.NewGit(source.GitOptions{URL: url, Branch: "main", CacheDir: dir, Auth: auth})
//	rev, err := src.Fetch(ctx) // the current head of the branch
//	cat, err := catalog.Load(rev.FS)
//
// [Git] keeps one bare clone in GitOptions.CacheDir (reused across runs) and
// fetches the branch into it; it never checks anything out. A revision's FS
// reads the commit's tree straight from git objects, so rendering always sees
// one whole commit, never a half-updated work tree. Every fetch is bounded by
// GitOptions.Timeout even when the transport ignores cancellation: Fetch
// returns when the context or the timeout expires, whatever the remote does.
// When the branch moved to a commit that does not descend from the previous
// revision (a force-push, a reset), the new commit is still the desired state
// and Revision.ForcePushed says so, for a warning. Git has no change
// notification: poll it and wake it with [NewWebhook].
//
// [Dir] watches a folder with fsnotify, recursively, and sends on Notify once
// edits have settled (debounced). Its revision IDs are content hashes
// ("dir:sha256:…") and its FS is the live folder, rooted with os.Root.
//
// # Changes
//
// [ChangedPaths] lists the files that differ between two revisions of one
// source (a tree diff for git, which works across force-pushes), and
// [Affected] maps those paths to the services to reconcile, using the
// catalogs loaded from both revisions.
package source

import (
	"context"
	"io/fs"
	"time"
)

// Source is where the catalog comes from.
type Source interface {
	// Fetch returns the current revision: the head of the branch for git,
	// a snapshot of the folder for a directory. It is cheap when nothing
	// changed (the same ID comes back). Safe for concurrent use.
	Fetch(ctx context.Context) (*Revision, error)
	// Notify is signalled when the source may have changed. It is nil for
	// git sources, which are polled and woken by the webhook.
	Notify() <-chan struct{}
	// Close stops watching and releases files.
	Close() error
}

// Revision is one state of the catalog.
type Revision struct {
	// ID is the commit hash for git, "dir:sha256:<hex>" for a folder.
	ID string
	// Branch is the followed branch (git only).
	Branch string
	// Time is the commit (committer) time for git, the newest file
	// modification for a folder: DORA lead time starts here.
	Time time.Time
	// Message is the first line of the commit message.
	Message string
	// Author is "Name <email>" of the commit's author (git only).
	Author string
	// ForcePushed reports that the branch moved to this commit from a
	// previous revision that is not its ancestor: history was rewritten.
	// The revision is still the desired state.
	ForcePushed bool
	// Previous is the commit the branch pointed to before this fetch, as
	// far as this source knows: the last revision fetched, or at start-up
	// the one left in the cache by the previous run (empty on a first
	// clone, equal to ID when nothing changed).
	Previous string
	// FS holds the catalog's files at this revision. For git it is
	// read-only and immutable, safe for concurrent use, and implements
	// fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and fs.ReadLinkFS; symlinks
	// are reported as such by ReadDir and Lstat.
	FS fs.FS

	git   *gitRev           // set for git revisions
	files map[string]string // dir revisions: path → content digest
}

// Short is the ID shortened for logs: 12 hex digits of a commit or digest.
func (r *Revision) Short() string {
	id := r.ID
	const prefix = "dir:sha256:"
	if len(id) > len(prefix) && id[:len(prefix)] == prefix {
		return "dir:" + shorten(id[len(prefix):])
	}
	return shorten(id)
}

func shorten(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
