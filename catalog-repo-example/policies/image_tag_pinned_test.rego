package pave.policies.image_tag_pinned_test

import data.pave.lib.fixtures
import data.pave.policies.image_tag_pinned

image_path := "/spec/template/spec/containers/0/image"

test_compliant_services_pass if {
	count(image_tag_pinned.deny) == 0 with input as fixtures.web
	count(image_tag_pinned.deny) == 0 with input as fixtures.job
}

test_digest_passes if {
	inp := fixtures.deployment_with([{"op": "replace", "path": image_path, "value": "registry.example.com/payments/checkout@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}])
	count(image_tag_pinned.deny) == 0 with input as inp
}

test_registry_port_is_not_a_tag if {
	inp := fixtures.deployment_with([{"op": "replace", "path": image_path, "value": "registry.example.com:5000/payments/checkout"}])
	some v in image_tag_pinned.deny with input as inp
	contains(v.msg, "has no tag")
}

test_latest_service_image_points_at_image_field if {
	image := "registry.example.com/payments/checkout:latest"
	inp := object.union(
		fixtures.deployment_with([{"op": "replace", "path": image_path, "value": image}]),
		{"service": object.union(fixtures.service, {"image": image})},
	)
	image_tag_pinned.deny == {{
		"msg": `Deployment/checkout: container "checkout" uses image "registry.example.com/payments/checkout:latest", which is tagged latest`,
		"object": {"kind": "Deployment", "name": "checkout"},
		"field": "image",
	}} with input as inp
}

test_untagged_sidecar_in_cronjob_denied_without_field if {
	sidecar := {"name": "proxy", "image": "registry.example.com/infra/proxy"}
	inp := fixtures.cronjob_with([{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/containers/-", "value": sidecar}])
	some v in image_tag_pinned.deny with input as inp
	not v.field
	contains(v.msg, `"proxy"`)
}
