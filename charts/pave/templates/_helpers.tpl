{{- define "pave.labels" -}}
app.kubernetes.io/name: pave
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "pave.selector" -}}
app.kubernetes.io/name: pave
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
