# METADATA
# title: No host namespaces, paths or ports
# description: |
#   hostNetwork, hostPID, hostIPC, hostPath volumes and hostPort bind a pod
#   to its node and let it see or change what belongs to other tenants.
# custom:
#   id: no-host-access
#   remediation: Remove hostNetwork, hostPID, hostIPC, hostPath volumes and hostPort from the pod (usually set by a patch); use a Service to expose ports and emptyDir or a PersistentVolumeClaim for storage.
package pave.policies.no_host_access

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some id, pod in k8s.pods
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	pod.spec[field] == true
	v := {
		"msg": sprintf("%s: pod uses %s", [id, field]),
		"object": pod.ref,
	}
}

deny contains v if {
	some id, pod in k8s.pods
	some volume in object.get(pod.spec, "volumes", [])
	volume.hostPath
	v := {
		"msg": sprintf("%s: volume %q mounts the host path %q", [id, volume.name, object.get(volume.hostPath, "path", "")]),
		"object": pod.ref,
	}
}

deny contains v if {
	some x in k8s.containers
	some port in object.get(x.container, "ports", [])
	object.get(port, "hostPort", 0) != 0
	v := {
		"msg": sprintf("%s: container %q binds host port %v", [x.pod, x.container.name, port.hostPort]),
		"object": k8s.pods[x.pod].ref,
	}
}
