{{/* The name of every object and the app.kubernetes.io/name label: nameOverride, else the release name. */}}
{{- define "tokengate.name" -}}
{{- default .Release.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selects this release's pods: the Deployment's, the PodDisruptionBudget's and the Service's selector. */}}
{{- define "tokengate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokengate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tokengate.labels" -}}
{{ include "tokengate.selectorLabels" . }}
app.kubernetes.io/part-of: tokengate
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "tokengate.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/*
tokengate.yaml: values.config, else files/tokengate.yaml (a copy of deploy/base/tokengate.yaml, made by
scripts/render-helm-chart.mjs), as is; with values.policies or tracing.enabled, that file parsed, the policies:
list or the tracing: section replaced, and written back (comments are lost then). Text that is not YAML fails the
render (tokengate would refuse it at start).
*/}}
{{- define "tokengate.config" -}}
{{- $text := .Values.config | default (.Files.Get "files/tokengate.yaml") -}}
{{- $cfg := fromYaml $text -}}
{{- if hasKey $cfg "Error" -}}
{{- fail (printf "the tokengate config (values.config or files/tokengate.yaml) is not YAML: %s" $cfg.Error) -}}
{{- end -}}
{{- if or .Values.policies .Values.tracing.enabled -}}
{{- if .Values.policies -}}
{{- $_ := set $cfg "policies" .Values.policies -}}
{{- end -}}
{{- if .Values.tracing.enabled -}}
{{- $tracing := dict "enabled" true "samplerRatio" .Values.tracing.samplerRatio "recordSub" .Values.tracing.recordSub -}}
{{- $_ := set $cfg "tracing" $tracing -}}
{{- end -}}
{{- toYaml $cfg }}
{{ else -}}
{{- $text -}}
{{- end -}}
{{- end -}}

{{/* Every container: non-root, no privilege escalation, no capabilities, read-only root, seccomp RuntimeDefault. */}}
{{- define "tokengate.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities: { drop: [ALL] }
seccompProfile: { type: RuntimeDefault }
{{- end -}}
