# METADATA
# title: Services claim no external IPs
# description: |
#   kube-proxy on every node sends the traffic for a Service's externalIPs
#   to that Service's pods, whoever the addresses belong to: a service
#   could capture the traffic of another team, of the cluster's DNS or of
#   an outside host that pods talk to (CVE-2020-8554). No Service sets
#   externalIPs; traffic comes in through ingress.
# custom:
#   id: no-external-ips
#   remediation: Remove spec.externalIPs from the Service (usually set by a patch) and expose the service with ingress.host in service.yaml. An exception to no-external-ips needs the platform team, who own the addresses.
package pave.policies.no_external_ips

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some obj in input.objects
	obj.kind == "Service"
	ips := object.get(obj, ["spec", "externalIPs"], [])
	not ips in {[], null}
	v := {
		"msg": sprintf("%s: externalIPs %s would send every node's traffic for these addresses to this Service", [k8s.describe(obj), listed(ips)]),
		"object": k8s.ref(obj),
	}
}

listed(ips) := concat(", ", [sprintf("%v", [ip]) | some ip in ips]) if is_array(ips)

listed(ips) := sprintf("%v", [ips]) if not is_array(ips)
