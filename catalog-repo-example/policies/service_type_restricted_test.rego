package pave.policies.service_type_restricted_test

import data.pave.lib.fixtures
import data.pave.policies.service_type_restricted

service_with_type(type) := fixtures.with_objects(fixtures.web, [fixtures.deployment, json.patch(fixtures.service_object, [{"op": "replace", "path": "/spec/type", "value": type}])])

test_cluster_ip_passes if {
	count(service_type_restricted.deny) == 0 with input as fixtures.web
	count(service_type_restricted.deny) == 0 with input as service_with_type("ClusterIP")
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
