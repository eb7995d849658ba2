package pave.policies.prod_min_replicas_test

import data.pave.lib.fixtures
import data.pave.policies.prod_min_replicas

single := fixtures.deployment_with([{"op": "replace", "path": "/spec/replicas", "value": 1}])

test_compliant_services_pass if {
	count(prod_min_replicas.deny) == 0 with input as fixtures.web
	count(prod_min_replicas.deny) == 0 with input as fixtures.job
}

test_single_replica_in_staging_passes if {
	count(prod_min_replicas.deny) == 0 with input as object.union(single, {"environment": "staging"})
}

test_single_replica_in_prod_denied_on_replicas if {
	prod_min_replicas.deny == {{
		"msg": "Deployment/checkout: runs 1 replica(s) in prod; at least 2 are required",
		"object": {"kind": "Deployment", "name": "checkout"},
		"field": "replicas",
	}} with input as single
}

test_autoscaling_min_two_passes if {
	deployment := json.remove(fixtures.deployment, ["spec/replicas"])
	count(prod_min_replicas.deny) == 0 with input as fixtures.with_objects(fixtures.web, [deployment, fixtures.hpa])
}

test_autoscaling_min_one_denied_on_autoscaling if {
	deployment := json.remove(fixtures.deployment, ["spec/replicas"])
	hpa := json.patch(fixtures.hpa, [{"op": "replace", "path": "/spec/minReplicas", "value": 1}])
	some v in prod_min_replicas.deny with input as fixtures.with_objects(fixtures.web, [deployment, hpa])
	v.field == "autoscaling.min"
}
