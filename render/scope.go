package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render/kinds"
)

// Scopes tells whether objects of a kind live in a namespace without
// asking a cluster: the kinds built into Kubernetes (render/kinds, taken
// from the API server's discovery) by API group and kind, and the custom
// resources pave.yaml declares. A built-in kind keeps its scope whatever
// pave.yaml says. Scopes is safe for concurrent use.
type Scopes struct {
	custom map[schema.GroupKind]bool
}

// NewScopes returns the scopes of the built-in kinds and of the custom
// resources pave.yaml declares (catalog.Config.CustomResources).
func NewScopes(custom []catalog.CustomResource) *Scopes {
	s := &Scopes{custom: make(map[schema.GroupKind]bool, len(custom))}
	for _, cr := range custom {
		s.custom[schema.GroupKind{Group: cr.Group, Kind: cr.Kind}] = cr.Scope == catalog.ScopeNamespaced
	}
	return s
}

// Namespaced reports whether objects of a kind are namespaced; known is
// false when neither Kubernetes nor pave.yaml has the kind.
func (s *Scopes) Namespaced(gk schema.GroupKind) (namespaced, known bool) {
	if k, ok := kinds.Lookup(gk.Group, gk.Kind); ok {
		return k.Namespaced, true
	}
	namespaced, known = s.custom[gk]
	return namespaced, known
}

// ScopeOf returns catalog.ScopeNamespaced or catalog.ScopeCluster for the
// kind of an object, or an *UnknownScopeError.
func (s *Scopes) ScopeOf(gvk schema.GroupVersionKind) (string, error) {
	namespaced, known := s.Namespaced(gvk.GroupKind())
	switch {
	case !known:
		return "", &UnknownScopeError{GroupVersionKind: gvk}
	case namespaced:
		return catalog.ScopeNamespaced, nil
	}
	return catalog.ScopeCluster, nil
}

// UnknownScopeError is a kind that is neither built into Kubernetes nor
// declared in pave.yaml: pave cannot tell where its objects go, so it
// refuses them.
type UnknownScopeError struct {
	schema.GroupVersionKind
}

func (e *UnknownScopeError) Error() string {
	group := e.Group
	if group == "" {
		return fmt.Sprintf("%s of apiVersion %s is not a kind of Kubernetes %s, and custom resources have an API group", e.Kind, e.GroupVersion(), kinds.KubernetesVersion)
	}
	return fmt.Sprintf("%s of apiVersion %s is neither built into Kubernetes %s nor declared in pave.yaml, so pave cannot tell its scope; the platform team declares it in pave.yaml: customResources: [{group: %s, kind: %s, scope: Namespaced or Cluster}]", e.Kind, e.GroupVersion(), kinds.KubernetesVersion, group, e.Kind)
}
