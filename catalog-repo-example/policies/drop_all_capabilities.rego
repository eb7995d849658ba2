# METADATA
# title: Containers drop all capabilities
# description: |
#   Linux capabilities split root's powers; a container should start with
#   none of them. Every container must drop ALL, and may add back only
#   NET_BIND_SERVICE.
# custom:
#   id: drop-all-capabilities
#   remediation: Keep "capabilities drop [ALL]" in the container's securityContext and add no capability other than NET_BIND_SERVICE.
package pave.policies.drop_all_capabilities

import data.pave.lib.kubernetes as k8s

allowed_additions := {"NET_BIND_SERVICE"}

deny contains v if {
	some x in k8s.containers
	c := x.container
	not "ALL" in object.get(x.security, ["capabilities", "drop"], [])
	v := {
		"msg": sprintf("%s: container %q does not drop ALL capabilities", [x.pod, c.name]),
		"object": k8s.pods[x.pod].ref,
	}
}

deny contains v if {
	some x in k8s.containers
	c := x.container
	some capability in object.get(x.security, ["capabilities", "add"], [])
	not capability in allowed_additions
	v := {
		"msg": sprintf("%s: container %q adds capability %s", [x.pod, c.name, capability]),
		"object": k8s.pods[x.pod].ref,
	}
}
