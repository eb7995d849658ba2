package pave.policies.no_plaintext_secrets_test

import data.pave.lib.fixtures
import data.pave.policies.no_plaintext_secrets

with_env(env) := object.union(fixtures.web, {"service": object.union(fixtures.service, {"env": env})})

test_compliant_services_pass if {
	count(no_plaintext_secrets.deny) == 0 with input as fixtures.web
	count(no_plaintext_secrets.deny) == 0 with input as fixtures.job
}

test_harmless_names_pass if {
	count(no_plaintext_secrets.deny) == 0 with input as with_env({"LOG_LEVEL": "info", "KEYSPACE": "shop"})
}

test_api_token_denied_without_value if {
	no_plaintext_secrets.deny == {{
		"msg": "env API_TOKEN looks like a secret but its value is written in service.yaml",
		"field": "env.API_TOKEN",
		"hint": "move it to secretEnv and rotate the value: it is in git history",
	}} with input as with_env({"API_TOKEN": "s3cr3t-value"})
}

test_secret_like_names_denied if {
	names := ["DB_PASSWORD", "db_passwd", "CLIENT_SECRET", "STRIPE_API_KEY", "apikey", "SSH_PRIVATE_KEY", "AWS_CREDENTIALS"]
	every name in names {
		count(no_plaintext_secrets.deny) == 1 with input as with_env({name: "x"})
	}
}

test_plain_value_on_container_denied if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "PSP_TOKEN", "value": "s3cr3t-value"}]}])
	some v in no_plaintext_secrets.deny with input as inp
	not contains(v.msg, "s3cr3t-value")
	v.object.kind == "Deployment"
}

test_value_from_secret_passes if {
	inp := fixtures.deployment_with([{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [{"name": "PSP_TOKEN", "valueFrom": {"secretKeyRef": {"name": "psp", "key": "token"}}}]}])
	count(no_plaintext_secrets.deny) == 0 with input as inp
}
