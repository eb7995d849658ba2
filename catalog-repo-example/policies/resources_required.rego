# METADATA
# title: Resource requests and limits
# description: |
#   Without requests the scheduler packs pods blindly; without limits one
#   pod can starve its neighbours. Every container sets CPU and memory
#   requests and limits (the templates take them from the service's size).
# custom:
#   id: resources-required
#   remediation: Pick a size in service.yaml (small, medium, large) and keep the template's resources; a patch must not remove them.
package pave.policies.resources_required

import data.pave.lib.kubernetes as k8s

required := ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]

deny contains v if {
	some x in k8s.containers
	x.type != "ephemeralContainers"
	missing := [r |
		some r in required
		not has_resource(x.container, r)
	]
	count(missing) > 0
	v := {
		"msg": sprintf("%s: container %q has no %s", [x.pod, x.container.name, concat(", ", missing)]),
		"object": k8s.pods[x.pod].ref,
	}
}

has_resource(c, r) if {
	path := array.concat(["resources"], split(r, "."))
	object.get(c, path, "") != ""
}
