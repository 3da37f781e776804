{{/*
A PodDisruptionBudget. Input: dict with "root" (the chart context), "name" (object name suffix), "component", "selector"
(extra pod labels to match), "pdb" (enabled, maxUnavailable, minAvailable), "fewest" (the smallest replica count the
pods ever run at) and "where" (the values path, for messages).
*/}}
{{- define "flts.pdb" -}}
{{- $pdb := .pdb }}
{{- /* A budget that allows no eviction at the smallest replica count blocks every node drain. */}}
{{- if and (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "string" $pdb.minAvailable)) (ge (int $pdb.minAvailable) (int .fewest)) }}
{{- fail (printf "%s.pdb.minAvailable (%v) must be below the %s replica count (%v), or no pod could ever be evicted; use %s.pdb.maxUnavailable" .where $pdb.minAvailable .name .fewest .where) }}
{{- end }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "flts.fullname" .root }}-{{ .name }}
  labels:
    {{- include "flts.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  {{- if kindIs "invalid" $pdb.minAvailable }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- else }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- end }}
  {{- /*
  A pod that is not ready guards nothing: a serve replica before its first model (or one whose promoted run does not
  load), a daemon whose broker or store does not answer. Under the default policy (IfHealthyBudget) such pods are
  evicted only while the budget holds, so with every replica unready at once (an empty store, a broker outage) a node
  drain waited for them to turn ready, which may be never. The field is there from Kubernetes 1.27 (beta, on by default);
  older API servers would drop it with a warning, and their schema refuses it.
  */}}
  {{- if semverCompare ">=1.27.0-0" .root.Capabilities.KubeVersion.Version }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  {{- end }}
  selector:
    matchLabels:
      {{- include "flts.selectorLabels" .root | nindent 6 }}
      app.kubernetes.io/component: {{ .component }}
      {{- with .selector }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
{{- end }}
