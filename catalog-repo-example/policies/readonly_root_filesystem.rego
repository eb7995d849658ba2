# METADATA
# title: Read-only root filesystem
# description: |
#   A writable root filesystem lets an intruder change the image's binaries
#   and hides state in the container. Containers write to mounted volumes
#   (the templates mount /tmp) and keep the root filesystem read-only.
# custom:
#   id: readonly-root-filesystem
#   remediation: Keep readOnlyRootFilesystem true and write to a mounted volume such as /tmp; if the image cannot, ask the platform team for an exception.
package pave.policies.readonly_root_filesystem

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	x.type != "ephemeralContainers"
	object.get(x.security, "readOnlyRootFilesystem", false) != true
	v := {
		"msg": sprintf("%s: container %q has a writable root filesystem", [x.pod, x.container.name]),
		"object": k8s.pods[x.pod].ref,
	}
}
