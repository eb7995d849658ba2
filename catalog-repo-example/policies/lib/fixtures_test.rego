# METADATA
# title: Test fixtures
# description: |
#   A compliant service as the golden paths render it, for the policies'
#   unit tests to start from and break one thing at a time.
package pave.lib.fixtures

data_pave := {
	"registries": ["registry.example.com"],
	"environments": [{"name": "staging"}, {"name": "prod"}],
	"teams": [
		{"name": "payments", "domains": ["checkout.example.com", "pay.example.org"]},
		{"name": "storefront", "domains": ["shop.example.com"]},
		{"name": "data"},
	],
	"sizes": {"small": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}},
}

labels := {
	"app.kubernetes.io/name": "checkout",
	"pave.dev/team": "payments",
	"pave.dev/service": "checkout",
}

pod_labels := {"app.kubernetes.io/name": "checkout", "pave.dev/team": "payments"}

container := {
	"name": "checkout",
	"image": "registry.example.com/payments/checkout:1.4.2",
	"ports": [{"name": "http", "containerPort": 8080}],
	"resources": {
		"requests": {"cpu": "100m", "memory": "128Mi"},
		"limits": {"cpu": "500m", "memory": "256Mi"},
	},
	"securityContext": {
		"allowPrivilegeEscalation": false,
		"capabilities": {"drop": ["ALL"]},
		"readOnlyRootFilesystem": true,
		"runAsNonRoot": true,
		"seccompProfile": {"type": "RuntimeDefault"},
	},
	"readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
	"livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
	"envFrom": [{"configMapRef": {"name": "checkout-env"}}],
}

pod_spec := {
	"automountServiceAccountToken": false,
	"securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [container],
	"volumes": [{"name": "tmp", "emptyDir": {}}],
}

deployment := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {
		"replicas": 2,
		"selector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}},
		"template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
	},
}

cronjob_container := json.remove(container, ["readinessProbe", "livenessProbe", "ports"])

cronjob := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {
		"schedule": "0 3 * * *",
		"jobTemplate": {"spec": {"template": {
			"metadata": {"labels": pod_labels},
			"spec": object.union(pod_spec, {"restartPolicy": "Never", "containers": [cronjob_container]}),
		}}},
	},
}

service_object := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "checkout"}, "ports": [{"port": 80, "targetPort": "http"}]},
}

network_policy := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}}, "policyTypes": ["Ingress", "Egress"]},
}

pdb := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}}},
}

hpa := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {"minReplicas": 2, "maxReplicas": 6, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"}},
}

namespace := {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {"name": "payments-prod", "labels": {"pave.dev/team": "payments"}},
}

service := {
	"name": "checkout",
	"team": "payments",
	"template": "web-service",
	"image": "registry.example.com/payments/checkout:1.4.2",
	"port": 8080,
	"replicas": 2,
	"env": {"LOG_LEVEL": "info"},
	"secretEnv": {"DB_PASSWORD": {"secret": "checkout-db", "key": "password"}},
}

# web is a compliant web service in prod.
web := {
	"service": service,
	"environment": "prod",
	"namespace": "payments-prod",
	"objects": [namespace, deployment, service_object, network_policy, pdb],
}

# job is a compliant cron job in prod.
job := {
	"service": object.union(json.remove(service, ["port", "replicas"]), {"template": "cron-job", "schedule": "0 3 * * *"}),
	"environment": "prod",
	"namespace": "payments-prod",
	"objects": [namespace, cronjob, network_policy],
}

ingress := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "Ingress",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {
		"ingressClassName": "nginx",
		"tls": [{"hosts": ["checkout.example.com"], "secretName": "checkout-tls"}],
		"rules": [{"host": "checkout.example.com", "http": {"paths": [{
			"path": "/",
			"pathType": "Prefix",
			"backend": {"service": {"name": "checkout", "port": {"number": 8080}}},
		}]}}],
	},
}

# exposed is the compliant web service with an ingress host.
exposed := object.union(web, {
	"service": object.union(service, {"ingress": {"host": "checkout.example.com"}}),
	"objects": [namespace, deployment, service_object, network_policy, pdb, ingress],
})

# ingress_with(ops) is the exposed input with its Ingress patched.
ingress_with(ops) := with_objects(exposed, [namespace, deployment, service_object, network_policy, pdb, patched(ingress, ops)])

# service_with(ops) is the web input with its Service patched.
service_with(ops) := with_objects(web, [namespace, deployment, patched(service_object, ops), network_policy, pdb])

role := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": "Role",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
}

role_binding := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": "RoleBinding",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "checkout"},
	"subjects": [{"kind": "ServiceAccount", "name": "checkout", "namespace": "payments-prod"}],
}

# rbac is the web service with a Role for its ServiceAccount.
rbac := with_objects(web, [namespace, deployment, service_object, network_policy, pdb, role, role_binding])

# workload(kind) is an object of a kind that makes pods, holding the
# compliant pod template where that kind keeps it.
workload("Pod") := {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": object.union(labels, pod_labels)},
	"spec": pod_spec,
}

workload("PodTemplate") := {
	"apiVersion": "v1",
	"kind": "PodTemplate",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
}

workload(kind) := {
	"apiVersion": api_versions[kind],
	"kind": kind,
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {
		"replicas": 2,
		"selector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}},
		"template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
	},
} if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Rollout"}

workload("Job") := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {"template": {"metadata": {"labels": pod_labels}, "spec": object.union(pod_spec, {"restartPolicy": "Never"})}},
}

workload("CronJob") := json.patch(cronjob, [{"op": "replace", "path": "/spec/jobTemplate/spec/template/spec/containers", "value": [container]}])

workload("ScaledJob") := {
	"apiVersion": "keda.sh/v1alpha1",
	"kind": "ScaledJob",
	"metadata": {"name": "checkout", "namespace": "payments-prod", "labels": labels},
	"spec": {
		"jobTargetRef": {"template": {"metadata": {"labels": pod_labels}, "spec": object.union(pod_spec, {"restartPolicy": "Never"})}},
		"triggers": [{"type": "cron", "metadata": {"timezone": "UTC", "start": "0 3 * * *", "end": "0 4 * * *", "desiredReplicas": "1"}}],
	},
}

api_versions := {
	"Deployment": "apps/v1",
	"StatefulSet": "apps/v1",
	"DaemonSet": "apps/v1",
	"ReplicaSet": "apps/v1",
	"ReplicationController": "v1",
	"Rollout": "argoproj.io/v1alpha1",
}

# Where each kind keeps its pod spec, as a JSON pointer.
pod_spec_paths := {
	"Pod": "/spec",
	"PodTemplate": "/template/spec",
	"Deployment": "/spec/template/spec",
	"StatefulSet": "/spec/template/spec",
	"DaemonSet": "/spec/template/spec",
	"ReplicaSet": "/spec/template/spec",
	"ReplicationController": "/spec/template/spec",
	"Job": "/spec/template/spec",
	"Rollout": "/spec/template/spec",
	"CronJob": "/spec/jobTemplate/spec/template/spec",
	"ScaledJob": "/spec/jobTargetRef/template/spec",
}

# pod_ids are the names the policies give each kind's pods.
pod_ids := {kind: id |
	some kind, _ in pod_spec_paths
	id := pod_id(kind)
}

pod_id("ScaledJob") := "ScaledJob/checkout (spec.jobTargetRef.template)"

pod_id(kind) := sprintf("%s/checkout", [kind]) if kind != "ScaledJob"

# pod_kinds are the kinds workload(kind) builds.
pod_kinds := {kind | some kind, _ in pod_spec_paths}

# with_objects(base, objects) is base with its objects replaced.
with_objects(base, objects) := object.union(base, {"objects": objects})

# patched(obj, ops) applies JSON patch operations to an object.
patched(obj, ops) := json.patch(obj, ops)

# deployment_with(ops) is the web input with its Deployment patched.
deployment_with(ops) := with_objects(web, [namespace, patched(deployment, ops), service_object, network_policy, pdb])

# cronjob_with(ops) is the job input with its CronJob patched.
cronjob_with(ops) := with_objects(job, [namespace, patched(cronjob, ops), network_policy])

# Paths into the pod spec and first container of each kind.
deployment_container := "/spec/template/spec/containers/0"

cronjob_container_path := "/spec/jobTemplate/spec/template/spec/containers/0"
