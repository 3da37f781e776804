{{/*
The port of an endpoint as flts settings write one: "host:port", "scheme://[user@]host[:port][/path]" or a bare
host. Without a port: 443 for https, 80 for http, "" otherwise (the caller then asks for the ports explicitly).
*/}}
{{- define "flts.endpointPort" -}}
{{- $rest := trim . }}
{{- $scheme := "" }}
{{- if contains "://" $rest }}
{{- $parts := splitn "://" 2 $rest }}
{{- $scheme = lower $parts._0 }}
{{- $rest = $parts._1 }}
{{- end }}
{{- $hostPort := splitList "/" $rest | first | splitList "@" | last }}
{{- if regexMatch ":[0-9]+$" $hostPort }}
{{- regexFind "[0-9]+$" $hostPort }}
{{- else if eq $scheme "https" }}443
{{- else if eq $scheme "http" }}80
{{- end }}
{{- end }}

{{/*
One egress rule to the peers of a networkPolicy.egress destination. Input: dict with "dest" (to, ports), "where" (its
values path), "endpoints" (the configured addresses whose ports are used when dest.ports is empty) and "from" (where
those addresses are set, for messages).
*/}}
{{- define "flts.egressRule" -}}
{{- if not .dest.to }}
{{- fail (printf "%s.to is empty while networkPolicy.egress is enabled: the pods could not reach %s; name its pods, namespace or ipBlock there" .where .from) }}
{{- end }}
{{- $ports := list }}
{{- range .dest.ports }}
{{- $ports = append $ports (int .) }}
{{- end }}
{{- if not $ports }}
{{- range .endpoints }}
{{- $port := include "flts.endpointPort" . }}
{{- if not $port }}
{{- fail (printf "%s.ports is empty and %q (%s) names no port: list the ports in %s.ports" $.where . $.from $.where) }}
{{- end }}
{{- $ports = append $ports (int $port) }}
{{- end }}
{{- end }}
{{- /* A rule without ports admits every port. */}}
{{- if not $ports }}
{{- fail (printf "%s.ports is empty and %s is not set: list the ports in %s.ports" .where .from .where) }}
{{- end }}
- to:
    {{- toYaml .dest.to | nindent 4 }}
  ports:
    {{- range $ports | uniq }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end }}

{{/*
The only egress of the serve and daemon pods when networkPolicy.egress is enabled: DNS, the Kafka brokers, the S3
endpoint, MLflow (when a tracking URI or its peers are set) and networkPolicy.egress.extra.
*/}}
{{- define "flts.egressRules" -}}
{{- $e := .Values.networkPolicy.egress }}
{{- /* An empty "to" would admit every destination. */}}
{{- if not $e.dns.to }}
{{- fail "networkPolicy.egress.dns.to is empty while networkPolicy.egress is enabled: the pods could not resolve a name; name the cluster DNS pods there" }}
{{- end }}
- to:
    {{- toYaml $e.dns.to | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- $brokers := list }}
{{- range splitList "," .Values.bus.bootstrapServers }}
{{- if trim . }}
{{- $brokers = append $brokers (trim .) }}
{{- end }}
{{- end }}
{{ include "flts.egressRule" (dict "dest" $e.kafka "where" "networkPolicy.egress.kafka" "endpoints" $brokers "from" "the Kafka brokers (bus.bootstrapServers)") | trim }}
{{ include "flts.egressRule" (dict "dest" $e.s3 "where" "networkPolicy.egress.s3" "endpoints" (list .Values.store.endpoint) "from" "the S3 endpoint (store.endpoint)") | trim }}
{{- /* A file: or local tracking URI needs no network. */}}
{{- $tracking := .Values.settings.MLFLOW_TRACKING_URI | default "" | toString | trim }}
{{- if not (regexMatch "^(?i)https?://" $tracking) }}
{{- $tracking = "" }}
{{- end }}
{{- if or $tracking $e.mlflow.to }}
{{ include "flts.egressRule" (dict "dest" $e.mlflow "where" "networkPolicy.egress.mlflow" "endpoints" (compact (list $tracking)) "from" "the MLflow tracking server (settings.MLFLOW_TRACKING_URI)") | trim }}
{{- end }}
{{- with $e.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
