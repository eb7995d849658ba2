package pave.policies.no_privilege_escalation_test

import data.pave.lib.fixtures
import data.pave.policies.no_privilege_escalation

test_compliant_services_pass if {
	count(no_privilege_escalation.deny) == 0 with input as fixtures.web
	count(no_privilege_escalation.deny) == 0 with input as fixtures.job
}

test_escalation_allowed_denied if {
	inp := fixtures.deployment_with([{"op": "replace", "path": "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation", "value": true}])
	count(no_privilege_escalation.deny) == 1 with input as inp
}

test_unset_denied if {
	inp := fixtures.cronjob_with([{"op": "remove", "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"}])
	some v in no_privilege_escalation.deny with input as inp
	v.object.kind == "CronJob"
}
