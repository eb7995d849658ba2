package pave.policies.no_ingress_snippets_test

import data.pave.lib.fixtures
import data.pave.policies.no_ingress_snippets

annotate(path, key) := [{"op": "add", "path": path, "value": {key: "proxy_pass http://10.0.0.1;"}}]

test_compliant_services_pass if {
	count(no_ingress_snippets.deny) == 0 with input as fixtures.exposed
	count(no_ingress_snippets.deny) == 0 with input as fixtures.job
}

test_ordinary_annotations_pass if {
	inp := fixtures.ingress_with([{"op": "add", "path": "/metadata/annotations", "value": {
		"nginx.ingress.kubernetes.io/proxy-body-size": "8m",
		"cert-manager.io/cluster-issuer": "letsencrypt",
		"haproxy.org/timeout-server": "15m",
	}}])
	count(no_ingress_snippets.deny) == 0 with input as inp
}

test_nginx_server_snippet_denied if {
	inp := fixtures.ingress_with(annotate("/metadata/annotations", "nginx.ingress.kubernetes.io/server-snippet"))
	no_ingress_snippets.deny == {{
		"msg": "Ingress/checkout: annotation nginx.ingress.kubernetes.io/server-snippet writes raw configuration into the ingress controller that serves every team",
		"object": {"kind": "Ingress", "name": "checkout"},
	}} with input as inp
}

test_every_controllers_snippets_denied if {
	keys := [
		"nginx.ingress.kubernetes.io/configuration-snippet",
		"nginx.ingress.kubernetes.io/auth-snippet",
		"nginx.ingress.kubernetes.io/stream-snippet",
		"nginx.ingress.kubernetes.io/modsecurity-snippet",
		"nginx.org/server-snippets",
		"nginx.org/location-snippets",
		"haproxy.org/backend-config-snippet",
		"haproxy.com/backend-config-snippet",
		"ingress.kubernetes.io/config-backend",
		"haproxy-ingress.github.io/config-frontend",
		"Nginx.Ingress.Kubernetes.IO/Server-Snippet",
	]
	missed := {key |
		some key in keys
		inp := fixtures.ingress_with(annotate("/metadata/annotations", key))
		count(no_ingress_snippets.deny) != 1 with input as inp
	}
	print("not denied:", missed)
	count(missed) == 0
}

test_snippet_on_service_denied if {
	inp := fixtures.service_with(annotate("/metadata/annotations", "haproxy.org/backend-config-snippet"))
	some v in no_ingress_snippets.deny with input as inp
	v.object == {"kind": "Service", "name": "checkout"}
}

test_emissary_mapping_on_service_denied if {
	inp := fixtures.service_with(annotate("/metadata/annotations", "getambassador.io/config"))
	count(no_ingress_snippets.deny) == 1 with input as inp
}

test_virtual_server_snippet_field_denied if {
	vs := {
		"apiVersion": "k8s.nginx.org/v1",
		"kind": "VirtualServer",
		"metadata": {"name": "checkout", "labels": fixtures.labels},
		"spec": {"host": "checkout.example.com", "routes": [{"path": "/", "location-snippets": "proxy_pass http://10.0.0.1;"}]},
	}
	no_ingress_snippets.deny == {{
		"msg": "VirtualServer/checkout: spec.routes[0].location-snippets writes raw configuration into the ingress controller that serves every team",
		"object": {"kind": "VirtualServer", "name": "checkout"},
	}} with input as fixtures.with_objects(fixtures.exposed, [vs])
}
