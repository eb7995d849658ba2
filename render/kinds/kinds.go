// Package kinds lists the resource kinds built into Kubernetes with their
// scope, as the API server of the version pave runs against serves them.
//
// The list in builtin.go is taken from the discovery of a real API server
// (e2e/localcluster, Kubernetes KubernetesVersion): its test starts one
// and fails when the list differs from what the server serves, and
// `go test ./render/kinds -update` writes the list again, after a
// Kubernetes upgrade say. pave uses it to tell an object's scope where it
// has no cluster to ask (pave check, the review).
package kinds

import (
	"slices"
	"strings"
)

// Kind is one resource of Kubernetes' built-in APIs (subresources left
// out).
type Kind struct {
	// Group is the API group, "" for the core group.
	Group string
	Kind  string
	// Resource is the plural name used in URLs and RBAC rules.
	Resource string
	// Versions are the served versions of the group that have the kind,
	// as discovery lists them.
	Versions   []string
	Namespaced bool
}

// Builtin returns every built-in kind, sorted by group and kind.
func Builtin() []Kind {
	out := make([]Kind, len(builtin))
	for i, k := range builtin {
		k.Versions = slices.Clone(k.Versions)
		out[i] = k
	}
	return out
}

// Lookup finds a built-in kind by API group and kind.
func Lookup(group, kind string) (Kind, bool) {
	i, ok := slices.BinarySearchFunc(builtin, Kind{Group: group, Kind: kind}, compare)
	if !ok {
		return Kind{}, false
	}
	k := builtin[i]
	k.Versions = slices.Clone(k.Versions)
	return k, true
}

func compare(a, b Kind) int {
	if c := strings.Compare(a.Group, b.Group); c != 0 {
		return c
	}
	return strings.Compare(a.Kind, b.Kind)
}
