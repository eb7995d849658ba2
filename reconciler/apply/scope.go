package apply

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/render"
)

// RefusalError is why pave will not write a service at all: an object
// outside what pave.yaml allows its template, or one it does not own.
// Nothing of the service was written; retrying does not help until the
// catalog (or, for ownership, the live object) changes.
type RefusalError struct {
	Problems []string
}

func (e *RefusalError) Error() string { return strings.Join(e.Problems, "; ") }

// IsRefusal reports whether err is a RefusalError.
func IsRefusal(err error) bool {
	var r *RefusalError
	return errors.As(err, &r)
}

// isNamespace reports whether an object is a core Namespace (not some
// custom kind that happens to be called so).
func isNamespace(o *unstructured.Unstructured) bool {
	gvk := o.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Namespace"
}

// describe names an object for messages: "Service payments-prod/checkout",
// "Widget.example.com w" for kinds outside Kubernetes' own API groups.
func describe(o *unstructured.Unstructured) string {
	s := o.GetKind()
	if g := o.GroupVersionKind().Group; strings.Contains(g, ".") && !strings.HasSuffix(g, ".k8s.io") {
		s += "." + g
	}
	s += " "
	if ns := o.GetNamespace(); ns != "" {
		s += ns + "/"
	}
	return s + o.GetName()
}

// templatePolicy is what pave.yaml allows a rendered service's template;
// the zero policy (nothing beyond the team's namespace) without a config.
func templatePolicy(cfg *catalog.Config, res *render.Result) (string, catalog.TemplatePolicy) {
	name, _, _ := strings.Cut(res.Template, "@")
	var tp catalog.TemplatePolicy
	if cfg != nil {
		tp = cfg.Templates[name]
	}
	return name, tp
}

// checkScope is the last line of defence of team isolation, with the
// cluster's own truth: every object's scope comes from the API server's
// discovery, not from a list. A namespaced object must be in the service's
// namespace (or one pave.yaml allows its template), a cluster-scoped one of
// a kind pave.yaml allows the template and named as pave derives it
// ("{team}-{service}", "{team}-{service}-…") or as the template's
// clusterScopedNames list; a kind the cluster does not serve is refused.
func (a *Applier) checkScope(cfg *catalog.Config, res *render.Result) error {
	template, tp := templatePolicy(cfg, res)
	allowedNS := append(slices.Clone(tp.AllowNamespaces), res.AllowedNamespaces...)
	// Kinds defined by a CRD of the same render are not served yet: their
	// scope is the CRD's.
	crds := map[schema.GroupKind]bool{}
	for _, o := range res.Objects {
		if gk := o.GroupVersionKind().GroupKind(); gk.Group == "apiextensions.k8s.io" && gk.Kind == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
			crds[schema.GroupKind{Group: group, Kind: kind}] = scope == "Namespaced"
		}
	}
	prefix := res.Team + "-" + res.Name
	var problems []string
	refuse := func(o *unstructured.Unstructured, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("isolation: %s of %s %s", describe(o), res.Service, fmt.Sprintf(format, args...)))
	}
	for _, o := range res.Objects {
		if isNamespace(o) {
			if o.GetName() != res.Namespace {
				refuse(o, "is not its team's namespace %q", res.Namespace)
			}
			continue
		}
		gvk := o.GroupVersionKind()
		namespaced, err := a.Cluster.namespaced(gvk)
		if errors.Is(err, ErrUnknownKind) {
			var defined bool
			namespaced, defined = crds[gvk.GroupKind()]
			if !defined {
				refuse(o, "has apiVersion %s, kind %s, which cluster %s does not serve; pave cannot tell where it would land", gvk.GroupVersion(), gvk.Kind, a.Cluster.Name)
				continue
			}
		} else if err != nil {
			return err
		}
		ns, name := o.GetNamespace(), o.GetName()
		switch {
		case namespaced && ns == "":
			refuse(o, "has no namespace; %s is namespaced", gvk.Kind)
		case namespaced && ns == SystemNamespace:
			refuse(o, "is in %s, which holds pave's inventories; no service may write there", SystemNamespace)
		case namespaced && ns != res.Namespace && !slices.Contains(allowedNS, ns):
			refuse(o, "is in namespace %q; its team's namespace is %q (pave.yaml templates.%s.allowNamespaces)", ns, res.Namespace, template)
		case namespaced:
		case !slices.Contains(tp.AllowClusterScoped, gvk.Kind):
			refuse(o, "is cluster-scoped in cluster %s, which pave.yaml does not allow for template %s (templates.%s.allowClusterScoped)", a.Cluster.Name, template, template)
		case ns != "":
			refuse(o, "is cluster-scoped in cluster %s, yet was rendered into namespace %q", a.Cluster.Name, ns)
		case name != prefix && !strings.HasPrefix(name, prefix+"-") && !slices.Contains(tp.ClusterScopedNames, name):
			refuse(o, "is cluster-scoped: its name must be %q or start with %q, or be listed in pave.yaml templates.%s.clusterScopedNames", prefix, prefix+"-", template)
		}
	}
	if len(problems) > 0 {
		return &RefusalError{Problems: problems}
	}
	return nil
}
