{{/* A daemon Deployment. Input: dict with "root" (the chart context) and "instance" (name, role, env, replicas, resources). */}}
{{- define "flts.daemonDeployment" -}}
{{- $root := .root }}
{{- $i := .instance }}
{{- $d := $root.Values.daemon }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "flts.fullname" $root }}-{{ $i.name }}
  labels:
    {{- include "flts.labels" $root | nindent 4 }}
    app.kubernetes.io/component: daemon
    flts.io/daemon: {{ $i.name }}
    flts.io/role: {{ $i.role }}
spec:
  replicas: {{ $i.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "flts.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: daemon
      flts.io/daemon: {{ $i.name }}
  template:
    metadata:
      labels:
        {{- include "flts.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: daemon
        flts.io/daemon: {{ $i.name }}
        flts.io/role: {{ $i.role }}
      annotations:
        {{- include "flts.configChecksums" $root | nindent 8 }}
        {{- with include "flts.scrapeAnnotations" (dict "root" $root "port" $d.metricsPort) }}{{ . | trim | nindent 8 }}{{ end }}
    spec:
      {{- include "flts.podCommon" $root | nindent 6 }}
      # Lets the daemon abandon its current step (recorded KILLED) and leave its consumer group cleanly: its own
      # shutdown is bounded at 15 s, then 2 s more for the process to exit.
      terminationGracePeriodSeconds: {{ $d.terminationGracePeriodSeconds }}
      containers:
        - name: daemon
          image: {{ include "flts.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: ["daemon"]
          ports:
            - name: metrics
              containerPort: {{ $d.metricsPort }}
              protocol: TCP
          {{- include "flts.commonEnv" $root | nindent 10 }}
            - name: FLTS_DAEMON_ROLES
              value: {{ $i.role | quote }}
            # The health server binds 127.0.0.1 unless told otherwise; the kubelet's probes and Prometheus come
            # from outside the pod.
            - name: FLTS_DAEMON_HOST
              value: "0.0.0.0"
            - name: FLTS_DAEMON_PORT
              value: {{ $d.metricsPort | quote }}
            # The pod and container this daemon runs in: restarted in place (OOMKilled, a failed liveness probe), it
            # knows the leases and RUNNING run of its first instance for gone and takes them over at once, rather than
            # after FLTS_DAEMON_LEASE_STALE_MS (the new instance has a new pid namespace, so their pid says nothing).
            - name: FLTS_POD_UID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.uid
            - name: FLTS_CONTAINER_NAME
              value: daemon
            {{- with $i.env }}
            {{- include "flts.envList" . | trim | nindent 12 }}
            {{- end }}
          readinessProbe:
            httpGet:
              path: {{ $d.readinessProbe.path }}
              port: metrics
            periodSeconds: {{ $d.readinessProbe.periodSeconds }}
            timeoutSeconds: {{ $d.readinessProbe.timeoutSeconds }}
            failureThreshold: {{ $d.readinessProbe.failureThreshold }}
          livenessProbe:
            httpGet:
              path: {{ $d.livenessProbe.path }}
              port: metrics
            periodSeconds: {{ $d.livenessProbe.periodSeconds }}
            timeoutSeconds: {{ $d.livenessProbe.timeoutSeconds }}
            failureThreshold: {{ $d.livenessProbe.failureThreshold }}
          resources:
            {{- toYaml $i.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            {{- include "flts.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "flts.volumes" $root | nindent 8 }}
      {{- with $d.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $d.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $d.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* True when the release runs any daemon: they share the metrics Service and ServiceMonitor. */}}
{{- define "flts.daemonsEnabled" -}}
{{- if or .Values.daemon.trainer.enabled .Values.daemon.promoter.enabled .Values.daemon.batch.enabled }}true{{- end }}
{{- end }}
