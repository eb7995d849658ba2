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
}

func (x *inventoryIndex) load(invs []*Inventory) {
	m := make(map[string]*Inventory, len(invs))
	for _, inv := range invs {
		m[inventoryName(inv.Team, inv.Service, inv.Environment)] = inv.clone()
	}
	x.mu.Lock()
	x.loaded, x.byName = true, m
	x.mu.Unlock()
}

// get returns a copy of an inventory; ok is false when the index is not
// loaded.
func (x *inventoryIndex) get(name string) (inv *Inventory, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.loaded {
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
		x.byName[inventoryName(inv.Team, inv.Service, inv.Environment)] = inv.clone()
	}
	x.mu.Unlock()
}

func (x *inventoryIndex) remove(name string) {
	x.mu.Lock()
	if x.loaded {
		delete(x.byName, name)
	}
	x.mu.Unlock()
}

// all returns copies of every inventory, sorted by name; ok is false when
// the index is not loaded.
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

// LoadInventories lists the cluster's inventories in one request and keeps
// them in the applier's index: from then on, a reconcile reads its
// service's inventory from the index (kept current by the applier's own
// writes) instead of the API server. The daemon calls it at start and at
// each round; pave apply once per run.
func (a *Applier) LoadInventories(ctx context.Context) ([]*Inventory, error) {
	invs, err := listInventories(ctx, a.Cluster.Client)
	if err != nil {
		return nil, err
	}
	a.index.load(invs)
	return invs, nil
}

// inventory returns a service's inventory in an environment (nil when it
// has none): from the index once loaded, else from the API server.
func (a *Applier) inventory(ctx context.Context, team, service, env string) (*Inventory, error) {
	if inv, ok := a.index.get(inventoryName(team, service, env)); ok {
		return inv, nil
	}
	return readInventory(ctx, a.Cluster.Client, team, service, env)
}

// saveInventory writes an inventory and records it in the index.
func (a *Applier) saveInventory(ctx context.Context, inv *Inventory) error {
	if err := writeInventory(ctx, a.Cluster.Client, inv); err != nil {
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
