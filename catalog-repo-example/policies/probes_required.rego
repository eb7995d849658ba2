# METADATA
# title: Long-running workloads have probes
# description: |
#   Without a readiness probe, traffic reaches pods before they can serve
#   it; without a liveness probe, a stuck process is never restarted.
#   Every container of a long-running workload (Deployment, StatefulSet,
#   DaemonSet) has both. Cron jobs run to completion and need neither.
# custom:
#   id: probes-required
#   remediation: Serve a health endpoint and set healthCheck.path in service.yaml; do not remove the template's probes with a patch.
package pave.policies.probes_required

import data.pave.lib.kubernetes as k8s

deny contains v if {
	some x in k8s.containers
	x.type == "containers"
	k8s.pods[x.pod].kind in k8s.long_running_kinds
	some probe in ["readinessProbe", "livenessProbe"]
	not x.container[probe]
	v := {
		"msg": sprintf("%s: container %q has no %s", [x.pod, x.container.name, probe]),
		"object": k8s.pods[x.pod].ref,
	}
}
