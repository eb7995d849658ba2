package pave.policies.pdb_required_test

import data.pave.lib.fixtures
import data.pave.policies.pdb_required

test_compliant_services_pass if {
	count(pdb_required.deny) == 0 with input as fixtures.web
	count(pdb_required.deny) == 0 with input as fixtures.job
}

without_pdb := fixtures.with_objects(fixtures.web, [fixtures.deployment, fixtures.network_policy])

test_missing_pdb_in_staging_passes if {
	count(pdb_required.deny) == 0 with input as object.union(without_pdb, {"environment": "staging"})
}

test_missing_pdb_in_prod_denied if {
	pdb_required.deny == {{
		"msg": "Deployment/checkout: no PodDisruptionBudget covers its pods in prod",
		"object": {"kind": "Deployment", "name": "checkout"},
	}} with input as without_pdb
}

test_pdb_for_other_pods_denied if {
	pdb := json.patch(fixtures.pdb, [{"op": "replace", "path": "/spec/selector/matchLabels/app.kubernetes.io~1name", "value": "web"}])
	count(pdb_required.deny) == 1 with input as fixtures.with_objects(fixtures.web, [fixtures.deployment, pdb])
}
