package pave.policies.resources_required_test

import data.pave.lib.fixtures
import data.pave.policies.resources_required

test_compliant_services_pass if {
	count(resources_required.deny) == 0 with input as fixtures.web
	count(resources_required.deny) == 0 with input as fixtures.job
}

test_missing_limits_denied if {
	inp := fixtures.deployment_with([{"op": "remove", "path": "/spec/template/spec/containers/0/resources/limits"}])
	some v in resources_required.deny with input as inp
	v.msg == `Deployment/checkout: container "checkout" has no limits.cpu, limits.memory`
}

test_missing_resources_in_cronjob_denied if {
	inp := fixtures.cronjob_with([{"op": "remove", "path": "/spec/jobTemplate/spec/template/spec/containers/0/resources"}])
	count(resources_required.deny) == 1 with input as inp
}
