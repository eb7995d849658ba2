# METADATA
# title: Kubernetes helpers
# description: |
#   What the baseline policies share: the workloads among the rendered
#   objects, their pod templates (Deployments and CronJobs alike), their
#   containers, label selectors and image references.
package pave.lib.kubernetes

# Kinds that hold a pod template at spec.template.
template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

# Kinds whose pods run until stopped: they need probes.
long_running_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}

# Kinds a HorizontalPodAutoscaler or a PodDisruptionBudget is about.
replicated_kinds := {"Deployment", "StatefulSet"}

# pod_template(obj) is a workload's pod template: {"metadata", "spec"}.
pod_template(obj) := obj.spec.template if obj.kind in template_kinds

pod_template(obj) := obj.spec.jobTemplate.spec.template if obj.kind == "CronJob"

pod_template(obj) := {"metadata": object.get(obj, "metadata", {}), "spec": obj.spec} if obj.kind == "Pod"

# pods holds every rendered workload's pod template, by "Kind/name": its
# object's reference, its spec and its labels. It is computed once per
# evaluation, so that policies do not each dig through the objects.
pods[id] := pod if {
	some obj in input.objects
	template := pod_template(obj)
	id := describe(obj)
	pod := {
		"ref": ref(obj),
		"kind": obj.kind,
		"spec": object.get(template, "spec", {}),
		"labels": object.get(template, ["metadata", "labels"], {}),
	}
}

# containers lists every container of every pod: init, regular and
# ephemeral ones, with the pod's id ("Kind/name"), the container's type
# (its field in the pod spec) and its effective security context (the
# pod's, overridden by the container's).
containers contains entry if {
	some id, pod in pods
	some type in ["initContainers", "containers", "ephemeralContainers"]
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
ref(obj) := {"kind": obj.kind, "name": obj.metadata.name}

# describe(obj) is "Kind/name" for messages.
describe(obj) := sprintf("%s/%s", [obj.kind, obj.metadata.name])

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
