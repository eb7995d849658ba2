# METADATA
# title: No configuration snippets for the ingress controller
# description: |
#   One ingress controller serves every team. A snippet annotation writes
#   raw configuration into it: a snippet can read the controller's
#   credentials and every team's TLS keys, route or rewrite other hosts'
#   traffic, or stop the controller from reloading (CVE-2021-25742).
#   Ingresses and Services carry no snippet annotation of any controller
#   (ingress-nginx and NGINX *-snippet(s), HAProxy *-config-snippet and
#   config-*, Emissary getambassador.io/config), and NGINX VirtualServer
#   resources no snippet fields.
# custom:
#   id: no-ingress-snippets
#   remediation: Remove the snippet (usually added by a patch). Use the controller's ordinary annotations, or ask the platform team to offer what you need as a template setting or a controller setting for everyone.
package pave.policies.no_ingress_snippets

import data.pave.lib.kubernetes as k8s

# Kinds whose annotations ingress controllers read.
annotated_kinds := {"Ingress", "Service"}

# NGINX Ingress Controller's custom resources, which take snippets as fields.
nginx_kinds := {"VirtualServer", "VirtualServerRoute", "TransportServer"}

deny contains v if {
	some obj in input.objects
	obj.kind in annotated_kinds
	some key, _ in k8s.annotations(obj)
	raw_configuration(key)
	v := {
		"msg": sprintf("%s: annotation %s writes raw configuration into the ingress controller that serves every team", [k8s.describe(obj), key]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind in nginx_kinds
	walk(object.get(obj, "spec", {}), [path, _])
	count(path) > 0
	field := path[count(path) - 1]
	is_string(field)
	contains(lower(field), "snippet")
	v := {
		"msg": sprintf("%s: %s writes raw configuration into the ingress controller that serves every team", [k8s.describe(obj), k8s.path_string(array.concat(["spec"], path))]),
		"object": k8s.ref(obj),
	}
}

# raw_configuration(key) is true for annotations that take configuration
# text: any *-snippet or *-snippets (ingress-nginx, NGINX, HAProxy and
# others), HAProxy Ingress' config-* keys, Emissary's Mapping definitions.
raw_configuration(key) if contains(lower(name(key)), "snippet")

raw_configuration(key) if {
	prefix(key) in {"ingress.kubernetes.io", "haproxy-ingress.github.io"}
	startswith(name(key), "config-")
}

raw_configuration(key) if lower(key) == "getambassador.io/config"

name(key) := n if {
	parts := split(key, "/")
	n := parts[count(parts) - 1]
}

prefix(key) := lower(split(key, "/")[0]) if contains(key, "/")
