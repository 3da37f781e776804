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
The only egress of the flts pods when networkPolicy.egress is enabled: DNS, the Kafka brokers, the S3 endpoint, MLflow
(when a tracking URI or its peers are set, and the pods track: not the preprocess Job), the AWS credentials sources of
networkPolicy.egress.aws and networkPolicy.egress.extra. Input: dict with "root" (the chart's context) and "tracking".
*/}}
{{- define "flts.egressRules" -}}
{{- $tracks := .tracking }}
{{- with .root }}
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
{{- /* A file: or local tracking URI needs no network. One with a password is in secretEnv, where the chart sees it too. */}}
{{- $tracking := .Values.settings.MLFLOW_TRACKING_URI | default .Values.secretEnv.MLFLOW_TRACKING_URI | default "" | toString | trim }}
{{- if not (regexMatch "^(?i)https?://" $tracking) }}
{{- $tracking = "" }}
{{- end }}
{{- if and $tracks (or $tracking $e.mlflow.to) }}
{{ include "flts.egressRule" (dict "dest" $e.mlflow "where" "networkPolicy.egress.mlflow" "endpoints" (compact (list $tracking)) "from" "the MLflow tracking server (settings.MLFLOW_TRACKING_URI or secretEnv.MLFLOW_TRACKING_URI)") | trim }}
{{- end }}
{{- include "flts.awsCredentialsEgress" . }}
{{- with $e.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Egress to where store.credentials aws fetches a role's credentials (networkPolicy.egress.aws): the EC2 instance
metadata service, the EKS Pod Identity agent (both link-local, port 80), and STS over https for IRSA at the CIDRs given.
*/}}
{{- define "flts.awsCredentialsEgress" -}}
{{- $aws := .Values.networkPolicy.egress.aws | default dict }}
{{- if and (or $aws.imds $aws.podIdentity $aws.stsCidrs) (ne .Values.store.credentials "aws") }}
{{- fail (printf "networkPolicy.egress.aws opens egress to AWS credentials sources, but store.credentials is %q: only store.credentials aws fetches credentials; leave networkPolicy.egress.aws off" .Values.store.credentials) }}
{{- end }}
{{- if $aws.imds }}
# The EC2 instance metadata service (IMDSv2): the node's instance profile.
- to:
    - ipBlock:
        cidr: 169.254.169.254/32
  ports:
    - port: 80
      protocol: TCP
{{- end }}
{{- if $aws.podIdentity }}
# The EKS Pod Identity agent on the node (IPv4 and IPv6 clusters).
- to:
    - ipBlock:
        cidr: 169.254.170.23/32
    - ipBlock:
        cidr: fd00:ec2::23/128
  ports:
    - port: 80
      protocol: TCP
{{- end }}
{{- with $aws.stsCidrs }}
# AWS STS (AssumeRoleWithWebIdentity for IRSA) over https.
- to:
    {{- range . }}
    {{- if not (regexMatch "^[0-9a-fA-F:.]+/[0-9]{1,3}$" (toString .)) }}
    {{- fail (printf "networkPolicy.egress.aws.stsCidrs: %q is not a CIDR (e.g. 10.0.12.0/24, the subnets of an STS VPC endpoint)" (toString .)) }}
    {{- end }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - port: 443
      protocol: TCP
{{- end }}
{{- end }}
