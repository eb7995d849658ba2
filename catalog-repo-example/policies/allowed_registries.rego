# METADATA
# title: Images come from allowed registries
# description: |
#   Images are only pulled from the registries the platform team lists in
#   pave.yaml, where they are scanned and mirrored.
# custom:
#   id: allowed-registries
#   remediation: Push the image to an allowed registry (pave.yaml registries) and use that reference.
package pave.policies.allowed_registries

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	c := x.container
	not allowed(c.image)
	v := object.union(
		{
			"msg": sprintf("%s: container %q uses image %q from a registry not allowed in pave.yaml (allowed: %s)", [x.pod, c.name, c.image, concat(", ", data.pave.registries)]),
			"object": k8s.pods[x.pod].ref,
		},
		{"field": f | f := k8s.image_field(c.image)},
	)
}

allowed(image) if {
	some registry in data.pave.registries
	startswith(k8s.normalized_image(image), concat("", [trim_suffix(registry, "/"), "/"]))
}
