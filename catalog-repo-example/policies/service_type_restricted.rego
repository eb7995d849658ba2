# METADATA
# title: Services stay inside the cluster
# description: |
#   NodePort and LoadBalancer Services open ports on every node or on the
#   internet, around the ingress controller and its TLS, authentication and
#   logging. Services are ClusterIP; traffic comes in through ingress.
# custom:
#   id: service-type-restricted
#   remediation: Set ingress.host in service.yaml to expose the service, and remove the patch that changes the Service type.
package pave.policies.service_type_restricted

import data.pave.lib.kubernetes as k8s

restricted := {"NodePort", "LoadBalancer"}

deny contains v if {
	some obj in input.objects
	obj.kind == "Service"
	obj.spec.type in restricted
	v := {
		"msg": sprintf("%s: type %s exposes the service outside the cluster", [k8s.describe(obj), obj.spec.type]),
		"object": k8s.ref(obj),
	}
}
