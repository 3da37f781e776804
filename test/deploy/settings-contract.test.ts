import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALL_SPECS } from '../../src/core/config/specs/index.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { EXAMPLE_DATA_DIR, resolveDataFiles } from '../../src/core/config/config-hash.js';
import type { Settings } from '../../src/core/config/settings.js';
import { DAEMON_SHUTDOWN_GRACE_MS } from '../../src/core/daemon/index.js';
import { BUS_CLOSE_END_MS, DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS, SERVE_GRPC_STOP_GRACE_MS, serveStopBudgetMs } from '../../src/core/stop-budget.js';
import { assertServePortsDistinct } from '../../src/core/serve/start-inference-service.js';
import { createServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { kafkaClientConfig } from '../../src/core/bus/kafka-client-config.js';
import { BATCH_INFERENCE_GROUP, dlqTopic, pipelineTopics, roleDlq, servingGroupId, trainerGroupId } from '../../src/core/bus/topics.js';
import { claimActualsGroup } from '../../src/core/daemon/claim-actuals-follower.js';
import { splitUserinfo } from '../../src/core/tracking/mlflow-credentials.js';
import { forecastingRoutes } from './flts-series.js';
import { skipNote, useServers } from '../helpers/servers.js';
import {
  byKind, CHART_DIR, component, composeDurationSeconds, COMPOSE_DIR, containerStartEnv, helmTemplate, helmTemplateAsync, helmTemplateError, helmTemplateErrorAsync, type Manifest,
  podSpec, REPO_ROOT, run, serviceLinkEnv, type TemplateOptions, tools,
} from './deploy-tools.js';

const deployTools = await useServers('deploy-tools');

/** Every environment name a setting is read from (src/core/config/specs). */
const SETTING_ENV = new Set(ALL_SPECS.flatMap((spec) => spec.env ?? []));
const SECRET_ENV = ALL_SPECS.filter((spec) => spec.secret).flatMap((spec) => spec.env ?? []);
const DOCKERFILE = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
/** Names flts reads outside the settings: the image's HEALTHCHECK (bin/healthcheck.js) reads FLTS_HEALTH_URL. */
const IMAGE_ENV = new Set(['FLTS_HEALTH_URL']);
/** Seconds a stopping `flts serve` takes at most once SIGTERM arrives, as its runtime bounds it. */
const serveStopSeconds = (settings: Settings) => Math.ceil(serveStopBudgetMs(settings) / 1000);
/** Seconds `flts daemon` waits after its bounded shutdown before it exits (src/commands/daemon.ts). */
const DAEMON_EXIT_DELAY_S = 2;

/** Every optional env source at once: gRPC, extra secret and plain settings. */
const EVERYTHING: TemplateOptions = {
  values: ['values-prod.yaml'],
  set: {
    'serve.grpc.enabled': 'true', 'preprocess.env.SAMPLE_TRAIN_ROWS': '1000',
    'secretEnv.MLFLOW_TRACKING_PASSWORD': 'pw', 'settings.MLFLOW_TRACKING_URI': 'http://mlflow:5000',
  },
};
/** The values that take flts settings by their environment names. */
const SETTING_MAPS = ['settings', 'secretEnv', 'serve.env', 'daemon.trainer.env', 'daemon.promoter.env', 'daemon.batch.env', 'preprocess.env'];

/** Environment names the values of a render give in SETTING_MAPS (values files and --set alike). */
function valuesEnvNames({ values = [], set = {} }: TemplateOptions): Set<string> {
  const names = new Set<string>();
  for (const file of values) {
    const doc = parse(readFileSync(join(CHART_DIR, file), 'utf8'));
    for (const where of SETTING_MAPS) Object.keys(where.split('.').reduce((o, k) => o?.[k], doc) ?? {}).forEach((n) => names.add(n));
  }
  for (const key of Object.keys(set)) {
    const where = SETTING_MAPS.find((m) => key.startsWith(`${m}.`));
    if (where) names.add(key.slice(where.length + 1));
  }
  return names;
}

/** Seconds the serve container's preStop hook sleeps (0 without one). */
const preStopOf = (container: any): number => Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Settings a process resolves from this environment, exactly as the CLI does (a bad value throws). */
function settingsFrom(env: Record<string, string>): Settings {
  return resolveSettings({ env }).settings;
}

/** Workloads that run flts (the helm test pod runs a Node one-liner of its own). */
function fltsContainers(objects: Manifest[]): { workload: Manifest; container: any }[] {
  return objects
    .filter((o) => podSpec(o) && o.metadata.annotations?.['helm.sh/hook'] !== 'test')
    .flatMap((workload) => podSpec(workload).containers.map((container: any) => ({ workload, container })));
}

function portNamed(container: any, name: string): number | undefined {
  return container.ports?.find((p: { name: string }) => p.name === name)?.containerPort;
}

describe.skipIf(Boolean(deployTools.skip))(`deploy > settings the chart and compose give flts${skipNote(deployTools)}`, () => {
  const renders: Record<string, Manifest[]> = {};
  let compose: Record<string, any>;

  beforeAll(() => {
    renders.dev = helmTemplate({ values: ['values-dev.yaml'] });
    renders.prod = helmTemplate({ values: ['values-prod.yaml'] });
    renders.everything = helmTemplate(EVERYTHING);
    const res = run(tools.dockerCompose, ['-f', 'docker-compose.yml', 'config'], COMPOSE_DIR);
    if (res.status !== 0) throw new Error(`docker-compose config failed: ${res.stderr}`);
    compose = parse(res.stdout).services;
  });

  it('uses only environment names flts reads: setting names from the specs, or what the image itself reads', () => {
    for (const name of IMAGE_ENV) expect(readFileSync(join(REPO_ROOT, 'bin/healthcheck.js'), 'utf8')).toContain(`env.${name}`);
    const known = (name: string) => SETTING_ENV.has(name) || IMAGE_ENV.has(name);
    // The runtime image's own ENV (NODE_ENV and HOME are Node's and the shell's).
    const runtimeStage = DOCKERFILE.slice(DOCKERFILE.indexOf(' AS runtime'));
    const imageEnv = [...runtimeStage.replace(/\\\n/g, ' ').matchAll(/^ENV (.*)$/gm)].flatMap(([, pairs]) => [...pairs.matchAll(/(\w+)=/g)].map(([, name]) => name));
    expect(imageEnv).toEqual(expect.arrayContaining(['FLTS_HOME', 'FLTS_SERVE_HOST', 'FLTS_DAEMON_HOST']));
    // A fixed health URL in the image would be serve's, and wrong for every daemon container.
    expect(imageEnv).not.toContain('FLTS_HEALTH_URL');
    expect(imageEnv.filter((n) => !known(n) && n !== 'NODE_ENV' && n !== 'HOME')).toEqual([]);
    for (const [profile, objects] of Object.entries(renders)) {
      const names = new Set<string>();
      for (const configMap of byKind(objects, 'ConfigMap').filter((c) => !c.metadata.name.endsWith('-dashboard'))) Object.keys(configMap.data).forEach((n) => names.add(n));
      for (const secret of byKind(objects, 'Secret')) Object.keys(secret.stringData ?? {}).forEach((n) => names.add(n));
      for (const { container } of fltsContainers(objects)) (container.env ?? []).forEach((e: { name: string }) => names.add(e.name));
      expect([...names].filter((n) => !known(n)), profile).toEqual([]);
      expect(names.size, profile).toBeGreaterThan(10);
      // The helm test pod's one-liner reads the variables it is given.
      for (const pod of byKind(objects, 'Pod')) {
        const script = pod.spec.containers[0].args.join('\n');
        for (const entry of pod.spec.containers[0].env ?? []) expect(script, entry.name).toContain(`process.env.${entry.name}`);
      }
    }
    for (const name of ['trainer', 'promoter', 'batch', 'preprocess', 'serve']) {
      expect(Object.keys(compose[name].environment).filter((n) => !known(n)), name).toEqual([]);
    }
  });

  it('starts every flts container with settings that resolve, the Service links of a release named "flts" included', () => {
    for (const [profile, objects] of Object.entries(renders)) {
      // The serve Service of release "flts" is flts-serve: its link FLTS_SERVE_PORT=tcp://... is a setting name.
      expect(serviceLinkEnv(objects).FLTS_SERVE_PORT).toMatch(/^tcp:\/\//);
      expect(() => settingsFrom({ FLTS_SERVE_PORT: serviceLinkEnv(objects).FLTS_SERVE_PORT })).toThrow(/FLTS_SERVE_PORT/);
      const containers = fltsContainers(objects);
      expect(containers.length, profile).toBeGreaterThanOrEqual(4);
      for (const { workload, container } of containers) {
        const env = containerStartEnv(objects, workload, container);
        expect(() => settingsFrom(env), `${profile} ${workload.metadata.name}`).not.toThrow();
        // Not only for this release name: any Service of the namespace could link a name flts reads.
        expect(podSpec(workload).enableServiceLinks, `${profile} ${workload.metadata.name}`).toBe(false);
        expect(settingsFrom(env)).toMatchObject({ home: '/data', store: { kind: 's3' }, bus: { kind: 'kafka' } });
      }
    }
  });

  it('makes serve listen where the Service, probes and Ingress point, and drain within the grace period', () => {
    for (const [profile, objects] of Object.entries(renders)) {
      const [deployment] = byKind(component(objects, 'serve'), 'Deployment');
      const container = podSpec(deployment).containers[0];
      const resolved = settingsFrom(containerStartEnv(objects, deployment, container));
      const settings = resolved.serve;
      expect(isLoopback(settings.host), `${profile}: serve binds ${settings.host}, the kubelet and the Service cannot reach it`).toBe(false);
      expect(settings.port).toBe(portNamed(container, 'http'));
      expect(settings.grpcPort ?? undefined).toBe(portNamed(container, 'grpc'));
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(container[probe].httpGet.port).toBe('http');
      // Readiness must be the route that is 503 until a model is loaded, not the always-200 liveness route.
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      for (const ingress of byKind(objects, 'Ingress')) {
        const infer = ingress.spec.rules[0].http.paths.map((p: { path: string }) => p.path).filter((p: string) => p.endsWith('/infer'));
        expect(infer).toEqual([`/v2/models/${settings.modelName}/infer`]);
      }
      const preStop = preStopOf(container);
      expect(preStop, profile).toBeGreaterThan(0);
      expect(podSpec(deployment).terminationGracePeriodSeconds, profile).toBeGreaterThanOrEqual(preStop + serveStopSeconds(resolved));
    }
    // A longer request timeout needs a longer grace period; the chart refuses the combination that would cut drains.
    // 5 s preStop + 5 s to leave the promotion group and the brokers (bus.kafka.closeTimeoutMs, one deadline for both)
    // + 60 s of requests + 5 s of last writes, the bus's close ending beside them.
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.env.FLTS_SERVE_REQUEST_TIMEOUT_MS': '60000' } })).toMatch(/terminationGracePeriodSeconds \(60\) is shorter .* 75 or more/);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.env.FLTS_SERVE_REQUEST_TIMEOUT_MS': '60000', 'serve.terminationGracePeriodSeconds': '75' } })).toBe('');
    // So do longer last writes and a longer bus close, given where the container's environment takes them (serve.env,
    // else settings, where a daemon refuses more than DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS): the grace the chart asks for is the bound the server
    // resolves, plus the preStop sleep.
    const cases: [string, string, string][] = [
      ['serve.env.FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS', '20000', 'last writes 20000ms'],
      ['settings.FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS', '20000', 'last writes 20000ms'],
      ['serve.env.FLTS_KAFKA_CLOSE_TIMEOUT_MS', '20000', 'bus close 20000ms'],
      ['settings.FLTS_KAFKA_CLOSE_TIMEOUT_MS', String(DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS), `bus close ${DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS}ms`],
    ];
    for (const [key, value, message] of cases) {
      const fits = helmTemplate({ values: ['values-prod.yaml'], set: { [key]: value, 'serve.terminationGracePeriodSeconds': '600' } });
      const [deployment] = byKind(component(fits, 'serve'), 'Deployment');
      const container = podSpec(deployment).containers[0];
      const needed = preStopOf(container) + serveStopSeconds(settingsFrom(containerStartEnv(fits, deployment, container)));
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: { [key]: value, 'serve.terminationGracePeriodSeconds': String(needed - 1) } }), key).toMatch(
        new RegExp(`terminationGracePeriodSeconds \\(${needed - 1}\\) is shorter .* ${message} .* set it to ${needed} or more`),
      );
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: { [key]: value, 'serve.terminationGracePeriodSeconds': String(needed) } }), key).toBe('');
    }
    // Requests and writes shorter than the second the bus's close takes to end its connections: that second is the bound.
    const quick = { 'serve.env.FLTS_SERVE_REQUEST_TIMEOUT_MS': '100', 'serve.env.FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS': '500' };
    const fits = helmTemplate({ values: ['values-prod.yaml'], set: { ...quick, 'serve.terminationGracePeriodSeconds': '600' } });
    const [deployment] = byKind(component(fits, 'serve'), 'Deployment');
    const container = podSpec(deployment).containers[0];
    const needed = preStopOf(container) + serveStopSeconds(settingsFrom(containerStartEnv(fits, deployment, container)));
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...quick, 'serve.terminationGracePeriodSeconds': String(needed - 1) } })).toContain(`set it to ${needed} or more`);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...quick, 'serve.terminationGracePeriodSeconds': String(needed) } })).toBe('');
    // That second is the chart's files/stop-budget.yaml's (written from src/core/stop-budget.ts), as the daemon's bounds
    // are: a chart whose file gives the bus's close 2 s more asks for 2 s more grace.
    const chartCopy = mkdtempSync(join(tmpdir(), 'flts-chart-stop-budget-'));
    try {
      cpSync(CHART_DIR, chartCopy, { recursive: true });
      const budgetFile = join(chartCopy, 'files/stop-budget.yaml');
      writeFileSync(budgetFile, readFileSync(budgetFile, 'utf8').replace(`busCloseEndMs: ${BUS_CLOSE_END_MS}`, `busCloseEndMs: ${BUS_CLOSE_END_MS + 2_000}`));
      const renderCopy = (grace: number) => run(tools.helm, ['template', 'flts', chartCopy, '-f', join(CHART_DIR, 'values-prod.yaml'), ...Object.entries({ ...quick, 'serve.terminationGracePeriodSeconds': String(grace) }).flatMap(([key, value]) => ['--set', `${key}=${value}`])]);
      expect(renderCopy(needed + 1).stderr).toMatch(new RegExp(`the ${BUS_CLOSE_END_MS + 2_000}ms the bus's close takes .* set it to ${needed + 2} or more`));
      expect(renderCopy(needed + 2).status).toBe(0);
    } finally {
      rmSync(chartCopy, { recursive: true, force: true });
    }
    // A timeout of 0 (an integer, as --set and a values file give it) is 0, in serve.env over settings as in the
    // container: no last writes, no wait on the brokers. The grace asked for is the smaller one the server resolves.
    const none = { 'serve.env.FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS': '0', 'settings.FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS': '20000', 'serve.env.FLTS_KAFKA_CLOSE_TIMEOUT_MS': '0' };
    const noneFits = helmTemplate({ values: ['values-prod.yaml'], set: { ...none, 'serve.terminationGracePeriodSeconds': '600' } });
    const [noneDeployment] = byKind(component(noneFits, 'serve'), 'Deployment');
    const noneContainer = podSpec(noneDeployment).containers[0];
    const noneSettings = settingsFrom(containerStartEnv(noneFits, noneDeployment, noneContainer));
    expect(noneSettings.serve.shutdownWritesTimeoutMs).toBe(0);
    expect(noneSettings.bus.kafka.closeTimeoutMs).toBe(0);
    const noneNeeded = preStopOf(noneContainer) + serveStopSeconds(noneSettings);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...none, 'serve.terminationGracePeriodSeconds': String(noneNeeded - 1) } })).toMatch(
      new RegExp(`bus close 0ms .* last writes 0ms .* set it to ${noneNeeded} or more`),
    );
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...none, 'serve.terminationGracePeriodSeconds': String(noneNeeded) } })).toBe('');
  });

  it('asks serve\'s grace period to cover the gRPC port\'s grace when gRPC is on and its requests are shorter', () => {
    // Requests bounded at 2 s, under the 10 s the gRPC port gives its calls beside them: the calls bound the drain.
    const quick = { 'serve.env.FLTS_SERVE_REQUEST_TIMEOUT_MS': '2000', 'serve.terminationGracePeriodSeconds': '600' };
    const neededWith = (grpcOn: boolean): number => {
      const objects = helmTemplate({ values: ['values-prod.yaml'], set: { ...quick, 'serve.grpc.enabled': String(grpcOn) } });
      const [deployment] = byKind(component(objects, 'serve'), 'Deployment');
      const container = podSpec(deployment).containers[0];
      const settings = settingsFrom(containerStartEnv(objects, deployment, container));
      expect(settings.serve.grpcPort !== null).toBe(grpcOn);
      return preStopOf(container) + serveStopSeconds(settings);
    };
    const withGrpc = neededWith(true);
    // The budget serve computes counts the gRPC grace in place of the shorter request timeout.
    expect(withGrpc - neededWith(false)).toBe((SERVE_GRPC_STOP_GRACE_MS - 2000) / 1000);
    const render = (grace: number) => helmTemplateError({ values: ['values-prod.yaml'], set: { ...quick, 'serve.grpc.enabled': 'true', 'serve.terminationGracePeriodSeconds': String(grace) } });
    // Before, the chart counted the request timeout alone and rendered a pod killed mid-way through its gRPC drain.
    expect(render(withGrpc - 1)).toMatch(
      new RegExp(`terminationGracePeriodSeconds \\(${withGrpc - 1}\\) is shorter .* the longer of request timeout 2000ms and the gRPC port's grace ${SERVE_GRPC_STOP_GRACE_MS}ms .* set it to ${withGrpc} or more`),
    );
    expect(render(withGrpc)).toBe('');
  });

  it('renders no serve ports that flts serve or the API server refuses: gRPC on the HTTP port, one Service port twice', async () => {
    for (const [profile, objects] of Object.entries(renders)) {
      const [deployment] = byKind(component(objects, 'serve'), 'Deployment');
      await expect(assertServePortsDistinct(settingsFrom(containerStartEnv(objects, deployment, podSpec(deployment).containers[0])).serve), profile).resolves.toBeUndefined();
    }
    // The server's own check, on what the chart would give it for serve.grpc.port 8000 beside serve.port 8000.
    await expect(assertServePortsDistinct(settingsFrom({ FLTS_SERVE_HOST: '0.0.0.0', FLTS_SERVE_PORT: '8000', FLTS_SERVE_GRPC_PORT: '8000' }).serve)).rejects.toThrow(/cannot share a port/);
    const grpc = { 'serve.grpc.enabled': 'true' };
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...grpc, 'serve.grpc.port': '8000' } })).toContain('serve.grpc.port and serve.port are both 8000');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...grpc, 'serve.port': '8001' } })).toContain('serve.grpc.port and serve.port are both 8001');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { ...grpc, 'serve.service.grpcPort': '8000' } })).toContain('serve.service.grpcPort and serve.service.port are both 8000');
    // Without gRPC its ports are not used.
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.grpc.port': '8000', 'serve.service.grpcPort': '8000' } })).toBe('');
  });

  it('makes every daemon listen where its probes, Service and ServiceMonitor point, and stop within the grace period', () => {
    for (const [profile, objects] of Object.entries(renders)) {
      const daemons = byKind(component(objects, 'daemon'), 'Deployment');
      expect(daemons.length).toBeGreaterThan(0);
      const [service] = byKind(component(objects, 'daemon'), 'Service');
      for (const deployment of daemons) {
        const container = podSpec(deployment).containers[0];
        const settings = settingsFrom(containerStartEnv(objects, deployment, container)).daemon;
        const where = `${profile} ${deployment.metadata.name}`;
        expect(isLoopback(settings.host), `${where}: the daemon binds ${settings.host}, the kubelet's probes cannot reach it`).toBe(false);
        expect(settings.port, where).toBe(portNamed(container, 'metrics'));
        expect(container.readinessProbe.httpGet.port).toBe('metrics');
        expect(container.livenessProbe.httpGet.port).toBe('metrics');
        expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: 'metrics', targetPort: 'metrics' }));
        expect(podSpec(deployment).terminationGracePeriodSeconds, where).toBeGreaterThanOrEqual(DAEMON_SHUTDOWN_GRACE_MS / 1000 + DAEMON_EXIT_DELAY_S);
      }
    }
    // A shorter grace kills a daemon before it has left its groups; a bus close past its bound stops it at startup.
    const shortest = DAEMON_SHUTDOWN_GRACE_MS / 1000 + DAEMON_EXIT_DELAY_S;
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.terminationGracePeriodSeconds': String(shortest - 1) } })).toContain(`set it to ${shortest} or more`);
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.terminationGracePeriodSeconds': String(shortest) } })).toBe('');
    // The daemon's own bound (it refuses a longer close at startup) is the chart's.
    for (const key of ['settings.FLTS_KAFKA_CLOSE_TIMEOUT_MS', 'daemon.batch.env.FLTS_KAFKA_CLOSE_TIMEOUT_MS']) {
      const set = (closeMs: number) => ({ [key]: String(closeMs), 'serve.terminationGracePeriodSeconds': '600' });
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: set(DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS + 1) }), key).toMatch(
        new RegExp(`FLTS_KAFKA_CLOSE_TIMEOUT_MS is ${DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS + 1} for daemon\\.\\w+ .* above ${DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS}`),
      );
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: set(DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS) }), key).toBe('');
    }
    // A daemon's own 0 is its bus close, beside a longer one in settings that serve alone takes.
    const ownZero = Object.fromEntries(['trainer', 'promoter', 'batch'].map((role) => [`daemon.${role}.env.FLTS_KAFKA_CLOSE_TIMEOUT_MS`, '0']));
    const zeroSet = { ...ownZero, 'settings.FLTS_KAFKA_CLOSE_TIMEOUT_MS': String(DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS + 1), 'serve.terminationGracePeriodSeconds': '600' };
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: zeroSet })).toBe('');
    const zeroObjects = helmTemplate({ values: ['values-prod.yaml'], set: zeroSet });
    for (const deployment of byKind(component(zeroObjects, 'daemon'), 'Deployment')) {
      expect(settingsFrom(containerStartEnv(zeroObjects, deployment, podSpec(deployment).containers[0])).bus.kafka.closeTimeoutMs, deployment.metadata.name).toBe(0);
    }
    const moved = helmTemplate({ values: ['values-prod.yaml'], set: { 'daemon.metricsPort': '9200' } });
    for (const deployment of byKind(component(moved, 'daemon'), 'Deployment')) {
      const container = podSpec(deployment).containers[0];
      expect(settingsFrom(containerStartEnv(moved, deployment, container)).daemon.port).toBe(9200);
      expect(portNamed(container, 'metrics')).toBe(9200);
    }
  });

  it('autoscales on a requests/s metric that the adapter rule in the chart README derives from a counter serve exports', async () => {
    const [hpa] = byKind(renders.prod, 'HorizontalPodAutoscaler');
    const custom = hpa.spec.metrics.filter((m: { type: string }) => m.type === 'Pods').map((m: any) => m.pods.metric.name);
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const block = /```yaml\n(rules:[\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const rules: any[] = parse(block!).rules.custom;
    expect(custom).toEqual([rules[0].name.as]);
    const series = /^(\w+)\{/.exec(rules[0].seriesQuery)![1];
    const exported = (await createServeMetrics({ processMetrics: false }).registry.getMetricsAsJSON()).find((m) => m.name === series);
    expect(exported, series).toMatchObject({ type: 'counter' });
    // Every route that forecasts is a request to scale on, gRPC's ModelInfer included; the others are not. PromQL
    // anchors a regex matcher at both ends.
    const forecasting = await forecastingRoutes();
    expect(forecasting).toEqual(expect.arrayContaining(['/predict', '/inference.GRPCInferenceService/ModelInfer']));
    const routes = new RegExp(`^(?:${/route=~"([^"]*)"/.exec(rules[0].metricsQuery)![1]})$`);
    for (const route of forecasting) expect(routes.test(route), route).toBe(true);
    for (const route of ['/actuals', '/healthz', '/readyz', '/metrics', '/reload_latest', 'unmatched']) expect(routes.test(route), route).toBe(false);
  });

  it('gives the preprocess Job its raw files: a mounted dataset volume, or the example data shipped in the image', () => {
    for (const [profile, objects] of Object.entries(renders)) {
      const [job] = byKind(objects, 'Job');
      const container = podSpec(job).containers[0];
      const data = settingsFrom(containerStartEnv(objects, job, container)).data;
      if (data.dataDir) {
        const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === data.dataDir);
        expect(mount, `${profile}: FLTS_DATA_DIR=${data.dataDir} is not mounted`).toBeDefined();
        expect(podSpec(job).volumes.find((v: { name: string }) => v.name === mount.name), profile).toBeDefined();
      } else {
        // The image's working directory holds no data; only the package's examples/data does.
        const { trainName, testName } = resolveDataFiles(data);
        for (const file of [trainName, testName]) expect(existsSync(join(EXAMPLE_DATA_DIR, file)), `${profile}: ${file} is not shipped in the image`).toBe(true);
      }
    }
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'preprocess.env.DATASET_NAME': 'PobleSec' } })).toMatch(/preprocess reads PobleSec.csv from a local directory/);
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'preprocess.env.DATASET_NAME': 'PobleSec', 'preprocess.datasetVolume.persistentVolumeClaim.claimName': 'data' } })).toBe('');
  });

  it('refuses secret settings anywhere but a Secret', () => {
    expect(SECRET_ENV).toEqual(expect.arrayContaining(['FLTS_SERVE_ADMIN_TOKEN', 'MINIO_ROOT_PASSWORD', 'MLFLOW_TRACKING_PASSWORD']));
    for (const name of SECRET_ENV) {
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: { [`settings.${name}`]: 'leaked' } }), name).toMatch(new RegExp(`settings\\.${name} is a secret`));
    }
    for (const where of ['serve.env', 'daemon.trainer.env', 'daemon.promoter.env', 'daemon.batch.env', 'preprocess.env']) {
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: { [`${where}.MLFLOW_TRACKING_TOKEN`]: 'leaked' } }), where).toMatch(/is a secret/);
    }
    for (const objects of Object.values(renders)) {
      for (const configMap of byKind(objects, 'ConfigMap')) expect(Object.keys(configMap.data).filter((n) => SECRET_ENV.includes(n))).toEqual([]);
      for (const { container } of fltsContainers(objects)) {
        expect((container.env ?? []).filter((e: { name: string; value?: string }) => SECRET_ENV.includes(e.name) && e.value !== undefined)).toEqual([]);
      }
    }
  });

  it('keeps credentials out of the addresses it writes into the ConfigMap and the pod spec, never repeating them', async () => {
    // flts signs its MLflow calls with the user:password@ of MLFLOW_TRACKING_URI, as MLflow's client does.
    expect(splitUserinfo('https://ci:s3cret@mlflow:5000')).toMatchObject({ username: 'ci', password: 's3cret' });
    const maps = ['settings', 'serve.env', 'daemon.trainer.env', 'daemon.promoter.env', 'daemon.batch.env', 'preprocess.env'];
    const [inSecret, userOnly, store, brokers, ...inMaps] = await Promise.all([
      helmTemplateAsync({ values: ['values-prod.yaml'], set: { 'secretEnv.MLFLOW_TRACKING_URI': 'https://ci:s3cret@mlflow:5000' } }),
      helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'settings.MLFLOW_TRACKING_URI': 'https://ci@mlflow:5000' } }),
      // A key in the store's endpoint is never used (flts signs with store.existingSecret's), a login in a broker address refused.
      helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'store.endpoint': 'http://flts:s3cret@minio:9000' } }),
      helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'bus.bootstrapServers': 'flts:s3cret@kafka:9092' } }),
      ...maps.map((where) => helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { [`${where}.MLFLOW_TRACKING_URI`]: 'https://ci:s3cret@mlflow:5000' } })),
    ]);
    for (const [i, where] of maps.entries()) {
      expect(inMaps[i], where).toContain(`${where}.MLFLOW_TRACKING_URI holds a password (user:password@)`);
      expect(inMaps[i], where).not.toContain('s3cret');
    }
    // In the chart's Secret the URI is taken as it is; a user alone is no secret.
    expect(byKind(inSecret, 'Secret')[0].stringData).toMatchObject({ MLFLOW_TRACKING_URI: 'https://ci:s3cret@mlflow:5000' });
    expect(byKind(inSecret, 'ConfigMap').flatMap((c) => Object.values(c.data as Record<string, string>)).filter((v) => v.includes('s3cret'))).toEqual([]);
    expect(userOnly).toBe('');
    expect(store).toContain('store.endpoint holds a user:password@');
    expect(brokers).toContain('bus.bootstrapServers holds a user:password@');
    for (const error of [store, brokers]) expect(error).not.toContain('s3cret');
  });

  it('refuses at render exactly the broker lists flts refuses at startup, which would crash-loop every pod', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flts-brokers-'));
    try {
      const lists = [
        'kafka:9092', 'kafka-0.kafka.svc:9093, kafka-1.kafka.svc:9093', '10.0.0.5:9094', 'kafka', 'kafka:0', 'kafka:65536', 'kafka:65535',
        'SASL_SSL://kafka:9093', 'kafka:9092/', '[::1]:9092', 'kafka-0:9092,,kafka-1:9092', 'kafka-0:9092,SSL://kafka-1:9093', 'kafka :9092',
      ];
      const errors = await Promise.all(lists.map((list, i) => {
        const file = join(dir, `brokers-${i}.yaml`);
        writeFileSync(file, stringify({ bus: { bootstrapServers: list } }));
        return helmTemplateErrorAsync({ values: ['values-prod.yaml', file] });
      }));
      let refused = 0;
      for (const [i, list] of lists.entries()) {
        let fltsRefuses = false;
        try {
          const settings = settingsFrom({ FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: list });
          kafkaClientConfig({ brokers: settings.bus.kafka.brokers, clientId: 'flts' });
        } catch {
          fltsRefuses = true;
        }
        expect(errors[i] !== '', `${list}: ${errors[i]}`).toBe(fltsRefuses);
        if (fltsRefuses) expect(errors[i], list).toMatch(/bus\.bootstrapServers item \d+ \(".*"\) is not host:port/);
        refused += Number(fltsRefuses);
      }
      expect(refused).toBe(9);
      expect(await helmTemplateErrorAsync({ values: ['values-prod.yaml'], set: { 'bus.bootstrapServers': '' } })).toContain('bus.bootstrapServers is empty');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists in the chart README the consumer groups, read and written topics of each workload, as flts names them from its settings', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const section = readme.split('## Kafka topics and consumer groups')[1].split('\n## ')[0];
    const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map(([, name]) => name).sort();
    const table = new Map(section.split('\n').filter((line) => /^\| `/.test(line)).map((line) => {
      const [workload, groups, reads, writes] = line.split('|').slice(1, -1);
      return [names(workload)[0], { groups: names(groups), reads: names(reads), writes: names(writes) }];
    }));
    const objects = helmTemplate({ set: { 'store.accessKey': 'a', 'store.secretKey': 'b', 'preprocess.env.DATASET_NAME': 'example' } });
    const listed = new Map<string, { groups: string[]; reads: string[]; writes: string[] }>();
    for (const { workload, container } of fltsContainers(objects)) {
      const settings = settingsFrom(containerStartEnv(objects, workload, container));
      const { topics, groups } = settings.bus;
      const role = workload.kind === 'Job' ? 'preprocess' : container.name === 'serve' ? 'serve' : settings.daemon.roles.join(',');
      // A replica's groups end with its host name and pid, which the table writes as placeholders.
      const replicaGroup = servingGroupId('<pod>-<pid>', groups.servingPrefix);
      const expected = {
        trainer: { groups: settings.daemon.trainerModels.map((type) => trainerGroupId(type, groups.trainerPrefix)), reads: [topics.trainingData], writes: [topics.modelTraining, roleDlq(settings, 'trainer').topic] },
        promoter: { groups: [groups.promoter], reads: [topics.modelTraining], writes: [topics.modelSelected, roleDlq(settings, 'promoter').topic] },
        batch: { groups: [BATCH_INFERENCE_GROUP], reads: [topics.inferenceData], writes: [topics.performanceEval, roleDlq(settings, 'batch').topic] },
        serve: { groups: [replicaGroup, claimActualsGroup(replicaGroup)], reads: [topics.modelSelected, topics.inferenceData], writes: [roleDlq(settings, 'serving').topic] },
        preprocess: { groups: [], reads: [], writes: [topics.trainingData, topics.inferenceData, dlqTopic('preprocess')] },
      }[role];
      expect(expected, `${workload.metadata.name}: role ${role}`).toBeDefined();
      const name = workload.kind === 'Job' ? workload.metadata.name.replace(/-\d+$/, '-<revision>') : workload.metadata.name;
      listed.set(name, { groups: [...expected!.groups].sort(), reads: [...expected!.reads].sort(), writes: [...expected!.writes].sort() });
    }
    expect(Object.fromEntries(table)).toEqual(Object.fromEntries(listed));
    // The daemons' startup creates each of these but DLQ-preprocess, which the text says preprocess creates.
    const written = new Set([...listed.values()].flatMap((row) => [...row.reads, ...row.writes]));
    expect([...written].filter((topic) => topic !== dlqTopic('preprocess')).sort()).toEqual([...pipelineTopics(settingsFrom({}))].sort());
  });

  it('refuses a name flts does not read, in every map of settings the values have, and passes extraEnv as it is', () => {
    for (const where of SETTING_MAPS) {
      expect(helmTemplateError({ values: ['values-prod.yaml'], set: { [`${where}.EPOCH`]: '3' } }), where).toContain(`${where}.EPOCH is not an flts setting`);
    }
    // Variables that are not settings go in extraEnv, which in turn refuses settings (their names would go unchecked).
    const extra = helmTemplate({ values: ['values-prod.yaml'], set: { 'extraEnv.NODE_OPTIONS': '--max-old-space-size=768' } });
    const containers = fltsContainers(extra);
    expect(containers.length).toBeGreaterThanOrEqual(4);
    for (const { workload, container } of containers) expect(containerStartEnv(extra, workload, container).NODE_OPTIONS, workload.metadata.name).toBe('--max-old-space-size=768');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'extraEnv.EPOCHS': '3' } })).toContain('extraEnv.EPOCHS is an flts setting (training.epochs)');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'extraEnv.MLFLOW_TRACKING_TOKEN': 't' } })).toContain('extraEnv.MLFLOW_TRACKING_TOKEN is an flts setting');
  });

  it('refuses, under any of its environment names, a setting the chart gives a container itself', () => {
    // Set twice, a setting repeats a key of the ConfigMap (which Kubernetes refuses), or one value loses without a word.
    const profiles: [string, TemplateOptions][] = [['prod', { values: ['values-prod.yaml'] }], ['everything', EVERYTHING]];
    const owned = new Set<string>();
    for (const [profile, options] of profiles) {
      const given = valuesEnvNames(options);
      for (const { workload, container } of fltsContainers(renders[profile])) {
        const { envNames } = resolveSettings({ env: containerStartEnv(renders[profile], workload, container) });
        for (const [path, name] of Object.entries(envNames)) if (!given.has(name)) owned.add(path);
      }
    }
    expect([...owned]).toEqual(expect.arrayContaining(['home', 'identifier', 'store.s3.endpoint', 'store.s3.secretKey', 'bus.kafka.brokers', 'serve.port', 'serve.grpcPort', 'daemon.port', 'daemon.trainerModels', 'data.dataDir']));
    for (const path of owned) {
      for (const name of ALL_SPECS.find((spec) => spec.path === path)!.env!) {
        const error = helmTemplateError({ values: ['values-prod.yaml'], set: { [`settings.${name}`]: '1' } });
        expect(error, `settings.${name}`).toMatch(path === 'data.dataDir' ? /FLTS_DATA_DIR \(1\) is \/datasets/ : new RegExp(`settings\\.${name} (\\(setting ${path}\\) is one the chart sets itself|is a secret)`));
      }
    }
    // The same check guards every other map, and names the value to set instead.
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'serve.env.PORT': '9000' } })).toContain('serve.env.PORT (setting serve.port) is one the chart sets itself: set serve.port');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'daemon.trainer.env.FLTS_TRAINER_MODELS': 'GRU' } })).toContain('set daemon.trainer.modelTypes');
    expect(helmTemplateError({ values: ['values-dev.yaml'], set: { 'secretEnv.MINIO_ROOT_PASSWORD': 'pw' } })).toContain('set store.secretKey or store.existingSecret');
    expect(helmTemplateError({ values: ['values-prod.yaml'], set: { 'preprocess.env.FLTS_DATA_DIR': '/elsewhere' } })).toContain('FLTS_DATA_DIR (/elsewhere) is /datasets');
  });

  it('makes the compose daemons and replicas listen where Prometheus, HAProxy and the health checks look, and stop in time', () => {
    const prometheus = parse(readFileSync(join(COMPOSE_DIR, 'prometheus/prometheus.yml'), 'utf8'));
    const haproxy = readFileSync(join(COMPOSE_DIR, 'haproxy/haproxy.cfg'), 'utf8');
    const env = (name: string) => Object.fromEntries(Object.entries(compose[name].environment as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')]));
    const daemonJob = prometheus.scrape_configs.find((j: { job_name: string }) => j.job_name === 'flts-daemon');
    // Static targets, and the DNS names of the daemons that scale (every replica answers on the same port).
    const daemonTargets: string[] = [
      ...daemonJob.static_configs.flatMap((s: { targets: string[] }) => s.targets),
      ...(daemonJob.dns_sd_configs ?? []).flatMap((d: { names: string[]; port: number }) => d.names.map((name) => `${name}:${d.port}`)),
    ];
    for (const name of ['trainer', 'promoter', 'batch']) {
      const settings = settingsFrom(env(name));
      expect(isLoopback(settings.daemon.host), `${name}: Prometheus scrapes ${name}:${settings.daemon.port} from another container`).toBe(false);
      expect(daemonTargets).toContain(`${name}:${settings.daemon.port}`);
      expect(settings.daemon.roles).toEqual([name]);
      expect(compose[name].healthcheck.test.join(' ')).toContain(`:${settings.daemon.port}/readyz`);
      expect(composeDurationSeconds(compose[name].stop_grace_period ?? '10s'), name).toBeGreaterThanOrEqual(DAEMON_SHUTDOWN_GRACE_MS / 1000 + DAEMON_EXIT_DELAY_S);
    }
    const serve = settingsFrom(env('serve')).serve;
    expect(isLoopback(serve.host)).toBe(false);
    expect(haproxy).toMatch(new RegExp(`server-template serve \\d+ serve:${serve.port} `));
    expect(haproxy).toMatch(new RegExp(`server-template serve-grpc \\d+ serve:${serve.grpcPort} .*check port ${serve.port} `));
    expect(prometheus.scrape_configs.find((j: { job_name: string }) => j.job_name === 'flts-serve').dns_sd_configs[0].port).toBe(serve.port);
    expect(compose.serve.healthcheck.test.join(' ')).toContain(`:${serve.port}/livez`);
    expect(composeDurationSeconds(compose.serve.stop_grace_period ?? '10s')).toBeGreaterThanOrEqual(serveStopSeconds(settingsFrom(env('serve'))));
    // HAProxy waits for the replica's own answer at its request timeout (checked up to a second late), not cutting it
    // with a 504 first: its timeouts come from the lb service (compose.test.ts runs its start script), and the default
    // the config falls back to leaves the default request timeout that margin too.
    for (const side of ['client', 'server']) {
      const fallback = new RegExp(`^\\s*timeout ${side} "\\$\\{FLTS_LB_TIMEOUT_MS-(\\d+)\\}"$`, 'm').exec(haproxy)?.[1];
      expect(Number(fallback ?? 0), `timeout ${side}`).toBeGreaterThanOrEqual(serve.requestTimeoutMs + 5000);
    }
    expect(settingsFrom(env('preprocess')).data.dataDir).toBe('/datasets');
  });
});
