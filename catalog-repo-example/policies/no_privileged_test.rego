package pave.policies.no_privileged_test

import data.pave.lib.fixtures
import data.pave.policies.no_privileged

test_compliant_services_pass if {
	count(no_privileged.deny) == 0 with input as fixtures.web
	count(no_privileged.deny) == 0 with input as fixtures.job
}

test_privileged_false_passes if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/privileged", "value": false}])
	count(no_privileged.deny) == 0 with input as inp
}

test_privileged_container_denied if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/privileged", "value": true}])
	no_privileged.deny == {{
		"msg": `Deployment/checkout: container "checkout" runs privileged`,
		"object": {"kind": "Deployment", "name": "checkout"},
	}} with input as inp
}

test_privileged_init_container_in_cronjob_denied if {
	sidecar := {"name": "setup", "image": "registry.example.com/payments/setup:1.0.0", "securityContext": {"privileged": true}}
	inp := fixtures.cronjob_with([{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/initContainers", "value": [sidecar]}])
	count(no_privileged.deny) == 1 with input as inp
}
