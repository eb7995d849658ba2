package pave.policies.allowed_registries_test

import data.pave.lib.fixtures
import data.pave.policies.allowed_registries

image_path := "/spec/template/spec/containers/0/image"

test_compliant_services_pass if {
	count(allowed_registries.deny) == 0 with input as fixtures.web with data.pave.registries as fixtures.data_pave.registries
	count(allowed_registries.deny) == 0 with input as fixtures.job with data.pave.registries as fixtures.data_pave.registries
}

test_registry_with_path_prefix_passes if {
	count(allowed_registries.deny) == 0 with input as fixtures.web with data.pave.registries as ["registry.example.com/payments"]
}

test_other_registry_denied_on_image_field if {
	image := "ghcr.io/someone/checkout:1.4.2"
	inp := object.union(
		fixtures.deployment_with([{"op": "replace", "path": image_path, "value": image}]),
		{"service": object.union(fixtures.service, {"image": image})},
	)
	some v in allowed_registries.deny with input as inp with data.pave.registries as fixtures.data_pave.registries
	v.field == "image"
	contains(v.msg, "ghcr.io/someone/checkout:1.4.2")
}

test_docker_hub_shorthand_denied if {
	inp := fixtures.deployment_with([{"op": "replace", "path": image_path, "value": "nginx:1.27"}])
	count(allowed_registries.deny) == 1 with input as inp with data.pave.registries as fixtures.data_pave.registries
}

test_lookalike_host_denied if {
	inp := fixtures.deployment_with([{"op": "replace", "path": image_path, "value": "registry.example.com.evil.io/payments/checkout:1.4.2"}])
	count(allowed_registries.deny) == 1 with input as inp with data.pave.registries as fixtures.data_pave.registries
}

test_no_registries_denies_everything if {
	count(allowed_registries.deny) == 1 with input as fixtures.job with data.pave.registries as []
}
