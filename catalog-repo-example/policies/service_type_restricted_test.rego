package pave.policies.service_type_restricted_test

import data.pave.lib.fixtures
import data.pave.policies.service_type_restricted

service_with_type(type) := fixtures.service_with([{"op": "replace", "path": "/spec/type", "value": type}])

test_cluster_ip_passes if {
	count(service_type_restricted.deny) == 0 with input as fixtures.web
	count(service_type_restricted.deny) == 0 with input as service_with_type("ClusterIP")
}

test_headless_and_untyped_pass if {
	count(service_type_restricted.deny) == 0 with input as fixtures.service_with([{"op": "add", "path": "/spec/clusterIP", "value": "None"}])
	count(service_type_restricted.deny) == 0 with input as fixtures.service_with([{"op": "remove", "path": "/spec/type"}])
}

test_node_port_denied if {
	service_type_restricted.deny == {{
		"msg": "Service/checkout: type NodePort exposes the service outside the cluster",
		"object": {"kind": "Service", "name": "checkout"},
	}} with input as service_with_type("NodePort")
}

test_load_balancer_denied if {
	count(service_type_restricted.deny) == 1 with input as service_with_type("LoadBalancer")
}

test_external_name_denied if {
	inp := fixtures.service_with([
		{"op": "replace", "path": "/spec", "value": {"type": "ExternalName", "externalName": "ledger.payments-prod.svc.cluster.local"}},
	])
	service_type_restricted.deny == {{
		"msg": `Service/checkout: type ExternalName makes the Service an alias of "ledger.payments-prod.svc.cluster.local"; an ingress in front of it would proxy to that host from the ingress controller's namespace, past NetworkPolicies`,
		"object": {"kind": "Service", "name": "checkout"},
	}} with input as inp
}
