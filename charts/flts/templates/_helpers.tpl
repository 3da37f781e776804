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

{{/*
The name of a Service or Job: the full name and a suffix, within the 63 characters of a DNS label (a Service's name,
the job-name label of a Job's pods). The full name alone may take 63, so it gives up what the suffix needs; a name
that fits already is the same as without this. Input: dict with "root" (the chart context) and "suffix".
*/}}
{{- define "flts.shortName" -}}
{{- $suffix := .suffix | toString }}
{{- printf "%s-%s" (include "flts.fullname" .root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
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

{{/*
"true" when the pods sign with a static key (store.credentials static), from store.existingSecret or the chart's
Secret; "" when they take an IAM role's credentials from their AWS environment (aws). Refuses any other value, and a
key given with aws: flts would not use it, and it would sit in a Secret for nothing.
*/}}
{{- define "flts.staticCredentials" -}}
{{- $mode := .Values.store.credentials | default "static" }}
{{- if not (has $mode (list "static" "aws")) }}
{{- fail (printf "store.credentials %q is not one of static, aws" $mode) }}
{{- end }}
{{- if eq $mode "aws" }}
{{- if or .Values.store.existingSecret .Values.store.accessKey .Values.store.secretKey .Values.store.sessionToken }}
{{- fail "store.credentials is aws (an IAM role's credentials, from IRSA, EKS Pod Identity or the node) but store.existingSecret, store.accessKey, store.secretKey or store.sessionToken is set too: flts would not use that key; unset them" }}
{{- end }}
{{- else -}}
true
{{- end }}
{{- end }}

{{/* True when the chart renders its own Secret (credentials and/or extra secret env). */}}
{{- define "flts.createSecret" -}}
{{- if or (and (include "flts.staticCredentials" .) (not .Values.store.existingSecret)) .Values.secretEnv (and (not .Values.auth.existingSecret) (or .Values.auth.adminToken .Values.auth.apiToken)) }}true{{- end }}
{{- end }}

{{/* Environment shared by every flts container: settings ConfigMap, Secrets, credentials, extraEnv. */}}
{{- define "flts.commonEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "flts.fullname" . }}
{{- if include "flts.createSecret" . }}
  - secretRef:
      name: {{ include "flts.fullname" . }}
{{- end }}
{{- range .Values.envFromSecrets }}
  - secretRef:
      name: {{ . }}
{{- end }}
env:
{{- range $name, $value := .Values.extraEnv }}
  - name: {{ $name }}
    value: {{ $value | toString | quote }}
{{- end }}
{{- if and (include "flts.staticCredentials" .) .Values.store.existingSecret }}
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
{{- with .Values.store.existingSecretKeys.sessionToken }}
  - name: AWS_SESSION_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ $.Values.store.existingSecret }}
        key: {{ . }}
        optional: true
{{- end }}
{{- end }}
{{- with .Values.bus.saslPasswordSecret }}
{{- if .name }}
{{- if hasKey $.Values.secretEnv "FLTS_KAFKA_SASL_PASSWORD" }}
{{- fail "FLTS_KAFKA_SASL_PASSWORD is in secretEnv and bus.saslPasswordSecret names a Secret for it: keep one" }}
{{- end }}
  - name: FLTS_KAFKA_SASL_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ .name }}
        key: {{ .key }}
{{- end }}
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
Settings the chart gives every pod itself, and where their value comes from. Set again through any of their
environment names (aliases included: FLTS_S3_ENDPOINT is MINIO_ENDPOINT's setting), they would either repeat a key of
the ConfigMap or Secret, which Kubernetes refuses, or lose to the chart's value, or win over it, without a word.
*/}}
{{- define "flts.ownedSettings" -}}
home: "it is /data, the writable volume of every pod"
identifier: "set identifier"
store.kind: "set store.kind"
store.s3.credentials: "set store.credentials"
store.s3.endpoint: "set store.endpoint"
store.s3.accessKey: "set store.accessKey or store.existingSecret"
store.s3.secretKey: "set store.secretKey or store.existingSecret"
store.s3.sessionToken: "set store.sessionToken or store.existingSecret"
bus.kind: "set bus.kind"
bus.kafka.brokers: "set bus.bootstrapServers"
serve.host: "it binds 0.0.0.0, so that the probes and the Service reach the server"
serve.port: "set serve.port"
serve.grpcPort: "set serve.grpc.enabled and serve.grpc.port"
serve.modelName: "set serve.modelName, which the Ingress's model paths follow"
serve.adminToken: "set auth.adminToken or auth.existingSecret"
serve.apiToken: "set auth.apiToken or auth.existingSecret"
daemon.roles: "each daemon Deployment runs one role (daemon.trainer, daemon.promoter, daemon.batch)"
daemon.host: "it binds 0.0.0.0, so that the probes and Prometheus reach the health server"
daemon.port: "set daemon.metricsPort"
daemon.trainerModels: "set daemon.trainer.modelTypes"
daemon.expectedModelTypes: "set daemon.promoter.expectedModelTypes"
instance.podUid: "each daemon pod is given its own uid (the downward API's metadata.uid)"
instance.container: "each daemon container is given its own name"
{{- end }}

{{/*
Checks a map of environment variables given to flts. Input: dict with "root" (the chart context), "env" (the map),
"where" (its values path) and "inSecret" (true when the map ends up in a Secret). Refused: a name flts does not read
(files/settings-env.yaml, generated from the setting specs; flts would ignore it without a word), a secret setting
outside a Secret (anyone who may read the Deployment or the ConfigMap would read it) and a setting the chart sets
itself (flts.ownedSettings).
*/}}
{{- define "flts.checkSettingsEnv" -}}
{{- $specs := .root.Files.Get "files/settings-env.yaml" | fromYaml }}
{{- $owned := include "flts.ownedSettings" .root | fromYaml }}
{{- range $name, $value := .env }}
{{- $setting := "" }}
{{- range $path, $names := $specs.settings }}
{{- if has $name $names }}{{ $setting = $path }}{{ end }}
{{- end }}
{{- if not $setting }}
{{- fail (printf "%s.%s is not an flts setting (docs/config.md lists every environment name); a variable for Node or the platform goes in extraEnv" $.where $name) }}
{{- end }}
{{- if and (not $.inSecret) (has $setting $specs.secret) }}
{{- fail (printf "%s.%s is a secret: set it in secretEnv (the chart's Secret), or through store.existingSecret / auth.existingSecret" $.where $name) }}
{{- end }}
{{- if hasKey $owned $setting }}
{{- fail (printf "%s.%s (setting %s) is one the chart sets itself: %s" $.where $name $setting (get $owned $setting)) }}
{{- end }}
{{- /* flts signs its MLflow calls with the URI's user:password@ (basic auth, as MLflow's client does). */}}
{{- if and (not $.inSecret) (eq $setting "tracking.uri") (include "flts.hasPassword" $value) }}
{{- fail (printf "%s.%s holds a password (user:password@): anyone who may read the ConfigMap or the Deployment would read it; set MLFLOW_TRACKING_USERNAME in settings and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) in secretEnv, or put the whole URI in secretEnv" $.where $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when a URL's userinfo holds a password ("scheme://user:password@host..."); "" otherwise. */}}
{{- define "flts.hasPassword" -}}
{{- if regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:[^/?#@]+@" (toString . | trim) }}true{{- end }}
{{- end }}

{{/*
Refuses the addresses of store.endpoint and bus.bootstrapServers that would end up in the ConfigMap with credentials
written into them (the value is not repeated in the message, which CI logs keep), and a broker entry flts refuses at
startup, as src/core/bus/kafka-client-config.ts checks it: host:port, a port from 1 to 65535, nothing else. Every pod
would crash-loop on it. flts signs S3 requests with the store's key: an endpoint's user:password@ is never used.
*/}}
{{- define "flts.checkAddresses" -}}
{{- if contains "@" (toString .Values.store.endpoint) }}
{{- fail "store.endpoint holds a user:password@ (or user@): flts does not sign with it, and the ConfigMap would show it to anyone who may read it; give the key in store.existingSecret (or store.accessKey/secretKey) and the endpoint as host:port or an http(s) URL" }}
{{- end }}
{{- $brokers := toString .Values.bus.bootstrapServers }}
{{- if contains "@" $brokers }}
{{- fail "bus.bootstrapServers holds a user:password@ (or user@): flts refuses a broker address that is not host:port, and the ConfigMap would show it to anyone who may read it; set settings.FLTS_KAFKA_SASL_USERNAME and the password in bus.saslPasswordSecret (or secretEnv.FLTS_KAFKA_SASL_PASSWORD)" }}
{{- end }}
{{- if not (trim $brokers) }}
{{- fail "bus.bootstrapServers is empty: name the Kafka brokers, host:port[,host:port...]" }}
{{- end }}
{{- range $i, $entry := splitList "," $brokers }}
{{- $entry = trim $entry }}
{{- $port := regexFind "[0-9]{1,5}$" $entry }}
{{- if not (and (regexMatch "^[^\\s:/@\\[\\]]+:[0-9]{1,5}$" $entry) (ge (atoi $port) 1) (le (atoi $port) 65535)) }}
{{- fail (printf "bus.bootstrapServers item %d (%q) is not host:port (a port from 1 to 65535), which flts refuses at startup%s" (add1 $i) $entry (ternary ": the protocol goes in settings.FLTS_KAFKA_SECURITY_PROTOCOL, not before the address" "" (contains "://" $entry))) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Refuses flts settings in extraEnv: there their names would go unchecked, and secret ones into the pod spec. */}}
{{- define "flts.checkExtraEnv" -}}
{{- $specs := .Files.Get "files/settings-env.yaml" | fromYaml }}
{{- range $name, $_ := .Values.extraEnv }}
{{- range $path, $names := $specs.settings }}
{{- if has $name $names }}
{{- fail (printf "extraEnv.%s is an flts setting (%s): set it in settings, secretEnv or a component's env, where its name is checked" $name $path) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The integer a container's environment gives the setting read from variable "name": its value in the first of "envs"
(maps in the order the container takes them, such as a component's env and then settings) that holds it, else
"default". A value of 0 counts: `default` would take it for unset and read on. A key set to null is none, as Helm
drops it. Rendered as a decimal (an integer of a values file comes to the chart as a float, 1e+06 as text).
*/}}
{{- define "flts.envInt" -}}
{{- $value := .default }}
{{- $found := false }}
{{- range .envs }}
{{- if and (not $found) (hasKey . $.name) (not (kindIs "invalid" (get . $.name))) }}
{{- $value = get . $.name }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- $value | int }}
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

{{/* Every volume of an flts pod: the scratch space, then the Secrets of tlsSecrets. */}}
{{- define "flts.volumes" -}}
{{- include "flts.scratchVolumes" . }}
{{- range $i, $tls := .Values.tlsSecrets }}
{{- if not (and $tls.name $tls.mountPath) }}
{{- fail (printf "tlsSecrets[%d] needs a name (the Secret) and a mountPath" $i) }}
{{- end }}
{{- if has (clean $tls.mountPath) (list "/" "/tmp" "/data") }}
{{- fail (printf "tlsSecrets[%d].mountPath %s would hide a directory flts writes to; use one of its own, e.g. /etc/flts/tls" $i $tls.mountPath) }}
{{- end }}
- name: tls-{{ $i }}
  secret:
    secretName: {{ $tls.name }}
    {{- /* 0440, in decimal: YAML 1.1 and 1.2 parsers read a leading 0 differently. */}}
    defaultMode: 288
{{- end }}
{{- end }}

{{- define "flts.volumeMounts" -}}
{{- include "flts.scratchMounts" . }}
{{- range $i, $tls := .Values.tlsSecrets }}
- name: tls-{{ $i }}
  mountPath: {{ $tls.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Checksums that roll the pods when settings or credentials change. */}}
{{- define "flts.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}

{{/*
The prometheus.io/* pod annotations a Prometheus without the Operator discovers scrape targets by (kubernetes_sd_configs
role pod and the usual relabelling). Input: dict with "root" (the chart context) and "port" (the container port that
serves /metrics).
*/}}
{{- define "flts.scrapeAnnotations" -}}
{{- if .root.Values.metrics.podAnnotations.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/*
The model name of the Open Inference Protocol paths (serve.modelName): one path element, which the server takes
from FLTS_SERVE_MODEL_NAME and the Ingress publishes.
*/}}
{{- define "flts.modelName" -}}
{{- $model := .Values.serve.modelName | toString | trim }}
{{- if or (not $model) (contains "/" $model) (contains "?" $model) (contains "#" $model) }}
{{- fail (printf "serve.modelName %q is not a model name: one path element of /v2/models/<modelName>, without / ? or #" $model) }}
{{- end }}
{{- $model }}
{{- end }}

{{/*
The Ingress's paths as {exact: [...], prefix: [...]}: serve.ingress.paths and prefixPaths, with the model's Open
Inference Protocol routes derived from serve.modelName (serve.ingress.modelPaths). A /v2/models/ path given by hand
must name that model too: the server answers 404 for any other name.
*/}}
{{- define "flts.ingressPaths" -}}
{{- $ing := .Values.serve.ingress }}
{{- $model := include "flts.modelName" . }}
{{- $own := printf "/v2/models/%s" $model }}
{{- range $key, $list := dict "paths" $ing.paths "prefixPaths" $ing.prefixPaths }}
{{- range $list }}
{{- if and (hasPrefix "/v2/models/" .) (ne . $own) (not (hasPrefix (printf "%s/" $own) .)) }}
{{- fail (printf "serve.ingress.%s has %s, but the server answers for the model %q (serve.modelName): leave the model's paths to serve.ingress.modelPaths, which follows serve.modelName" $key . $model) }}
{{- end }}
{{- end }}
{{- end }}
{{- $exact := $ing.paths | default list }}
{{- $prefix := list }}
{{- if $ing.modelPaths }}
{{- $exact = append $exact (printf "%s/infer" $own) }}
{{- $prefix = append $prefix (printf "%s/versions/" $own) }}
{{- end }}
{{- $prefix = concat $prefix ($ing.prefixPaths | default list) }}
{{- dict "exact" (uniq $exact) "prefix" (uniq $prefix) | toYaml }}
{{- end }}
