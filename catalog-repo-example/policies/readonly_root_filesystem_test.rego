package pave.policies.readonly_root_filesystem_test

import data.pave.lib.fixtures
import data.pave.policies.readonly_root_filesystem

test_compliant_services_pass if {
	count(readonly_root_filesystem.deny) == 0 with input as fixtures.web
	count(readonly_root_filesystem.deny) == 0 with input as fixtures.job
}

test_writable_root_in_cronjob_denied if {
	inp := fixtures.cronjob_with([{"op": "replace", "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem", "value": false}])
	readonly_root_filesystem.deny == {{
		"msg": `CronJob/checkout: container "checkout" has a writable root filesystem`,
		"object": {"kind": "CronJob", "name": "checkout"},
	}} with input as inp
}

test_unset_denied if {
	inp := fixtures.deployment_with([{"op": "remove", "path": "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem"}])
	count(readonly_root_filesystem.deny) == 1 with input as inp
}
