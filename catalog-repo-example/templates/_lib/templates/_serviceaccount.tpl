{{/* ServiceAccount of the service (no token mounted). Call with the chart's root context: include "pave.serviceaccount" . */}}
{{- define "pave.serviceaccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Values.pave.service | quote }}
  labels:
    {{- include "pave.labels" . | nindent 4 }}
# The pods do not talk to the Kubernetes API: no token is mounted.
automountServiceAccountToken: false
{{- end -}}
