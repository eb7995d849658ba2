package render

import (
	"cmp"
	"fmt"
	"slices"

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

// clusterScoped lists the cluster-scoped kinds of Kubernetes' built-in
// APIs. Render cannot ask a cluster; any other kind is taken as namespaced.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true,
	"ClusterRole": true, "ClusterRoleBinding": true,
	"CustomResourceDefinition": true, "APIService": true,
	"StorageClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true,
	"PriorityClass": true, "RuntimeClass": true, "IngressClass": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true,
	"CertificateSigningRequest": true, "FlowSchema": true, "PriorityLevelConfiguration": true,
	"ComponentStatus": true, "DeviceClass": true, "ResourceSlice": true,
}

// IsClusterScoped reports whether pave treats a kind as cluster-scoped.
func IsClusterScoped(kind string) bool { return clusterScoped[kind] }

// place puts namespaced objects without a namespace into the service's
// namespace and refuses anything else the platform has not allowed for
// the template: a Namespace, another cluster-scoped kind, another namespace.
func place(objs []*unstructured.Unstructured, namespace string, policy catalog.TemplatePolicy, template string) error {
	for _, o := range objs {
		kind := o.GetKind()
		switch {
		case kind == "Namespace":
			return fmt.Errorf("template %s renders Namespace %q; pave renders each team's namespace itself", template, o.GetName())
		case clusterScoped[kind]:
			if !slices.Contains(policy.AllowClusterScoped, kind) {
				return fmt.Errorf("template %s renders cluster-scoped %s %q, which pave.yaml does not allow for this template (templates.%s.allowClusterScoped)", template, kind, o.GetName(), template)
			}
			o.SetNamespace("")
		case o.GetNamespace() == "":
			o.SetNamespace(namespace)
		case o.GetNamespace() != namespace && !slices.Contains(policy.AllowNamespaces, o.GetNamespace()):
			return fmt.Errorf("template %s puts %s %q in namespace %q; services may only use their team's namespace %q (pave.yaml templates.%s.allowNamespaces)", template, kind, o.GetName(), o.GetNamespace(), namespace, template)
		}
	}
	return nil
}

// stamp adds pave's labels and provenance annotations.
func stamp(o *unstructured.Unstructured, svc *catalog.Service, env, template string) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelName] = svc.Metadata.Name
	labels[LabelManagedBy] = ManagedBy
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
