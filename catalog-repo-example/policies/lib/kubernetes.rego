# METADATA
# title: Kubernetes helpers
# description: |
#   What the baseline policies share: the workloads among the rendered
#   objects, their pod templates (every kind that makes pods goes through
#   pod_template), their containers, label selectors, image references and
#   host names.
package pave.lib.kubernetes

# Kinds that hold a pod template at spec.template.
template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

# Built-in kinds that carry pods, wherever their template is.
pod_kinds := template_kinds | {"Pod", "PodTemplate", "CronJob"}

# Kinds whose pods run until stopped: they need probes.
long_running_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}

# Kinds a HorizontalPodAutoscaler or a PodDisruptionBudget is about.
replicated_kinds := {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}

# pod_template(obj) is the pod template of a built-in kind that makes
# pods: {"metadata", "spec"}.
pod_template(obj) := {"metadata": object.get(obj, "metadata", {}), "spec": object.get(obj, "spec", {})} if obj.kind == "Pod"

pod_template(obj) := object.get(obj, "template", {}) if obj.kind == "PodTemplate"

pod_template(obj) := object.get(obj, ["spec", "template"], {}) if obj.kind in template_kinds

pod_template(obj) := object.get(obj, ["spec", "jobTemplate", "spec", "template"], {}) if obj.kind == "CronJob"

# pods holds every pod template among the rendered objects, by
# "Kind/name": its object's reference, its kind, its spec and its labels.
# It is the one place that knows where pods are, so that a policy on pods
# or containers covers every kind: a Pod itself, a PodTemplate, the
# workloads with spec.template, a CronJob's job template — and any other
# kind of another API group (Argo Rollouts, Knative Services, KEDA
# ScaledJobs …) wherever it embeds a pod spec; those pods are named "Kind/name (path)" unless the
# template is at spec.template. It is computed once per evaluation.
pods[id] := pod if {
	some obj in input.objects
	obj.kind in pod_kinds
	id := describe(obj)
	pod := pod_entry(obj, pod_template(obj))
}

pods[id] := pod if {
	some obj in input.objects
	not obj.kind in pod_kinds
	not builtin_api(obj)
	some entry in embedded_templates(obj)
	id := embedded_id(obj, entry.path)
	pod := pod_entry(obj, entry.template)
}

pod_entry(obj, template) := {
	"ref": ref(obj),
	"kind": obj.kind,
	"spec": object.get(template, "spec", {}),
	"labels": object.get(template, ["metadata", "labels"], {}),
}

# builtin_api(obj) is true for an object of one of Kubernetes' own API
# groups, whose kinds with pods are all in pod_kinds: nothing else of
# theirs needs searching.
builtin_api(obj) if not contains(object.get(obj, "apiVersion", ""), "/")

builtin_api(obj) if split(obj.apiVersion, "/")[0] in {"apps", "batch", "policy", "autoscaling"}

builtin_api(obj) if endswith(split(obj.apiVersion, "/")[0], ".k8s.io")

# embedded_templates(obj) finds the pod templates (objects whose spec is
# a pod spec) and bare pod specs anywhere in an object of another kind.
embedded_templates(obj) := {entry |
	walk(obj, [path, value])
	not outside_spec(path)
	is_object(value)
	entry := embedded_template(path, value)
}

embedded_template(path, value) := {"path": path, "template": value} if {
	pod_spec(value.spec)
} else := {"path": path, "template": {"spec": value}} if {
	pod_spec(value)
	not path[count(path) - 1] == "spec"
}

outside_spec(path) if path[0] in {"metadata", "status"}

embedded_id(obj, path) := describe(obj) if path in {[], ["spec", "template"]}

embedded_id(obj, path) := sprintf("%s (%s)", [describe(obj), path_string(path)]) if not path in {[], ["spec", "template"]}

# path_string(path) spells a walk path as a field path: spec.jobs[0].template.
path_string(path) := concat("", [segment |
	some i, p in path
	segment := path_segment(i, p)
])

path_segment(_, p) := sprintf("[%d]", [p]) if is_number(p)

path_segment(0, p) := p if is_string(p)

path_segment(i, p) := concat("", [".", p]) if {
	i > 0
	is_string(p)
}

# pod_spec(spec) is true for what looks like a pod spec: it has a list of
# containers of some type.
pod_spec(spec) if {
	some type in container_types
	is_array(spec[type])
}

container_types := ["initContainers", "containers", "ephemeralContainers"]

# containers lists every container of every pod: init, regular and
# ephemeral ones, with the pod's id ("Kind/name"), the container's type
# (its field in the pod spec) and its effective security context (the
# pod's, overridden by the container's).
containers contains entry if {
	some id, pod in pods
	some type in container_types
	some c in object.get(pod.spec, type, [])
	entry := {
		"pod": id,
		"type": type,
		"container": c,
		"security": object.union(
			object.get(pod.spec, "securityContext", {}),
			object.get(c, "securityContext", {}),
		),
	}
}

# ref(obj) names an object in a result.
ref(obj) := {"kind": obj.kind, "name": name(obj)}

# describe(obj) is "Kind/name" for messages.
describe(obj) := sprintf("%s/%s", [obj.kind, name(obj)])

# name(obj) is an object's name; an object without one is still checked
# (and named by its generateName, or as unnamed).
name(obj) := n if {
	n := object.get(obj, ["metadata", "name"], "")
	n != ""
} else := sprintf("%s*", [obj.metadata.generateName]) if {
	obj.metadata.generateName != ""
} else := "(unnamed)"

# annotations(obj) are an object's annotations.
annotations(obj) := object.get(obj, ["metadata", "annotations"], {})

# labels(obj) are an object's labels.
labels(obj) := object.get(obj, ["metadata", "labels"], {})

# selects(selector, labels) is true when a label selector matches labels.
# An empty selector matches everything.
selects(selector, labels) if {
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[key] == value
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_matches(expr, labels)
	}
}

expression_matches(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "NotIn"
	not labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "Exists"
	labels[expr.key]
}

expression_matches(expr, labels) if {
	expr.operator == "DoesNotExist"
	not labels[expr.key]
}

# production is true in the production environment.
production if input.environment in {"prod", "production"}

# image_field(image) is the service.yaml field that sets an image, when the
# service's own image is the one in question.
image_field(image) := "image" if image == input.service.image

# normalized_image(image) spells out the registry of an image reference,
# as the container runtime resolves it: "nginx" is
# "docker.io/library/nginx".
normalized_image(image) := image if {
	parts := split(image, "/")
	count(parts) > 1
	explicit_registry(parts[0])
}

normalized_image(image) := concat("/", ["docker.io", image]) if {
	parts := split(image, "/")
	count(parts) > 1
	not explicit_registry(parts[0])
}

normalized_image(image) := concat("/", ["docker.io/library", image]) if {
	not contains(image, "/")
}

explicit_registry(host) if contains(host, ".")

explicit_registry(host) if contains(host, ":")

explicit_registry("localhost")

# image_digest(image) is true when the image is pinned by digest.
image_digest(image) if contains(image, "@")

# image_tag(image) is the image's tag; undefined when it has none.
image_tag(image) := tag if {
	not image_digest(image)
	parts := split(image, "/")
	name := parts[count(parts) - 1]
	contains(name, ":")
	tag := split(name, ":")[1]
}
