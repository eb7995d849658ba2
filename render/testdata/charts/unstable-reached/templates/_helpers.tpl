{{- define "basic.name" -}}{{ .Values.pave.service }}{{- end -}}
{{- define "basic.token" -}}
{{- $id := uuidv4 -}}
{{ $id }}
{{- end -}}
