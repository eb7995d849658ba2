# METADATA
# title: At least two replicas in production
# description: |
#   A single pod goes down with its node, and at every rollout or drain.
#   In production, Deployments and StatefulSets run at least two replicas,
#   or autoscale with a minimum of at least two.
# custom:
#   id: prod-min-replicas
#   remediation: Set replicas to 2 or more for prod in service.yaml (environments.prod.replicas), or autoscaling.min to 2 or more.
package pave.policies.prod_min_replicas

import data.pave.lib.kubernetes as k8s

min_replicas := 2

deny contains v if {
	k8s.production
	some obj in input.objects
	obj.kind in k8s.replicated_kinds
	some hpa in autoscalers
	hpa.target == k8s.describe(obj)
	hpa.min < min_replicas
	v := {
		"msg": sprintf("%s: autoscales down to %d replica(s) in %s; at least %d are required", [hpa.target, hpa.min, input.environment, min_replicas]),
		"object": k8s.ref(obj),
		"field": "autoscaling.min",
	}
}

deny contains v if {
	k8s.production
	some obj in input.objects
	obj.kind in k8s.replicated_kinds
	not autoscaled(k8s.describe(obj))
	object.get(obj.spec, "replicas", 1) < min_replicas
	v := {
		"msg": sprintf("%s: runs %d replica(s) in %s; at least %d are required", [k8s.describe(obj), object.get(obj.spec, "replicas", 1), input.environment, min_replicas]),
		"object": k8s.ref(obj),
		"field": "replicas",
	}
}

# autoscalers are the HorizontalPodAutoscalers: their target ("Kind/name")
# and minimum.
autoscalers contains {"target": target, "min": object.get(hpa.spec, "minReplicas", 1)} if {
	some hpa in input.objects
	hpa.kind == "HorizontalPodAutoscaler"
	target := sprintf("%s/%s", [hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name])
}

autoscaled(target) if {
	some hpa in autoscalers
	hpa.target == target
}
