# METADATA
# title: Images are pinned
# description: |
#   An image without a tag, or tagged latest, can change under a running
#   service: two pods of one release may run different code, and a rollback
#   does not roll back. Every image names an explicit tag or a digest.
# custom:
#   id: image-tag-pinned
#   remediation: Set image to an explicit version (registry.example.com/team/app:1.4.2) or a digest (…@sha256:…).
package pave.policies.image_tag_pinned

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	c := x.container
	problem := unpinned(c.image)
	v := object.union(
		{
			"msg": sprintf("%s: container %q uses image %q, which %s", [x.pod, c.name, c.image, problem]),
			"object": k8s.pods[x.pod].ref,
		},
		{"field": f | f := k8s.image_field(c.image)},
	)
}

unpinned(image) := "has no tag" if {
	not k8s.image_digest(image)
	not k8s.image_tag(image)
}

unpinned(image) := "is tagged latest" if k8s.image_tag(image) == "latest"
