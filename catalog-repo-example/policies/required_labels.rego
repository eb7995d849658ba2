# METADATA
# title: Objects carry their team and service
# description: |
#   Cost reports, alerts and "who owns this pod?" depend on labels. Every
#   object pave applies is labelled with its team and service
#   (pave.dev/team, pave.dev/service), and every pod template with its team
#   and app.kubernetes.io/name.
# custom:
#   id: required-labels
#   remediation: Keep the labels the template and pave set; a patch must not remove or change pave.dev/team, pave.dev/service or app.kubernetes.io/name.
package pave.policies.required_labels

import data.pave.lib.kubernetes as k8s

# The Namespace belongs to the team, not to one service.
team_level_kinds := {"Namespace"}

expected := {
	"pave.dev/team": input.service.team,
	"pave.dev/service": input.service.name,
}

pod_expected := {
	"pave.dev/team": input.service.team,
	"app.kubernetes.io/name": input.service.name,
}

deny contains v if {
	some obj in input.objects
	not obj.kind in team_level_kinds
	some key, want in expected
	got := object.get(obj, ["metadata", "labels", key], null)
	got != null
	got != want
	v := {
		"msg": sprintf("%s: label %s is %q, not %q", [k8s.describe(obj), key, got, want]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some obj in input.objects
	not obj.kind in team_level_kinds
	some key, want in expected
	object.get(obj, ["metadata", "labels", key], null) == null
	v := {
		"msg": sprintf("%s: label %s=%s is missing", [k8s.describe(obj), key, want]),
		"object": k8s.ref(obj),
	}
}

deny contains v if {
	some id, pod in k8s.pods
	some key, want in pod_expected
	object.get(pod.labels, key, "") != want
	v := {
		"msg": sprintf("%s: pod template label %s=%s is missing", [id, key, want]),
		"object": pod.ref,
	}
}
