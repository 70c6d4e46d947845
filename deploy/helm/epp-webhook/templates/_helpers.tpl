{{/* The app name: the chart's, or nameOverride. */}}
{{- define "epp-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: fullnameOverride, else the release name when it already contains the app name
(`helm install epp-webhook ...` gives the names deploy/ uses), else <release>-<name>. Truncated so that the longest
derived names stay within their limits (<fullname>-rotate-certs: a CronJob name, at most 52 characters).
*/}}
{{- define "epp-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 39 | trimSuffix "-" }}
{{- else }}
{{- $name := include "epp-webhook.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 39 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 39 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "epp-webhook.bootstrapName" -}}
{{- printf "%s-bootstrap-certs" (include "epp-webhook.fullname" .) }}
{{- end }}

{{/* The pre-install hook that creates the Secrets (and its ServiceAccount, Role, RoleBinding). */}}
{{- define "epp-webhook.createSecretsName" -}}
{{- printf "%s-create-certs" (include "epp-webhook.fullname" .) }}
{{- end }}

{{- define "epp-webhook.tlsSecretName" -}}
{{- printf "%s-tls" (include "epp-webhook.fullname" .) }}
{{- end }}

{{- define "epp-webhook.caSecretName" -}}
{{- printf "%s-ca" (include "epp-webhook.fullname" .) }}
{{- end }}

{{- define "epp-webhook.configMapName" -}}
{{- printf "%s-config" (include "epp-webhook.fullname" .) }}
{{- end }}

{{/*
Selects the webhook pods. Name only, not the release: the webhook configurations are cluster-wide, so a cluster runs
one epp-webhook, and the selector stays what a Kustomize install of deploy/ has (selectors cannot change).
*/}}
{{- define "epp-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "epp-webhook.name" . }}
{{- end }}

{{/* Labels of every object; the bootstrap's objects override app.kubernetes.io/name. */}}
{{- define "epp-webhook.commonLabels" -}}
app.kubernetes.io/part-of: epp-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "epp-webhook.labels" -}}
{{ include "epp-webhook.selectorLabels" . }}
{{ include "epp-webhook.commonLabels" . }}
{{- end }}

{{/*
Pod labels that keep the chart's pods out of an Istio mesh, sidecar and ambient alike: the API server calls the webhook
over plain TLS, which a sidecar under STRICT mTLS refuses (every EnvoyFilter write would fail), and an injected
sidecar never exits, so a bootstrap Job's pod would never complete.
*/}}
{{- define "epp-webhook.outOfMeshLabels" -}}
sidecar.istio.io/inject: "false"
istio.io/dataplane-mode: none
{{- end }}

{{- define "epp-webhook.bootstrapLabels" -}}
app.kubernetes.io/name: {{ include "epp-webhook.bootstrapName" . }}
{{ include "epp-webhook.commonLabels" . }}
{{- end }}

{{/* One image for the webhook and its certificate bootstrap: a digest wins over the tag. */}}
{{- define "epp-webhook.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The namespaces the webhooks never see. The release namespace is not among them unless listed: the webhooks match
EnvoyFilters, HTTPRoutes and DestinationRules, none of which the release's own objects are, so the webhook cannot lock
itself out; excluded, an EnvoyFilter beside it (the app's namespace, or istio-system's mesh-wide ones) would pass
unchecked and unsubstituted. Quoted (JSON): a namespace named 2024 or on is a string to the API server, not what YAML
1.1 reads it as. */}}
{{- define "epp-webhook.excludedNamespaces" -}}
{{- toJson (uniq .Values.webhooks.excludedNamespaces) }}
{{- end }}

{{- define "epp-webhook.clientConfig" -}}
service:
  name: {{ include "epp-webhook.fullname" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- end }}

{{/* The restricted Pod Security Standard, for every container. */}}
{{- define "epp-webhook.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The port the readiness and startup probes ask: the HTTPS port, or with clientCA (which the kubelet cannot satisfy) the metrics port. */}}
{{- define "epp-webhook.probePort" -}}
{{- if .Values.clientCA.configMap -}}
port: metrics
scheme: HTTP
{{- else -}}
port: https
scheme: HTTPS
{{- end -}}
{{- end }}
