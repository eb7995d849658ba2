{{/* ConfigMap of the service's env, when it has one. Call with the chart's root context: include "pave.configmap" . */}}
{{- define "pave.configmap" -}}
{{- if get .Values "env" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-env" .Values.pave.service | quote }}
  labels:
    {{- include "pave.labels" . | nindent 4 }}
data:
  {{- include "pave.envData" . | trim | nindent 2 }}
{{- end -}}
{{- end -}}
