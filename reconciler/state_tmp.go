package reconciler

import (
	"context"
	"fmt"
)

// TEMPORARY until the history branch's store lands.
func (d *Daemon) persistFlags(context.Context, pairKey, func(*pairFlags)) error { return nil }

func (d *Daemon) Rollback(ctx context.Context, service, env, revision string) error {
	return fmt.Errorf("rollback: %w", ErrNotSupported)
}
