# METADATA
# title: Host names stay in the team's domains
# description: |
#   A host name routes the internet's traffic for that name, and a TLS host
#   can get a certificate issued for it. Each team owns the DNS names that
#   pave.yaml lists for it (teams[].domains): a service may use a domain
#   itself or any name below it, nothing else — not another team's host,
#   not the company's apex. The host names of Ingress rules, TLS sections
#   and server aliases, Gateway API routes and listeners, cert-manager
#   Certificates, NGINX VirtualServers and Contour HTTPProxies are checked,
#   and an Ingress rule or route with no host name (which answers for every
#   host nobody else claims) or an Ingress default backend is refused. A
#   team with no domains may use no host name.
# custom:
#   id: ingress-host-in-team-domain
#   remediation: Set ingress.host to a name under one of your team's domains (pave.yaml teams[].domains). To use another domain, ask the platform team to add it to your team in pave.yaml.
package pave.policies.ingress_host_in_team_domain

import data.pave.lib.kubernetes as k8s

team := input.service.team

domains := sort({lower(d) |
	some t in data.pave.teams
	t.name == team
	some d in object.get(t, "domains", [])
})

route_kinds := {"HTTPRoute", "GRPCRoute", "TLSRoute"}

# Annotations that give an Ingress more host names.
alias_annotations := {
	"nginx.ingress.kubernetes.io/server-alias",
	"ingress.kubernetes.io/server-alias",
	"haproxy-ingress.github.io/server-alias",
}

# Annotations that give an Ingress host names by a pattern.
pattern_annotations := {
	"ingress.kubernetes.io/server-alias-regex",
	"haproxy-ingress.github.io/server-alias-regex",
}

deny contains v if {
	some c in claims
	not allowed(c.host)
	paths := sort({other.path |
		some other in claims
		other.id == c.id
		other.host == c.host
	})
	v := object.union(
		{"msg": outside(c, concat(", ", paths)), "object": c.ref},
		{"field": f | f := host_field(c.host)},
	)
}

outside(c, paths) := sprintf("%s: host %q (%s) is outside the domains of team %s (%s)", [c.id, c.host, paths, team, concat(", ", domains)]) if count(domains) > 0

outside(c, paths) := sprintf("%s: host %q (%s) is not allowed: team %s has no domains in pave.yaml (teams[].domains), so its services may use no host name", [c.id, c.host, paths, team]) if count(domains) == 0

# Rules and routes without a host name take every host nobody else claims.
deny contains v if {
	some obj in input.objects
	obj.kind == "Ingress"
	some i, rule in object.get(obj, ["spec", "rules"], [])
	object.get(rule, "host", "") == ""
	v := {
		"msg": sprintf("%s: spec.rules[%d] has no host: it would answer for every host name that no other Ingress claims", [k8s.describe(obj), i]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind == "Ingress"
	object.get(obj, ["spec", "defaultBackend"], null) != null
	v := {
		"msg": sprintf("%s: spec.defaultBackend would answer for every host name that no other Ingress claims", [k8s.describe(obj)]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind in route_kinds
	object.get(obj, ["spec", "hostnames"], []) in {[], null}
	v := {
		"msg": sprintf("%s: spec.hostnames is empty: the route would answer for every host name of the Gateways it attaches to", [k8s.describe(obj)]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind == "Ingress"
	some key, _ in k8s.annotations(obj)
	lower(key) in pattern_annotations
	v := {
		"msg": sprintf("%s: annotation %s names hosts by a pattern, which cannot be held to team %s's domains", [k8s.describe(obj), key, team]),
		"object": k8s.ref(obj),
	}
}

allowed(host) if {
	some domain in domains
	covers(domain, host)
}

# covers(domain, host) is true when host is domain or a name below it
# (a wildcard *.domain included), as catalog.DomainCovers.
covers(domain, host) if host == domain

covers(domain, host) if endswith(host, concat("", [".", domain]))

host_field(host) := "ingress.host" if normalized(object.get(input.service, ["ingress", "host"], "")) == host

normalized(host) := trim_suffix(lower(trim_space(host)), ".")

# claims are the host names the rendered objects answer for: the object
# ("Kind/name" and reference), the host and the field that names it.
claims contains claim(obj, host, sprintf("spec.rules[%d].host", [i])) if {
	some obj in input.objects
	obj.kind == "Ingress"
	some i, rule in object.get(obj, ["spec", "rules"], [])
	host := object.get(rule, "host", "")
	host != ""
}

claims contains claim(obj, host, sprintf("spec.tls[%d].hosts[%d]", [i, j])) if {
	some obj in input.objects
	obj.kind == "Ingress"
	some i, tls in object.get(obj, ["spec", "tls"], [])
	some j, host in object.get(tls, "hosts", [])
}

claims contains claim(obj, host, sprintf("annotation %s", [key])) if {
	some obj in input.objects
	obj.kind == "Ingress"
	some key, value in k8s.annotations(obj)
	lower(key) in alias_annotations
	some host in regex.split(`[\s,]+`, trim_space(value))
	host != ""
}

claims contains claim(obj, host, sprintf("spec.hostnames[%d]", [i])) if {
	some obj in input.objects
	obj.kind in route_kinds
	some i, host in object.get(obj, ["spec", "hostnames"], [])
}

claims contains claim(obj, listener.hostname, sprintf("spec.listeners[%d].hostname", [i])) if {
	some obj in input.objects
	obj.kind == "Gateway"
	some i, listener in object.get(obj, ["spec", "listeners"], [])
}

claims contains claim(obj, host, sprintf("spec.dnsNames[%d]", [i])) if {
	some obj in input.objects
	obj.kind == "Certificate"
	some i, host in object.get(obj, ["spec", "dnsNames"], [])
}

claims contains claim(obj, obj.spec.commonName, "spec.commonName") if {
	some obj in input.objects
	obj.kind == "Certificate"
}

claims contains claim(obj, obj.spec.host, "spec.host") if {
	some obj in input.objects
	obj.kind == "VirtualServer"
}

claims contains claim(obj, obj.spec.virtualhost.fqdn, "spec.virtualhost.fqdn") if {
	some obj in input.objects
	obj.kind == "HTTPProxy"
}

claim(obj, host, path) := {"id": k8s.describe(obj), "ref": k8s.ref(obj), "host": normalized(sprintf("%v", [host])), "path": path}
