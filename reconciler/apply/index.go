package apply

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// inventoryIndex is a cluster's inventories as pave last listed them, kept
// current by pave's own writes and deletes, so that a reconcile learns
// whether a service changed without asking the API server. pave is the
// only writer of its inventories (a sharded pave fences each service to one
// replica), so between two lists the index is what the cluster holds; each
// round of the daemon lists again, which picks up anything else (an
// inventory an admin deleted by hand).
type inventoryIndex struct {
	mu sync.RWMutex
	// loaded is set by the first list: until then reads go to the API
	// server.
	loaded bool
	byName map[string]*Inventory
	// left holds the inventories the last list left out (another
	// shard's services): reads of those go to the API server.
	left map[string]bool
}

// load replaces the index with the inventories listed (kept) and the
// names of those the list left out (another shard's services).
func (x *inventoryIndex) load(kept []*Inventory, left []string) {
	m := make(map[string]*Inventory, len(kept))
	for _, inv := range kept {
		m[inventoryName(inv.Team, inv.Service, inv.Environment)] = inv.clone()
	}
	out := make(map[string]bool, len(left))
	for _, name := range left {
		out[name] = true
	}
	x.mu.Lock()
	x.loaded, x.byName, x.left = true, m, out
	x.mu.Unlock()
}

// get returns a copy of an inventory; ok is false when the index is not
// loaded, or the list left the inventory out.
func (x *inventoryIndex) get(name string) (inv *Inventory, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.loaded || x.left[name] {
		return nil, false
	}
	if inv := x.byName[name]; inv != nil {
		return inv.clone(), true
	}
	return nil, true
}

func (x *inventoryIndex) put(inv *Inventory) {
	x.mu.Lock()
	if x.loaded {
		name := inventoryName(inv.Team, inv.Service, inv.Environment)
		x.byName[name] = inv.clone()
		delete(x.left, name)
	}
	x.mu.Unlock()
}

func (x *inventoryIndex) remove(name string) {
	x.mu.Lock()
	if x.loaded {
		delete(x.byName, name)
		delete(x.left, name)
	}
	x.mu.Unlock()
}

// all returns copies of every inventory it holds, sorted by name; ok is
// false when the index is not loaded.
func (x *inventoryIndex) all() ([]*Inventory, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.loaded {
		return nil, false
	}
	out := make([]*Inventory, 0, len(x.byName))
	for _, name := range slices.Sorted(maps.Keys(x.byName)) {
		out = append(out, x.byName[name].clone())
	}
	return out, true
}

func (inv *Inventory) clone() *Inventory {
	c := *inv
	c.Objects = slices.Clone(inv.Objects)
	c.Digests = maps.Clone(inv.Digests)
	return &c
}

// LoadInventories lists the cluster's inventories (a page of them at a
// time, see listInventories) and keeps
// them in the applier's index: from then on, a reconcile reads its
// service's inventory from the index (kept current by the applier's own
// writes) instead of the API server. The daemon calls it at start and at
// each round; pave apply once per run.
func (a *Applier) LoadInventories(ctx context.Context) ([]*Inventory, error) {
	return a.LoadInventoriesOf(ctx, nil)
}

// LoadInventoriesOf is LoadInventories for the services keep accepts (a
// shard's share; nil: all): the index holds only theirs, and a read of
// another's goes to the API server. It returns theirs.
func (a *Applier) LoadInventoriesOf(ctx context.Context, keep func(team, service string) bool) ([]*Inventory, error) {
	kept, left, err := listInventories(ctx, a.Cluster.Client, keep)
	if err != nil {
		return nil, err
	}
	a.index.load(kept, left)
	return kept, nil
}

// inventory returns a service's inventory in an environment (nil when it
// has none): from the index once loaded, else from the API server.
func (a *Applier) inventory(ctx context.Context, team, service, env string) (*Inventory, error) {
	if inv, ok := a.index.get(inventoryName(team, service, env)); ok {
		return inv, nil
	}
	return readInventory(ctx, a.Cluster.Client, team, service, env)
}

// saveInventory writes an inventory and records it in the index; existed
// says the cluster held one for the pair when it was read.
func (a *Applier) saveInventory(ctx context.Context, inv *Inventory, existed bool) error {
	if err := writeInventory(ctx, a.Cluster.Client, inv, existed); err != nil {
		return err
	}
	a.index.put(inv)
	return nil
}

// dropInventory deletes an inventory and forgets it in the index.
func (a *Applier) dropInventory(ctx context.Context, team, service, env string) error {
	if err := deleteInventory(ctx, a.Cluster.Client, team, service, env); err != nil {
		return err
	}
	a.index.remove(inventoryName(team, service, env))
	return nil
}
