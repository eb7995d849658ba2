package pave.policies.rbac_restricted_test

import data.pave.lib.fixtures
import data.pave.policies.rbac_restricted

binding_with(ops) := fixtures.with_objects(fixtures.rbac, [fixtures.deployment, fixtures.role, fixtures.patched(fixtures.role_binding, ops)])

role_with(ops) := fixtures.with_objects(fixtures.rbac, [fixtures.deployment, fixtures.patched(fixtures.role, ops), fixtures.role_binding])

test_compliant_services_pass if {
	count(rbac_restricted.deny) == 0 with input as fixtures.web
	count(rbac_restricted.deny) == 0 with input as fixtures.rbac
}

test_view_and_own_service_accounts_pass if {
	inp := binding_with([
		{"op": "replace", "path": "/roleRef", "value": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}},
		{"op": "add", "path": "/subjects/-", "value": {"kind": "User", "name": "system:serviceaccount:payments-prod:worker"}},
	])
	count(rbac_restricted.deny) == 0 with input as inp
}

test_own_role_named_admin_passes if {
	inp := fixtures.with_objects(fixtures.rbac, [
		json.patch(fixtures.role, [{"op": "replace", "path": "/metadata/name", "value": "admin"}]),
		json.patch(fixtures.role_binding, [{"op": "replace", "path": "/roleRef/name", "value": "admin"}]),
	])
	count(rbac_restricted.deny) == 0 with input as inp
}

test_cluster_admin_denied if {
	inp := binding_with([{"op": "replace", "path": "/roleRef", "value": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}}])
	rbac_restricted.deny == {{
		"msg": "RoleBinding/checkout: binds ClusterRole cluster-admin, which grants every right in the cluster",
		"object": {"kind": "RoleBinding", "name": "checkout"},
	}} with input as inp
}

test_admin_edit_and_system_roles_denied if {
	missed := {role |
		some role in ["admin", "edit", "system:controller:namespace-controller", "system:aggregate-to-edit"]
		some kind in ["RoleBinding", "ClusterRoleBinding"]
		inp := binding_with([
			{"op": "replace", "path": "/kind", "value": kind},
			{"op": "replace", "path": "/roleRef", "value": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}},
		])
		count(rbac_restricted.deny) != 1 with input as inp
	}
	print("not denied:", missed)
	count(missed) == 0
}

test_system_groups_and_users_denied if {
	subjects := [
		{"kind": "Group", "name": "system:masters"},
		{"kind": "Group", "name": "system:authenticated"},
		{"kind": "Group", "name": "system:unauthenticated"},
		{"kind": "Group", "name": "system:serviceaccounts"},
		{"kind": "Group", "name": "system:serviceaccounts:payments-prod"},
		{"kind": "Group", "name": "system:nodes"},
		{"kind": "User", "name": "system:anonymous"},
		{"kind": "User", "name": "system:kube-controller-manager"},
	]
	missed := {s.name |
		some s in subjects
		inp := binding_with([{"op": "add", "path": "/subjects/-", "value": object.union(s, {"apiGroup": "rbac.authorization.k8s.io"})}])
		count(rbac_restricted.deny) != 1 with input as inp
	}
	print("not denied:", missed)
	count(missed) == 0
}

test_system_authenticated_message if {
	inp := binding_with([{"op": "replace", "path": "/subjects", "value": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:authenticated"}]}])
	rbac_restricted.deny == {{
		"msg": "RoleBinding/checkout: grants its role to group system:authenticated, that is to every user and service account that logs in",
		"object": {"kind": "RoleBinding", "name": "checkout"},
	}} with input as inp
}

test_wildcard_role_denied if {
	inp := role_with([{"op": "replace", "path": "/rules/0", "value": {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}}])
	rbac_restricted.deny == {
		{"msg": "Role/checkout: rules[0] grants every resource (*)", "object": {"kind": "Role", "name": "checkout"}},
		{"msg": "Role/checkout: rules[0] grants every verb (*)", "object": {"kind": "Role", "name": "checkout"}},
	} with input as inp
}

test_escalating_verbs_denied if {
	inp := role_with([{"op": "add", "path": "/rules/-", "value": {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind", "escalate"]}}])
	count(rbac_restricted.deny) == 2 with input as inp
	inp2 := role_with([{"op": "add", "path": "/rules/-", "value": {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}}])
	some v in rbac_restricted.deny with input as inp2
	v.msg == "Role/checkout: rules[1] grants impersonate, which lets its holder act as any user, group or service account"
}

test_aggregating_cluster_roles_denied if {
	role := json.patch(fixtures.role, [
		{"op": "replace", "path": "/kind", "value": "ClusterRole"},
		{"op": "add", "path": "/metadata/labels/rbac.authorization.k8s.io~1aggregate-to-edit", "value": "true"},
		{"op": "add", "path": "/aggregationRule", "value": {"clusterRoleSelectors": [{"matchLabels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}]}},
	])
	count(rbac_restricted.deny) == 2 with input as fixtures.with_objects(fixtures.rbac, [role])
}
