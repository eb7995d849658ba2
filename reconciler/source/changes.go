package source

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/pave-dev/pave/catalog"
)

// ChangedPaths lists the files (slash-separated, relative to the catalog
// root) added, removed or modified between two revisions of one source,
// sorted. For git it diffs the two commits' trees, whether or not one
// descends from the other (a force-push); for folders it compares the
// snapshots' file digests. A nil from means "everything in to" (the first
// revision).
func ChangedPaths(from, to *Revision) ([]string, error) {
	if to == nil {
		return nil, errors.New("changed paths: no revision")
	}
	switch {
	case to.git != nil:
		return gitChanges(from, to)
	case to.files != nil:
		if from == nil {
			return slices.Sorted(maps.Keys(to.files)), nil
		}
		if from.files == nil {
			return nil, errors.New("changed paths: revisions of different kinds of source")
		}
		var out []string
		for p, sum := range to.files {
			if from.files[p] != sum {
				out = append(out, p)
			}
		}
		for p := range from.files {
			if _, ok := to.files[p]; !ok {
				out = append(out, p)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	return nil, errors.New("changed paths: revision not made by this package")
}

func gitChanges(from, to *Revision) ([]string, error) {
	if from != nil && from.git == nil {
		return nil, errors.New("changed paths: revisions of different kinds of source")
	}
	store := openStorage(to.git.repoDir) // a handle of our own: the source's is not shared
	toTree, err := object.GetTree(store, to.git.tree)
	if err != nil {
		return nil, fmt.Errorf("changed paths: tree of %s: %w", to.ID, err)
	}
	if from == nil {
		var out []string
		walker := object.NewTreeWalker(toTree, true, nil)
		defer walker.Close()
		for {
			name, entry, err := walker.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("changed paths: %w", err)
			}
			if entry.Mode != filemode.Dir {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	if from.git.tree == to.git.tree {
		return nil, nil
	}
	fromTree, err := object.GetTree(store, from.git.tree)
	if err != nil {
		return nil, fmt.Errorf("changed paths: tree of %s: %w", from.ID, err)
	}
	changes, err := object.DiffTree(fromTree, toTree)
	if err != nil {
		return nil, fmt.Errorf("changed paths %s..%s: %w", from.Short(), to.Short(), err)
	}
	var out []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Impact is what a change means for the services.
type Impact struct {
	// All is set when pave.yaml or a policy changed, or a catalog is
	// missing: every service must be reconciled.
	All bool
	// Services are the ids ("team/name") to render again: present in the
	// new catalog (valid or not, so that errors get reported), sorted.
	// When All is set it lists every service of the new catalog.
	Services []string
	// Removed are the ids present in the old catalog and absent from the
	// new one, sorted: their objects may be pruned. A service that became
	// invalid is not removed.
	Removed []string
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
func Affected(changed []string, oldCat, newCat *catalog.Catalog) Impact {
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
	affected := map[string]bool{}
	for _, p := range changed {
		if imp.All {
			break
		}
		parts := strings.Split(p, "/")
		switch {
		case p == catalog.ConfigFile, parts[0] == catalog.PoliciesDir:
			imp.All = true
		case parts[0] == catalog.ServicesDir && len(parts) >= 4:
			affected[parts[1]+"/"+parts[2]] = true
		case parts[0] == catalog.ExceptionsDir && catalog.ServiceFileOf(p) != "":
			affected[parts[1]+"/"+strings.TrimSuffix(parts[2], ".yaml")] = true
		case parts[0] == catalog.TemplatesDir && len(parts) >= 3:
			for _, c := range []*catalog.Catalog{oldCat, newCat} {
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
					}
				}
			}
		}
	}
	if imp.All {
		imp.Services = slices.Sorted(maps.Keys(newIDs))
		return imp
	}
	for id := range affected {
		if newIDs[id] {
			imp.Services = append(imp.Services, id)
		}
	}
	slices.Sort(imp.Services)
	return imp
}

// catalogIDs are the ids of a catalog's services, valid or invalid.
func catalogIDs(c *catalog.Catalog) map[string]bool {
	ids := map[string]bool{}
	if c == nil {
		return ids
	}
	for _, s := range c.Services {
		ids[s.ID()] = true
	}
	for _, f := range c.Invalid {
		parts := strings.Split(f, "/")
		if len(parts) == 4 && parts[0] == catalog.ServicesDir && parts[3] == catalog.ServiceFile {
			ids[parts[1]+"/"+parts[2]] = true
		}
	}
	return ids
}
