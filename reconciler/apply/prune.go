package apply

import (
	"context"
	"fmt"
	"sync"

	"github.com/fluxcd/pkg/ssa"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pave-dev/pave/render"
)

// PruneBudget is the mass-prune guard of one round of reconciles of a
// cluster: it refuses deletions that would take more than half of the
// cluster's pave-managed objects, or all of a team's, unless allowed.
type PruneBudget struct {
	Allow bool

	mu        sync.Mutex
	total     int
	teamTotal map[string]int
	deleted   int
	teamDel   map[string]int
}

// NewPruneBudget counts the pave-managed objects of a cluster from its
// inventories. allow disables the guard (--allow-mass-prune).
func (a *Applier) NewPruneBudget(ctx context.Context, allow bool) (*PruneBudget, error) {
	invs, err := a.Inventories(ctx)
	if err != nil {
		return nil, err
	}
	b := &PruneBudget{Allow: allow, teamTotal: map[string]int{}, teamDel: map[string]int{}}
	for _, inv := range invs {
		n := 0
		for _, r := range inv.Objects {
			if r.Kind != "Namespace" {
				n++
			}
		}
		b.total += n
		b.teamTotal[inv.Team] += n
	}
	return b, nil
}

// MassPruneError is the guard's refusal.
type MassPruneError struct {
	Cluster, Team   string
	Deleting, Total int
	WholeTeam       bool
}

func (e *MassPruneError) Error() string {
	if e.WholeTeam {
		return fmt.Sprintf("mass-prune guard: refusing to delete all %d pave-managed objects of team %s in cluster %s; pass --allow-mass-prune if this is intended", e.Total, e.Team, e.Cluster)
	}
	return fmt.Sprintf("mass-prune guard: refusing to delete %d of the %d pave-managed objects in cluster %s (more than half); pass --allow-mass-prune if this is intended", e.Deleting, e.Total, e.Cluster)
}

// reserve books n deletions for a team, or refuses them.
func (b *PruneBudget) reserve(cluster, team string, n int) error {
	if b == nil || b.Allow || n == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if 2*(b.deleted+n) > b.total {
		return &MassPruneError{Cluster: cluster, Team: team, Deleting: b.deleted + n, Total: b.total}
	}
	if t := b.teamTotal[team]; b.teamDel[team]+n >= t {
		return &MassPruneError{Cluster: cluster, Team: team, Deleting: b.teamDel[team] + n, Total: t, WholeTeam: true}
	}
	b.deleted += n
	b.teamDel[team] += n
	return nil
}

// prune deletes stale objects that still carry pave's labels for this
// service. It returns what it did, and the objects whose delete failed (to
// keep in the inventory for a retry).
func (a *Applier) prune(ctx context.Context, team, service, env string, stale []ObjectRef, budget *PruneBudget) ([]Change, []ObjectRef, error) {
	if err := budget.reserve(a.Cluster.Name, team, len(stale)); err != nil {
		var refused []Change
		for _, r := range stale {
			refused = append(refused, Change{Object: r, Action: ssa.SkippedAction, Error: "refused by the mass-prune guard"})
		}
		return refused, nil, err
	}
	opts := ssa.DeleteOptions{
		PropagationPolicy: metav1.DeletePropagationBackground,
		// Only objects that still say they are this service's: an object
		// someone else took over (or never was pave's) is left alone. A
		// chart may set app.kubernetes.io/managed-by itself: pave's own
		// keys say whose an object is.
		Inclusions: map[string]string{
			render.LabelTeam:        team,
			render.LabelService:     service,
			render.LabelEnvironment: env,
		},
	}
	m, err := a.manager(team)
	if err != nil {
		return nil, stale, err
	}
	var changes []Change
	var failed []ObjectRef
	for _, r := range stale {
		entry, err := m.Delete(ctx, r.Unstructured(), opts)
		switch {
		case err != nil:
			changes = append(changes, Change{Object: r, Action: ssa.UnknownAction, Error: err.Error()})
			failed = append(failed, r)
		case entry != nil:
			changes = append(changes, Change{Object: r, Action: entry.Action})
		}
	}
	return changes, failed, nil
}

// Remove prunes every object of a service that left the catalog, then its
// inventory, under the same guard.
func (a *Applier) Remove(ctx context.Context, team, service, env string, budget *PruneBudget) *Result {
	out := &Result{Service: team + "/" + service, Environment: env, Cluster: a.Cluster.Name}
	inv, err := a.inventory(ctx, team, service, env)
	if err != nil {
		out.Err = err
		return out
	}
	if inv == nil {
		return out
	}
	var stale []ObjectRef
	for _, r := range inv.Objects {
		if r.Kind != "Namespace" {
			stale = append(stale, r)
		}
	}
	pruned, failed, err := a.prune(ctx, team, service, env, stale, budget)
	out.Pruned = pruned
	if err != nil {
		out.Err = err
		return out
	}
	if len(failed) > 0 {
		inv.Objects = failed
		if err := a.saveInventory(ctx, inv, true); err != nil {
			out.Err = err
			return out
		}
		out.Err = fmt.Errorf("%d objects could not be deleted; will retry", len(failed))
		return out
	}
	// The pair's history and holds go with it, first: while the inventory
	// stays, a failed delete is retried.
	a.states.forget(stateName(team, service, env))
	if err := deleteState(ctx, a.Cluster.Client, team, service, env); err != nil {
		out.Err = err
	} else if err := a.dropInventory(ctx, team, service, env); err != nil {
		out.Err = err
	}
	out.Health = Health{Status: HealthPruned, Message: "removed from the catalog; all objects pruned"}
	return out
}

// Inventories lists the cluster's inventories (to find services that left
// the catalog, and to rebuild status on start): from the index once
// LoadInventories loaded it, else from the API server.
func (a *Applier) Inventories(ctx context.Context) ([]*Inventory, error) {
	if invs, ok := a.index.all(); ok {
		return invs, nil
	}
	invs, _, err := listInventories(ctx, a.Cluster.Client, nil)
	return invs, err
}
