{{/*
Shared helpers of the pave golden-path charts.

They live once, in this library chart (type: library): web-service, worker
and cron-job depend on it (repository: file://../_lib in their Chart.yaml),
and pave resolves it from the catalog itself. A change here reaches every
template that depends on it, and the review says so.

Conventions:
  - Optional service fields are read with `get` (absent key -> ""), never as
    `.Values.field`, so the charts also render with Helm's strict mode
    (missingkey=error).
  - Everything is deterministic: no lookup, no random, no time, no
    .Capabilities. Maps are ranged in sorted key order.
  - Strings that could look like numbers or booleans are quoted.
*/}}

{{/* Labels every object of the service carries (pave stamps more). */}}
{{- define "pave.labels" -}}
app.kubernetes.io/name: {{ .Values.pave.service | quote }}
app.kubernetes.io/component: {{ .Chart.Name | quote }}
pave.dev/team: {{ .Values.pave.team | quote }}
{{- end -}}

{{/* Selector labels: immutable in Deployments, so the service name only. */}}
{{- define "pave.selectorLabels" -}}
app.kubernetes.io/name: {{ .Values.pave.service | quote }}
{{- end -}}

{{/*
The version of the running code, for OpenTelemetry: the image tag, else the
digest, else "latest". registry:5000/team/app:1.2@sha256:... -> 1.2
*/}}
{{- define "pave.imageVersion" -}}
{{- $ref := .Values.image | toString -}}
{{- $digest := "" -}}
{{- if contains "@" $ref -}}
{{- $digest = regexReplaceAll "^[^@]*@" $ref "" -}}
{{- $ref = regexReplaceAll "@.*$" $ref "" -}}
{{- end -}}
{{- $last := regexReplaceAll "^.*/" $ref "" -}}
{{- if contains ":" $last -}}
{{- regexReplaceAll "^[^:]*:" $last "" -}}
{{- else if $digest -}}
{{- $digest -}}
{{- else -}}
latest
{{- end -}}
{{- end -}}

{{/*
The `env` of the service as ConfigMap data: sorted, keys and values quoted
(an env value of 500 or "true" stays a string; a variable named ON or Y stays
a string key). Also hashed into the pod template so that changes roll pods.
*/}}
{{- define "pave.envData" -}}
{{- range $name, $value := (get .Values "env" | default dict) }}
{{ $name | quote }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The largest number of pods the workload runs: autoscaling.max, else
replicas, else the golden-path default of 2.
*/}}
{{- define "pave.maxReplicas" -}}
{{- $as := get .Values "autoscaling" -}}
{{- if $as -}}
{{- get $as "max" | int -}}
{{- else -}}
{{- get .Values "replicas" | default 2 | int -}}
{{- end -}}
{{- end -}}

{{/*
The pod template (metadata and spec) every golden path shares.
Call with (dict "root" $ "job" false|true):
  job=false: a long-running pod (Deployment): port, probes, preStop sleep.
  job=true:  a run-to-completion pod (Job of a CronJob): restartPolicy Never,
             no probes, no preStop.
*/}}
{{- define "pave.podTemplate" -}}
{{- $root := .root -}}
{{- $job := .job -}}
{{- $v := $root.Values -}}
{{- $svc := $v.pave.service -}}
{{- $p := get $v "platform" | default dict -}}
{{- $port := get $v "port" -}}
{{- $env := get $v "env" | default dict -}}
{{- $secretEnv := get $v "secretEnv" | default dict -}}
{{- $healthPath := get (get $v "healthCheck" | default dict) "path" | default "/healthz" -}}
{{- /* Platform-provided variables; a team's env/secretEnv of the same name wins. */ -}}
{{- $platformEnv := dict "OTEL_SERVICE_NAME" $svc "OTEL_RESOURCE_ATTRIBUTES" (include "pave.otelResourceAttributes" $root) -}}
{{- with get $p "otlpEndpoint" }}{{ $_ := set $platformEnv "OTEL_EXPORTER_OTLP_ENDPOINT" (toString .) }}{{ end -}}
{{- with get $p "otlpProtocol" }}{{ $_ := set $platformEnv "OTEL_EXPORTER_OTLP_PROTOCOL" (toString .) }}{{ end -}}
{{- $fixedEnv := dict -}}
{{- range $name, $value := $platformEnv -}}
{{- if not (or (hasKey $env $name) (hasKey $secretEnv $name)) }}{{ $_ := set $fixedEnv $name $value }}{{ end -}}
{{- end -}}
metadata:
  labels:
    {{- include "pave.labels" $root | nindent 4 }}
  annotations:
    kubectl.kubernetes.io/default-container: {{ $svc | quote }}
    {{- if $env }}
    checksum/env: {{ include "pave.envData" $root | sha256sum | quote }}
    {{- end }}
    {{- if $port }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ int $port | quote }}
    prometheus.io/path: {{ get $p "metricsPath" | default "/metrics" | quote }}
    {{- end }}
spec:
  serviceAccountName: {{ $svc | quote }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- if $job }}
  restartPolicy: Never
  {{- end }}
  terminationGracePeriodSeconds: 30
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "pave.selectorLabels" $root | nindent 10 }}
      {{- if not $job }}
      matchLabelKeys:
        - pod-template-hash
      {{- end }}
  containers:
    - name: {{ $svc | quote }}
      image: {{ $v.image | quote }}
      imagePullPolicy: IfNotPresent
      {{- if $port }}
      ports:
        - name: http
          containerPort: {{ int $port }}
          protocol: TCP
      {{- end }}
      {{- if $env }}
      envFrom:
        - configMapRef:
            name: {{ printf "%s-env" $svc | quote }}
      {{- end }}
      {{- if or $fixedEnv $secretEnv }}
      env:
        {{- range $name, $value := $fixedEnv }}
        - name: {{ $name | quote }}
          value: {{ $value | quote }}
        {{- end }}
        {{- range $name, $ref := $secretEnv }}
        - name: {{ $name | quote }}
          valueFrom:
            secretKeyRef:
              name: {{ get $ref "secret" | quote }}
              key: {{ get $ref "key" | quote }}
        {{- end }}
      {{- end }}
      {{- with $v.pave.resources }}
      {{- /* The size's CPU and memory, and local disk: the bounded /tmp
      below and the container's logs. A pod over its limit is evicted
      rather than filling the node's disk. */}}
      {{- $res := deepCopy . }}
      {{- $_ := set (get $res "requests") "ephemeral-storage" "64Mi" }}
      {{- $_ := set (get $res "limits") "ephemeral-storage" "512Mi" }}
      resources:
        {{- toYaml $res | nindent 8 }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities:
          drop:
            - ALL
        seccompProfile:
          type: RuntimeDefault
      {{- if and $port (not $job) }}
      startupProbe:
        httpGet:
          path: {{ $healthPath | quote }}
          port: http
        periodSeconds: 5
        timeoutSeconds: 2
        failureThreshold: 24
      readinessProbe:
        httpGet:
          path: {{ $healthPath | quote }}
          port: http
        periodSeconds: 10
        timeoutSeconds: 2
        successThreshold: 1
        failureThreshold: 3
      {{- /* Liveness asks only whether the process still accepts
      connections: a health check that fails because a dependency is down
      takes the pod out of the Service (readiness), but restarting it
      would not help and, across every replica at once, would make the
      outage worse. */}}
      livenessProbe:
        tcpSocket:
          port: http
        periodSeconds: 20
        timeoutSeconds: 2
        failureThreshold: 3
      {{- end }}
      {{- if not $job }}
      lifecycle:
        preStop:
          sleep:
            seconds: 5
      {{- end }}
      terminationMessagePolicy: FallbackToLogsOnError
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
{{- end -}}

{{/* OTEL_RESOURCE_ATTRIBUTES: team, environment and code version. */}}
{{- define "pave.otelResourceAttributes" -}}
service.namespace={{ .Values.pave.team }},deployment.environment={{ .Values.pave.environment }},service.version={{ include "pave.imageVersion" . }}
{{- end -}}

{{/*
NetworkPolicy ingress peers: pods of the same namespace, plus the namespaces
named (platform keys, empty ones skipped, duplicates once).
Call with (dict "root" $ "namespaces" (list ...)).
*/}}
{{- define "pave.networkPolicyPeers" -}}
- podSelector: {}
{{- range (.namespaces | compact | uniq) }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . | toString | quote }}
{{- end }}
{{- end -}}

{{/*
NetworkPolicy egress: a service may reach DNS, every pod of the cluster, and
every address outside it except the cloud's instance metadata service, whose
credentials are the node's, not the service's (a request forged through the
service must not reach them). Call with the chart's root context.
*/}}
{{- define "pave.networkPolicyEgress" -}}
- to:
    - namespaceSelector: {}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          - 169.254.169.254/32
    - ipBlock:
        cidr: ::/0
        except:
          - fd00:ec2::254/128
{{- end -}}
