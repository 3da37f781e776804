{{/* Chart name, truncated to the 63 characters Kubernetes allows in names and labels. */}}
{{- define "flts.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name of every object. */}}
{{- define "flts.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flts.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flts.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flts.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flts.labels" -}}
helm.sh/chart: {{ include "flts.chart" . }}
{{ include "flts.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flts
{{- end }}

{{- define "flts.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flts.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference. A digest pins the exact build; "latest" is refused because a re-used mutable
tag with pullPolicy IfNotPresent leaves nodes running stale code without any sign of it.
*/}}
{{- define "flts.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag must not be \"latest\": use a version or set image.digest, so every node runs the same build" }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the object-store credentials. */}}
{{- define "flts.credentialsSecretName" -}}
{{- default (include "flts.fullname" .) .Values.store.existingSecret }}
{{- end }}

{{/* True when the chart renders its own Secret (credentials and/or extra secret env). */}}
{{- define "flts.createSecret" -}}
{{- if or (not .Values.store.existingSecret) .Values.secretEnv (and (not .Values.auth.existingSecret) (or .Values.auth.adminToken .Values.auth.apiToken)) }}true{{- end }}
{{- end }}

{{/* Environment shared by every flts container: settings ConfigMap, Secret, credentials. */}}
{{- define "flts.commonEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "flts.fullname" . }}
{{- if include "flts.createSecret" . }}
  - secretRef:
      name: {{ include "flts.fullname" . }}
{{- end }}
env:
{{- if .Values.store.existingSecret }}
  - name: MINIO_ROOT_USER
    valueFrom:
      secretKeyRef:
        name: {{ .Values.store.existingSecret }}
        key: {{ .Values.store.existingSecretKeys.accessKey }}
  - name: MINIO_ROOT_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ .Values.store.existingSecret }}
        key: {{ .Values.store.existingSecretKeys.secretKey }}
{{- end }}
{{- with .Values.auth.existingSecret }}
  - name: FLTS_SERVE_ADMIN_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ . }}
        key: {{ $.Values.auth.existingSecretKeys.adminToken }}
        optional: true
  - name: FLTS_SERVE_API_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ . }}
        key: {{ $.Values.auth.existingSecretKeys.apiToken }}
        optional: true
{{- end }}
{{- end }}

{{/*
Environment names of the settings flts marks secret (src/core/config/specs, `secret: true`). They belong in a Secret
(secretEnv, store.*, auth.*), never in the ConfigMap or a pod spec's plain values, where anyone who may read the
Deployment reads them.
*/}}
{{- define "flts.secretSettingNames" -}}
MINIO_ROOT_PASSWORD MINIO_SECRET_KEY AWS_SECRET_ACCESS_KEY MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_PASSWORD FLTS_SERVE_ADMIN_TOKEN FLTS_SERVE_API_TOKEN
{{- end }}

{{/* Fails when a map of plain settings names a secret one. Input: dict with "env" (the map) and "where" (its values path). */}}
{{- define "flts.refusePlainSecrets" -}}
{{- $secrets := splitList " " (include "flts.secretSettingNames" .) }}
{{- range $key, $_ := .env }}
{{- if has $key $secrets }}
{{- fail (printf "%s.%s is a secret: set it in secretEnv (the chart's Secret), or through store.existingSecret / auth.existingSecret" $.where $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Render a map of environment variables as an env list, keys sorted, values as strings. */}}
{{- define "flts.envList" -}}
{{- range $key, $value := . }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by every flts pod. */}}
{{- define "flts.podCommon" -}}
serviceAccountName: {{ include "flts.serviceAccountName" . }}
automountServiceAccountToken: false
{{- /*
Without this, Kubernetes gives every pod <SERVICE>_PORT=tcp://<ip>:<port> for each Service in the namespace. For a
release named "flts" the serve Service is flts-serve, so every daemon and Job pod would get
FLTS_SERVE_PORT=tcp://..., which flts reads as serve.port and refuses at startup. flts finds its peers by DNS.
*/}}
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Writable scratch space for a read-only root filesystem: /tmp and FLTS_HOME (/data). */}}
{{- define "flts.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratch.tmpSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.scratch.dataSizeLimit }}
{{- end }}

{{- define "flts.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /data
{{- end }}

{{/* Checksums that roll the pods when settings or credentials change. */}}
{{- define "flts.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
