{{/*
The operator configuration (config/operator.yaml's format; every key is read
and validated by operator/controller/operator_config.cpp, which refuses
unknown top-level keys and bad values at start).
*/}}
{{- define "opscopilot.operatorConfig" -}}
{{- include "opscopilot.validate" . }}
{{- $cfg := .Values.config }}
{{- $secret := include "opscopilot.modelKeySecret" . -}}
# Rendered by the opscopilot Helm chart from its values; edit the values, not this file.
workers: {{ int64 $cfg.workers }}
concurrency:
  maxNodes: {{ int64 $cfg.concurrency.maxNodes }}
  maxNodesPerNamespace: {{ int64 $cfg.concurrency.maxNodesPerNamespace }}
statusWriteIntervalMilliseconds: {{ int64 $cfg.statusWriteIntervalMilliseconds }}
statusProgressWritesPerSecond: {{ $cfg.statusProgressWritesPerSecond }}
defaultModel: {{ $cfg.defaultModel | toJson }}
models:
  builtin:
    provider: builtin
{{- range $name, $p := $cfg.models }}
  {{ $name }}:
    provider: {{ $p.provider | toJson }}
    {{- if $p.baseURL }}
    baseURL: {{ $p.baseURL | toJson }}
    {{- end }}
    {{- if $p.model }}
    model: {{ $p.model | toJson }}
    {{- end }}
    {{- if $p.apiVersion }}
    apiVersion: {{ $p.apiVersion | toJson }}
    {{- end }}
    {{- if $p.useModelKey }}
    apiKeySecret:
      namespace: {{ $.Release.Namespace | toJson }}
      name: {{ $secret | toJson }}
      key: {{ $p.modelKeyField | default $.Values.modelKey.key | toJson }}
    {{- end }}
    {{- if hasKey $p "stream" }}
    stream: {{ $p.stream }}
    {{- end }}
    {{- if hasKey $p "temperature" }}
    temperature: {{ $p.temperature | toJson }}
    {{- end }}
    {{- range $k := list "timeoutSeconds" "maxAttempts" "requestsPerMinute" "tokensPerMinute" "breakerFailures" "breakerCooldownSeconds" "maxToolResultTokens" "maxPromptTokens" "maxConcurrentCalls" }}
    {{- if hasKey $p $k }}
    {{ $k }}: {{ int64 (index $p $k) }}
    {{- end }}
    {{- end }}
    {{- with $p.price }}
    price:
      {{- if .inputPerMTok }}
      inputPerMTok: {{ .inputPerMTok | toJson }}
      {{- end }}
      {{- if .outputPerMTok }}
      outputPerMTok: {{ .outputPerMTok | toJson }}
      {{- end }}
    {{- end }}
{{- end }}
limits:
{{- range $which := list "default" "max" }}
  {{ $which }}:
    {{- $l := index $cfg.limits $which }}
    maxSteps: {{ int64 $l.maxSteps }}
    timeoutSeconds: {{ int64 $l.timeoutSeconds }}
    maxTokens: {{ int64 $l.maxTokens }}
    maxCostUSD: {{ $l.maxCostUSD | toJson }}
{{- end }}
tools:
  readerUser: {{ printf "system:serviceaccount:{namespace}:%s" .Values.reader.serviceAccountName | toJson }}
  maxExcerptBytes: {{ int64 $cfg.tools.maxExcerptBytes }}
  logTailLines: {{ int64 $cfg.tools.logTailLines }}
  disabled: {{ $cfg.tools.disabled | default list | toJson }}
  runbookNamespace: {{ $cfg.tools.runbookNamespace | default "" | toJson }}
{{- with $cfg.prometheus }}
{{- if .url }}
metrics:
  prometheus:
    url: {{ .url | toJson }}
    {{- if .bearerTokenSecret }}
    bearerTokenSecret:
      namespace: {{ $.Release.Namespace | toJson }}
      name: {{ .bearerTokenSecret | toJson }}
      key: {{ .bearerTokenKey | default "token" | toJson }}
    {{- end }}
    scopeLabel: {{ .scopeLabel | default "namespace" | toJson }}
    insecureSkipVerify: {{ .insecureSkipVerify | default false }}
{{- end }}
{{- end }}
eventTriggers:
  maxRunsPerNamespacePerHour: {{ int64 $cfg.eventTriggers.maxRunsPerNamespacePerHour }}
{{- with ($cfg.tracing).endpoint }}
tracing:
  endpoint: {{ . | toJson }}
  serviceName: {{ $cfg.tracing.serviceName | default "opscopilot-operator" | toJson }}
  insecureSkipVerify: {{ $cfg.tracing.insecureSkipVerify | default false }}
{{- end }}
{{- with ($cfg.actions).destinations }}
actions:
  destinations:
  {{- range . }}
  - name: {{ .name | toJson }}
    action: {{ .action | toJson }}
    type: {{ .type | toJson }}
    {{- if .url }}
    url: {{ .url | toJson }}
    {{- end }}
    {{- if .urlSecret }}
    urlSecret: {namespace: {{ $.Release.Namespace | toJson }}, name: {{ .urlSecret | toJson }}, key: {{ .urlSecretKey | default "url" | toJson }}}
    {{- end }}
    {{- if .tokenSecret }}
    tokenSecret: {namespace: {{ $.Release.Namespace | toJson }}, name: {{ .tokenSecret | toJson }}, key: {{ .tokenSecretKey | default "token" | toJson }}}
    {{- end }}
    {{- if .repository }}
    repository: {{ .repository | toJson }}
    {{- end }}
    {{- if .namespaces }}
    namespaces: {{ .namespaces | toJson }}
    {{- end }}
    insecureSkipVerify: {{ .insecureSkipVerify | default false }}
  {{- end }}
{{- end }}
watchNamespace: {{ $cfg.watchNamespace | toJson }}
health:
  address: {{ printf "%s:%d" .Values.health.bindAddress (int .Values.health.port) | toJson }}
{{- if .Values.web.enabled }}
web:
  address: {{ printf "%s:%d" .Values.health.bindAddress (int .Values.web.port) | toJson }}
{{- end }}
requester:
  policyBinding: {{ printf "%s-diagnosticrun-requester" (include "opscopilot.fullname" .) | toJson }}
  whenUnverified: {{ .Values.requester.whenUnverified | toJson }}
leaderElection:
  enabled: {{ include "opscopilot.leaderElection" . }}
  namespace: {{ .Release.Namespace | toJson }}
  name: {{ include "opscopilot.leaseName" . | toJson }}
{{- end }}
