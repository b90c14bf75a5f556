{{/* Names ------------------------------------------------------------------ */}}

{{- define "opscopilot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: the release name when it already contains the chart name
(release "opscopilot" gives "opscopilot", the names used in config/), else
"<release>-opscopilot". Kept to 40 characters so that every derived name
("<fullname>-approvalrequest-decidedby") stays a valid object name.
*/}}
{{- define "opscopilot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "opscopilot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels ----------------------------------------------------------------- */}}

{{- define "opscopilot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opscopilot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "opscopilot.labels" -}}
helm.sh/chart: {{ include "opscopilot.chart" . }}
{{ include "opscopilot.selectorLabels" . }}
app.kubernetes.io/version: {{ include "opscopilot.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opscopilot
{{- end }}

{{/* Derived settings ------------------------------------------------------- */}}

{{- define "opscopilot.imageTag" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag \"latest\" is not allowed: pin a version (empty uses the chart's appVersion)" }}
{{- end }}
{{- $tag }}
{{- end }}

{{- define "opscopilot.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "opscopilot.imageTag" .) }}
{{- end }}

{{/* "true" when leader election is on: forced, or auto with more than one replica. */}}
{{- define "opscopilot.leaderElection" -}}
{{- $le := .Values.leaderElection.enabled }}
{{- if kindIs "bool" $le }}
{{- ternary "true" "false" $le }}
{{- else }}
{{- ternary "true" "false" (gt (int .Values.replicas) 1) }}
{{- end }}
{{- end }}

{{- define "opscopilot.leaseName" -}}
{{- .Values.leaderElection.leaseName | default (printf "%s-leader" (include "opscopilot.fullname" .)) }}
{{- end }}

{{/* The model key Secret's name, or "" when there is none. */}}
{{- define "opscopilot.modelKeySecret" -}}
{{- if and .Values.modelKey.create .Values.modelKey.existingSecret }}
{{- fail "modelKey: set either create (with value) or existingSecret, not both" }}
{{- end }}
{{- if .Values.modelKey.create }}
{{- if not .Values.modelKey.value }}
{{- fail "modelKey.create is true but modelKey.value is empty: give the API key, or use modelKey.existingSecret" }}
{{- end }}
{{- printf "%s-llm" (include "opscopilot.fullname" .) }}
{{- else }}
{{- .Values.modelKey.existingSecret }}
{{- end }}
{{- end }}

{{/* "true" when some model profile reads its key from the model key Secret. */}}
{{- define "opscopilot.modelKeyUsed" -}}
{{- $used := false }}
{{- range $_, $p := .Values.config.models }}
{{- if $p.useModelKey }}{{ $used = true }}{{ end }}
{{- end }}
{{- ternary "true" "false" $used }}
{{- end }}

{{/*
Millionths of a dollar of a decimal string like "0.50" (the operator's own
parsing: at most 6 decimals count). Only called on strings the schema checked.
*/}}
{{- define "opscopilot.microUSD" -}}
{{- $parts := splitList "." (toString .) }}
{{- $whole := atoi (first $parts) }}
{{- $frac := 0 }}
{{- if gt (len $parts) 1 }}
{{- $frac = atoi (printf "%s000000" (index $parts 1) | trunc 6) }}
{{- end }}
{{- add (mul $whole 1000000) $frac }}
{{- end }}

{{/*
Checks across values that the schema cannot express; each failure names the
value and what is wrong, like the operator does at start.
*/}}
{{- define "opscopilot.validate" -}}
{{- $cfg := .Values.config }}
{{- $d := $cfg.limits.default }}
{{- $m := $cfg.limits.max }}
{{- range $k := list "maxSteps" "timeoutSeconds" "maxTokens" }}
{{- if gt (int64 (index $d $k)) (int64 (index $m $k)) }}
{{- fail (printf "config.limits.default.%s (%v) must not exceed config.limits.max.%s (%v)" $k (int64 (index $d $k)) $k (int64 (index $m $k))) }}
{{- end }}
{{- end }}
{{- if gt (int64 (include "opscopilot.microUSD" $d.maxCostUSD)) (int64 (include "opscopilot.microUSD" $m.maxCostUSD)) }}
{{- fail (printf "config.limits.default.maxCostUSD (%q) must not exceed config.limits.max.maxCostUSD (%q)" $d.maxCostUSD $m.maxCostUSD) }}
{{- end }}
{{- if hasKey $cfg.models "builtin" }}
{{- fail "config.models.builtin: the builtin profile is always present and cannot be redefined; give your profile another name" }}
{{- end }}
{{- if and (ne $cfg.defaultModel "builtin") (not (hasKey $cfg.models $cfg.defaultModel)) }}
{{- fail (printf "config.defaultModel %q is not a profile: use builtin or a profile under config.models (%s)" $cfg.defaultModel (keys $cfg.models | sortAlpha | join ", " | default "none defined")) }}
{{- end }}
{{- $secret := include "opscopilot.modelKeySecret" . }}
{{- range $name, $p := $cfg.models }}
{{- if and $p.modelKeyField (not $p.useModelKey) }}
{{- fail (printf "config.models.%s.modelKeyField is set but useModelKey is not true" $name) }}
{{- end }}
{{- if and $p.useModelKey (not $secret) }}
{{- fail (printf "config.models.%s.useModelKey needs a key Secret: set modelKey.create with modelKey.value, or modelKey.existingSecret" $name) }}
{{- end }}
{{- end }}
{{- end }}
