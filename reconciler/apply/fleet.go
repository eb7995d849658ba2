package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// Fleet is every environment's cluster, reconciled together: one
// goroutine per cluster, so an unreachable or slow cluster never holds up
// the others.
type Fleet struct {
	// Appliers by cluster name.
	Appliers map[string]*Applier
	// Concurrency is the number of services applied at once per cluster.
	Concurrency int
	// PingTimeout bounds the reachability check of each cluster.
	PingTimeout time.Duration
}

// Round is one reconcile of the fleet.
type Round struct {
	Config *catalog.Config
	// Rendered are the services × environments that passed render and
	// policy: they are applied.
	Rendered []*render.Result
	// Blocked are "team/name" of services that failed validation, render
	// or policy in some environment: nothing of theirs is applied or
	// pruned there, so what ran before keeps running.
	Blocked map[Pair]error
	// Catalog lists every service in the catalog, valid or not. With
	// PruneRemoved, inventories of services not in it are pruned.
	Catalog      map[string]bool
	PruneRemoved bool
	// Teams limits PruneRemoved to these teams' inventories (nil: all).
	Teams []string
	// Resync checks drift even when the rendered hash is unchanged.
	Resync bool
	// AllowMassPrune disables the mass-prune guard.
	AllowMassPrune bool
	// Environments limits the round (nil: all).
	Environments []string
	// Done, when set, is called with each service × environment's result
	// as soon as it is known (from the clusters' workers, at once: it must
	// be safe for concurrent use). pave apply counts its progress with it.
	Done func(*Result)
}

// Pair is a service in an environment.
type Pair struct {
	Service     string // team/name
	Environment string
}

// Reconcile applies the round to every cluster and returns one result per
// service and environment, in a stable order.
func (f *Fleet) Reconcile(ctx context.Context, r Round) []*Result {
	byCluster := map[string][]catalog.Environment{}
	for _, env := range r.Config.Environments {
		if r.Environments != nil && !slices.Contains(r.Environments, env.Name) {
			continue
		}
		byCluster[env.Cluster] = append(byCluster[env.Cluster], env)
	}
	var mu sync.Mutex
	var results []*Result
	// No limit and no shared context: each cluster goes at its own pace,
	// and one failing never cancels another.
	var g errgroup.Group
	for cluster, envs := range byCluster {
		g.Go(func() error {
			rs := f.reconcileCluster(ctx, cluster, envs, r)
			mu.Lock()
			results = append(results, rs...)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // failures are in the results
	slices.SortFunc(results, func(a, b *Result) int {
		if a.Service != b.Service {
			if a.Service < b.Service {
				return -1
			}
			return 1
		}
		return envIndex(r.Config, a.Environment) - envIndex(r.Config, b.Environment)
	})
	return results
}

func envIndex(cfg *catalog.Config, env string) int {
	return slices.Index(cfg.EnvironmentNames(), env)
}

func (f *Fleet) reconcileCluster(ctx context.Context, cluster string, envs []catalog.Environment, r Round) []*Result {
	var work []*render.Result
	for _, res := range r.Rendered {
		if slices.ContainsFunc(envs, func(e catalog.Environment) bool { return e.Name == res.Environment }) {
			work = append(work, res)
		}
	}
	failAll := func(err error) []*Result {
		var out []*Result
		for _, res := range work {
			out = append(out, &Result{Service: res.Service, Environment: res.Environment, Cluster: cluster, Revision: res.Revision, Hash: res.Hash, Err: err,
				Health: Health{Status: HealthUnreachable, Message: err.Error()}})
			if r.Done != nil {
				r.Done(out[len(out)-1])
			}
		}
		return out
	}
	a, ok := f.Appliers[cluster]
	if !ok {
		return failAll(fmt.Errorf("%w: no credentials for cluster %s (pass --cluster %s=KUBECONFIG)", ErrUnreachable, cluster, cluster))
	}
	timeout := f.PingTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	if err := a.Cluster.Ping(ctx, timeout); err != nil {
		return failAll(err)
	}
	// One list of the cluster's inventories, instead of a read per
	// service; and health from shared watches, instead of polling.
	if _, err := a.LoadInventories(ctx); err != nil {
		return failAll(err)
	}
	if a.Options.Wait {
		stop, err := a.Watch(ctx)
		if err != nil {
			return failAll(err)
		}
		defer stop()
	}
	budget, err := a.NewPruneBudget(ctx, r.AllowMassPrune)
	if err != nil {
		return failAll(err)
	}

	// Concurrency applies at once; a failed apply is its service's result
	// and stops no other.
	out := make([]*Result, len(work))
	var g errgroup.Group
	g.SetLimit(max(1, f.Concurrency))
	for i := range work {
		g.Go(func() error {
			out[i] = a.Apply(ctx, r.Config, work[i], r.Resync, budget)
			if r.Done != nil {
				r.Done(out[i])
			}
			return nil
		})
	}
	_ = g.Wait()

	if r.PruneRemoved {
		invs, err := a.Inventories(ctx)
		if err != nil {
			out = append(out, &Result{Cluster: cluster, Err: err})
			return out
		}
		for _, inv := range invs {
			if !slices.ContainsFunc(envs, func(e catalog.Environment) bool { return e.Name == inv.Environment }) {
				continue
			}
			if r.Catalog[inv.ID()] || (r.Teams != nil && !slices.Contains(r.Teams, inv.Team)) {
				continue
			}
			if _, blocked := r.Blocked[Pair{inv.ID(), inv.Environment}]; blocked {
				continue
			}
			out = append(out, a.Remove(ctx, inv.Team, inv.Service, inv.Environment, budget))
		}
	}
	return out
}

// HealthUnreachable marks services whose cluster did not answer.
const HealthUnreachable HealthStatus = "ClusterUnreachable"

// IsUnreachable reports whether a result failed because its cluster did
// not answer.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }
