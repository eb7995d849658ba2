package pave.policies.no_external_ips_test

import data.pave.lib.fixtures
import data.pave.policies.no_external_ips

test_compliant_services_pass if {
	count(no_external_ips.deny) == 0 with input as fixtures.web
	count(no_external_ips.deny) == 0 with input as fixtures.job
}

test_empty_list_passes if {
	count(no_external_ips.deny) == 0 with input as fixtures.service_with([{"op": "add", "path": "/spec/externalIPs", "value": []}])
}

test_external_ip_denied if {
	inp := fixtures.service_with([{"op": "add", "path": "/spec/externalIPs", "value": ["10.96.0.10", "203.0.113.7"]}])
	no_external_ips.deny == {{
		"msg": "Service/checkout: externalIPs 10.96.0.10, 203.0.113.7 would send every node's traffic for these addresses to this Service",
		"object": {"kind": "Service", "name": "checkout"},
	}} with input as inp
}

test_external_ip_on_load_balancer_denied_too if {
	inp := fixtures.service_with([
		{"op": "replace", "path": "/spec/type", "value": "LoadBalancer"},
		{"op": "add", "path": "/spec/externalIPs", "value": ["198.51.100.1"]},
	])
	count(no_external_ips.deny) == 1 with input as inp
}
