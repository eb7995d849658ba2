package pave.policies.probes_required_test

import data.pave.lib.fixtures
import data.pave.policies.probes_required

test_compliant_services_pass if {
	count(probes_required.deny) == 0 with input as fixtures.web
	count(probes_required.deny) == 0 with input as fixtures.job
}

test_missing_readiness_denied if {
	inp := fixtures.deployment_with([{"op": "remove", "path": "/spec/template/spec/containers/0/readinessProbe"}])
	probes_required.deny == {{
		"msg": `Deployment/checkout: container "checkout" has no readinessProbe`,
		"object": {"kind": "Deployment", "name": "checkout"},
	}} with input as inp
}

test_missing_both_denied_twice if {
	inp := fixtures.deployment_with([
		{"op": "remove", "path": "/spec/template/spec/containers/0/readinessProbe"},
		{"op": "remove", "path": "/spec/template/spec/containers/0/livenessProbe"},
	])
	count(probes_required.deny) == 2 with input as inp
}
