package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"

	"github.com/pave-dev/pave/reconciler"
	"github.com/pave-dev/pave/reconciler/apply"
	"github.com/pave-dev/pave/reconciler/shard"
)

// newMembers is this replica's shard membership, its Leases in
// pave-system of the lease cluster.
func (o *serveOptions) newMembers(ctx context.Context, log logr.Logger, clusters map[string]*apply.Cluster) (*shard.Members, error) {
	cs, err := o.leaseClient(clusters)
	if err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, cs); err != nil {
		return nil, err
	}
	opts := o.shard
	opts.Namespace = apply.SystemNamespace
	return shard.New(log.WithName("shard"), cs.CoordinationV1(), opts)
}

// runSharded takes part in the membership, runs the daemon once this
// replica knows its share, and leaves the membership (releasing its
// Lease, so the others take its share at once) after the daemon stopped.
func runSharded(ctx context.Context, log logr.Logger, m *shard.Members, d *reconciler.Daemon) error {
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- m.Run(mctx) }()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-m.Ready():
	case <-ctx.Done():
		return nil
	}
	select { // the daemon starts from this share: no need to hear of it again
	case <-m.Changes():
	default:
	}
	log.Info("shard ready", "shard", m.Identity(), "members", m.Members())
	go func() { // a push another shard received: fetch too
		for {
			select {
			case <-m.Fetches():
				d.TriggerFetch()
			case <-mctx.Done():
				return
			}
		}
	}()
	return d.Run(ctx)
}

// trigger is what a verified push webhook does: fetch now, and with
// shards, tell the others to (the forge calls one replica).
func trigger(d *reconciler.Daemon, m *shard.Members) func() {
	if m == nil {
		return d.TriggerFetch
	}
	return func() {
		d.TriggerFetch()
		m.Announce()
	}
}

// shardHeader names the replica that answered, on every response of the
// API listener: each replica shows its own share.
func shardHeader(m *shard.Members, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pave-Shard", m.Identity())
		next.ServeHTTP(w, r)
	})
}

// shardOperator refuses the operator's verbs on services another replica
// owns: that replica keeps the pair's state in memory and would not see
// the change. A template's wave is approved on each replica (each rolls
// out its own share in its own waves).
type shardOperator struct {
	reconciler.Operator
	m *shard.Members
}

func (s shardOperator) own(service string) error {
	if s.m.Owns(service) {
		return nil
	}
	return fmt.Errorf("%s belongs to shard %s: send the request to that replica (its responses carry X-Pave-Shard): %w",
		service, shard.Assign(s.m.Members(), service), reconciler.ErrConflict)
}

func (s shardOperator) Promote(ctx context.Context, service, env string) error {
	if err := s.own(service); err != nil {
		return err
	}
	return s.Operator.Promote(ctx, service, env)
}

func (s shardOperator) Rollback(ctx context.Context, service, env, revision string) error {
	if err := s.own(service); err != nil {
		return err
	}
	return s.Operator.Rollback(ctx, service, env, revision)
}

func (s shardOperator) Suspend(ctx context.Context, service, env string) error {
	if err := s.own(service); err != nil {
		return err
	}
	return s.Operator.Suspend(ctx, service, env)
}

func (s shardOperator) Resume(ctx context.Context, service, env string) error {
	if err := s.own(service); err != nil {
		return err
	}
	return s.Operator.Resume(ctx, service, env)
}
