package pave.policies.drop_all_capabilities_test

import data.pave.lib.fixtures
import data.pave.policies.drop_all_capabilities

test_compliant_services_pass if {
	count(drop_all_capabilities.deny) == 0 with input as fixtures.web
	count(drop_all_capabilities.deny) == 0 with input as fixtures.job
}

test_net_bind_service_passes if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/capabilities/add", "value": ["NET_BIND_SERVICE"]}])
	count(drop_all_capabilities.deny) == 0 with input as inp
}

test_no_drop_denied if {
	inp := fixtures.deployment_with([{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/capabilities"}])
	count(drop_all_capabilities.deny) == 1 with input as inp
}

test_added_capability_denied if {
	inp := fixtures.cronjob_with([{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/capabilities/add", "value": ["SYS_ADMIN"]}])
	some v in drop_all_capabilities.deny with input as inp
	contains(v.msg, "adds capability SYS_ADMIN")
}
