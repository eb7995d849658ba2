# METADATA
# title: PodDisruptionBudget in production
# description: |
#   Without a PodDisruptionBudget, a node drain may evict every pod of a
#   service at once. In production, the pods of every Deployment and
#   StatefulSet are covered by a PodDisruptionBudget.
# custom:
#   id: pdb-required
#   remediation: Run at least two replicas in prod (the templates then render a PodDisruptionBudget); a patch must not change the pod labels it selects on.
package pave.policies.pdb_required

import data.pave.lib.kubernetes as k8s

deny contains v if {
	k8s.production
	some id, pod in k8s.pods
	pod.kind in k8s.replicated_kinds
	not covered(pod.labels)
	v := {
		"msg": sprintf("%s: no PodDisruptionBudget covers its pods in %s", [id, input.environment]),
		"object": pod.ref,
	}
}

covered(labels) if {
	some pdb in input.objects
	pdb.kind == "PodDisruptionBudget"
	k8s.selects(object.get(pdb.spec, "selector", {}), labels)
}
