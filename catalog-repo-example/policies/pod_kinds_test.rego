package pave.policies.pod_kinds_test

# Every policy on pods and containers reaches them through
# data.pave.lib.kubernetes, so it covers every kind that makes pods:
# these tests break one thing in the pod spec of each kind and expect the
# policy's denial on that object. A kind the helper missed (as
# ReplicationController once was) would run any image, privileged.

import data.pave.lib.fixtures

# Where the breakage goes, relative to the pod spec of each kind.
cases := {
	"foreign registry": {"policy": "allowed_registries", "ops": [{"op": "replace", "path": "/containers/0/image", "value": "ghcr.io/someone/miner:1.0.0"}], "says": `uses image "ghcr.io/someone/miner:1.0.0" from a registry not allowed`},
	"latest tag": {"policy": "image_tag_pinned", "ops": [{"op": "replace", "path": "/containers/0/image", "value": "registry.example.com/payments/checkout:latest"}], "says": "is tagged latest"},
	"privileged": {"policy": "no_privileged", "ops": [{"op": "add", "path": "/containers/0/securityContext/privileged", "value": true}], "says": "runs privileged"},
	"privileged init container": {"policy": "no_privileged", "ops": [{"op": "add", "path": "/initContainers", "value": [{"name": "setup", "image": "registry.example.com/payments/setup:1.0.0", "securityContext": {"privileged": true}}]}], "says": `container "setup" runs privileged`},
	"privilege escalation": {"policy": "no_privilege_escalation", "ops": [{"op": "replace", "path": "/containers/0/securityContext/allowPrivilegeEscalation", "value": true}], "says": "allows privilege escalation"},
	"added capability": {"policy": "drop_all_capabilities", "ops": [{"op": "add", "path": "/containers/0/securityContext/capabilities/add", "value": ["SYS_ADMIN"]}], "says": "adds capability SYS_ADMIN"},
	"root user": {"policy": "run_as_non_root", "ops": [{"op": "add", "path": "/containers/0/securityContext/runAsUser", "value": 0}], "says": "runs as root"},
	"writable root": {"policy": "readonly_root_filesystem", "ops": [{"op": "replace", "path": "/containers/0/securityContext/readOnlyRootFilesystem", "value": false}], "says": "writable root filesystem"},
	"no resources": {"policy": "resources_required", "ops": [{"op": "remove", "path": "/containers/0/resources"}], "says": "has no requests.cpu"},
	"host PID": {"policy": "no_host_access", "ops": [{"op": "add", "path": "/hostPID", "value": true}], "says": "pod uses hostPID"},
	"host path": {"policy": "no_host_access", "ops": [{"op": "add", "path": "/volumes/-", "value": {"name": "root", "hostPath": {"path": "/"}}}], "says": `mounts the host path "/"`},
	"plain secret": {"policy": "no_plaintext_secrets", "ops": [{"op": "add", "path": "/containers/0/env", "value": [{"name": "API_TOKEN", "value": "tok-123"}]}], "says": "sets env API_TOKEN to a plain value"},
}

policies := {c.policy | some c in cases} | {"network_policy_required", "required_labels", "probes_required", "pdb_required", "prod_min_replicas"}

input_with(obj) := fixtures.with_objects(fixtures.web, [fixtures.namespace, obj, fixtures.service_object, fixtures.network_policy, fixtures.pdb])

broken(kind, ops) := fixtures.patched(fixtures.workload(kind), [op |
	some o in ops
	op := object.union(o, {"path": concat("", [fixtures.pod_spec_paths[kind], o.path])})
])

denials(policy, inp) := vs if {
	vs := data.pave.policies[policy].deny with input as inp with data.pave.registries as fixtures.data_pave.registries
}

denied(policy, inp, kind, says) if {
	some v in denials(policy, inp)
	v.object == {"kind": kind, "name": "checkout"}
	startswith(v.msg, concat("", [fixtures.pod_ids[kind], ":"]))
	contains(v.msg, says)
}

test_every_kind_compliant_passes_every_policy if {
	failures := {[kind, policy, v.msg] |
		some kind in fixtures.pod_kinds
		some policy in policies
		some v in denials(policy, input_with(fixtures.workload(kind)))
	}
	print("unexpected denials:", failures)
	count(failures) == 0
}

# missed(names) are the kinds on which the named cases are not denied.
missed(names) := {[kind, name] |
	some name in names
	c := cases[name]
	some kind in fixtures.pod_kinds
	not denied(c.policy, input_with(broken(kind, c.ops)), kind, c.says)
}

test_every_case_is_tested if {
	tested := {"foreign registry", "latest tag", "privileged", "privileged init container", "privilege escalation", "added capability", "root user", "writable root", "no resources", "host PID", "host path", "plain secret"}
	tested == {name | some name, _ in cases}
}

test_images_checked_on_every_kind if {
	m := missed({"foreign registry", "latest tag"})
	print("not denied:", m)
	count(m) == 0
}

test_privilege_checked_on_every_kind if {
	m := missed({"privileged", "privileged init container", "privilege escalation"})
	print("not denied:", m)
	count(m) == 0
}

test_capabilities_and_user_checked_on_every_kind if {
	m := missed({"added capability", "root user", "writable root"})
	print("not denied:", m)
	count(m) == 0
}

test_resources_and_host_access_checked_on_every_kind if {
	m := missed({"no resources", "host PID", "host path"})
	print("not denied:", m)
	count(m) == 0
}

test_plain_secrets_checked_on_every_kind if {
	m := missed({"plain secret"})
	print("not denied:", m)
	count(m) == 0
}

test_replication_controller_from_foreign_registry_denied if {
	inp := input_with(broken("ReplicationController", [{"op": "replace", "path": "/containers/0/image", "value": "ghcr.io/someone/miner:1.0.0"}]))
	data.pave.policies.allowed_registries.deny == {{
		"msg": `ReplicationController/checkout: container "checkout" uses image "ghcr.io/someone/miner:1.0.0" from a registry not allowed in pave.yaml (allowed: registry.example.com)`,
		"object": {"kind": "ReplicationController", "name": "checkout"},
	}} with input as inp with data.pave.registries as fixtures.data_pave.registries
}

test_pod_template_object_is_checked if {
	inp := input_with(broken("PodTemplate", [{"op": "add", "path": "/containers/0/securityContext/privileged", "value": true}]))
	data.pave.policies.no_privileged.deny == {{
		"msg": `PodTemplate/checkout: container "checkout" runs privileged`,
		"object": {"kind": "PodTemplate", "name": "checkout"},
	}} with input as inp
}

test_custom_kind_names_where_its_pods_are if {
	inp := input_with(broken("ScaledJob", [{"op": "add", "path": "/containers/0/securityContext/privileged", "value": true}]))
	data.pave.policies.no_privileged.deny == {{
		"msg": `ScaledJob/checkout (spec.jobTargetRef.template): container "checkout" runs privileged`,
		"object": {"kind": "ScaledJob", "name": "checkout"},
	}} with input as inp
}

test_every_kind_needs_a_network_policy if {
	missed := {kind |
		some kind in fixtures.pod_kinds
		inp := fixtures.with_objects(fixtures.web, [fixtures.namespace, fixtures.workload(kind), fixtures.service_object, fixtures.pdb])
		not denied("network_policy_required", inp, kind, "no NetworkPolicy selects its pods")
	}
	print("not denied:", missed)
	count(missed) == 0
}

test_every_kind_needs_pod_labels if {
	missed := {kind |
		some kind in fixtures.pod_kinds
		labels_path := concat("", [trim_suffix(fixtures.pod_spec_paths[kind], "/spec"), "/metadata/labels/pave.dev~1team"])
		inp := input_with(fixtures.patched(fixtures.workload(kind), [{"op": "remove", "path": labels_path}]))
		not denied("required_labels", inp, kind, "pod template label pave.dev/team=payments is missing")
	}
	print("not denied:", missed)
	count(missed) == 0
}

test_replicated_kinds_need_probes_replicas_and_a_budget if {
	replicated := {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}
	missed := {[kind, policy] |
		some kind in replicated
		some [policy, inp, says] in [
			["probes_required", input_with(broken(kind, [{"op": "remove", "path": "/containers/0/readinessProbe"}])), "has no readinessProbe"],
			["prod_min_replicas", input_with(fixtures.patched(fixtures.workload(kind), [{"op": "replace", "path": "/spec/replicas", "value": 1}])), "runs 1 replica(s) in prod"],
			["pdb_required", fixtures.with_objects(fixtures.web, [fixtures.namespace, fixtures.workload(kind), fixtures.service_object, fixtures.network_policy]), "no PodDisruptionBudget covers its pods in prod"],
		]
		not denied(policy, inp, kind, says)
	}
	print("not denied:", missed)
	count(missed) == 0
}
