# METADATA
# title: Containers run as a non-root user
# description: |
#   A process running as root in a container is root on the node the moment
#   it escapes. Every container must set runAsNonRoot (itself or through
#   its pod), or a non-zero runAsUser, and none may run as user 0.
# custom:
#   id: run-as-non-root
#   remediation: Keep the template's securityContext (runAsNonRoot true, runAsUser 10001); remove the patch that changes it, and build the image to run as a non-root user.
package pave.policies.run_as_non_root

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	x.security.runAsUser == 0
	v := {
		"msg": sprintf("%s: container %q runs as root (runAsUser 0)", [x.pod, x.container.name]),
		"object": k8s.pods[x.pod].ref,
	}
}

deny contains v if {
	some x in k8s.containers
	object.get(x.security, "runAsNonRoot", false) != true
	object.get(x.security, "runAsUser", 0) < 1
	v := {
		"msg": sprintf("%s: container %q may run as root: set runAsNonRoot", [x.pod, x.container.name]),
		"object": k8s.pods[x.pod].ref,
	}
}
