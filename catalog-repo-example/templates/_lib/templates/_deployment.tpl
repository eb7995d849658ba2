{{/* Deployment of a long-running service (web-service, worker). Call with the chart's root context: include "pave.deployment" . */}}
{{- define "pave.deployment" -}}
{{- $autoscaling := get .Values "autoscaling" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.pave.service | quote }}
  labels:
    {{- include "pave.labels" . | nindent 4 }}
spec:
  {{- if not $autoscaling }}
  replicas: {{ include "pave.maxReplicas" . }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 25%
  selector:
    matchLabels:
      {{- include "pave.selectorLabels" . | nindent 6 }}
  template:
    {{- include "pave.podTemplate" (dict "root" . "job" false) | nindent 4 }}
{{- end -}}
