# METADATA
# title: Services stay inside the cluster
# description: |
#   NodePort and LoadBalancer Services open ports on every node or on the
#   internet, around the ingress controller and its TLS, authentication and
#   logging. An ExternalName Service makes a cluster DNS name an alias of
#   any host — another team's Service, the cloud's metadata address — and
#   an ingress in front of it proxies there from the controller's trusted
#   namespace, past every NetworkPolicy. Services are ClusterIP; traffic
#   comes in through ingress, and outside hosts are reached by their own
#   names.
# custom:
#   id: service-type-restricted
#   remediation: Keep the Service ClusterIP (remove the patch that changes its type) and set ingress.host in service.yaml to expose it; reach an outside host by its own name from env. If the service truly needs a load balancer, ask the platform team for an exception to service-type-restricted.
package pave.policies.service_type_restricted

import data.pave.lib.kubernetes as k8s

exposing := {"NodePort", "LoadBalancer"}

deny contains v if {
	some obj in input.objects
	obj.kind == "Service"
	type := object.get(obj, ["spec", "type"], "ClusterIP")
	type in exposing
	v := {
		"msg": sprintf("%s: type %s exposes the service outside the cluster", [k8s.describe(obj), type]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind == "Service"
	object.get(obj, ["spec", "type"], "ClusterIP") == "ExternalName"
	v := {
		"msg": sprintf("%s: type ExternalName makes the Service an alias of %q; an ingress in front of it would proxy to that host from the ingress controller's namespace, past NetworkPolicies", [k8s.describe(obj), object.get(obj, ["spec", "externalName"], "")]),
		"object": k8s.ref(obj),
	}
}
