package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pave-dev/pave/catalog"
)

// Labels and annotations pave stamps on every object it renders.
const (
	LabelName        = "app.kubernetes.io/name"
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelTeam        = "pave.dev/team"
	LabelService     = "pave.dev/service"
	LabelEnvironment = "pave.dev/environment"

	AnnotationTemplate = "pave.dev/template"
	AnnotationSource   = "pave.dev/source"
	AnnotationRevision = "pave.dev/revision"

	// ManagedBy is the value of app.kubernetes.io/managed-by.
	ManagedBy = "pave"
)

// kindOrder is the order objects are listed and applied in: what others
// depend on comes first.
var kindOrder = []string{
	"Namespace", "ResourceQuota", "LimitRange", "PriorityClass",
	"CustomResourceDefinition", "ServiceAccount", "Secret", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
	"Service", "DaemonSet", "Pod", "ReplicaSet", "Deployment", "StatefulSet",
	"Job", "CronJob", "HorizontalPodAutoscaler", "PodDisruptionBudget",
	"NetworkPolicy", "IngressClass", "Ingress",
}

func kindRank(kind string) int {
	if i := slices.Index(kindOrder, kind); i >= 0 {
		return i
	}
	return len(kindOrder)
}

// sortObjects orders objects by kind priority, then kind, namespace and
// name, so the same inputs always give the same output.
func sortObjects(objs []*unstructured.Unstructured) {
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return cmp.Or(
			cmp.Compare(kindRank(a.GetKind()), kindRank(b.GetKind())),
			cmp.Compare(a.GetKind(), b.GetKind()),
			cmp.Compare(a.GetAPIVersion(), b.GetAPIVersion()),
			cmp.Compare(a.GetNamespace(), b.GetNamespace()),
			cmp.Compare(a.GetName(), b.GetName()),
		)
	})
}

// placement is where a service's objects may go: its team's namespace,
// the namespaces and cluster-scoped kinds pave.yaml allows its template,
// and for cluster-scoped objects, names of its own.
type placement struct {
	namespace string
	template  string
	policy    catalog.TemplatePolicy
	scopes    *Scopes
	// owner is "{team}-{service}": the name, or the prefix with "-", of
	// the cluster-scoped objects pave derives per service.
	owner string
}

// place puts namespaced objects without a namespace into the service's
// namespace and refuses anything else the platform has not allowed for
// the template: a Namespace, a kind whose scope pave cannot tell, another
// cluster-scoped kind or one not named for the service, another namespace.
func (p placement) place(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		kind := gvk.Kind
		namespaced, known := p.scopes.Namespaced(gvk.GroupKind())
		switch {
		case !known:
			return fmt.Errorf("template %s renders %s %q: %w", p.template, kind, o.GetName(), &UnknownScopeError{GroupVersionKind: gvk})
		case gvk.Group == "" && kind == "Namespace":
			return fmt.Errorf("template %s renders Namespace %q; pave renders each team's namespace itself", p.template, o.GetName())
		case !namespaced:
			if !slices.Contains(p.policy.AllowClusterScoped, kind) {
				return fmt.Errorf("template %s renders cluster-scoped %s %q, which pave.yaml does not allow for this template (templates.%s.allowClusterScoped)", p.template, kind, o.GetName(), p.template)
			}
			if name := o.GetName(); name != p.owner && !strings.HasPrefix(name, p.owner+"-") && !slices.Contains(p.policy.ClusterScopedNames, name) {
				return fmt.Errorf("template %s renders cluster-scoped %s %q; its name must be %q or start with %q, as pave derives per service, or be listed in pave.yaml (templates.%s.clusterScopedNames)", p.template, kind, name, p.owner, p.owner+"-", p.template)
			}
			o.SetNamespace("")
		case o.GetNamespace() == "":
			o.SetNamespace(p.namespace)
		case o.GetNamespace() != p.namespace && !slices.Contains(p.policy.AllowNamespaces, o.GetNamespace()):
			return fmt.Errorf("template %s puts %s %q in namespace %q; services may only use their team's namespace %q (pave.yaml templates.%s.allowNamespaces)", p.template, kind, o.GetName(), o.GetNamespace(), p.namespace, p.template)
		}
	}
	return nil
}

// stamp adds pave's labels and provenance annotations. The
// app.kubernetes.io labels are added only where the chart has not set
// them: its selectors and ServiceMonitors may rely on its own. pave's
// identity (whose object this is) is in its pave.dev keys, which are
// always pave's.
func stamp(o *unstructured.Unstructured, svc *catalog.Service, env, template string) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	if _, set := labels[LabelName]; !set {
		labels[LabelName] = svc.Metadata.Name
	}
	if _, set := labels[LabelManagedBy]; !set {
		labels[LabelManagedBy] = ManagedBy
	}
	labels[LabelTeam] = svc.Metadata.Team
	labels[LabelService] = svc.Metadata.Name
	labels[LabelEnvironment] = env
	o.SetLabels(labels)
	ann := o.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationTemplate] = template
	ann[AnnotationSource] = svc.File
	delete(ann, AnnotationRevision)
	o.SetAnnotations(ann)
}

// namespaceObject is the team's namespace in an environment. It is shared
// by all of the team's services, so it carries the team's labels, never
// one service's: Pod Security "restricted" is enforced on it.
func namespaceObject(name, team, env string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("v1")
	o.SetKind("Namespace")
	o.SetName(name)
	o.SetLabels(map[string]string{
		LabelManagedBy:                       ManagedBy,
		LabelTeam:                            team,
		LabelEnvironment:                     env,
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/audit":           "restricted",
		"pod-security.kubernetes.io/warn":            "restricted",
	})
	return o
}

// objectID names an object for messages and duplicate checks.
func objectID(o *unstructured.Unstructured) string {
	id := o.GetKind() + " "
	if ns := o.GetNamespace(); ns != "" {
		id += ns + "/"
	}
	return id + o.GetName()
}
