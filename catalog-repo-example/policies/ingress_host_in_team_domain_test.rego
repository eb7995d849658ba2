package pave.policies.ingress_host_in_team_domain_test

import data.pave.lib.fixtures
import data.pave.policies.ingress_host_in_team_domain as policy

teams := fixtures.data_pave.teams

# exposed_at(host) is the exposed service with its host set to host
# everywhere: service.yaml, the Ingress rule and its TLS section.
exposed_at(host) := object.union(
	fixtures.ingress_with([
		{"op": "replace", "path": "/spec/rules/0/host", "value": host},
		{"op": "replace", "path": "/spec/tls/0/hosts/0", "value": host},
	]),
	{"service": object.union(fixtures.service, {"ingress": {"host": host}})},
)

as_team(inp, team) := object.union(inp, {"service": object.union(inp.service, {"team": team})})

test_hosts_in_the_teams_domains_pass if {
	missed := {host |
		some host in ["checkout.example.com", "api.checkout.example.com", "pay.example.org", "*.checkout.example.com", "Checkout.Example.com"]
		count(policy.deny) != 0 with input as exposed_at(host) with data.pave.teams as teams
	}
	print("denied:", missed)
	count(missed) == 0
}

test_service_without_hosts_passes_even_without_domains if {
	count(policy.deny) == 0 with input as as_team(fixtures.web, "data") with data.pave.teams as teams
}

test_other_teams_host_denied_on_ingress_host if {
	policy.deny == {{
		"msg": `Ingress/checkout: host "shop.example.com" (spec.rules[0].host, spec.tls[0].hosts[0]) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		"object": {"kind": "Ingress", "name": "checkout"},
		"field": "ingress.host",
	}} with input as exposed_at("shop.example.com") with data.pave.teams as teams
}

test_lookalikes_and_parents_denied if {
	missed := {host |
		some host in ["example.com", "evilcheckout.example.com", "checkout.example.com.evil.io", "*.example.com", "example.org"]
		count(policy.deny) != 1 with input as exposed_at(host) with data.pave.teams as teams
	}
	print("not denied:", missed)
	count(missed) == 0
}

test_team_without_domains_may_use_no_host if {
	policy.deny == {{
		"msg": `Ingress/checkout: host "checkout.example.com" (spec.rules[0].host, spec.tls[0].hosts[0]) is not allowed: team data has no domains in pave.yaml (teams[].domains), so its services may use no host name`,
		"object": {"kind": "Ingress", "name": "checkout"},
		"field": "ingress.host",
	}} with input as as_team(fixtures.exposed, "data") with data.pave.teams as teams
}

test_tls_host_of_another_team_denied_without_field if {
	inp := fixtures.ingress_with([{"op": "add", "path": "/spec/tls/0/hosts/-", "value": "shop.example.com"}])
	policy.deny == {{
		"msg": `Ingress/checkout: host "shop.example.com" (spec.tls[0].hosts[1]) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		"object": {"kind": "Ingress", "name": "checkout"},
	}} with input as inp with data.pave.teams as teams
}

test_server_alias_denied if {
	inp := fixtures.ingress_with([{"op": "add", "path": "/metadata/annotations", "value": {"nginx.ingress.kubernetes.io/server-alias": "www.checkout.example.com, shop.example.com"}}])
	policy.deny == {{
		"msg": `Ingress/checkout: host "shop.example.com" (annotation nginx.ingress.kubernetes.io/server-alias) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		"object": {"kind": "Ingress", "name": "checkout"},
	}} with input as inp with data.pave.teams as teams
}

test_alias_pattern_denied if {
	inp := fixtures.ingress_with([{"op": "add", "path": "/metadata/annotations", "value": {"haproxy-ingress.github.io/server-alias-regex": ".*"}}])
	count(policy.deny) == 1 with input as inp with data.pave.teams as teams
}

test_catch_all_rule_and_default_backend_denied if {
	inp := fixtures.ingress_with([
		{"op": "remove", "path": "/spec/rules/0/host"},
		{"op": "add", "path": "/spec/defaultBackend", "value": {"service": {"name": "checkout", "port": {"number": 8080}}}},
	])
	policy.deny == {
		{"msg": "Ingress/checkout: spec.rules[0] has no host: it would answer for every host name that no other Ingress claims", "object": {"kind": "Ingress", "name": "checkout"}},
		{"msg": "Ingress/checkout: spec.defaultBackend would answer for every host name that no other Ingress claims", "object": {"kind": "Ingress", "name": "checkout"}},
	} with input as inp with data.pave.teams as teams
}

route(kind, hostnames) := {
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": kind,
	"metadata": {"name": "checkout", "labels": fixtures.labels},
	"spec": {"parentRefs": [{"name": "public", "namespace": "gateways"}], "hostnames": hostnames},
}

test_routes_checked if {
	count(policy.deny) == 0 with input as fixtures.with_objects(fixtures.web, [route("HTTPRoute", ["checkout.example.com"])]) with data.pave.teams as teams
	policy.deny == {{
		"msg": `GRPCRoute/checkout: host "shop.example.com" (spec.hostnames[1]) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		"object": {"kind": "GRPCRoute", "name": "checkout"},
	}} with input as fixtures.with_objects(fixtures.web, [route("GRPCRoute", ["checkout.example.com", "shop.example.com"])]) with data.pave.teams as teams
}

test_route_without_hostnames_denied if {
	policy.deny == {{
		"msg": "HTTPRoute/checkout: spec.hostnames is empty: the route would answer for every host name of the Gateways it attaches to",
		"object": {"kind": "HTTPRoute", "name": "checkout"},
	}} with input as fixtures.with_objects(fixtures.web, [json.remove(route("HTTPRoute", []), ["spec/hostnames"])]) with data.pave.teams as teams
}

test_certificates_gateways_and_custom_hosts_checked if {
	objects := [
		{"kind": "Certificate", "metadata": {"name": "c"}, "spec": {"commonName": "shop.example.com", "dnsNames": ["checkout.example.com", "shop.example.com"]}},
		{"kind": "Gateway", "metadata": {"name": "g"}, "spec": {"listeners": [{"name": "https", "hostname": "*.example.com"}, {"name": "http"}]}},
		{"kind": "VirtualServer", "metadata": {"name": "vs"}, "spec": {"host": "shop.example.com"}},
		{"kind": "HTTPProxy", "metadata": {"name": "hp"}, "spec": {"virtualhost": {"fqdn": "shop.example.com"}}},
	]
	denied := {v.msg | some v in policy.deny} with input as fixtures.with_objects(fixtures.web, objects) with data.pave.teams as teams
	denied == {
		`Certificate/c: host "shop.example.com" (spec.commonName, spec.dnsNames[1]) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		`Gateway/g: host "*.example.com" (spec.listeners[0].hostname) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		`VirtualServer/vs: host "shop.example.com" (spec.host) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
		`HTTPProxy/hp: host "shop.example.com" (spec.virtualhost.fqdn) is outside the domains of team payments (checkout.example.com, pay.example.org)`,
	}
}
