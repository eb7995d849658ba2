package pave.policies.run_as_non_root_test

import data.pave.lib.fixtures
import data.pave.policies.run_as_non_root

test_compliant_services_pass if {
	count(run_as_non_root.deny) == 0 with input as fixtures.web
	count(run_as_non_root.deny) == 0 with input as fixtures.job
}

test_run_as_user_alone_passes if {
	inp := fixtures.deployment_with([
		{"op": "remove", "path": "/spec/template/spec/securityContext/runAsNonRoot"},
		{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/runAsNonRoot"},
	])
	count(run_as_non_root.deny) == 0 with input as inp
}

test_container_root_user_denied if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/securityContext/runAsUser", "value": 0}])
	some v in run_as_non_root.deny with input as inp
	v.object == {"kind": "Deployment", "name": "checkout"}
	contains(v.msg, "runs as root")
}

test_run_as_non_root_false_denied_in_cronjob if {
	inp := fixtures.cronjob_with([
		{"op": "replace", "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/runAsNonRoot", "value": false},
		{"op": "remove", "path": "/spec/jobTemplate/spec/template/spec/securityContext/runAsUser"},
	])
	count(run_as_non_root.deny) == 1 with input as inp
}
