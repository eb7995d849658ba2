# METADATA
# title: Test fixtures
# description: |
#   A compliant service as the golden paths render it, for the policies'
#   unit tests to start from and break one thing at a time.
package pave.lib.fixtures

data_pave := {
	"registries": ["registry.example.com"],
	"environments": [{"name": "staging"}, {"name": "prod"}],
	"teams": [{"name": "payments"}],
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
