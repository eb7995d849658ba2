package reconciler

import (
	"context"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/source"
)

// Read accessors for the dashboard (package dashboard). They hand out
// what the daemon already holds; callers must not modify the results.

// Catalog is the newest accepted catalog (pave.yaml, templates, services
// and their exceptions), nil before the first accepted revision.
func (d *Daemon) Catalog() *catalog.Catalog {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.snap == nil {
		return nil
	}
	return d.snap.cat
}

// Now is the daemon's clock (Options.Clock).
func (d *Daemon) Now() time.Time { return d.clock.Now() }

// Commit returns a revision's commit (time, message, author), from the
// snapshots in memory or, for git, from the local clone. A folder source
// knows only its current revision; other revisions give an error.
func (d *Daemon) Commit(ctx context.Context, id string) (*source.Revision, error) {
	if snap, ok := d.keptSnapshot(id); ok {
		return snap.rev, nil
	}
	rr, ok := d.src.(revisionReader)
	if !ok {
		return nil, errOnlyCurrent
	}
	return rr.At(ctx, id)
}
