{{/*
The pod of the certificate bootstrap: the Job's, the CronJob's and the pre-install hook's are this one template.
Takes (dict "root" . "createOnly" bool): createOnly runs `bootstrap-certs --create-only` as the hook's own
ServiceAccount, before the webhook configurations exist.
*/}}
{{- define "epp-webhook.bootstrapPodTemplate" -}}
{{- $createOnly := .createOnly -}}
{{- with .root -}}
{{- $fullname := include "epp-webhook.fullname" . -}}
metadata:
  labels:
    {{- include "epp-webhook.bootstrapLabels" . | nindent 4 }}
    {{- include "epp-webhook.outOfMeshLabels" . | nindent 4 }}
spec:
  serviceAccountName: {{ if $createOnly }}{{ include "epp-webhook.createSecretsName" . }}{{ else }}{{ include "epp-webhook.bootstrapName" . }}{{ end }}
  enableServiceLinks: false
  restartPolicy: Never
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
  - name: bootstrap-certs
    image: {{ include "epp-webhook.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
    - bootstrap-certs
    - --namespace=$(POD_NAMESPACE)
    - --secret={{ include "epp-webhook.tlsSecretName" . }}
    - --ca-secret={{ include "epp-webhook.caSecretName" . }}
    - --service={{ $fullname }}
    {{- if $createOnly }}
    - --create-only
    {{- else }}
    - --mutating-webhook-configuration={{ $fullname }}
    - --validating-webhook-configuration={{ $fullname }}
    {{- end }}
    env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    # Measured: 165-180 MiB peak RSS for a run (`/usr/bin/time`; Node 24 with type stripping plus client-node), ~1.6 s.
    resources:
      {{- toYaml .Values.certificates.selfSigned.resources | nindent 6 }}
    securityContext:
      {{- include "epp-webhook.containerSecurityContext" . | nindent 6 }}
    volumeMounts:
    - name: tmp
      mountPath: /tmp
  volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
{{- end }}
{{- end }}
