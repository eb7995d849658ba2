# METADATA
# title: No privilege escalation
# description: |
#   allowPrivilegeEscalation lets a process gain more privileges than its
#   parent (setuid binaries, file capabilities). Every container must set
#   it to false.
# custom:
#   id: no-privilege-escalation
#   remediation: Keep allowPrivilegeEscalation false in the container's securityContext; remove the patch that changes it.
package pave.policies.no_privilege_escalation

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	c := x.container
	object.get(x.security, "allowPrivilegeEscalation", true) != false
	v := {
		"msg": sprintf("%s: container %q allows privilege escalation", [x.pod, c.name]),
		"object": k8s.pods[x.pod].ref,
	}
}
