package catalog

import (
	"maps"
	"slices"
	"strings"
)

// Impact is what a change means for the services.
type Impact struct {
	// All is set when pave.yaml or a policy changed, or a catalog is
	// missing: every service must be reconciled.
	All bool
	// Services are the ids ("team/name") to render again: present in the
	// new catalog (valid or not, so that errors get reported), sorted.
	// When All is set it lists every service of the new
	Services []string
	// Removed are the ids present in the old catalog and absent from the
	// new one, sorted: their objects may be pruned. A service that became
	// invalid is not removed.
	Removed []string
	// Own lists the services whose own files changed (their service.yaml
	// folder or their exceptions), sorted.
	Own []string
	// Shared lists the services a change outside their own files reaches
	// (their template or a library it uses, pave.yaml, the policies),
	// sorted: the change rolls out over them in waves. Empty for the first
	// revision, which is new to every service.
	Shared []string
}

// Affected maps changed paths to the services they affect:
//
//   - services/<team>/<name>/… → that service;
//   - exceptions/<team>/<name>.yaml → that service;
//   - templates/<t>/… → every service using template t in the old or the
//     new catalog (a service may have switched templates), and when t is a
//     library chart, every service whose template depends on it;
//   - pave.yaml or policies/… → everything;
//   - other paths (README.md, …) → nothing.
//
// Services deleted between the catalogs are listed in Removed. A nil old
// catalog (the first revision) means everything is affected. A nil new
// catalog (pave.yaml failed to load) gives All with no Services and no
// Removed: nothing is to be rendered, and nothing pruned.
func Affected(changed []string, oldCat, newCat *Catalog) Impact {
	if newCat == nil {
		// Nothing can be trusted, least of all what seems deleted.
		return Impact{All: true}
	}
	newIDs := catalogIDs(newCat)
	oldIDs := catalogIDs(oldCat)
	var imp Impact
	for id := range oldIDs {
		if !newIDs[id] {
			imp.Removed = append(imp.Removed, id)
		}
	}
	slices.Sort(imp.Removed)
	if oldCat == nil {
		imp.All = true
	}
	affected, own, shared := map[string]bool{}, map[string]bool{}, map[string]bool{}
	everything := false // a change every service sees
	for _, p := range changed {
		parts := strings.Split(p, "/")
		switch {
		case p == ConfigFile, parts[0] == PoliciesDir:
			everything = true
		case ServiceFileOf(p) != "" || (parts[0] == ServicesDir && ServiceIDOf(p) != ""):
			affected[ServiceIDOf(p)] = true
			own[ServiceIDOf(p)] = true
		case parts[0] == TemplatesDir && len(parts) >= 3:
			for _, c := range []*Catalog{oldCat, newCat} {
				if c == nil {
					continue
				}
				// The template itself, and every template that depends on
				// it when it is a library chart.
				using := c.TemplatesUsing(parts[1])
				if _, known := c.Templates[parts[1]]; !known {
					using = append(using, parts[1]) // a template that fails to load
				}
				for _, s := range c.Services {
					if slices.Contains(using, s.TemplateName()) {
						affected[s.ID()] = true
						shared[s.ID()] = true
					}
				}
			}
		}
	}
	present := func(set map[string]bool) []string {
		var ids []string
		for id := range set {
			if newIDs[id] {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	imp.Own = present(own)
	if everything && oldCat != nil {
		imp.Shared = slices.Sorted(maps.Keys(newIDs))
	} else if oldCat != nil {
		imp.Shared = present(shared)
	}
	if imp.All || everything {
		imp.All = true
		imp.Services = slices.Sorted(maps.Keys(newIDs))
		return imp
	}
	imp.Services = present(affected)
	return imp
}

// catalogIDs are the ids of a catalog's services, valid or invalid.
func catalogIDs(c *Catalog) map[string]bool {
	ids := map[string]bool{}
	if c == nil {
		return ids
	}
	for _, s := range c.Services {
		ids[s.ID()] = true
	}
	for _, f := range c.Invalid {
		if id := ServiceIDOf(f); id != "" {
			ids[id] = true
		}
	}
	return ids
}
