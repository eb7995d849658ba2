{{- define "pave.labels" -}}
app.kubernetes.io/name: pave
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "pave.selector" -}}
app.kubernetes.io/name: pave
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{/* pave's own namespace in every cluster: inventories, Events, the leader Lease (apply.SystemNamespace). */}}
{{- define "pave.systemNamespace" -}}
pave-system
{{- end -}}
{{/* "true" when some cluster is reached as pave's own ServiceAccount. */}}
{{- define "pave.inCluster" -}}
{{- $in := false -}}
{{- range .Values.clusters }}{{ if .inCluster }}{{ $in = true }}{{ end }}{{ end -}}
{{- $in -}}
{{- end -}}
