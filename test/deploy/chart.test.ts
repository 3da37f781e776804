import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALL_SPECS } from '../../src/core/config/specs/index.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { READINESS_CHECK_MS } from '../../src/core/daemon/health-server.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import {
  byKind, CHART_DIR, component, containerEnv, containerStartEnv, helmTemplate, helmTemplateAsync, helmTemplateError, helmTemplateErrorAsync, KUBE_VERSIONS, type Manifest,
  parseManifests, podSpec, REPO_ROOT, run, runAsync, SCHEMA_DIR, type TemplateOptions, tools,
} from './deploy-tools.js';
import { startServe } from '../helpers/serve-process.js';
import { skipNote, useServers } from '../helpers/servers.js';
import { readRuleGroups, RULE_FILES, selectors } from './flts-series.js';

const deployTools = await useServers('deploy-tools');

/** Kinds of the Prometheus Operator: no schema ships with Kubernetes, so kubeconform skips them by name. */
const OPERATOR_KINDS = ['ServiceMonitor', 'PrometheusRule'];

describe.skipIf(Boolean(deployTools.skip))(`deploy > chart${skipNote(deployTools)}`, () => {
  let dev: Manifest[];
  let prod: Manifest[];
  let platform: Manifest[];
  let workDir: string;
  let validating: Promise<{ status: number; stdout: string; stderr: string }>;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'flts-deploy-'));
    // validate.sh (helm, kubeconform on every version, compose, hadolint, haproxy: over ten seconds) is a process of
    // its own: started first, it runs while the tests below render the chart, and its tests come last.
    validating = runAsync('bash', ['scripts/deploy/validate.sh'], REPO_ROOT, { OUT_DIR: join(workDir, 'validate') });
    // Awaited by the validate.sh tests; a rejection until then is theirs, not an unhandled one.
    validating.catch(() => undefined);
    dev = helmTemplate({ values: ['values-dev.yaml'] });
    prod = helmTemplate({ values: ['values-prod.yaml'] });
    platform = helmTemplate({ values: ['ci/platform-values.yaml'] });
  });
  afterAll(async () => {
    // Even when a filter skipped its tests: validate.sh writes into workDir, and nothing is left running.
    await validating?.catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }, 600_000);

  async function kubeconform(file: string, kubeVersion: string): Promise<{ status: number; summary: { valid: number; invalid: number; errors: number; skipped: number }; output: string }> {
    const res = await runAsync(tools.kubeconform, [
      '-strict', '-summary', '-output', 'json', '-kubernetes-version', kubeVersion,
      '-schema-location', `${SCHEMA_DIR}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-skip', OPERATOR_KINDS.join(','), file,
    ]);
    const report = JSON.parse(res.stdout) as { summary: { valid: number; invalid: number; errors: number; skipped: number } };
    return { status: res.status, summary: report.summary, output: res.stdout };
  }

  type Summary = { valid: number; invalid: number; errors: number; skipped: number };
  /**
   * kubeconform of several files in one process, with the summary of each file: most of a run is loading and
   * compiling the schemas, which one process does once for all its files instead of once per file.
   */
  async function kubeconformEach(files: string[], kubeVersion: string): Promise<{ status: number; summaries: Record<string, Summary>; output: string }> {
    const res = await runAsync(tools.kubeconform, [
      '-strict', '-summary', '-verbose', '-output', 'json', '-kubernetes-version', kubeVersion,
      '-schema-location', `${SCHEMA_DIR}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-skip', OPERATOR_KINDS.join(','), ...files,
    ]);
    const report = JSON.parse(res.stdout) as { resources: Array<{ filename: string; status: string }> };
    const counted: Record<string, keyof Summary> = { statusValid: 'valid', statusInvalid: 'invalid', statusError: 'errors', statusSkipped: 'skipped' };
    const summaries = Object.fromEntries(files.map((file) => [file, { valid: 0, invalid: 0, errors: 0, skipped: 0 }]));
    for (const resource of report.resources) summaries[resource.filename][counted[resource.status]] += 1;
    return { status: res.status, summaries, output: res.stdout };
  }

  it('has a schema check that rejects invalid manifests (unknown field, wrong type, unknown kind)', async () => {
    const file = join(workDir, 'broken.yaml');
    writeFileSync(file, [
      'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80, targetPorts: http}]}',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec: {replicas: "two", selector: {}, template: {spec: {containers: []}}}',
      'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: c}',
    ].join('\n---\n'));
    const { status, summary } = await kubeconform(file, KUBE_VERSIONS[1]);
    expect(status).not.toBe(0);
    expect(summary.invalid + summary.errors).toBe(3);
  });

  it('points the serve Service at the container port named http (8000), and at the one named grpc (8001) where gRPC is enabled (dev)', () => {
    for (const [objects, grpc] of [[dev, true], [prod, false]] as const) {
      const [service] = byKind(component(objects, 'serve'), 'Service');
      const [deployment] = byKind(component(objects, 'serve'), 'Deployment');
      const grpcPort = grpc ? [expect.objectContaining({ name: 'grpc', port: 8001, targetPort: 'grpc', appProtocol: 'grpc' })] : [];
      expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'http', port: 8000, targetPort: 'http' }), ...grpcPort]);
      const container = podSpec(deployment).containers[0];
      expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 8000 }), ...(grpc ? [expect.objectContaining({ name: 'grpc', containerPort: 8001 })] : [])]);
      expect(containerEnv(container)).toMatchObject({ FLTS_SERVE_PORT: '8000', PORT: '8000', FLTS_SERVE_HOST: '0.0.0.0' });
      expect(containerEnv(container).FLTS_SERVE_GRPC_PORT).toBe(grpc ? '8001' : undefined);
      // The Service selects exactly the serve pods.
      expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    }
  });

  it('follows a changed serve port through the named port', () => {
    const objects = helmTemplate({ values: ['values-dev.yaml'], set: { 'serve.port': '9000' } });
    const [service] = byKind(component(objects, 'serve'), 'Service');
    const container = podSpec(byKind(component(objects, 'serve'), 'Deployment')[0]).containers[0];
    expect(container.ports[0].containerPort).toBe(9000);
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(containerEnv(container).FLTS_SERVE_PORT).toBe('9000');
  });

  it('probes readiness on /readyz and liveness on /livez of the real ports, the daemons\' readiness timing out only after their checks give up', () => {
    const serve = podSpec(byKind(component(prod, 'serve'), 'Deployment')[0]).containers[0];
    expect(serve.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(serve.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(serve.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const daemons = byKind(component(prod, 'daemon'), 'Deployment');
    expect(daemons.length).toBeGreaterThan(0);
    for (const daemon of daemons) {
      const container = podSpec(daemon).containers[0];
      expect(container.ports).toEqual([expect.objectContaining({ name: 'metrics', containerPort: 9100 })]);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'metrics' });
      // A second at least between the checks' bound and the kubelet's: a slow store is then a coded 503, not a timeout.
      expect(container.readinessProbe.timeoutSeconds * 1000 - READINESS_CHECK_MS).toBeGreaterThanOrEqual(1000);
    }
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.readinessProbe.timeoutSeconds': '1' } })).toMatch(/timeoutSeconds/);
  });

  it('runs one trainer per model type in prod and one trainer for the list in dev, plus the promoter and batch inference', () => {
    const roleEnv = (objects: Manifest[]) => byKind(component(objects, 'daemon'), 'Deployment')
      .map((d) => containerEnv(podSpec(d).containers[0]))
      .map((env) => ({ roles: env.FLTS_DAEMON_ROLES, models: env.FLTS_TRAINER_MODELS, expected: env.EXPECTED_MODEL_TYPES }));
    expect(roleEnv(prod)).toEqual([
      { roles: 'trainer', models: 'LSTM', expected: undefined },
      { roles: 'trainer', models: 'GRU', expected: undefined },
      { roles: 'trainer', models: 'PROPHET', expected: undefined },
      { roles: 'promoter', models: undefined, expected: 'LSTM,GRU,PROPHET' },
      { roles: 'batch', models: undefined, expected: undefined },
    ]);
    expect(roleEnv(dev)).toEqual([
      { roles: 'trainer', models: 'LSTM,GRU,PROPHET', expected: undefined },
      { roles: 'promoter', models: undefined, expected: 'LSTM,GRU,PROPHET' },
      { roles: 'batch', models: undefined, expected: undefined },
    ]);
    const names = byKind(component(prod, 'daemon'), 'Deployment').map((d) => d.metadata.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('tells every daemon container its pod uid (downward API) and its container name, so a restart in place takes over its own work at once', () => {
    // Without them a daemon restarted by the kubelet (OOMKilled, a failed liveness probe) waited
    // FLTS_DAEMON_LEASE_STALE_MS for the leases and RUNNING run of its own first instance.
    for (const objects of [dev, prod]) {
      const daemons = byKind(component(objects, 'daemon'), 'Deployment');
      expect(daemons.length).toBeGreaterThan(0);
      for (const deployment of daemons) {
        const container = podSpec(deployment).containers[0];
        expect(container.env).toContainEqual({ name: 'FLTS_POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } });
        expect(container.env).toContainEqual({ name: 'FLTS_CONTAINER_NAME', value: container.name });
        const { settings } = resolveSettings({ env: containerStartEnv(objects, deployment, container, '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e') });
        expect(settings.instance, deployment.metadata.name).toMatchObject({ podUid: '6c1f3a52-0d7e-4c3b-9d8e-1f2a3b4c5d6e', container: container.name, idFile: '' });
      }
    }
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.trainer.env.FLTS_POD_UID': 'fixed' } })).toContain('daemon.trainer.env.FLTS_POD_UID (setting instance.podUid) is one the chart sets itself');
  });

  it('runs batch inference on the inference-data claims, probed and scraped like the other daemons', () => {
    for (const [objects, replicas] of [[prod, 2], [dev, 1]] as const) {
      const [batch] = byKind(component(objects, 'daemon'), 'Deployment').filter((d) => d.metadata.labels?.['flts.io/role'] === 'batch');
      expect(batch.metadata.name).toBe('flts-batch');
      expect(batch.spec.replicas).toBe(replicas);
      expect(batch.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'daemon', 'flts.io/daemon': 'batch', 'flts.io/role': 'batch' });
      const container = podSpec(batch).containers[0];
      expect(container.args).toEqual(['daemon']);
      expect(containerEnv(container)).toMatchObject({ FLTS_DAEMON_ROLES: 'batch', FLTS_DAEMON_HOST: '0.0.0.0', FLTS_DAEMON_PORT: '9100' });
      expect(container.ports).toEqual([expect.objectContaining({ name: 'metrics', containerPort: 9100 })]);
      expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 10, failureThreshold: 3 });
      expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/livez', port: 'metrics' }, periodSeconds: 15, failureThreshold: 4 });
      expect(container.resources.limits.memory).toBeDefined();
      expect(podSpec(batch).terminationGracePeriodSeconds).toBe(60);
      // Scraped: the daemon Service selects its pods, and a ServiceMonitor (prod) that Service's metrics port.
      const [service] = byKind(component(objects, 'daemon'), 'Service');
      expect(batch.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    }
    const [monitor] = byKind(prod, 'ServiceMonitor').filter((m) => m.metadata.name === 'flts-daemon');
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    // Its own settings by their environment names, checked like the other daemons' env maps.
    const csv = helmTemplate({ values: ['values-prod.yaml'], set: { 'daemon.batch.env.FLTS_BATCH_FORMAT': 'csv' } });
    const batchEnv = containerEnv(podSpec(byKind(csv, 'Deployment').find((d) => d.metadata.name === 'flts-batch')!).containers[0]);
    expect(batchEnv.FLTS_BATCH_FORMAT).toBe('csv');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.batch.env.FLTS_DAEMON_ROLES': 'trainer' } })).toContain('daemon.batch.env.FLTS_DAEMON_ROLES (setting daemon.roles) is one the chart sets itself');
  });

  it('annotates every serve and daemon pod with its prometheus.io scrape target, the port that serves /metrics', async () => {
    const moved = await helmTemplateAsync({ values: ['values-dev.yaml'], set: { 'serve.port': '8080', 'daemon.metricsPort': '9300' } });
    for (const objects of [dev, prod, platform, moved]) {
      const workloads = byKind(objects, 'Deployment');
      expect(workloads.map((d) => d.metadata.labels?.['app.kubernetes.io/component'])).toEqual(expect.arrayContaining(['serve', 'daemon']));
      for (const workload of workloads) {
        const container = podSpec(workload).containers[0];
        const metricsPort = container.ports.find((port: { name: string }) => port.name === (container.name === 'serve' ? 'http' : 'metrics'));
        expect(workload.spec.template.metadata.annotations, workload.metadata.name).toMatchObject({
          'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort.containerPort), 'prometheus.io/path': '/metrics',
        });
      }
    }
    expect(podSpec(byKind(moved, 'Deployment').find((d) => d.metadata.name === 'flts-serve')!).containers[0].ports[0].containerPort).toBe(8080);
    // The path is the one the ServiceMonitors scrape.
    for (const monitor of byKind(prod, 'ServiceMonitor')) expect(monitor.spec.endpoints.map((e: { path: string }) => e.path)).toEqual(['/metrics']);
    // Off for a Prometheus that scrapes through the Operator only; the config checksums stay.
    const off = await helmTemplateAsync({ values: ['values-dev.yaml'], set: { 'metrics.podAnnotations.enabled': 'false' } });
    for (const workload of byKind(off, 'Deployment')) {
      const annotations = workload.spec.template.metadata.annotations as Record<string, string>;
      expect(Object.keys(annotations).filter((key) => key.startsWith('prometheus.io/'))).toEqual([]);
      expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    }
    // Jobs and the test pod are not long-lived targets.
    for (const kind of ['Job', 'Pod']) for (const o of byKind(dev, kind)) expect(o.spec.template?.metadata?.annotations?.['prometheus.io/scrape'] ?? o.metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
  });

  it('keeps one of the two prod batch replicas through node drains, and never blocks a drain', () => {
    const [pdb] = byKind(prod, 'PodDisruptionBudget').filter((p) => p.metadata.name === 'flts-batch');
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
    const [batch] = byKind(prod, 'Deployment').filter((d) => d.metadata.name === 'flts-batch');
    expect(batch.spec.replicas).toBeGreaterThan(pdb.spec.maxUnavailable);
    // The budget covers the batch pods and only them.
    const covered = byKind(prod, 'Deployment').filter((d) => Object.entries(pdb.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    expect(covered.map((d) => d.metadata.name)).toEqual(['flts-batch']);
    // One replica (the default): no budget, which would either block every drain or allow the one eviction it guards.
    expect(byKind(dev, 'PodDisruptionBudget')).toEqual([]);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.batch.pdb.minAvailable': '2' } })).toMatch(/daemon\.batch\.pdb\.minAvailable \(2\) must be below the batch replica count \(2\).*use daemon\.batch\.pdb\.maxUnavailable/);
    const minAvailable = helmTemplate({ values: ['values-prod.yaml'], set: { 'daemon.batch.pdb.minAvailable': '1' } });
    expect(byKind(minAvailable, 'PodDisruptionBudget').find((p) => p.metadata.name === 'flts-batch')!.spec).toEqual(expect.objectContaining({ minAvailable: 1 }));
  });

  it('makes alerting rules of the shared rules file, scoped to the Services this release scrapes in its namespace', () => {
    const expected = readRuleGroups(RULE_FILES.chart);
    for (const options of [{ values: ['values-prod.yaml'] }, { values: ['values-prod.yaml'], set: { fullnameOverride: 'forecast' }, namespace: 'ml' }]) {
      const objects = options.namespace ? helmTemplate(options) : prod;
      const namespace = options.namespace ?? 'default';
      const [rule] = byKind(objects, 'PrometheusRule');
      expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(rule.metadata.labels).toMatchObject({ release: 'prometheus', 'app.kubernetes.io/instance': 'flts' });
      // The job of each component is the Service its ServiceMonitor selects: Prometheus Operator names the job after it.
      const scraped = new Map(byKind(objects, 'ServiceMonitor').map((m) => {
        const service = byKind(objects, 'Service').find((s) => Object.entries(m.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => s.metadata.labels?.[k] === v))!;
        return [m.metadata.labels!['app.kubernetes.io/component'], service.metadata.name];
      }));
      expect([...scraped.keys()].sort()).toEqual(['daemon', 'serve']);
      const groups = rule.spec.groups as typeof expected;
      expect(groups.map((g) => g.name)).toEqual(expected.map((g) => g.name));
      for (const [g, group] of groups.entries()) {
        expect(group.rules.map((r) => r.alert)).toEqual(expected[g].rules.map((r) => r.alert));
        for (const [r, rendered] of group.rules.entries()) {
          const source = expected[g].rules[r];
          expect({ ...rendered, expr: undefined }).toEqual({ ...source, expr: undefined });
          const renderedSelectors = selectors(rendered.expr);
          expect(renderedSelectors.map((s) => s.name)).toEqual(selectors(source.expr).map((s) => s.name));
          for (const [i, { matchers }] of renderedSelectors.entries()) {
            const component = selectors(source.expr)[i].matchers.find((m) => m.label === 'job')!.value.replace(/^flts-/, '');
            expect(matchers.filter((m) => m.label === 'job' || m.label === 'namespace'), rendered.alert).toEqual([
              { label: 'job', op: '=', value: scraped.get(component) }, { label: 'namespace', op: '=', value: namespace },
            ]);
          }
        }
      }
      // Valid for Prometheus as rendered.
      const file = join(workDir, `rules-${namespace}.yaml`);
      writeFileSync(file, stringify(rule.spec));
      const check = run(tools.promtool, ['check', 'rules', file]);
      expect(check.status, check.stdout + check.stderr).toBe(0);
    }
    // alertLabels join every alert's labels and win over the file's (e.g. to route everything to one team).
    const labelled = helmTemplate({ values: ['values-prod.yaml'], set: { 'metrics.prometheusRule.alertLabels.team': 'forecasting', 'metrics.prometheusRule.alertLabels.severity': 'page' } });
    const rules = byKind(labelled, 'PrometheusRule')[0].spec.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    expect(rules.length).toBe(expected.flatMap((g) => g.rules).length);
    for (const rule of rules) expect(rule.labels).toEqual({ severity: 'page', team: 'forecasting' });
    // Off by default, like the ServiceMonitors it relies on.
    expect(byKind(helmTemplate({ values: ['values-dev.yaml'] }), 'PrometheusRule')).toEqual([]);
  });

  it('refuses alerting rules without the ServiceMonitors whose jobs they select, which would leave every alert silent', () => {
    // Scraped through the pods' prometheus.io annotations instead, the series carry the scrape config's job, not the Service's.
    for (const values of ['values-dev.yaml', 'values-prod.yaml']) {
      expect(helmTemplateError({ values: [values], set: { 'metrics.prometheusRule.enabled': 'true', 'metrics.serviceMonitor.enabled': 'false' } }), values)
        .toContain('metrics.prometheusRule needs metrics.serviceMonitor.enabled');
    }
    expect(byKind(helmTemplate({ values: ['values-dev.yaml'], set: { 'metrics.prometheusRule.enabled': 'true', 'metrics.serviceMonitor.enabled': 'true' } }), 'PrometheusRule')).toHaveLength(1);
  });

  it('autoscales serve in prod on CPU and requests/s, with a disruption budget over the serve pods', () => {
    const serve = component(prod, 'serve');
    const [hpa] = byKind(serve, 'HorizontalPodAutoscaler');
    const [deployment] = byKind(serve, 'Deployment');
    const [pdb] = byKind(serve, 'PodDisruptionBudget');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.metrics.map((m: { type: string }) => m.type)).toEqual(['Resource', 'Pods']);
    expect(hpa.spec.metrics[0].resource).toMatchObject({ name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    // With an HPA the Deployment leaves the replica count alone, or every upgrade would reset it.
    expect(deployment.spec.replicas).toBeUndefined();
    expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(byKind(component(dev, 'serve'), 'HorizontalPodAutoscaler')).toEqual([]);
    expect(byKind(dev, 'PodDisruptionBudget')).toEqual([]);
    expect(byKind(component(dev, 'serve'), 'Deployment')[0].spec.replicas).toBe(1);
  });

  it('keeps one pod of every Deployment that runs two or more through node drains, in every profile and with the defaults', () => {
    // values.yaml alone needs only the store's credentials and a dataset.
    const defaults = helmTemplate({ set: { 'store.accessKey': 'a', 'store.secretKey': 'b', 'preprocess.env.DATASET_NAME': 'example' } });
    // Standbys of one trainer for every model type and of the promoter.
    const standbys = helmTemplate({
      values: ['values-prod.yaml'],
      set: { 'daemon.trainer.perModelType': 'false', 'daemon.trainer.replicas': '2', 'daemon.trainer.pdb.enabled': 'true', 'daemon.promoter.replicas': '2', 'daemon.promoter.pdb.enabled': 'true' },
    });
    const profiles = { defaults, dev, prod, platform, standbys };
    let guarded = 0;
    for (const [profile, objects] of Object.entries(profiles)) {
      for (const deployment of byKind(objects, 'Deployment')) {
        const hpa = byKind(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === deployment.metadata.name);
        const fewest: number = hpa ? hpa.spec.minReplicas : deployment.spec.replicas;
        if (fewest < 2) continue;
        const where = `${profile} ${deployment.metadata.name} (${fewest} replicas)`;
        const labels = deployment.spec.template.metadata.labels as Record<string, string>;
        const budgets = byKind(objects, 'PodDisruptionBudget').filter((p) => Object.entries(p.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v));
        expect(budgets.length, where).toBe(1);
        const { maxUnavailable, minAvailable } = budgets[0].spec;
        // At least one pod stays, and a drain can always evict one.
        const evictable = minAvailable === undefined ? maxUnavailable : fewest - minAvailable;
        expect(evictable, where).toBeGreaterThanOrEqual(1);
        expect(evictable, where).toBeLessThan(fewest);
        guarded += 1;
      }
    }
    // The defaults' serve; prod's serve and batch; the platform's serve, batch and three trainers; the standbys' serve,
    // batch, trainer and promoter.
    expect(guarded).toBe(12);
    expect(helmTemplateError({ values: ['ci/platform-values.yaml'], set: { 'daemon.trainer.pdb.minAvailable': '2' } })).toMatch(/daemon\.trainer\.pdb\.minAvailable \(2\) must be below the trainer-lstm replica count \(2\)/);
    expect(byKind(component(defaults, 'serve'), 'Deployment')[0].spec.replicas).toBe(2);
  });

  it('has a disruption budget that always lets a node drain evict a serve pod', () => {
    const [pdb] = byKind(component(prod, 'serve'), 'PodDisruptionBudget');
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
    expect(pdb.spec.minAvailable).toBeUndefined();
    // One replica with the budget on: maxUnavailable still allows an eviction, minAvailable 1 would allow none.
    const single = helmTemplate({ values: ['values-dev.yaml'], set: { 'serve.pdb.enabled': 'true' } });
    expect(byKind(single, 'PodDisruptionBudget')[0].spec).toMatchObject({ maxUnavailable: 1 });
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'serve.pdb.enabled': 'true', 'serve.pdb.minAvailable': '1' } })).toMatch(/minAvailable \(1\) must be below the serve replica count \(1\)/);
    // With an HPA the floor is minReplicas (2 in prod).
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.pdb.minAvailable': '2' } })).toMatch(/replica count \(2\)/);
    const minAvailable = byKind(component(helmTemplate({ values: ['values-prod.yaml'], set: { 'serve.pdb.minAvailable': '1' } }), 'serve'), 'PodDisruptionBudget');
    expect(minAvailable[0].spec).toMatchObject({ minAvailable: 1 });
    expect(minAvailable[0].spec.maxUnavailable).toBeUndefined();
  });

  it('lets a node drain evict pods that are not ready whatever the budget, where the API server knows that policy (1.27 on)', () => {
    // Serve replicas wait unready for their first model, daemons for an absent broker: all of a Deployment at once.
    const budgets = [...byKind(prod, 'PodDisruptionBudget'), ...byKind(platform, 'PodDisruptionBudget')];
    expect(budgets.length).toBeGreaterThanOrEqual(7);
    for (const pdb of budgets) expect(pdb.spec.unhealthyPodEvictionPolicy, pdb.metadata.name).toBe('AlwaysAllow');
    // Before 1.27 the field is unknown to the API server and its schema: left out, not dropped with a warning.
    for (const [kubeVersion, policy] of [['1.25.0', undefined], ['1.26.9', undefined], ['1.27.0', 'AlwaysAllow']] as const) {
      const rendered = byKind(helmTemplate({ values: ['ci/platform-values.yaml'], kubeVersion }), 'PodDisruptionBudget');
      expect(rendered.length, kubeVersion).toBeGreaterThan(0);
      for (const pdb of rendered) expect(pdb.spec.unhealthyPodEvictionPolicy, `${kubeVersion} ${pdb.metadata.name}`).toBe(policy);
    }
  });

  /** Whether an Ingress path of this type matches a request path, as the Ingress API defines them (Prefix: by whole path elements). */
  const matches = ({ path, pathType }: { path: string; pathType: string }, request: string): boolean => {
    if (pathType === 'Exact') return request === path;
    const prefix = path.replace(/\/+$/, '');
    return prefix === '' || request === prefix || request.startsWith(`${prefix}/`);
  };

  it('publishes only the prediction and health routes through the Ingress, the versioned infer route included', () => {
    const [ingress] = byKind(prod, 'Ingress');
    const paths: Array<{ path: string; pathType: string }> = ingress.spec.rules[0].http.paths;
    expect(paths.map((p) => [p.path, p.pathType]).sort()).toEqual([
      ['/actuals', 'Exact'], ['/healthz', 'Exact'], ['/predict', 'Exact'], ['/readyz', 'Exact'], ['/v2/health/live', 'Exact'], ['/v2/health/ready', 'Exact'], ['/v2/models/flts/infer', 'Exact'],
      ['/v2/models/flts/versions/', 'Prefix'],
    ]);
    const published = (request: string): boolean => paths.some((p) => matches(p, request));
    // Before, only Exact paths: /v2/models/<model>/versions/<version>/infer was unreachable from outside the cluster.
    for (const route of ['/predict', '/v2/models/flts/infer', '/v2/models/flts/versions/20261206T120000-abc/infer', '/v2/models/flts/versions/20261206T120000-abc/ready']) expect(published(route), route).toBe(true);
    for (const route of ['/reload_latest', '/prune_logs', '/metrics', '/stats', '/openapi.json', '/v2/models/other/versions/1/infer', '/v2/models/flts/versionsx']) expect(published(route), route).toBe(false);
  });

  it('refuses an Ingress path or prefix that would publish an admin route', () => {
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.ingress.paths': '{/predict,/metrics}' } })).toContain('serve.ingress.paths has /metrics, which is not to be published');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.ingress.prefixPaths': '{/}' } })).toContain('serve.ingress.prefixPaths has /, which would publish /reload_latest');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.ingress.prefixPaths': '{/stats/}' } })).toContain('serve.ingress.prefixPaths has /stats/, which would publish /stats');
  });

  it('refuses to publish every route `flts serve` has that is neither a prediction nor a health route, as the server lists them', async () => {
    // docs/security.md's table: prediction and health routes are for clients, the rest stay inside the cluster.
    const publishable = ['/predict', '/actuals', '/livez', '/healthz', '/readyz', '/ready', '/predict_ping', '/v2', '/v2/health/live', '/v2/health/ready'];
    const home = mkdtempSync(join(tmpdir(), 'flts-ingress-routes-'));
    const serve = await startServe([], { FLTS_HOME: home, FLTS_STORE: 'fs', FLTS_BUS: 'none' });
    let routes: string[];
    try {
      routes = Object.keys(((await (await fetch(`${serve.url}/openapi.json`)).json()) as { paths: Record<string, unknown> }).paths);
    } finally {
      await serve.stop();
      rmSync(home, { recursive: true, force: true });
    }
    // The document does not list itself.
    const internal = [...routes.filter((route) => !publishable.includes(route) && !route.startsWith('/v2/models/')), '/openapi.json'];
    expect(internal).toEqual(expect.arrayContaining(['/reload_latest', '/prune_logs', '/metrics', '/stats']));
    for (const route of internal) {
      const asPath = await helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'serve.ingress.paths': `{/predict,${route}}` } });
      expect(asPath, `paths ${route}`).toContain(`serve.ingress.paths has ${route}, which is not to be published`);
      const asPrefix = await helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'serve.ingress.prefixPaths': `{${route}/}` } });
      expect(asPrefix, `prefixPaths ${route}/`).toContain(`serve.ingress.prefixPaths has ${route}/, which would publish ${route}`);
    }
  }, 60_000);

  it('derives every path naming the model from serve.modelName, so a rename is one value', () => {
    const renamed = helmTemplate({ values: ['values-prod.yaml'], set: { 'serve.modelName': 'demand' } });
    const paths = byKind(renamed, 'Ingress')[0].spec.rules[0].http.paths.map((p: { path: string; pathType: string }) => [p.path, p.pathType]);
    expect(paths.filter(([path]: string[]) => path.startsWith('/v2/models/'))).toEqual([['/v2/models/demand/infer', 'Exact'], ['/v2/models/demand/versions/', 'Prefix']]);
    // The server answers for the name the Ingress publishes; nothing else in the release names the model.
    const serve = podSpec(byKind(component(renamed, 'serve'), 'Deployment')[0]).containers[0];
    expect(containerEnv(serve).FLTS_SERVE_MODEL_NAME).toBe('demand');
    const text = JSON.stringify(renamed);
    expect(text).not.toMatch(/\/v2\/models\/flts\b/);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(serve[probe].httpGet.path).not.toContain('/v2/models/');
    // Set elsewhere, the name would part from the Ingress's paths.
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.env.FLTS_SERVE_MODEL_NAME': 'demand' } })).toContain('serve.env.FLTS_SERVE_MODEL_NAME (setting serve.modelName) is one the chart sets itself: set serve.modelName');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'settings.FLTS_SERVE_MODEL_NAME': 'demand' } })).toContain('set serve.modelName');
    // A model path given by hand must name the same model; the one the chart derives itself is published once.
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.modelName': 'demand', 'serve.ingress.paths': '{/predict,/v2/models/flts/infer}' } })).toContain(
      'serve.ingress.paths has /v2/models/flts/infer, but the server answers for the model "demand" (serve.modelName)',
    );
    const repeated = helmTemplate({ values: ['values-prod.yaml'], set: { 'serve.ingress.paths': '{/predict,/v2/models/flts/infer}', 'serve.ingress.prefixPaths': '{/v2/models/flts/versions/}' } });
    expect(byKind(repeated, 'Ingress')[0].spec.rules[0].http.paths.map((p: { path: string; pathType: string }) => [p.path, p.pathType])).toEqual([['/predict', 'Exact'], ['/v2/models/flts/infer', 'Exact'], ['/v2/models/flts/versions/', 'Prefix']]);
    const without = helmTemplate({ values: ['values-prod.yaml'], set: { 'serve.ingress.modelPaths': 'false' } });
    expect(byKind(without, 'Ingress')[0].spec.rules[0].http.paths.filter((p: { path: string }) => p.path.startsWith('/v2/models/'))).toEqual([]);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.modelName': 'a/b' } })).toContain('serve.modelName "a/b" is not a model name');
  });

  it('renders a platform team\'s EKS release (ci/platform-values.yaml) with every credential from where it belongs', () => {
    // IRSA: no key anywhere, the role on the one service account every pod runs as.
    expect(byKind(platform, 'Secret')).toEqual([]);
    const [account] = byKind(platform, 'ServiceAccount');
    expect(account.metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::/);
    const workloads = platform.filter((o) => podSpec(o));
    expect(workloads.length).toBeGreaterThanOrEqual(7);
    for (const workload of workloads) expect(podSpec(workload).serviceAccountName, workload.metadata.name).toBe(account.metadata.name);
    // No secret setting in the ConfigMap or as an env literal; the SASL password and tokens come from Secret references.
    const secretNames = new Set(ALL_SPECS.filter((spec) => spec.secret).flatMap((spec) => spec.env ?? []));
    for (const map of byKind(platform, 'ConfigMap')) expect(Object.keys(map.data ?? {}).filter((name) => secretNames.has(name)), map.metadata.name).toEqual([]);
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers) {
        const literals = (container.env ?? []).filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string }) => e.name);
        expect(literals.filter((name: string) => secretNames.has(name)), workload.metadata.name).toEqual([]);
      }
    }
    const [serve] = byKind(component(platform, 'serve'), 'Deployment');
    expect(containerEnv(podSpec(serve).containers[0])).toMatchObject({ FLTS_KAFKA_SASL_PASSWORD: 'secret:flts/password', FLTS_SERVE_MODEL_NAME: 'demand' });
    const paths = byKind(platform, 'Ingress')[0].spec.rules[0].http.paths.map((p: { path: string }) => p.path);
    expect(paths.filter((path: string) => path.startsWith('/v2/models/'))).toEqual(['/v2/models/demand/infer', '/v2/models/demand/versions/']);
  });

  it('keeps Service and Job names within 63 characters under the longest release name, and every reference to them', () => {
    // Helm takes release names of up to 53 characters; the full name adds "-flts". Before, the Services were named
    // <full name>-serve and -daemon (64 and 65 characters here) and the Job <full name>-preprocess-<revision>, past
    // the 63 of a DNS label: the API server refused the install.
    const release = 'forecasting-demand-production-eu-central-1-blue-green';
    expect(release.length).toBe(53);
    for (const hook of ['true', 'false']) {
      const objects = helmTemplate({ values: ['ci/platform-values.yaml'], release, set: { 'preprocess.hook': hook } });
      const services = byKind(objects, 'Service').map((o) => o.metadata.name);
      const jobs = byKind(objects, 'Job').map((o) => o.metadata.name);
      expect(services.length).toBe(2);
      expect(jobs.length).toBe(1);
      for (const name of [...services, ...jobs]) expect(name.length, name).toBeLessThanOrEqual(63);
      // What names a Service names one of these.
      const backends = byKind(objects, 'Ingress')[0].spec.rules[0].http.paths.map((p: any) => p.backend.service.name);
      const testUrl = new URL(containerEnv(byKind(objects, 'Pod')[0].spec.containers[0]).SERVE_URL);
      const ruleJobs = JSON.stringify(byKind(objects, 'PrometheusRule')[0].spec).match(/job=\\"[^\\]+\\"/g)!.map((m) => m.slice(6, -2));
      for (const name of [...backends, testUrl.hostname, ...ruleJobs]) expect(services, name).toContain(name);
    }
    // A name that fits is the same as before.
    expect(byKind(platform, 'Service').map((o) => o.metadata.name).sort()).toEqual(['flts-daemon', 'flts-serve']);
  });

  it('spreads the serve pods of this release, whatever the chart is named', () => {
    for (const set of [{}, { nameOverride: 'forecast' }] as Record<string, string>[]) {
      const objects = helmTemplate({ values: ['values-prod.yaml'], set });
      const pod = byKind(component(objects, 'serve'), 'Deployment')[0].spec.template;
      const constraints = pod.spec.topologySpreadConstraints;
      expect(constraints.length).toBeGreaterThan(0);
      for (const constraint of constraints) {
        // The selector must match this release's serve pods, and only them (another release's pods carry another instance).
        expect(pod.metadata.labels).toMatchObject(constraint.labelSelector.matchLabels);
        expect(constraint.labelSelector.matchLabels).toMatchObject({ 'app.kubernetes.io/instance': 'flts', 'app.kubernetes.io/component': 'serve' });
      }
    }
    // A selector given in the values is kept as it is.
    const own = helmTemplate({ values: ['values-prod.yaml'], set: { 'serve.topologySpreadConstraints[0].maxSkew': '1', 'serve.topologySpreadConstraints[0].topologyKey': 'topology.kubernetes.io/zone', 'serve.topologySpreadConstraints[0].whenUnsatisfiable': 'DoNotSchedule', 'serve.topologySpreadConstraints[0].labelSelector.matchLabels.tier': 'serving' } });
    expect(byKind(component(own, 'serve'), 'Deployment')[0].spec.template.spec.topologySpreadConstraints[0].labelSelector).toEqual({ matchLabels: { tier: 'serving' } });
  });

  it('refuses a store or a bus that the pods would not share', () => {
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'store.kind': 'fs' } })).toContain('store.kind "fs" is not shared by the pods');
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'bus.kind': 'fs' } })).toContain('bus.kind "fs" is not shared by the pods');
  });

  it('gives every flts container the keys of the existing Secrets named in envFromSecrets (MLflow credentials)', () => {
    const objects = helmTemplate({ values: ['values-prod.yaml'], set: { 'envFromSecrets[0]': 'flts-mlflow' } });
    const containers = objects.filter((o) => podSpec(o) && o.metadata.annotations?.['helm.sh/hook'] !== 'test').flatMap((o) => podSpec(o).containers);
    expect(containers.length).toBeGreaterThanOrEqual(4);
    for (const container of containers) expect(container.envFrom).toContainEqual({ secretRef: { name: 'flts-mlflow' } });
  });

  it('gives every flts container the bearer tokens from a Secret, never from the ConfigMap', () => {
    const containers = (objects: Manifest[]) => objects.filter((o) => podSpec(o) && o.kind === 'Deployment').flatMap((o) => podSpec(o).containers);
    for (const container of containers(prod)) {
      expect(containerEnv(container)).toMatchObject({ FLTS_SERVE_ADMIN_TOKEN: 'secret:flts-serve-tokens/FLTS_SERVE_ADMIN_TOKEN', FLTS_SERVE_API_TOKEN: 'secret:flts-serve-tokens/FLTS_SERVE_API_TOKEN' });
    }
    const inline = helmTemplate({ values: ['values-dev.yaml'], set: { 'auth.adminToken': 'admin-value', 'auth.apiToken': 'api-value' } });
    const [secret] = byKind(inline, 'Secret');
    expect(secret.stringData).toMatchObject({ FLTS_SERVE_ADMIN_TOKEN: 'admin-value', FLTS_SERVE_API_TOKEN: 'api-value' });
    expect(JSON.stringify(byKind(inline, 'ConfigMap'))).not.toContain('admin-value');
    for (const container of containers(inline)) expect(container.envFrom).toContainEqual({ secretRef: { name: secret.metadata.name } });
  });

  it('connects to a secured Kafka: the SASL password from a Secret, CA and client certificate files from mounted Secrets', () => {
    const set = {
      'settings.FLTS_KAFKA_SECURITY_PROTOCOL': 'SASL_SSL', 'settings.FLTS_KAFKA_SASL_MECHANISM': 'SCRAM-SHA-512', 'settings.FLTS_KAFKA_SASL_USERNAME': 'flts',
      'settings.FLTS_KAFKA_SSL_CA_FILE': '/etc/flts/kafka-ca/ca.crt', 'bus.saslPasswordSecret.name': 'flts-kafka-user',
      'tlsSecrets[0].name': 'my-cluster-cluster-ca-cert', 'tlsSecrets[0].mountPath': '/etc/flts/kafka-ca',
    };
    const objects = helmTemplate({ values: ['values-prod.yaml'], set });
    expect(byKind(objects, 'ConfigMap').find((c) => c.metadata.name === 'flts')?.data).toMatchObject({ FLTS_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', FLTS_KAFKA_SSL_CA_FILE: '/etc/flts/kafka-ca/ca.crt' });
    const workloads = objects.filter((o) => podSpec(o) && o.kind !== 'Pod');
    expect(workloads.length).toBeGreaterThanOrEqual(4);
    for (const workload of workloads) {
      const pod = podSpec(workload);
      expect(pod.volumes).toContainEqual({ name: 'tls-0', secret: { secretName: 'my-cluster-cluster-ca-cert', defaultMode: 0o440 } });
      for (const container of pod.containers) {
        expect(container.volumeMounts).toContainEqual({ name: 'tls-0', mountPath: '/etc/flts/kafka-ca', readOnly: true });
        expect(containerEnv(container).FLTS_KAFKA_SASL_PASSWORD).toBe('secret:flts-kafka-user/password');
      }
    }
    // The password is a secret setting: refused where anyone reading the Deployment or ConfigMap would see it.
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'settings.FLTS_KAFKA_SASL_PASSWORD': 'pw' } })).toContain('settings.FLTS_KAFKA_SASL_PASSWORD is a secret: set it in secretEnv');
    const inline = helmTemplate({ values: ['values-prod.yaml'], set: { 'secretEnv.FLTS_KAFKA_SASL_PASSWORD': 'inline-pw' } });
    expect(byKind(inline, 'Secret')[0].stringData).toMatchObject({ FLTS_KAFKA_SASL_PASSWORD: 'inline-pw' });
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'secretEnv.FLTS_KAFKA_SASL_PASSWORD': 'pw', 'bus.saslPasswordSecret.name': 'flts-kafka-user' } })).toContain('keep one');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'tlsSecrets[0].name': 'ca', 'tlsSecrets[0].mountPath': '/data' } })).toContain('would hide a directory flts writes to');
  });

  it('renders nothing for a component whose enabled flag is false', () => {
    const base = { values: ['values-prod.yaml'] };
    const noServe = helmTemplate({ ...base, set: { 'serve.enabled': 'false' } });
    expect(component(noServe, 'serve')).toEqual([]);
    expect(byKind(noServe, 'Ingress')).toEqual([]);
    expect(byKind(noServe, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(byKind(noServe, 'Pod')).toEqual([]);

    const noTrainer = helmTemplate({ ...base, set: { 'daemon.trainer.enabled': 'false' } });
    expect(byKind(component(noTrainer, 'daemon'), 'Deployment').map((d) => d.metadata.name)).toEqual(['flts-promoter', 'flts-batch']);

    const batchOnly = helmTemplate({ ...base, set: { 'daemon.trainer.enabled': 'false', 'daemon.promoter.enabled': 'false' } });
    expect(byKind(component(batchOnly, 'daemon'), 'Deployment').map((d) => d.metadata.name)).toEqual(['flts-batch']);
    // The batch daemon alone is still scraped.
    expect(component(batchOnly, 'daemon').map((o) => o.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service', 'ServiceMonitor']);

    const noBatch = helmTemplate({ ...base, set: { 'daemon.batch.enabled': 'false' } });
    expect(byKind(component(noBatch, 'daemon'), 'Deployment').map((d) => d.metadata.name)).not.toContain('flts-batch');
    expect(byKind(noBatch, 'PodDisruptionBudget').map((p) => p.metadata.name)).toEqual(['flts-serve']);

    const noDaemons = helmTemplate({ ...base, set: { 'daemon.trainer.enabled': 'false', 'daemon.promoter.enabled': 'false', 'daemon.batch.enabled': 'false' } });
    expect(component(noDaemons, 'daemon')).toEqual([]);

    const optional = helmTemplate({
      ...base,
      set: {
        'preprocess.enabled': 'false', 'metrics.serviceMonitor.enabled': 'false', 'metrics.grafanaDashboard.enabled': 'false',
        'metrics.prometheusRule.enabled': 'false', 'tests.enabled': 'false', 'serve.ingress.enabled': 'false', 'serve.pdb.enabled': 'false',
        'serve.autoscaling.enabled': 'false', 'daemon.batch.pdb.enabled': 'false',
      },
    });
    expect(byKind(optional, 'Job')).toEqual([]);
    expect(byKind(optional, 'ServiceMonitor')).toEqual([]);
    expect(byKind(optional, 'PrometheusRule')).toEqual([]);
    expect(byKind(optional, 'Pod')).toEqual([]);
    expect(byKind(optional, 'Ingress')).toEqual([]);
    expect(byKind(optional, 'PodDisruptionBudget')).toEqual([]);
    expect(byKind(optional, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(byKind(optional, 'ConfigMap').map((c) => c.metadata.name)).toEqual(['flts']);
    // Turning things off removes exactly those objects and keeps the rest.
    expect(byKind(optional, 'Deployment').length).toBe(byKind(prod, 'Deployment').length);
  });

  it('reads credentials from an existing Secret when one is named, and creates none for them', () => {
    expect(byKind(prod, 'Secret')).toEqual([]);
    for (const workload of prod.filter((o) => podSpec(o))) {
      for (const container of podSpec(workload).containers) {
        if (workload.kind === 'Pod') continue; // the helm test pod talks HTTP only
        expect(containerEnv(container)).toMatchObject({
          MINIO_ROOT_USER: 'secret:flts-minio/MINIO_ROOT_USER',
          MINIO_ROOT_PASSWORD: 'secret:flts-minio/MINIO_ROOT_PASSWORD',
          AWS_SESSION_TOKEN: 'secret:flts-minio/AWS_SESSION_TOKEN',
        });
        // A Secret of a long-term key has no session token: the pod must start without it.
        expect(container.env.find((e: { name: string }) => e.name === 'AWS_SESSION_TOKEN').valueFrom.secretKeyRef.optional).toBe(true);
      }
    }
    const customKeys = helmTemplate({ values: ['values-prod.yaml'], set: { 'store.existingSecretKeys.secretKey': 'password' } });
    const serve = podSpec(byKind(component(customKeys, 'serve'), 'Deployment')[0]).containers[0];
    expect(containerEnv(serve).MINIO_ROOT_PASSWORD).toBe('secret:flts-minio/password');
  });

  it('creates a Secret from inline credentials and refuses to render without any', () => {
    const [secret] = byKind(dev, 'Secret');
    expect(secret.stringData).toMatchObject({ MINIO_ROOT_USER: 'minioadmin', MINIO_ROOT_PASSWORD: 'minioadmin' });
    expect(secret.stringData).not.toHaveProperty('AWS_SESSION_TOKEN');
    const [temporary] = byKind(helmTemplate({ values: ['values-dev.yaml'], set: { 'store.sessionToken': 'IQoJb3JpZ2luX2Vj' } }), 'Secret');
    expect(temporary.stringData).toMatchObject({ MINIO_ROOT_USER: 'minioadmin', AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2Vj' });
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'secretEnv.AWS_SESSION_TOKEN': 't' } })).toContain('(setting store.s3.sessionToken) is one the chart sets itself: set store.sessionToken or store.existingSecret');
    const serve = podSpec(byKind(component(dev, 'serve'), 'Deployment')[0]).containers[0];
    expect(serve.envFrom).toContainEqual({ secretRef: { name: secret.metadata.name } });
    expect(helmTemplateError({})).toMatch(/credentials missing: set store.existingSecret/);
  });

  it('takes an IAM role\'s credentials with store.credentials aws: no key anywhere, the annotated service account on every pod', async () => {
    const ROLE = 'arn:aws:iam::111122223333:role/flts';
    const options = {
      values: ['values-prod.yaml'],
      set: { 'store.credentials': 'aws', 'store.existingSecret': '', 'store.endpoint': 'https://s3.eu-west-1.amazonaws.com', 'settings.AWS_DEFAULT_REGION': 'eu-west-1', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn': ROLE },
    };
    const objects = helmTemplate(options);
    const [account] = byKind(objects, 'ServiceAccount');
    expect(account.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': ROLE });
    expect(byKind(objects, 'Secret')).toEqual([]);
    const [config] = byKind(objects, 'ConfigMap').filter((c) => c.data?.FLTS_STORE);
    expect(config.data).toMatchObject({ FLTS_S3_CREDENTIALS: 'aws', MINIO_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com' });
    const workloads = objects.filter((o) => podSpec(o) && o.metadata.annotations?.['helm.sh/hook'] !== 'test');
    expect(workloads.length).toBeGreaterThanOrEqual(6);
    for (const workload of workloads) {
      expect(podSpec(workload).serviceAccountName, workload.metadata.name).toBe(account.metadata.name);
      for (const container of podSpec(workload).containers) {
        // What IRSA's webhook adds to every container of a pod whose service account carries the annotation.
        const env = { ...containerStartEnv(objects, workload, container), AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' };
        expect(Object.keys(env).filter((name) => /^MINIO_ROOT_|^AWS_(ACCESS|SECRET|SESSION)/.test(name))).toEqual([]);
        const { store } = resolveSettings({ env }).settings;
        expect(store.s3).toMatchObject({ credentials: 'aws', region: 'eu-west-1', aws: { roleArn: ROLE } });
        expect(createS3Store(store.s3).location).toBe('https://s3.eu-west-1.amazonaws.com:443');
      }
    }
    // Rendered for the oldest version it is checked against, as `helm install` renders for the cluster's.
    const file = join(workDir, 'aws-credentials.yaml');
    writeFileSync(file, (await helmTemplateAsync({ ...options, kubeVersion: KUBE_VERSIONS[0] })).map((o) => stringify(o)).join('---\n'));
    expect((await kubeconform(file, KUBE_VERSIONS[0])).summary).toMatchObject({ invalid: 0, errors: 0 });
  });

  it('refuses store.credentials other than static or aws, a key given with aws, and FLTS_S3_CREDENTIALS in settings', () => {
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'store.credentials': 'irsa' } })).toMatch(/store.credentials "irsa" is not one of static, aws/);
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'store.credentials': 'aws' } })).toMatch(/store.credentials is aws .* but store.existingSecret, store.accessKey, store.secretKey or store.sessionToken is set too/);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'store.credentials': 'aws', 'store.existingSecret': '', 'store.sessionToken': 't' } })).toMatch(/store.sessionToken is set too/);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'store.credentials': 'aws' } })).toMatch(/store.existingSecret, store.accessKey, store.secretKey or store.sessionToken is set too/);
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'settings.FLTS_S3_CREDENTIALS': 'aws' } })).toMatch(/settings.FLTS_S3_CREDENTIALS \(setting store.s3.credentials\) is one the chart sets itself: set store.credentials/);
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'settings.AWS_CONTAINER_AUTHORIZATION_TOKEN': 't' } })).toMatch(/settings.AWS_CONTAINER_AUTHORIZATION_TOKEN is a secret/);
    // The static default is unchanged: the key from the Secret, FLTS_S3_CREDENTIALS=static.
    const [config] = byKind(dev, 'ConfigMap').filter((c) => c.data?.FLTS_STORE);
    expect(config.data.FLTS_S3_CREDENTIALS).toBe('static');
  });

  it('runs every container as non-root with a read-only root filesystem and a writable /tmp', () => {
    for (const objects of [dev, prod]) {
      const workloads = objects.filter((o) => podSpec(o));
      expect(workloads.length).toBeGreaterThan(3);
      for (const workload of workloads) {
        const pod = podSpec(workload);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.automountServiceAccountToken).toBe(false);
        const volumes = new Map<string, unknown>((pod.volumes ?? []).map((v: { name: string }) => [v.name, v]));
        for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
          const ctx = { ...pod.securityContext, ...container.securityContext };
          expect(ctx.runAsNonRoot, `${workload.metadata.name}/${container.name}`).toBe(true);
          expect(ctx.runAsUser).toBeGreaterThan(0);
          expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          const tmp = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
          expect(volumes.get(tmp.name)).toMatchObject({ emptyDir: expect.any(Object) });
          expect(container.resources.requests).toBeDefined();
          expect(container.resources.limits).toBeDefined();
        }
      }
    }
  });

  it('tests the release with the flts image itself against the serve Service', () => {
    const [testPod] = byKind(prod, 'Pod');
    expect(testPod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const serveImage = podSpec(byKind(component(prod, 'serve'), 'Deployment')[0]).containers[0].image;
    const images = new Set(prod.filter((o) => podSpec(o)).flatMap((o) => podSpec(o).containers.map((c: { image: string }) => c.image)));
    expect([...images]).toEqual([serveImage]);
    const [service] = byKind(component(prod, 'serve'), 'Service');
    const check = testPod.spec.containers[0];
    expect(containerEnv(check).SERVE_URL).toBe(`http://${service.metadata.name}:${service.spec.ports[0].port}`);
    expect(check.args.join('\n')).toMatch(/\/healthz[\s\S]*\/readyz[\s\S]*\/metrics/);
  });

  it('has `helm test` check that the server answers for the model the Ingress publishes', async () => {
    const [testPod] = byKind(platform, 'Pod');
    const check = testPod.spec.containers[0];
    const env = containerEnv(check);
    const [serveDeployment] = byKind(component(platform, 'serve'), 'Deployment');
    expect(env.MODEL_NAME).toBe(containerEnv(podSpec(serveDeployment).containers[0]).FLTS_SERVE_MODEL_NAME);
    // The pod's script, run as the kubelet would, against a server with no model yet.
    const home = mkdtempSync(join(tmpdir(), 'flts-helm-test-'));
    const serve = await startServe([], { FLTS_HOME: home, FLTS_SERVE_MODEL_NAME: env.MODEL_NAME, FLTS_STORE: 'fs', FLTS_BUS: 'none' });
    const runCheck = (modelName: string) => runAsync(check.command[0], [...check.command.slice(1), ...check.args], REPO_ROOT, { SERVE_URL: serve.url, MODEL_NAME: modelName });
    try {
      const passed = await runCheck(env.MODEL_NAME);
      expect(passed.status, passed.stdout + passed.stderr).toBe(0);
      expect(passed.stdout).toContain(`/v2/models/${env.MODEL_NAME}/ready 503`);
      // A server answering for another name fails the test, as an Ingress publishing the wrong paths would.
      const failed = await runCheck('flts');
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain('/v2/models/flts/ready answered 404');
    } finally {
      await serve.stop();
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses the mutable "latest" tag and pins a digest when given', () => {
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'image.tag': 'latest' } })).toMatch(/must not be "latest"/);
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = helmTemplate({ values: ['values-prod.yaml'], set: { 'image.digest': digest } });
    const serve = podSpec(byKind(component(pinned, 'serve'), 'Deployment')[0]).containers[0];
    expect(serve.image).toBe(`registry.example.com/flts@${digest}`);
    // Without a tag the image is the chart's appVersion, which must be the version of the package the image is built from.
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')).appVersion).toBe(version);
    const untagged = helmTemplate({ values: ['values-prod.yaml'], set: { 'image.tag': '' } });
    expect(podSpec(byKind(component(untagged, 'serve'), 'Deployment')[0]).containers[0].image).toBe(`registry.example.com/flts:${version}`);
  });

  it('selects its own pods in every Deployment, Service and ServiceMonitor', () => {
    const templates = prod.filter((o) => o.kind === 'Deployment').map((d) => d.spec.template.metadata.labels as Record<string, string>);
    const matches = (selector: Record<string, string>) => templates.filter((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v)).length;
    for (const deployment of byKind(prod, 'Deployment')) {
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      expect(matches(deployment.spec.selector.matchLabels)).toBe(1);
    }
    expect(matches(byKind(component(prod, 'serve'), 'Service')[0].spec.selector)).toBe(1);
    expect(matches(byKind(component(prod, 'daemon'), 'Service')[0].spec.selector)).toBe(5);
    for (const pdb of byKind(prod, 'PodDisruptionBudget')) expect(matches(pdb.spec.selector.matchLabels), pdb.metadata.name).toBe(1);
    const services = byKind(prod, 'Service');
    for (const monitor of byKind(prod, 'ServiceMonitor')) {
      const target = services.find((s) => Object.entries(monitor.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(target, monitor.metadata.name).toBeDefined();
      expect(target!.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    }
  });

  it('ships the same Grafana dashboard as the compose stack', () => {
    const [dashboard] = byKind(prod, 'ConfigMap').filter((c) => c.metadata.name.endsWith('-dashboard'));
    const composeDashboard = readFileSync(join(REPO_ROOT, 'compose/grafana/dashboards/flts-overview.json'), 'utf8');
    expect(JSON.parse(dashboard.data['flts-overview.json'])).toEqual(JSON.parse(composeDashboard));
  });
  describe('network policies (networkPolicy.*)', () => {
    type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown; ipBlock?: unknown };
    type Rule = { from?: Peer[]; to?: Peer[]; ports?: { port: number | string; protocol?: string }[] };
    const KAFKA_PEERS = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kafka' } } }];
    const S3_PEERS = [{ ipBlock: { cidr: '10.20.0.0/16' } }];
    const MLFLOW_PEERS = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mlflow' } }, podSelector: { matchLabels: { app: 'mlflow' } } }];
    const CLIENT_PEERS = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } } }];
    const NODE_PEERS = [{ ipBlock: { cidr: '10.0.0.0/16' } }];
    // Egress on, the serve clients listed (so the namespace is no longer let in as a whole) and the nodes named for probes.
    const LOCKED_DOWN = {
      settings: { MLFLOW_TRACKING_URI: 'http://mlflow.mlflow.svc.cluster.local:5000' },
      networkPolicy: {
        enabled: true, serve: { from: CLIENT_PEERS }, kubelet: { from: NODE_PEERS },
        egress: { enabled: true, kafka: { to: KAFKA_PEERS }, s3: { to: S3_PEERS }, mlflow: { to: MLFLOW_PEERS } },
      },
    };
    type RenderName = 'prod' | 'dev' | 'lockedDown' | 'otherPorts' | 'renamed' | 'readme';
    let renders: Record<RenderName, Manifest[]>;
    let renderOptions: Record<RenderName, TemplateOptions>;
    let defaults: { networkPolicy: { metrics: { from: Peer[] }; serve: { ingressControllerFrom: Peer[] }; egress: { dns: { to: Peer[] } } } };

    beforeAll(async () => {
      const lockedDownFile = join(workDir, 'network-policy-locked-down.yaml');
      writeFileSync(lockedDownFile, stringify(LOCKED_DOWN));
      // The example of the chart's README, section "Network policies", as a reader would copy it.
      const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
      const readmeFile = join(workDir, 'network-policy-readme.yaml');
      writeFileSync(readmeFile, /## Network policies[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]);
      const on = { 'networkPolicy.enabled': 'true' };
      renderOptions = {
        prod: { values: ['values-prod.yaml'], set: on },
        dev: { values: ['values-dev.yaml'], set: on },
        lockedDown: { values: ['values-prod.yaml', lockedDownFile] },
        otherPorts: { values: ['values-dev.yaml'], set: { ...on, 'serve.port': '9000', 'serve.grpc.port': '9001', 'daemon.metricsPort': '9200' } },
        renamed: { values: ['values-prod.yaml'], set: { ...on, nameOverride: 'forecast' }, namespace: 'ml' },
        readme: { values: ['values-prod.yaml', readmeFile] },
      };
      const names = Object.keys(renderOptions) as RenderName[];
      const rendered = await Promise.all(names.map((name) => helmTemplateAsync(renderOptions[name])));
      renders = Object.fromEntries(names.map((name, i) => [name, rendered[i]])) as Record<RenderName, Manifest[]>;
      defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
    }, 180_000);

    const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
      Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
    const podLabels = (o: Manifest): Record<string, string> => (o.kind === 'Pod' ? o.metadata.labels! : o.spec.template.metadata.labels);
    const selectedBy = (objects: Manifest[], policy: Manifest) => objects.filter((o) => podSpec(o) && matches(policy.spec.podSelector.matchLabels, podLabels(o)));
    /** A port of a rule, a probe or a Service's targetPort as the container's number (a name is one of its ports). */
    const portNumber = (container: { ports: { name: string; containerPort: number }[] }, port: number | string) =>
      typeof port === 'number' ? port : container.ports.find((p) => p.name === port)?.containerPort;
    const admitted = (policy: Manifest, container: any, rules: Rule[] = policy.spec.ingress) =>
      new Set(rules.flatMap((r) => (r.ports ?? []).map((p) => portNumber(container, p.port))));
    /** A peer without a namespace selector or ipBlock admits the pods of the policy's namespace its podSelector matches. */
    /** The rules whose peers include every one of `peers`. */
    const rulesFrom = (policy: Manifest, peers: Peer[]) => (policy.spec.ingress as Rule[]).filter((r) => peers.every((peer) => (r.from ?? []).some((f) => JSON.stringify(f) === JSON.stringify(peer))));
    const admitsPod = (peer: Peer, labels: Record<string, string>) => !peer.namespaceSelector && !peer.ipBlock && matches(peer.podSelector?.matchLabels, labels);

    it('renders no NetworkPolicy unless networkPolicy.enabled, and turning it on changes no other object', () => {
      for (const objects of [dev, prod]) expect(byKind(objects, 'NetworkPolicy')).toEqual([]);
      for (const [on, off] of [[renders.prod, prod], [renders.dev, dev]]) {
        expect(byKind(on, 'NetworkPolicy').length).toBe(4);
        expect(on.filter((o) => o.kind !== 'NetworkPolicy')).toEqual(off);
      }
    });

    it('selects exactly the serve pods, the daemon pods, the preprocess Job\'s pods and the helm test pod, as their templates label them, whatever the chart is named', () => {
      for (const [name, objects] of Object.entries(renders)) {
        const policies = byKind(objects, 'NetworkPolicy');
        expect(policies.map((p) => p.metadata.labels?.['app.kubernetes.io/component']), name).toEqual(['serve', 'daemon', 'preprocess', 'test']);
        for (const policy of policies) {
          const own = component(objects, policy.metadata.labels!['app.kubernetes.io/component']).filter((o) => podSpec(o));
          const kind = { preprocess: 'Job', test: 'Pod' }[policy.metadata.labels!['app.kubernetes.io/component']] ?? 'Deployment';
          expect(own.map((o) => o.kind), `${name} ${policy.metadata.name}`).toEqual(expect.arrayContaining([kind]));
          expect(selectedBy(objects, policy).map((o) => `${o.kind}/${o.metadata.name}`), `${name} ${policy.metadata.name}`).toEqual(own.map((d) => `${d.kind}/${d.metadata.name}`));
        }
        // No flts pod stays outside every policy, the helm test pod included.
        const covered = new Set(policies.flatMap((p) => selectedBy(objects, p)));
        expect(objects.filter((o) => podSpec(o) && !covered.has(o)).map((o) => `${o.kind}/${o.metadata.name}`), name).toEqual([]);
      }
    });

    it('lets nothing reach the preprocess Job, which listens on no port, and has no policy for it without the Job', async () => {
      const withoutJob = await helmTemplateAsync({ values: ['values-prod.yaml'], set: { 'networkPolicy.enabled': 'true', 'preprocess.enabled': 'false' } });
      expect(byKind(withoutJob, 'NetworkPolicy').map((p) => p.metadata.labels?.['app.kubernetes.io/component'])).toEqual(['serve', 'daemon', 'test']);
      for (const [name, objects] of Object.entries(renders)) {
        const [policy] = byKind(component(objects, 'preprocess'), 'NetworkPolicy');
        expect(policy.spec.ingress, name).toEqual([]);
        expect(policy.spec.policyTypes[0]).toBe('Ingress');
        const [job] = selectedBy(objects, policy);
        expect(podSpec(job).containers.flatMap((c: { ports?: unknown[] }) => c.ports ?? [])).toEqual([]);
      }
    });

    it('admits exactly the ports the containers listen on, which the Services target and the probes call', () => {
      for (const [name, objects] of Object.entries(renders)) {
        for (const policy of byKind(objects, 'NetworkPolicy').filter((p) => !p.metadata.name.endsWith('-preprocess') && !p.metadata.name.endsWith('-test'))) {
          for (const deployment of selectedBy(objects, policy)) {
            const container = podSpec(deployment).containers[0];
            const ports = admitted(policy, container);
            expect(ports, `${name} ${deployment.metadata.name}`).toEqual(new Set(container.ports.map((p: { containerPort: number }) => p.containerPort)));
            const services = byKind(objects, 'Service').filter((s) => matches(s.spec.selector, podLabels(deployment)));
            expect(services.length).toBe(1);
            for (const port of services[0].spec.ports) expect(ports.has(portNumber(container, port.targetPort)), `${services[0].metadata.name}:${port.name}`).toBe(true);
            for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'].map((p) => container[p]).filter(Boolean)) {
              expect(ports.has(portNumber(container, probe.httpGet.port))).toBe(true);
              // Where the nodes are named, the kubelet may call every probe.
              if (name === 'lockedDown') expect(admitted(policy, container, rulesFrom(policy, NODE_PEERS)).has(portNumber(container, probe.httpGet.port))).toBe(true);
            }
          }
        }
      }
      // The ports follow the values through the container's port names.
      const otherPorts = renders.otherPorts;
      const resolved = (c: string) => { const [p] = byKind(otherPorts, 'NetworkPolicy').filter((n) => n.metadata.name.endsWith(c)); return [...admitted(p, podSpec(selectedBy(otherPorts, p)[0]).containers[0])].sort(); };
      expect(resolved('serve')).toEqual([9000, 9001]);
      expect(resolved('daemon')).toEqual([9200]);
    });

    it('lets Prometheus (networkPolicy.metrics.from) reach every port a ServiceMonitor scrapes, and the ingress controller only the http port', () => {
      const objects = renders.prod;
      const monitors = byKind(objects, 'ServiceMonitor');
      expect(monitors.length).toBe(2);
      for (const monitor of monitors) {
        const service = byKind(objects, 'Service').find((s) => matches(monitor.spec.selector.matchLabels, s.metadata.labels))!;
        const targetPort = service.spec.ports.find((p: { name: string }) => p.name === monitor.spec.endpoints[0].port).targetPort;
        const policy = byKind(objects, 'NetworkPolicy').find((p) => matches(p.spec.podSelector.matchLabels, service.spec.selector))!;
        for (const deployment of selectedBy(objects, policy)) {
          const container = podSpec(deployment).containers[0];
          expect(admitted(policy, container, rulesFrom(policy, defaults.networkPolicy.metrics.from)), monitor.metadata.name).toEqual(new Set([portNumber(container, targetPort)]));
        }
      }
      // prod publishes an Ingress: its controller reaches the port the Ingress backend names, and no other.
      const [ingress] = byKind(objects, 'Ingress');
      const [servePolicy] = byKind(component(objects, 'serve'), 'NetworkPolicy');
      const [serveService] = byKind(component(objects, 'serve'), 'Service');
      const serveContainer = podSpec(byKind(component(objects, 'serve'), 'Deployment')[0]).containers[0];
      const backendPort = serveService.spec.ports.find((p: { name: string }) => p.name === ingress.spec.rules[0].http.paths[0].backend.service.port.name).targetPort;
      expect(admitted(servePolicy, serveContainer, rulesFrom(servePolicy, defaults.networkPolicy.serve.ingressControllerFrom))).toEqual(new Set([portNumber(serveContainer, backendPort)]));
      // dev has no Ingress: no rule for a controller.
      expect(byKind(renders.dev, 'NetworkPolicy')[0].spec.ingress.map((r: Rule) => r.from)).not.toContainEqual(defaults.networkPolicy.serve.ingressControllerFrom);
    });

    it('keeps `helm test` working: its pod reaches the serve port, with the namespace admitted or a serve.from list', () => {
      for (const name of ['prod', 'lockedDown', 'renamed', 'readme'] as const) {
        const objects = renders[name];
        const [testPod] = byKind(objects, 'Pod');
        const [service] = byKind(component(objects, 'serve'), 'Service');
        const url = new URL(containerEnv(testPod.spec.containers[0]).SERVE_URL);
        expect(url.hostname).toBe(service.metadata.name);
        const targetPort = service.spec.ports.find((p: { port: number }) => p.port === Number(url.port)).targetPort;
        const [policy] = byKind(component(objects, 'serve'), 'NetworkPolicy');
        const container = podSpec(byKind(component(objects, 'serve'), 'Deployment')[0]).containers[0];
        const rules = policy.spec.ingress.filter((r: Rule) => (r.from ?? []).some((peer) => admitsPod(peer, testPod.metadata.labels!)));
        expect(admitted(policy, container, rules), name).toContain(portNumber(container, targetPort));
      }
      // The listed clients replace the namespace: no peer admits any other pod of it.
      const [locked] = byKind(component(renders.lockedDown, 'serve'), 'NetworkPolicy');
      expect(locked.spec.ingress.flatMap((r: Rule) => r.from).filter((peer: Peer) => admitsPod(peer, { app: 'other' }))).toEqual([]);
    });

    it('gives the helm test pod a policy of its own: nothing reaches it, and with egress on it reaches only DNS and the serve pods\' port the Service forwards to', async () => {
      const testPolicy = (objects: Manifest[]) => byKind(component(objects, 'test'), 'NetworkPolicy');
      for (const [name, objects] of Object.entries(renders)) {
        const [policy] = testPolicy(objects);
        expect(selectedBy(objects, policy).map((o) => o.kind), name).toEqual(['Pod']);
        expect(policy.spec.ingress, name).toEqual([]);
      }
      for (const policy of testPolicy(renders.prod)) expect([policy.spec.policyTypes, policy.spec.egress]).toEqual([['Ingress'], undefined]);
      const objects = renders.lockedDown;
      const [policy] = testPolicy(objects);
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const [dns, serve, ...others] = policy.spec.egress as Rule[];
      expect(others).toEqual([]);
      expect(dns).toEqual({ to: defaults.networkPolicy.egress.dns.to, ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] });
      // The serve pods, and the container port the test's SERVE_URL reaches through the Service.
      const [testPod] = byKind(objects, 'Pod');
      const [service] = byKind(component(objects, 'serve'), 'Service');
      const [deployment] = byKind(component(objects, 'serve'), 'Deployment');
      const targetPort = service.spec.ports.find((p: { port: number }) => p.port === Number(new URL(containerEnv(testPod.spec.containers[0]).SERVE_URL).port)).targetPort;
      expect(serve.to!.length).toBe(1);
      expect(objects.filter((o) => podSpec(o) && admitsPod(serve.to![0], podLabels(o))).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([`Deployment/${deployment.metadata.name}`]);
      expect(serve.ports).toEqual([{ port: portNumber(podSpec(deployment).containers[0], targetPort), protocol: 'TCP' }]);
      // No policy without the test pod; none at all with networkPolicy off.
      const [withoutTests, off] = await Promise.all([
        helmTemplateAsync({ values: ['values-prod.yaml'], set: { 'networkPolicy.enabled': 'true', 'tests.enabled': 'false' } }),
        helmTemplateAsync({ values: ['values-prod.yaml'], set: { 'tests.enabled': 'true' } }),
      ]);
      expect(testPolicy(withoutTests)).toEqual([]);
      expect(byKind(off, 'NetworkPolicy')).toEqual([]);
    });

    it('is schema-valid for every supported Kubernetes version (kubeconform -strict)', async () => {
      await Promise.all(KUBE_VERSIONS.map(async (kubeVersion) => {
        // Each rendered for the version it is checked against, as `helm install` renders for the cluster's.
        const files = await Promise.all(Object.entries(renderOptions).map(async ([name, options]) => {
          const objects = await helmTemplateAsync({ ...options, kubeVersion });
          const file = join(workDir, `network-policy-${name}-${kubeVersion}.yaml`);
          writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
          const crds = objects.filter((o) => OPERATOR_KINDS.includes(o.kind)).length;
          return { name, file, expected: { valid: objects.length - crds, invalid: 0, errors: 0, skipped: crds } };
        }));
        const { status, summaries, output } = await kubeconformEach(files.map((f) => f.file), kubeVersion);
        expect(status, output).toBe(0);
        for (const { name, file, expected } of files) expect(summaries[file], `${name} ${kubeVersion}`).toEqual(expected);
      }));
    }, 120_000);

    it('restricts egress only with networkPolicy.egress.enabled, and then to DNS, the brokers, S3 and MLflow (not from preprocess) on their configured ports', () => {
      for (const policy of byKind(renders.prod, 'NetworkPolicy')) {
        expect(policy.spec.policyTypes).toEqual(['Ingress']);
        expect(policy.spec.egress).toBeUndefined();
      }
      const objects = renders.lockedDown;
      const config = byKind(objects, 'ConfigMap').find((c) => c.data?.KAFKA_BOOTSTRAP_SERVERS)!.data;
      const tcp = (...ports: number[]) => ports.map((port) => ({ port, protocol: 'TCP' }));
      const portOf = (address: string) => Number(/:(\d+)$/.exec(address)![1]);
      const expected = [
        { to: defaults.networkPolicy.egress.dns.to, ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
        { to: KAFKA_PEERS, ports: tcp(...new Set(String(config.KAFKA_BOOTSTRAP_SERVERS).split(',').map(portOf))) },
        { to: S3_PEERS, ports: tcp(portOf(config.MINIO_ENDPOINT)) },
        { to: MLFLOW_PEERS, ports: tcp(Number(new URL(config.MLFLOW_TRACKING_URI).port)) },
      ];
      const policies = byKind(objects, 'NetworkPolicy').filter((p) => !p.metadata.name.endsWith('-test'));
      expect(policies.length).toBe(3);
      for (const policy of policies) {
        expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
        // preprocess stores and publishes its claims but tracks nothing: no way to MLflow.
        expect(policy.spec.egress, policy.metadata.name).toEqual(policy.metadata.name.endsWith('-preprocess') ? expected.slice(0, 3) : expected);
      }
    });

    it('opens egress to the AWS credentials sources networkPolicy.egress.aws names, with store.credentials aws only', async () => {
      const lockedDownFile = join(workDir, 'network-policy-locked-down.yaml');
      const aws = { 'store.credentials': 'aws', 'store.existingSecret': '' };
      const cidrs = (policy: Manifest) => (policy.spec.egress as Rule[]).flatMap((r) => (r.to ?? []).map((peer: any) => peer.ipBlock?.cidr).filter(Boolean));
      // The chart README's second example of the section, as a reader would add it to the first.
      const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
      const readmeFile = join(workDir, 'network-policy-readme-aws.yaml');
      writeFileSync(readmeFile, [...readme.split('## Network policies')[1].split('## ')[0].matchAll(/```yaml\n([\s\S]*?)```/g)][1][1]);
      const allOptions: TemplateOptions = {
        values: ['values-prod.yaml', lockedDownFile],
        set: { ...aws, 'networkPolicy.egress.aws.imds': 'true', 'networkPolicy.egress.aws.podIdentity': 'true', 'networkPolicy.egress.aws.stsCidrs': '{10.0.12.0/24,10.0.13.0/24}' },
      };
      const [none, all, readmeExample] = await Promise.all([
        helmTemplateAsync({ values: ['values-prod.yaml', lockedDownFile], set: aws }),
        helmTemplateAsync(allOptions),
        helmTemplateAsync({ values: ['values-prod.yaml', lockedDownFile, readmeFile], set: aws }),
      ]);
      // The helm test pod fetches no credentials: no way to them, whatever is opened for the flts pods.
      const flts = (objects: Manifest[]) => byKind(objects, 'NetworkPolicy').filter((p) => !p.metadata.name.endsWith('-test'));
      for (const objects of [none, all, readmeExample]) expect(byKind(component(objects, 'test'), 'NetworkPolicy').map(cidrs)).toEqual([[]]);
      for (const policy of flts(readmeExample)) {
        expect(cidrs(policy), policy.metadata.name).toEqual([...S3_PEERS.map((p) => p.ipBlock.cidr), '10.0.12.0/24', '10.0.13.0/24']);
      }
      // None by default: the egress of store.credentials aws is the user's to open.
      for (const policy of flts(none)) expect(cidrs(policy), policy.metadata.name).toEqual(S3_PEERS.map((p) => p.ipBlock.cidr));
      const policies = flts(all);
      expect(policies.length).toBe(3);
      for (const policy of policies) {
        const rules = policy.spec.egress as Rule[];
        const tcp = (port: number) => [{ port, protocol: 'TCP' }];
        expect(rules, policy.metadata.name).toEqual(expect.arrayContaining([
          { to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: tcp(80) },
          { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }, { ipBlock: { cidr: 'fd00:ec2::23/128' } }], ports: tcp(80) },
          { to: [{ ipBlock: { cidr: '10.0.12.0/24' } }, { ipBlock: { cidr: '10.0.13.0/24' } }], ports: tcp(443) },
        ]));
      }
      await Promise.all(KUBE_VERSIONS.map(async (kubeVersion) => {
        const file = join(workDir, `network-policy-aws-${kubeVersion}.yaml`);
        writeFileSync(file, (await helmTemplateAsync({ ...allOptions, kubeVersion })).map((o) => stringify(o)).join('---\n'));
        const { status, summary, output } = await kubeconform(file, kubeVersion);
        expect(status, output).toBe(0);
        expect(summary).toMatchObject({ invalid: 0, errors: 0 });
      }));
      const errors = await Promise.all([
        helmTemplateErrorAsync({ values: ['values-prod.yaml', lockedDownFile], set: { 'networkPolicy.egress.aws.imds': 'true' } }),
        helmTemplateErrorAsync({ values: ['values-prod.yaml', lockedDownFile], set: { ...aws, 'networkPolicy.egress.aws.stsCidrs': '{sts.eu-west-1.amazonaws.com}' } }),
      ]);
      expect(errors[0]).toContain('networkPolicy.egress.aws opens egress to AWS credentials sources, but store.credentials is "static"');
      expect(errors[1]).toContain('networkPolicy.egress.aws.stsCidrs: "sts.eu-west-1.amazonaws.com" is not a CIDR');
    }, 120_000);

    it('takes explicit egress ports and scheme ports, and refuses an egress it could not complete', async () => {
      const lockedDownFile = join(workDir, 'network-policy-locked-down.yaml');
      const base = { values: ['values-prod.yaml', lockedDownFile] };
      const egressOf = async (set: Record<string, string>) => byKind(await helmTemplateAsync({ ...base, set }), 'NetworkPolicy')[0].spec.egress as Rule[];
      const [brokers, tracking, secretTracking] = await Promise.all([
        egressOf({ 'bus.bootstrapServers': 'b-1.msk:9094\\,b-2.msk:9094', 'networkPolicy.egress.kafka.ports': '{9094,9096}' }),
        egressOf({ 'settings.MLFLOW_TRACKING_URI': 'https://mlflow.example.com/tracking' }),
        // A URI holding a password is kept in the chart's Secret, where the chart still reads its port.
        egressOf({ 'settings.MLFLOW_TRACKING_URI': 'null', 'secretEnv.MLFLOW_TRACKING_URI': 'https://ci:pw@mlflow.example.com:8443' }),
      ]);
      expect(brokers[1]).toEqual({ to: KAFKA_PEERS, ports: [{ port: 9094, protocol: 'TCP' }, { port: 9096, protocol: 'TCP' }] });
      expect(tracking[3]).toEqual({ to: MLFLOW_PEERS, ports: [{ port: 443, protocol: 'TCP' }] });
      expect(secretTracking[3]).toEqual({ to: MLFLOW_PEERS, ports: [{ port: 8443, protocol: 'TCP' }] });
      const errors = await Promise.all([
        helmTemplateErrorAsync({ ...base, set: { 'networkPolicy.egress.kafka.to': 'null' } }),
        helmTemplateErrorAsync({ ...base, set: { 'store.endpoint': 'minio' } }),
        helmTemplateErrorAsync({ ...base, set: { 'settings.MLFLOW_TRACKING_URI': 'null' } }),
        helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'networkPolicy.enabled': 'true', 'networkPolicy.metrics.from': 'null' } }),
        helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'networkPolicy.enabled': 'true', 'networkPolicy.serve.ingressControllerFrom': 'null' } }),
        helmTemplateErrorAsync({ ...base, set: { 'networkPolicy.egress.dns.to': 'null' } }),
      ]);
      expect(errors[0]).toContain('networkPolicy.egress.kafka.to is empty while networkPolicy.egress is enabled');
      expect(errors[1]).toContain('networkPolicy.egress.s3.ports is empty and "minio" (the S3 endpoint (store.endpoint)) names no port');
      // Peers without a port would make a rule that admits every port.
      expect(errors[2]).toContain('networkPolicy.egress.mlflow.ports is empty');
      expect(errors[3]).toContain('networkPolicy.metrics.from is empty while metrics.serviceMonitor is enabled');
      // An empty peer list would admit every source or destination instead of none.
      expect(errors[4]).toContain('networkPolicy.serve.ingressControllerFrom is empty while serve.ingress is enabled');
      expect(errors[5]).toContain('networkPolicy.egress.dns.to is empty while networkPolicy.egress is enabled');
    }, 120_000);
  });

  describe('scripts/deploy/validate.sh', () => {
    let validation: { status: number; stdout: string; stderr: string };
    beforeAll(async () => {
      validation = await validating;
    }, 600_000);

    it('passes every check (helm lint, helm template, kubeconform, docker-compose config, hadolint, haproxy -c, line endings)', () => {
      expect(validation.status, validation.stdout + validation.stderr).toBe(0);
      expect(validation.stdout).not.toMatch(/^FAIL/m);
      for (const profile of ['dev', 'prod', 'platform']) expect(validation.stdout).toContain(`PASS helm lint --strict (${profile})`);
      expect(validation.stdout).toMatch(/^PASS docker-compose config/m);
      expect(validation.stdout).toMatch(/^PASS haproxy -c/m);
    });

    for (const profile of ['dev', 'prod', 'platform'] as const) {
      for (const kubeVersion of KUBE_VERSIONS) {
        it(`finds every ${profile} object schema-valid for Kubernetes ${kubeVersion}, skipping only the ServiceMonitor and PrometheusRule CRDs`, () => {
          const line = validation.stdout.split('\n').find((l) => l.startsWith(`PASS kubeconform -strict (${profile}, Kubernetes ${kubeVersion})`));
          expect(line, validation.stdout).toBeDefined();
          const [, valid, invalid, errors, skipped] = /Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/.exec(line!)!.map(Number);
          const objects = { dev, prod, platform }[profile];
          const crds = objects.filter((o) => OPERATOR_KINDS.includes(o.kind)).length;
          expect({ valid, invalid, errors, skipped }).toEqual({ valid: objects.length - crds, invalid: 0, errors: 0, skipped: crds });
          // The file kubeconform checked is the same chart render the other tests inspect.
          const rendered = parseManifests(readFileSync(join(workDir, 'validate', `${profile}-${kubeVersion}.yaml`), 'utf8'));
          expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`));
        });
      }
    }
  });
});
