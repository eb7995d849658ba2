# METADATA
# title: Workloads have a NetworkPolicy
# description: |
#   Without a NetworkPolicy selecting its pods, a workload accepts traffic
#   from every pod of the cluster. Every workload's pods are selected by a
#   NetworkPolicy rendered with it.
# custom:
#   id: network-policy-required
#   remediation: Keep the template's NetworkPolicy; a patch must not change the pod labels it selects on.
package pave.policies.network_policy_required

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some id, pod in k8s.pods
	not selected(pod.labels)
	v := {
		"msg": sprintf("%s: no NetworkPolicy selects its pods", [id]),
		"object": pod.ref,
	}
}

selected(labels) if {
	some np in input.objects
	np.kind == "NetworkPolicy"
	k8s.selects(object.get(np.spec, "podSelector", {}), labels)
}
