{{- define "basic.stamp" -}}
{{ now | date "2006-01-02" }}
{{- end -}}
