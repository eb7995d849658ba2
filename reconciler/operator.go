package reconciler

import (
	"context"
	"errors"

	"github.com/pave-dev/pave/reconciler/apply"
)

// Operator is what the write API asks of the daemon.
type Operator interface {
	// Promote approves the manual gate of env for the service's pending revision.
	Promote(ctx context.Context, service, env string) error
	// PromoteTemplate approves the wave of a template rollout that awaits approval in env.
	PromoteTemplate(ctx context.Context, template, env string) error
	// Rollback applies the given revision ("" = the last healthy one before the running one) and holds the pair there until the next commit that changes the service, or Resume.
	Rollback(ctx context.Context, service, env, revision string) error
	// Suspend stops reconciling (drift correction included); env "" = every environment.
	Suspend(ctx context.Context, service, env string) error
	// Resume undoes Suspend and a rollback hold; env "" = every environment.
	Resume(ctx context.Context, service, env string) error
	// History is the pair's deployments, newest first (apply.PairState.History).
	History(ctx context.Context, service, env string) ([]apply.Deployment, error)
}

var (
	ErrNotFound     = errors.New("not found")     // unknown service or environment → 404
	ErrConflict     = errors.New("conflict")      // e.g. nothing to promote, no healthy revision to roll back to → 409
	ErrNotSupported = errors.New("not supported") // → 501
)
