package pave.policies.network_policy_required_test

import data.pave.lib.fixtures
import data.pave.policies.network_policy_required

test_compliant_services_pass if {
	count(network_policy_required.deny) == 0 with input as fixtures.web
	count(network_policy_required.deny) == 0 with input as fixtures.job
}

test_empty_pod_selector_covers_all_pods if {
	np := json.patch(fixtures.network_policy, [{"op": "replace", "path": "/spec/podSelector", "value": {}}])
	count(network_policy_required.deny) == 0 with input as fixtures.with_objects(fixtures.web, [fixtures.deployment, np])
}

test_match_expressions if {
	np := json.patch(fixtures.network_policy, [{"op": "replace", "path": "/spec/podSelector", "value": {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": ["checkout", "web"]}]}}])
	count(network_policy_required.deny) == 0 with input as fixtures.with_objects(fixtures.web, [fixtures.deployment, np])
}

test_missing_network_policy_denied if {
	network_policy_required.deny == {{
		"msg": "Deployment/checkout: no NetworkPolicy selects its pods",
		"object": {"kind": "Deployment", "name": "checkout"},
	}} with input as fixtures.with_objects(fixtures.web, [fixtures.deployment])
}

test_network_policy_for_other_pods_denied if {
	np := json.patch(fixtures.network_policy, [{"op": "replace", "path": "/spec/podSelector/matchLabels/app.kubernetes.io~1name", "value": "web"}])
	count(network_policy_required.deny) == 1 with input as fixtures.with_objects(fixtures.job, [fixtures.cronjob, np])
}
