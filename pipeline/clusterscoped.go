package pipeline

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
)

// clusterObject is a cluster-scoped object on one cluster: its API group,
// kind and name.
type clusterObject struct {
	cluster, group, kind, name string
}

// clusterClaim is a service in an environment rendering a cluster-scoped
// object.
type clusterClaim struct {
	svc *catalog.Service
	env string
	// outcome is the claimant's outcome when it is part of the run.
	outcome *Outcome
}

// checkClusterScopedNames refuses a cluster-scoped object (a ClusterRole,
// a PriorityClass …) that two services, or one service in two
// environments on one cluster, render under the same name: each would
// take it from the other. Like a duplicate ingress host, it is an error
// on every claimant's service.yaml (at spec.template, as the name comes
// from the template), and it blocks them.
//
// The claims are those of every valid service of the catalog, in every
// environment on a cluster the run covers: services outside the
// selection are rendered for it (from the renderer's cache when it has
// them), but only when the run renders a cluster-scoped object at all.
// The daemon, which evaluates one service at a time, relies on apply's
// ownership check: the service that applied the object first keeps it.
func (p *Pipeline) checkClusterScopedNames(run *Run, valid []*Service) {
	cfg := p.catalog.Config
	found := false
	for _, s := range valid {
		for _, o := range s.Outcomes {
			if o != nil && slices.ContainsFunc(o.objects(), isClusterScoped) {
				found = true
			}
		}
	}
	if !found {
		return
	}
	clusters := map[string]bool{}
	for _, env := range run.Environments {
		if e, ok := cfg.Environment(env); ok {
			clusters[e.Cluster] = true
		}
	}
	ran := map[string]*Outcome{}
	for _, s := range valid {
		for _, o := range s.Outcomes {
			if o != nil {
				ran[s.ID+"\x00"+o.Environment] = o
			}
		}
	}

	claims := map[clusterObject][]clusterClaim{}
	for _, svc := range p.catalog.Services {
		for _, e := range cfg.Environments {
			if !clusters[e.Cluster] {
				continue
			}
			claim := clusterClaim{svc: svc, env: e.Name, outcome: ran[svc.ID()+"\x00"+e.Name]}
			var objs []*unstructured.Unstructured
			if claim.outcome != nil {
				objs = claim.outcome.objects()
			} else if r, err := p.renderer.Render(svc, e.Name); err == nil {
				// A service that does not render is reported on its own.
				objs = r.Objects
			}
			for _, o := range objs {
				if !isClusterScoped(o) {
					continue
				}
				gvk := o.GroupVersionKind()
				key := clusterObject{cluster: e.Cluster, group: gvk.Group, kind: gvk.Kind, name: o.GetName()}
				claims[key] = append(claims[key], claim)
			}
		}
	}

	keys := slices.SortedFunc(maps.Keys(claims), func(a, b clusterObject) int {
		return cmp.Or(strings.Compare(a.cluster, b.cluster), strings.Compare(a.group, b.group), strings.Compare(a.kind, b.kind), strings.Compare(a.name, b.name))
	})
	for _, key := range keys {
		cs := claims[key]
		if len(cs) < 2 {
			continue
		}
		for _, c := range cs {
			if c.outcome == nil {
				continue
			}
			var others []string
			for _, d := range cs {
				if d == c {
					continue
				}
				if d.svc == c.svc {
					others = append(others, fmt.Sprintf("this service in environment %s", d.env))
				} else {
					others = append(others, fmt.Sprintf("%s (%s)", d.svc.File, d.env))
				}
			}
			kind := key.kind
			if key.group != "" {
				kind += "." + key.group
			}
			msg := fmt.Sprintf("render: %s %q is cluster-scoped, and %s also renders it into cluster %s: one object cannot be two services' (or two environments'), so each is refused; give each its own name",
				kind, key.name, strings.Join(others, ", "), key.cluster)
			v := c.outcome.Verdict
			v.Errors = append(v.Errors, policy.Error{File: c.svc.File, Line: c.svc.Position("spec.template").Line, Message: msg})
			v.Status = policy.StatusError
		}
	}
}

// objects are what the outcome rendered, or its cluster-scoped objects
// when Run dropped the rest; none when it did not render.
func (o *Outcome) objects() []*unstructured.Unstructured {
	if o.Rendered != nil {
		return o.Rendered.Objects
	}
	return o.clusterScoped
}

// isClusterScoped tells a cluster-scoped object of a render (placement
// left it without a namespace), the team's Namespace aside: pave makes
// that one itself, shared by the team's services.
func isClusterScoped(o *unstructured.Unstructured) bool {
	return o.GetNamespace() == "" && (o.GetKind() != "Namespace" || o.GroupVersionKind().Group != "")
}
