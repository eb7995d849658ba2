package pave.policies.required_labels_test

import data.pave.lib.fixtures
import data.pave.policies.required_labels

test_compliant_services_pass if {
	count(required_labels.deny) == 0 with input as fixtures.web
	count(required_labels.deny) == 0 with input as fixtures.job
}

test_missing_service_label_denied if {
	inp := fixtures.deployment_with([{"op": "remove", "path": "/metadata/labels/pave.dev~1service"}])
	required_labels.deny == {{
		"msg": "Deployment/checkout: label pave.dev/service=checkout is missing",
		"object": {"kind": "Deployment", "name": "checkout"},
	}} with input as inp
}

test_wrong_team_label_denied if {
	inp := fixtures.deployment_with([{"op": "replace", "path": "/metadata/labels/pave.dev~1team", "value": "storefront"}])
	some v in required_labels.deny with input as inp
	contains(v.msg, `is "storefront", not "payments"`)
}

test_missing_pod_template_team_label_in_cronjob_denied if {
	inp := fixtures.cronjob_with([{"op": "remove", "path": "/spec/jobTemplate/spec/template/metadata/labels/pave.dev~1team"}])
	count(required_labels.deny) == 1 with input as inp
}
