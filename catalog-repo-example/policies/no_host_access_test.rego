package pave.policies.no_host_access_test

import data.pave.lib.fixtures
import data.pave.policies.no_host_access

test_compliant_services_pass if {
	count(no_host_access.deny) == 0 with input as fixtures.web
	count(no_host_access.deny) == 0 with input as fixtures.job
}

test_host_network_denied if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/hostNetwork", "value": true}])
	some v in no_host_access.deny with input as inp
	v.msg == "Deployment/checkout: pod uses hostNetwork"
}

test_host_pid_and_ipc_denied_in_cronjob if {
	inp := fixtures.cronjob_with([
		{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/hostPID", "value": true},
		{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/hostIPC", "value": true},
	])
	count(no_host_access.deny) == 2 with input as inp
}

test_host_path_denied if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/volumes/-", "value": {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}}])
	some v in no_host_access.deny with input as inp
	contains(v.msg, "/var/run/docker.sock")
}

test_host_port_denied if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/ports/0/hostPort", "value": 8080}])
	count(no_host_access.deny) == 1 with input as inp
}
