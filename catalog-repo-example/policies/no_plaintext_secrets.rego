# METADATA
# title: No secrets in plain env
# description: |
#   service.yaml is in git: anything written there is readable by everyone
#   with access to the catalog, forever. Variables whose names look like
#   passwords, tokens, keys or credentials take their values from
#   Kubernetes Secrets through secretEnv. Messages never repeat the value.
# custom:
#   id: no-plaintext-secrets
#   remediation: >-
#     Move it to secretEnv as {secret: NAME, key: KEY}, rotate the value (it is
#     in git history), and remove it from env.
package pave.policies.no_plaintext_secrets

import data.pave.lib.kubernetes as k8s

secret_name := `(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|credential)`

deny contains v if {
	some name, _ in object.get(input.service, "env", {})
	regex.match(secret_name, name)
	v := {
		"msg": sprintf("env %s looks like a secret but its value is written in service.yaml", [name]),
		"field": concat(".", ["env", name]),
		"hint": "move it to secretEnv and rotate the value: it is in git history",
	}
}

# Plain values set directly on containers (by a patch): the service's own
# env is reported above.
deny contains v if {
	some x in k8s.containers
	c := x.container
	some e in object.get(c, "env", [])
	regex.match(secret_name, e.name)
	is_string(e.value)
	not object.get(input.service, "env", {})[e.name]
	v := {
		"msg": sprintf("%s: container %q sets env %s to a plain value", [x.pod, c.name, e.name]),
		"object": k8s.pods[x.pod].ref,
		"hint": "take the value from a Secret (secretEnv in service.yaml) and rotate it: it is in git history",
	}
}
