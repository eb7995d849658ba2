{{/* HorizontalPodAutoscaler, when autoscaling is set. Call with the chart's root context: include "pave.horizontalpodautoscaler" . */}}
{{- define "pave.horizontalpodautoscaler" -}}
{{- with get .Values "autoscaling" -}}
{{- $max := get . "max" | int -}}
{{- $min := get . "min" | default 2 | int -}}
{{- if gt $min $max }}{{ $min = $max }}{{ end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $.Values.pave.service | quote }}
  labels:
    {{- include "pave.labels" $ | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $.Values.pave.service | quote }}
  minReplicas: {{ $min }}
  maxReplicas: {{ $max }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ get . "targetCPU" | default 70 | int }}
{{- end -}}
{{- end -}}
