# METADATA
# title: No privileged containers
# description: |
#   A privileged container has every device and capability of the node: it
#   is the node's root. No service on the paved road needs it.
# custom:
#   id: no-privileged
#   remediation: Remove "privileged true" from the container's securityContext (usually set by a patch); ask the platform team if a workload truly needs node access.
package pave.policies.no_privileged

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	c := x.container
	x.security.privileged == true
	v := {
		"msg": sprintf("%s: container %q runs privileged", [x.pod, c.name]),
		"object": k8s.pods[x.pod].ref,
	}
}
