# METADATA
# title: No powerful or shared RBAC grants
# description: |
#   pave applies a service's objects with its own rights, so RBAC in a
#   service's templates or patches is never checked against what the
#   developer may do. A binding to cluster-admin, admin, edit or a system:
#   role hands out the run of the namespace or of the cluster; a binding to
#   a system: group (system:masters, system:authenticated,
#   system:unauthenticated, system:serviceaccounts …) or user
#   (system:anonymous …) hands the role to everyone in it. A Role or
#   ClusterRole that grants every verb or resource, or escalate, bind or
#   impersonate, is as good as an admin role; one that aggregates other
#   roles, or aggregates into admin, edit or view, changes roles other
#   people hold.
# custom:
#   id: rbac-restricted
#   remediation: Bind a Role of your own that lists the resources and verbs the service needs, to your service's ServiceAccount. Ask the platform team when a service needs more.
package pave.policies.rbac_restricted

import data.pave.lib.kubernetes as k8s

binding_kinds := {"RoleBinding", "ClusterRoleBinding"}

role_kinds := {"Role", "ClusterRole"}

# The built-in roles that give the run of a namespace or the cluster.
powerful_roles := {
	"cluster-admin": "every right in the cluster",
	"admin": "every right in a namespace, RBAC included",
	"edit": "every right in a namespace but RBAC, Secrets included",
}

deny contains v if {
	some obj in input.objects
	obj.kind in binding_kinds

	# A Role is the team's own, in its namespace: its rules are checked below.
	object.get(obj, ["roleRef", "kind"], "") != "Role"
	role := object.get(obj, ["roleRef", "name"], "")
	what := powerful_role(role)
	v := {
		"msg": sprintf("%s: binds ClusterRole %s, which grants %s", [k8s.describe(obj), role, what]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind in binding_kinds
	some subject in object.get(obj, "subjects", [])
	who := system_subject(subject)
	v := {
		"msg": sprintf("%s: grants its role to %s %s, that is to %s", [k8s.describe(obj), lower(subject.kind), subject.name, who]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind in role_kinds
	some i, rule in object.get(obj, "rules", [])
	some problem in rule_problems(rule)
	v := {
		"msg": sprintf("%s: rules[%d] %s", [k8s.describe(obj), i, problem]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind == "ClusterRole"
	object.get(obj, "aggregationRule", null) != null
	v := {
		"msg": sprintf("%s: aggregationRule collects the rules of other ClusterRoles, whichever match its selectors", [k8s.describe(obj)]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	obj.kind == "ClusterRole"
	some key, value in k8s.labels(obj)
	startswith(key, "rbac.authorization.k8s.io/aggregate-to-")
	value == "true"
	v := {
		"msg": sprintf("%s: label %s adds its rules to a built-in role that other people hold", [k8s.describe(obj), key]),
		"object": k8s.ref(obj),
	}
}

powerful_role(name) := powerful_roles[name]

powerful_role(name) := "rights meant for Kubernetes' own components" if startswith(name, "system:")

# Who a system: subject is.
system_groups := {
	"system:masters": "every cluster administrator, with rights no RBAC rule can take away",
	"system:authenticated": "every user and service account that logs in",
	"system:unauthenticated": "every anonymous request",
	"system:serviceaccounts": "every service account of every namespace",
}

system_subject(s) := system_groups[s.name] if s.kind == "Group"

system_subject(s) := sprintf("every service account of namespace %s", [trim_prefix(s.name, "system:serviceaccounts:")]) if {
	s.kind == "Group"
	startswith(s.name, "system:serviceaccounts:")
}

system_subject(s) := "members of a group Kubernetes manages" if {
	s.kind == "Group"
	startswith(s.name, "system:")
	not system_groups[s.name]
	not startswith(s.name, "system:serviceaccounts:")
}

system_subject(s) := "every anonymous request" if {
	s.kind == "User"
	s.name == "system:anonymous"
}

# Users named system: are Kubernetes' own components; a service account
# written as a user (system:serviceaccount:NS:NAME) is allowed like a
# ServiceAccount subject.
system_subject(s) := "one of Kubernetes' own components" if {
	s.kind == "User"
	startswith(s.name, "system:")
	s.name != "system:anonymous"
	not startswith(s.name, "system:serviceaccount:")
}

escalating_verbs := {
	"escalate": "lets its holder give itself any right",
	"bind": "lets its holder bind any role, cluster-admin included",
	"impersonate": "lets its holder act as any user, group or service account",
}

# rule_problems(rule) says what makes a rule as good as an admin role.
rule_problems(rule) := {problem |
	some field, problem in wildcards
	"*" in object.get(rule, field, [])
} | {problem |
	some verb in object.get(rule, "verbs", [])
	why := escalating_verbs[lower(verb)]
	problem := sprintf("grants %s, which %s", [verb, why])
}

wildcards := {
	"verbs": "grants every verb (*)",
	"resources": "grants every resource (*)",
	"nonResourceURLs": "grants every non-resource URL (*)",
}
