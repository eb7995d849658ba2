{{/* PodDisruptionBudget, when more than one pod runs. Call with the chart's root context: include "pave.poddisruptionbudget" . */}}
{{- define "pave.poddisruptionbudget" -}}
{{- if gt (include "pave.maxReplicas" . | int) 1 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .Values.pave.service | quote }}
  labels:
    {{- include "pave.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  # Pods that are not ready do not hold up node drains.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "pave.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
