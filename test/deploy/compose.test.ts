import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveSettings } from '../../src/core/config/settings.js';
import { freePort } from '../helpers/free-port.js';
import { skipNote, useServers } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait-until.js';
import { composeDurationSeconds, COMPOSE_DIR, REPO_ROOT, run, tools } from './deploy-tools.js';
import { alertOutputLabels, allExportedSeries, exportedSeries, forecastingRoutes, JOBS, queryProblems, readRuleGroups, RULE_FILES, selectors } from './flts-series.js';

const deployTools = await useServers('deploy-tools');

// Loose shape of a service in `docker-compose config` output.
type ComposeService = Record<string, any>;

const FLTS_SERVICES = ['trainer', 'promoter', 'batch', 'preprocess', 'serve'];

/** The sections of an HAProxy config by their header line ("defaults", "backend flts_serve"), without comments. */
function haproxySections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    if (/^\S/.test(line)) sections.set(line.trim(), (current = []));
    else current.push(line.trim());
  }
  return sections;
}

/** Volumes of a service as {source, target}, whichever syntax (short string or long form) the config printed. */
function volumes(service: ComposeService): { source?: string; target: string }[] {
  return (service.volumes ?? []).map((v: string | { source?: string; target: string }) => {
    if (typeof v !== 'string') return v;
    const [source, target] = v.split(':');
    return target === undefined || target === 'ro' || target === 'rw' ? { target: source } : { source, target };
  });
}

/** Published ports as {host_ip, published, target}, from the short string ('127.0.0.1:8023:8080/tcp') or the long form. */
function ports(service: ComposeService): { host_ip?: string; published?: string; target: number }[] {
  return (service.ports ?? []).map((p: string | { host_ip?: string; published?: string | number; target: number }) => {
    if (typeof p !== 'string') return { ...p, published: p.published === undefined ? undefined : String(p.published) };
    const parts = p.replace(/\/\w+$/, '').split(':');
    const target = Number(parts.pop());
    const published = parts.pop();
    return { host_ip: parts.pop(), published, target };
  });
}

/** Environment of a service with every value as a string (Compose versions print numbers differently). */
function env(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** The services of `docker-compose config` with these variables set (unset ones take the file's defaults). */
async function renderCompose(vars: Record<string, string> = {}): Promise<Record<string, ComposeService>> {
  const { stdout } = await promisify(execFile)(tools.dockerCompose, ['-f', 'docker-compose.yml', 'config'], { cwd: COMPOSE_DIR, env: { ...process.env, ...vars }, encoding: 'utf8' });
  return parse(stdout).services;
}

/**
 * Why `up` could not start every service that has containers, in dependency order: a dependency that is not defined,
 * scaled to 0 (Compose versions differ: some wait forever for its health, newer ones refuse with "missing
 * dependency"), or waited for healthy without a health check; and services left over in a dependency cycle.
 */
function startProblems(services: Record<string, ComposeService>): string[] {
  const replicas = (name: string): number => Number(services[name]?.deploy?.replicas ?? services[name]?.scale ?? 1);
  const starting = Object.keys(services).filter((name) => replicas(name) > 0);
  const needs = new Map(starting.map((name) => [name, Object.entries((services[name].depends_on ?? {}) as Record<string, { condition?: string }>)]));
  const problems: string[] = [];
  for (const [name, dependencies] of needs) {
    for (const [dependency, { condition = 'service_started' }] of dependencies) {
      if (!services[dependency]) problems.push(`${name} depends on ${dependency}, which is not defined`);
      else if (replicas(dependency) === 0) problems.push(`${name} depends on ${dependency} (${condition}), which is scaled to 0`);
      else if (condition === 'service_healthy' && !services[dependency].healthcheck?.test) problems.push(`${name} waits for ${dependency} to be healthy, which has no health check`);
    }
  }
  const started = new Set<string>();
  for (let progress = true; progress; ) {
    progress = false;
    for (const [name, dependencies] of needs) {
      if (started.has(name) || !dependencies.every(([dependency]) => started.has(dependency))) continue;
      started.add(name);
      progress = true;
    }
  }
  const stuck = starting.filter((name) => !started.has(name));
  return stuck.length > 0 ? [...problems, `never started: ${stuck.join(', ')}`] : problems;
}

/**
 * The least time, in seconds, `up` waits on health checks before it starts a service: Docker runs a container's
 * first check one `interval` after the container starts (30 s when unset), so each service_healthy link of the
 * longest chain of them costs that much however soon the dependency is ready. Other conditions count as no wait.
 */
function healthWaitSeconds(services: Record<string, ComposeService>, name: string): number {
  const dependencies = Object.entries((services[name].depends_on ?? {}) as Record<string, { condition?: string }>);
  return Math.max(0, ...dependencies.map(([dependency, { condition }]) =>
    healthWaitSeconds(services, dependency) + (condition === 'service_healthy' ? composeDurationSeconds(services[dependency].healthcheck?.interval ?? '30s') : 0)));
}

/**
 * Whether `docker build` sends this path of the context to the builder under these .dockerignore rules: the last rule
 * that matches the path or a directory above it decides ("!" keeps); "**" spans directories, "*" one name.
 */
function dockerContextKeeps(dockerignore: string, path: string): boolean {
  const rules = dockerignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const toRegExp = (pattern: string) => new RegExp(`^${pattern.replace(/\/+$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*\//g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '(?:.*/)?')}$`);
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let kept = true;
  for (const rule of rules) {
    const keep = rule.startsWith('!');
    const pattern = toRegExp(keep ? rule.slice(1) : rule);
    if (prefixes.some((prefix) => pattern.test(prefix))) kept = keep;
  }
  return kept;
}

/** Files under dir, leaving out compose/datasets (user data, whatever its line endings). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (path === join(COMPOSE_DIR, 'datasets')) return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe.skipIf(Boolean(deployTools.skip))(`deploy > compose${skipNote(deployTools)}`, () => {
  let services: Record<string, ComposeService>;

  beforeAll(() => {
    const res = run(tools.dockerCompose, ['-f', 'docker-compose.yml', 'config'], COMPOSE_DIR);
    if (res.status !== 0) throw new Error(`docker-compose config failed: ${res.stderr}`);
    services = parse(res.stdout).services;
  });

  it('defines the full stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['batch', 'grafana', 'kafka', 'lb', 'minio', 'minio-init', 'preprocess', 'prometheus', 'promoter', 'serve', 'trainer'],
    );
    expect(services.kafka.image).toBe('apache/kafka:3.9.1');
    expect(env(services.kafka)).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_ADVERTISED_LISTENERS: expect.stringContaining('PLAINTEXT://kafka:9092') });
  });

  it('runs the flts services from one image with the Kafka and MinIO settings', () => {
    const images = new Set(FLTS_SERVICES.map((name) => services[name].image));
    expect(images.size).toBe(1);
    for (const name of FLTS_SERVICES) {
      expect(services[name].build).toMatchObject({ context: REPO_ROOT, dockerfile: 'Dockerfile' });
      expect(env(services[name])).toMatchObject({
        FLTS_STORE: 's3', MINIO_ENDPOINT: 'minio:9000', FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: 'kafka:9092', FLTS_HOME: '/data',
      });
    }
    expect(services.trainer.command).toEqual(['daemon']);
    expect(env(services.trainer)).toMatchObject({ FLTS_DAEMON_ROLES: 'trainer', FLTS_TRAINER_MODELS: 'LSTM,GRU,PROPHET' });
    expect(env(services.promoter)).toMatchObject({ FLTS_DAEMON_ROLES: 'promoter', EXPECTED_MODEL_TYPES: 'LSTM,GRU,PROPHET' });
    expect(services.batch.command).toEqual(['daemon']);
    expect(env(services.batch)).toMatchObject({ FLTS_DAEMON_ROLES: 'batch', FLTS_DAEMON_HOST: '0.0.0.0', FLTS_DAEMON_PORT: '9100' });
    expect(services.serve.command).toEqual(['serve']);
    expect(env(services.serve)).toMatchObject({ FLTS_SERVE_HOST: '0.0.0.0', FLTS_SERVE_PORT: '8000' });
    expect(services.preprocess.command).toEqual(['preprocess']);
  });

  it('starts services in dependency order through health and completion conditions', () => {
    expect(services['minio-init'].depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    expect(services.trainer.depends_on).toEqual({
      kafka: { condition: 'service_healthy' }, 'minio-init': { condition: 'service_completed_successfully' },
    });
    expect(services.batch.depends_on).toEqual(services.trainer.depends_on);
    // Preprocess and the promoter wait for no daemon: every daemon group reads a claim published before it joined.
    expect(services.promoter.depends_on).toEqual(services.trainer.depends_on);
    expect(services.preprocess.depends_on).toEqual(services.trainer.depends_on);
    expect(services.grafana.depends_on).toEqual({ prometheus: { condition: 'service_healthy' } });
    expect(startProblems(services)).toEqual([]);
    for (const daemon of ['trainer', 'promoter', 'batch']) expect(services[daemon].healthcheck.test.join(' '), daemon).toContain('http://127.0.0.1:9100/readyz');
    // Liveness, as the chart's probe: /healthz answers 200 while a forward pass is stuck, so the replica never showed unhealthy.
    expect(services.serve.healthcheck.test.join(' ')).toContain('http://127.0.0.1:8000/livez');
  });

  it('starts preprocess as soon as the broker is healthy, not a health check of every daemon later', () => {
    // Before, preprocess waited for the trainer's health and the promoter's, which waited for the trainer's: 30 s at
    // least on every `up`, 20 s of it for daemons whose groups read the claims whenever they join.
    expect(healthWaitSeconds(services, 'preprocess')).toBe(composeDurationSeconds(services.kafka.healthcheck.interval));
    for (const name of FLTS_SERVICES) {
      const waitsForFlts = Object.entries((services[name].depends_on ?? {}) as Record<string, { condition?: string }>)
        .filter(([dependency, { condition }]) => FLTS_SERVICES.includes(dependency) && condition === 'service_healthy');
      expect(waitsForFlts, name).toEqual([]);
    }
  });

  it('starts every service with FLTS_BATCH_REPLICAS=0: nothing depends on the batch daemon', async () => {
    const withoutBatch = await renderCompose({ FLTS_BATCH_REPLICAS: '0' });
    expect(withoutBatch.batch.deploy.replicas).toBe(0);
    expect(startProblems(withoutBatch)).toEqual([]);
    expect(withoutBatch.preprocess.depends_on).toEqual(services.preprocess.depends_on);
  });

  it('starts every service with FLTS_SERVE_REPLICAS=0: the load balancer waits for no replica', async () => {
    // Before, lb depended on serve and never started (or Compose refused the file) with serve scaled to 0.
    const withoutServe = await renderCompose({ FLTS_SERVE_REPLICAS: '0' });
    expect(withoutServe.serve.deploy.replicas).toBe(0);
    expect(startProblems(withoutServe)).toEqual([]);
    expect(readFileSync(join(COMPOSE_DIR, 'haproxy/haproxy.cfg'), 'utf8')).toMatch(/^\s*default-server init-addr libc,none$/m);
  });

  it('lets serve scale: no container name, no host port, replicas behind the load balancer', () => {
    expect(services.serve.container_name).toBeUndefined();
    expect(services.serve.ports).toBeUndefined();
    expect(services.serve.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(ports(services.lb)).toEqual([expect.objectContaining({ target: 8080 }), expect.objectContaining({ target: 8081 })]);
    const haproxy = readFileSync(join(COMPOSE_DIR, 'haproxy/haproxy.cfg'), 'utf8');
    expect(haproxy).toMatch(/^\s*bind :8080$/m);
    expect(haproxy).toMatch(/^\s*server-template serve \d+ serve:8000 check .*resolvers docker/m);
    // The Open Inference Protocol over gRPC: HTTP/2 both sides, health from the HTTP port's /readyz.
    expect(services.serve.environment.FLTS_SERVE_GRPC_PORT).toBe('8001');
    expect(haproxy).toMatch(/^\s*bind :8081 proto h2$/m);
    expect(haproxy).toMatch(/^\s*server-template serve-grpc \d+ serve:8001 proto h2 check port 8000 check-proto h1 .*resolvers docker/m);
    expect(haproxy).toMatch(/^\s*http-check send meth GET uri \/readyz$/m);
    expect(volumes(services.lb)).toContainEqual({ source: join(COMPOSE_DIR, 'haproxy/haproxy.cfg'), target: '/usr/local/etc/haproxy/haproxy.cfg' });
  });

  it('lets the batch daemon scale: no container name, no host port, a /data of its own per replica', () => {
    expect(services.batch.container_name).toBeUndefined();
    expect(services.batch.ports).toBeUndefined();
    expect(services.batch.deploy.replicas).toBe(1);
    // A named volume at /data would be shared by every replica; the image's anonymous volume is one per container.
    expect(volumes(services.batch)).toEqual([]);
    expect(services.batch.restart).toBe('unless-stopped');
  });

  it('tells every flts container a file of its own filesystem to keep its id in, so a daemon Docker restarts takes over its own work at once', () => {
    // Without it a trainer restarted by `restart: unless-stopped` waited FLTS_DAEMON_LEASE_STALE_MS (30 s) for the lease
    // and RUNNING run of its own dead first instance. The file must be in the container's writable layer: on a volume
    // (/data is one, trainer_data shared by `--scale trainer=2`), a tmpfs or a read-only root, flts refuses it or it
    // does not survive the restart.
    for (const name of FLTS_SERVICES) {
      const service = services[name];
      const idFile = env(service).FLTS_INSTANCE_ID_FILE;
      expect(resolveSettings({ env: env(service) }).settings.instance, name).toMatchObject({ podUid: '', container: '', idFile: '/tmp/flts-instance-id' });
      const mounts = [...volumes(service).map((v) => v.target), ...[service.tmpfs ?? []].flat()].map((target: string) => target.split(':')[0]);
      for (const target of mounts) expect(`${idFile}/`.startsWith(`${target.replace(/\/$/, '')}/`), `${name}: ${idFile} under ${target}`).toBe(false);
      expect(service.read_only, name).toBeFalsy();
      expect(service.restart, name).toBe(name === 'preprocess' ? 'no' : 'unless-stopped');
    }
  });

  it('publishes every port on 127.0.0.1 only, and documents each default password it sets', () => {
    const published = Object.entries(services).flatMap(([name, service]) => ports(service).map((port) => ({ name, ...port })));
    expect(published.length).toBeGreaterThanOrEqual(6);
    for (const port of published) expect(port, port.name).toMatchObject({ host_ip: '127.0.0.1' });
    const readme = readFileSync(join(COMPOSE_DIR, 'README.md'), 'utf8');
    const compose = readFileSync(join(COMPOSE_DIR, 'docker-compose.yml'), 'utf8');
    for (const [, variable, value] of compose.matchAll(/\$\{([A-Z_]*(?:PASSWORD|USER))[^}]*:-([^}]+)\}/g)) {
      expect(readme, variable).toContain(`\`${variable}\``);
      expect(readme, variable).toContain(`\`${value}\``);
    }
  });

  it('hands the tokens its README says to set to every flts container, and lists every variable it reads', async () => {
    // Before, the tokens set in .env reached no container, though the README asks for FLTS_SERVE_ADMIN_TOKEN before
    // FLTS_BIND_ADDRESS=0.0.0.0: the admin routes stayed loopback-only and prediction open whatever was set.
    const withTokens = await renderCompose({ FLTS_SERVE_ADMIN_TOKEN: 'admin-secret', FLTS_SERVE_API_TOKEN: 'api-secret' });
    for (const name of FLTS_SERVICES) {
      expect(resolveSettings({ env: env(withTokens[name]) }).settings.serve, name).toMatchObject({ adminToken: 'admin-secret', apiToken: 'api-secret' });
      expect(resolveSettings({ env: env(services[name]) }).settings.serve, name).toMatchObject({ adminToken: '', apiToken: '' });
    }
    const readme = readFileSync(join(COMPOSE_DIR, 'README.md'), 'utf8');
    const listed = readme.slice(readme.indexOf('Settings are environment variables'), readme.indexOf('\n\n', readme.indexOf('Settings are environment variables')));
    const read = new Set([...readFileSync(join(COMPOSE_DIR, 'docker-compose.yml'), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    const unlisted = [...read].filter((name) => !listed.includes(`\`${name}\``) && !(name.endsWith('_HOST_PORT') && listed.includes('`*_HOST_PORT`')));
    expect(unlisted).toEqual([]);
  });

  it('hands a serve replica the timeouts of its stop from .env, and a stop_grace_period that can be raised with them', async () => {
    // Before, the replica read neither timeout from .env and waited a fixed grace: longer last writes were cut by the kill.
    const longer = await renderCompose({ FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS: '20000', FLTS_SERVE_REQUEST_TIMEOUT_MS: '40000', FLTS_SERVE_STOP_GRACE_PERIOD: '75s' });
    expect(resolveSettings({ env: env(longer.serve) }).settings.serve).toMatchObject({ shutdownWritesTimeoutMs: 20_000, requestTimeoutMs: 40_000 });
    expect(composeDurationSeconds(String(longer.serve.stop_grace_period))).toBe(75);
    expect(resolveSettings({ env: env(services.serve) }).settings.serve).toMatchObject({ shutdownWritesTimeoutMs: 5000, requestTimeoutMs: 30_000 });
  });

  it('creates every bucket flts uses before anything starts', () => {
    const script = services['minio-init'].command.join('\n');
    for (const bucket of ['dataset', 'processed-data', 'runs', 'model-promotion', 'inference-logs']) expect(script).toContain(bucket);
    expect(services['minio-init'].restart).toBe('no');
  });

  it('scrapes serve replicas and daemons with Prometheus, batch replicas found through DNS like the serve ones', () => {
    const config = parse(readFileSync(join(COMPOSE_DIR, 'prometheus/prometheus.yml'), 'utf8'));
    const jobs = new Map<string, ComposeService>(config.scrape_configs.map((j: ComposeService) => [j.job_name, j]));
    expect(jobs.get(JOBS.serve)?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['serve'], port: 8000 })]);
    const daemons = jobs.get(JOBS.daemon)!;
    expect(daemons.static_configs.flatMap((s: { targets: string[] }) => s.targets)).toEqual(['trainer:9100', 'promoter:9100']);
    expect(daemons.dns_sd_configs).toEqual([expect.objectContaining({ names: ['batch'], type: 'A', port: 9100 })]);
    // The batch targets get the daemon label the static ones carry.
    expect(daemons.relabel_configs).toContainEqual(expect.objectContaining({ source_labels: ['__meta_dns_name'], regex: 'batch', target_label: 'daemon', replacement: 'batch' }));
    expect(volumes(services.prometheus)).toContainEqual({ source: join(COMPOSE_DIR, 'prometheus/prometheus.yml'), target: '/etc/prometheus/prometheus.yml' });
  });

  it('loads the flts alerting rules into Prometheus, the same file the chart makes its PrometheusRule from', () => {
    const config = parse(readFileSync(join(COMPOSE_DIR, 'prometheus/prometheus.yml'), 'utf8'));
    // Each rule_files pattern, as the container sees it, resolved to the host files mounted there.
    const loaded = (config.rule_files as string[]).flatMap((pattern) => {
      const dir = pattern.slice(0, pattern.lastIndexOf('/'));
      const mount = volumes(services.prometheus).find((v) => v.target === dir);
      if (!mount?.source) return [];
      const glob = new RegExp(`^${pattern.slice(dir.length + 1).replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
      return readdirSync(mount.source).filter((name) => glob.test(name)).map((name) => join(mount.source!, name));
    });
    expect(loaded).toEqual([RULE_FILES.compose]);
    expect(readFileSync(RULE_FILES.chart, 'utf8')).toBe(readFileSync(RULE_FILES.compose, 'utf8'));
  });

  it('has alerting rules a platform engineer expects, each with a severity, a summary and a description', () => {
    const groups = readRuleGroups(RULE_FILES.compose);
    const rules = groups.flatMap((group) => group.rules);
    expect(new Set(groups.map((group) => group.name)).size).toBe(groups.length);
    expect(rules.map((rule) => rule.alert).sort()).toEqual([
      'FltsBatchInferenceFailed', 'FltsBusConsumerCrashing', 'FltsBusDeadLetterRefused', 'FltsBusMessagesDeadLettered', 'FltsConsumerLagGrowing', 'FltsDaemonDown', 'FltsDaemonNotReady', 'FltsInvalidMessages', 'FltsLiveActualsNotArriving', 'FltsLiveProbationWithoutBaseline', 'FltsLiveRollback', 'FltsLiveWorseRunKept',
      'FltsServeConnectionsRefusedAtCap', 'FltsServeErrorRatioHigh', 'FltsServeLatencyHigh', 'FltsServeModelDegraded', 'FltsServeNoModelReady', 'FltsServeNoReplicaReady',
      'FltsServeNotFollowingPromotions', 'FltsServeReplicaDown', 'FltsServingReloadFailed', 'FltsTrackingCallsFailing', 'FltsTrackingMirrorBehind', 'FltsTrainingRunFailed',
    ]);
    for (const rule of rules) {
      expect(Object.keys(rule).filter((key) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(key)), rule.alert).toEqual([]);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(['description', 'summary']);
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
    }
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    // What each alert watches (the series flts exports for it): every alert names one.
    const watches: Record<string, string> = {
      FltsServeReplicaDown: 'up', FltsDaemonDown: 'up', FltsServeNoReplicaReady: 'flts_model_ready', FltsBusConsumerCrashing: 'flts_bus_consumer_crashing',
      FltsServeNotFollowingPromotions: 'flts_serve_following_promotions',
      FltsServeNoModelReady: 'flts_model_ready', FltsServeModelDegraded: 'flts_model_degraded', FltsServeErrorRatioHigh: 'flts_http_requests_total',
      FltsServeLatencyHigh: 'flts_http_request_duration_seconds_bucket', FltsConsumerLagGrowing: 'flts_daemon_consumer_lag',
      FltsTrainingRunFailed: 'flts_training_runs_total', FltsLiveRollback: 'flts_live_rollbacks_total', FltsLiveWorseRunKept: 'flts_live_worse_kept_total', FltsLiveProbationWithoutBaseline: 'flts_live_no_baseline_total', FltsLiveActualsNotArriving: 'flts_live_waiting_points', FltsDaemonNotReady: 'flts_daemon_ready',
      FltsBatchInferenceFailed: 'flts_daemon_steps_total', FltsServingReloadFailed: 'flts_daemon_steps_total', FltsInvalidMessages: 'flts_daemon_steps_total',
      FltsTrackingCallsFailing: 'flts_daemon_tracking_failures_total', FltsTrackingMirrorBehind: 'flts_daemon_tracking_oldest_unmirrored_seconds', FltsServeConnectionsRefusedAtCap: 'flts_http_connections_closed_at_cap_total',
      FltsBusDeadLetterRefused: 'flts_bus_dead_letter_refusals_total', FltsBusMessagesDeadLettered: 'flts_bus_messages_total',
    };
    expect(Object.keys(watches).sort()).toEqual([...byName.keys()].sort());
    // The chart README's table of alerts, which operators read to know what pages them, has a row for each, with its severity.
    const table = [...readFileSync(join(REPO_ROOT, 'charts/flts/README.md'), 'utf8').matchAll(/^\| `(Flts\w+)` \| (\w+) \|/gm)].map(([, alert, severity]) => [alert, severity]);
    expect(table.sort()).toEqual(rules.map((rule) => [rule.alert, rule.labels?.severity]).sort());
    for (const [alert, series] of Object.entries(watches)) expect(selectors(byName.get(alert)!.expr).map((s) => s.name), alert).toContain(series);
    // Connections are refused at the cap on either port; closing idle ones to admit a newcomer is no trouble.
    const atCap = selectors(byName.get('FltsServeConnectionsRefusedAtCap')!.expr);
    expect(atCap.map((s) => s.name).sort()).toEqual(['flts_grpc_connections_closed_at_cap_total', 'flts_http_connections_closed_at_cap_total']);
    for (const { matchers } of atCap) expect(matchers.find((m) => m.label === 'what')?.value).toBe('refused');
    // The error ratio counts 5xx answers of the prediction routes only: /readyz answers 503 by design until a model is loaded.
    const ratio = selectors(byName.get('FltsServeErrorRatioHigh')!.expr);
    // Every prediction route, the Open Inference Protocol's versioned infer included (a label of its own).
    const predictionRoutes = ['/predict', '/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer', '/inference.GRPCInferenceService/ModelInfer'];
    for (const { matchers } of ratio) expect(matchers.find((m) => m.label === 'route')?.value.split('|'), 'route').toEqual(expect.arrayContaining(predictionRoutes));
    for (const { matchers } of selectors(byName.get('FltsServeLatencyHigh')!.expr)) expect(matchers.find((m) => m.label === 'route')?.value.split('|'), 'latency route').toEqual(expect.arrayContaining(predictionRoutes));
    expect(byName.get('FltsServeErrorRatioHigh')!.expr).not.toMatch(/readyz|healthz/);
    // A refused dead letter leaves its message stuck uncommitted: it pages; one stored is a warning. Both count what a
    // serve replica's subscriptions dead-letter too, not only the daemon's.
    expect(byName.get('FltsBusDeadLetterRefused')!.labels?.severity).toBe('critical');
    expect(byName.get('FltsBusMessagesDeadLettered')!.labels?.severity).toBe('warning');
    for (const alert of ['FltsBusDeadLetterRefused', 'FltsBusMessagesDeadLettered']) {
      expect(selectors(byName.get(alert)!.expr).map((s) => s.matchers.find((m) => m.label === 'job')?.value), alert).toEqual(expect.arrayContaining(Object.values(JOBS)));
    }
    for (const { matchers } of selectors(byName.get('FltsBusMessagesDeadLettered')!.expr)) expect(matchers.find((m) => m.label === 'outcome')?.value).toBe('dead-lettered');
  });

  it('provisions Grafana with the Prometheus datasource and a dashboard over the flts metrics', () => {
    const datasource = parse(readFileSync(join(COMPOSE_DIR, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' });
    const provider = parse(readFileSync(join(COMPOSE_DIR, 'grafana/provisioning/dashboards/flts.yml'), 'utf8'));
    const dashboardsMount = volumes(services.grafana).find((v) => v.target === provider.providers[0].options.path);
    expect(dashboardsMount?.source).toBe(join(COMPOSE_DIR, 'grafana/dashboards'));

    const dashboard = JSON.parse(readFileSync(join(COMPOSE_DIR, 'grafana/dashboards/flts-overview.json'), 'utf8'));
    const panels = dashboard.panels.filter((p: { type: string }) => p.type !== 'row');
    const exprs: string[] = panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    const titles = panels.map((p: { title: string }) => p.title.toLowerCase()).join(' | ');
    for (const topic of ['request rate', 'latency', 'error', 'model in service', 'older model (degraded)', 'training runs', 'failed training', 'consumer lag', 'not ready', 'live rmse', 'probation', 'coverage', 'rollbacks', 'worse runs kept', 'without a baseline', 'actuals ignored', 'connection cap', 'mlflow calls given up', "out of their topic's contract", 'dead letters stored and refused', 'dead letters refused', 'not following promotions']) {
      expect(titles).toContain(topic);
    }
    // Each probation outcome a decider counts (rolled back, worse and kept, ended without a baseline) has a panel: once
    // a probation is decided, its own series leave /metrics and only these counts say what happened.
    const outcomes = [...exportedSeries().daemon.keys()].filter((name) => name.startsWith('flts_live_'));
    expect(outcomes).toEqual(expect.arrayContaining(['flts_live_rollbacks_total', 'flts_live_worse_kept_total', 'flts_live_no_baseline_total']));
    for (const name of outcomes) expect(exprs.filter((e) => selectors(e).some((selector) => selector.name === name)), name).not.toEqual([]);
    // Actuals left unscored are answered 200 (with `ignored`): a client sending them in the wrong unit shows only here.
    expect(exprs.filter((e) => selectors(e).some(({ name }) => name === 'flts_live_actuals_ignored_total'))).not.toEqual([]);
    // Actuals kept for a later forecast, and kept or remembered points let go unscored: live accuracy computed on fewer
    // points than were sent shows only here.
    for (const name of ['flts_live_early_actuals', 'flts_live_early_actuals_dropped_total', 'flts_live_forgotten_points_total']) {
      expect(exprs.filter((e) => selectors(e).some((selector) => selector.name === name)), name).not.toEqual([]);
    }
    // Dead letters stored and refused each have a query: a refusal leaves its message uncommitted, and shows otherwise
    // only as a consumer crash.
    expect(exprs.filter((e) => selectors(e).some(({ name }) => name === 'flts_bus_dead_letter_refusals_total'))).not.toEqual([]);
    expect(exprs.filter((e) => selectors(e).some(({ name, matchers }) => name === 'flts_bus_messages_total' && matchers.some((m) => m.label === 'outcome' && m.value === 'dead-lettered')))).not.toEqual([]);
    // A replica that does not follow promotions still serves and stays ready: only this gauge shows it.
    expect(exprs.filter((e) => selectors(e).some(({ name }) => name === 'flts_serve_following_promotions'))).not.toEqual([]);
    expect(exprs.some((e) => /histogram_quantile\(0\.99,/.test(e))).toBe(true);
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe.skipIf(Boolean(deployTools.skip))(`deploy > what the dashboards and the load balancer rely on${skipNote(deployTools)}`, () => {
  it('queries only series and labels that flts serve and flts daemon export, in both dashboards', () => {
    const exported = allExportedSeries();
    const dashboards = [join(COMPOSE_DIR, 'grafana/dashboards/flts-overview.json'), join(REPO_ROOT, 'charts/flts/dashboards/flts-overview.json')];
    for (const file of dashboards) {
      const dashboard = JSON.parse(readFileSync(file, 'utf8'));
      const queries: string[] = [
        ...dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr)),
        ...dashboard.templating.list.filter((v: { type: string }) => v.type === 'query').map((v: { definition: string }) => v.definition),
      ];
      expect(queries.length).toBeGreaterThan(15);
      // Labels the queries match, group by or read (by (...), label_values(series, label)) exist on the series they name.
      expect(queries.flatMap((query) => queryProblems(query, exported))).toEqual([]);
      // The dashboard ships unchanged in the chart, whose job names follow the release: a job matcher or `up` (which
      // every target of a shared Prometheus has) would miss flts or count other services. Only flts's own series.
      expect(queries.filter((query) => /\bjob\s*(=|!=|=~|!~)/.test(query) || selectors(query).some(({ name }) => !name.startsWith('flts_')))).toEqual([]);
    }
  });

  it('alerts only on series and labels flts exports, each selected from the scrape job of the process that exports it', async () => {
    const perProcess = exportedSeries();
    const forecasting = await forecastingRoutes();
    const exported = allExportedSeries();
    for (const file of [RULE_FILES.compose, RULE_FILES.chart]) {
      const rules = readRuleGroups(file).flatMap((group) => group.rules);
      expect(rules.length).toBeGreaterThan(8);
      for (const rule of rules) {
        expect(queryProblems(rule.expr, exported), rule.alert).toEqual([]);
        // One job per selector, the job of a process that exports the series: the chart rewrites exactly these.
        for (const { name, matchers } of selectors(rule.expr)) {
          const jobs = matchers.filter((m) => m.label === 'job');
          expect(jobs.map((m) => m.op), `${rule.alert}: ${name}`).toEqual(['=']);
          const process = (Object.keys(JOBS) as (keyof typeof JOBS)[]).find((p) => JOBS[p] === jobs[0].value);
          expect(process, `${rule.alert}: job ${jobs[0].value}`).toBeDefined();
          expect(perProcess[process!].has(name), `${rule.alert}: ${name} is not exported by flts ${process}`).toBe(true);
        }
        // A route set that names one forecasting route names them all: a route added to serve joins every alert on them.
        for (const { matchers } of selectors(rule.expr)) {
          for (const { label, op, value } of matchers.filter((m) => m.label === 'route' && m.op === '=~')) {
            const routes = new RegExp(`^(?:${value})$`);
            if (forecasting.some((route) => routes.test(route))) expect(forecasting.filter((route) => !routes.test(route)), `${rule.alert}: ${label}${op}"${value}"`).toEqual([]);
          }
        }
        // The labels the annotations print are labels of the alert.
        const labels = alertOutputLabels(rule.expr, exported);
        for (const text of Object.values(rule.annotations ?? {})) {
          for (const [, label] of text.matchAll(/\$labels\.(\w+)/g)) expect(labels, `${rule.alert}: $labels.${label}`).toContain(label);
        }
      }
    }
  });

  it('sends a request that a stopping replica refuses to another replica instead of answering 503', async () => {
    // The compose load balancer's defaults and serve backend, with the DNS template of replicas replaced by two local
    // servers: one ready, one that refuses connections (a replica that got SIGTERM) but has not failed two checks yet.
    const sections = haproxySections(readFileSync(join(COMPOSE_DIR, 'haproxy/haproxy.cfg'), 'utf8'));
    const backend = sections.get('backend flts_serve')!;
    const template = backend.find((line) => line.startsWith('server-template '))!;
    const serverOptions = template.split(/\s+/).slice(4).join(' ').replace(/\s*resolvers \S+|\s*resolve-prefer \S+/g, '');
    expect(serverOptions).toMatch(/^check /);
    const replica = http.createServer((_request, response) => response.end('{"status":"ready"}'));
    await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve));
    const [stopped, front] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'flts-haproxy-'));
    const config = [
      'global', '  maxconn 256',
      'defaults', ...sections.get('defaults')!.map((line) => `  ${line}`),
      'frontend flts', `  bind 127.0.0.1:${front}`, '  default_backend flts_serve',
      'backend flts_serve', ...backend.filter((line) => line !== template).map((line) => `  ${line}`),
      `  server ready 127.0.0.1:${(replica.address() as AddressInfo).port} ${serverOptions}`,
      `  server stopping 127.0.0.1:${stopped} ${serverOptions}`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'haproxy.cfg'), config);
    const haproxy = spawn(existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : tools.haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => haproxy.once('exit', resolve));
    try {
      await waitUntil(() => fetch(`http://127.0.0.1:${front}/readyz`).then(() => true), 'haproxy listening', 30_000, 100);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`http://127.0.0.1:${front}/predict`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
        await response.text();
        statuses.push(response.status);
      }
      expect(statuses).toEqual(Array(20).fill(200));
    } finally {
      haproxy.kill('SIGTERM');
      await exited;
      await new Promise((resolve) => replica.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the load balancer client and server timeouts above the replicas\' request timeout, 60 s unless .env raises it', async () => {
    // Before, HAProxy waited a fixed 60 s: with FLTS_SERVE_REQUEST_TIMEOUT_MS above about 55 s a slow request got the
    // load balancer's 504 before the replica's own coded answer. The lb service works the timeout out at start; its
    // script runs here with docker-entrypoint.sh replaced by one that prints what HAProxy would be started with.
    const dir = mkdtempSync(join(tmpdir(), 'flts-lb-entry-'));
    try {
      writeFileSync(join(dir, 'docker-entrypoint.sh'), '#!/bin/sh\necho "$FLTS_LB_TIMEOUT_MS $*"\n', { mode: 0o755 });
      const started = async (lb: ComposeService): Promise<{ timeoutMs: number; args: string }> => {
        expect(lb.entrypoint).toEqual(['/bin/sh', '-ec']);
        // `config` prints the file's $$ escapes back; the script never uses the shell's own $$.
        const script = [lb.command].flat().join('\n').replaceAll('$$', '$');
        const { stdout } = await promisify(execFile)('/bin/sh', ['-ec', script], { env: { ...env(lb), PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
        const [timeoutMs, ...args] = stdout.trim().split(' ');
        return { timeoutMs: Number(timeoutMs), args: args.join(' ') };
      };
      expect(await started((await renderCompose()).lb)).toEqual({ timeoutMs: 60_000, args: 'haproxy -f /usr/local/etc/haproxy/haproxy.cfg' });
      const slower = await renderCompose({ FLTS_SERVE_REQUEST_TIMEOUT_MS: '120000' });
      const replicaMs = resolveSettings({ env: env(slower.serve) }).settings.serve.requestTimeoutMs;
      expect(replicaMs).toBe(120_000);
      // The replica checks its timeout about once a second: the margin leaves its answer time to pass the balancer.
      expect((await started(slower.lb)).timeoutMs).toBeGreaterThanOrEqual(replicaMs + 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives up on a replica after the timeout the lb service hands HAProxy, which no frontend (gRPC\'s included) overrides', async () => {
    // The compose defaults with FLTS_LB_TIMEOUT_MS set short and a replica that never answers: HAProxy gives up with 504
    // after that time, not after a fixed 60 s. No frontend or backend sets a timeout of its own over the defaults.
    const sections = haproxySections(readFileSync(join(COMPOSE_DIR, 'haproxy/haproxy.cfg'), 'utf8'));
    for (const [header, lines] of sections) {
      if (header !== 'defaults') expect(lines.filter((line) => /^timeout (client|server)\b/.test(line)), header).toEqual([]);
    }
    expect(sections.has('frontend flts_grpc')).toBe(true);
    // Answers /readyz at once (HAProxy is up), holds every other request.
    const replica = http.createServer((request, response) => { if (request.url === '/readyz') response.end('{"status":"ready"}'); });
    await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve));
    const front = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'flts-haproxy-'));
    const config = [
      'global', '  maxconn 256',
      'defaults', ...sections.get('defaults')!.map((line) => `  ${line}`),
      'frontend flts', `  bind 127.0.0.1:${front}`, '  default_backend flts_serve',
      'backend flts_serve', `  server held 127.0.0.1:${(replica.address() as AddressInfo).port}`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'haproxy.cfg'), config);
    const haproxy = spawn(existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : tools.haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')], {
      stdio: 'ignore', env: { ...process.env, FLTS_LB_TIMEOUT_MS: '300' },
    });
    const exited = new Promise((resolve) => haproxy.once('exit', resolve));
    try {
      await waitUntil(() => fetch(`http://127.0.0.1:${front}/readyz`).then(() => true), 'haproxy listening', 30_000, 100);
      // Far below the former 60 s, far above 300 ms: only a timeout that follows the variable answers in between.
      const response = await fetch(`http://127.0.0.1:${front}/predict`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(20_000) });
      await response.text();
      expect(response.status).toBe(504);
    } finally {
      haproxy.kill('SIGTERM');
      await exited;
      replica.closeAllConnections();
      await new Promise((resolve) => replica.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy > files', () => {
  it('has no CRLF line endings or byte-order marks (compose runs them with /bin/sh)', () => {
    const files = [
      join(REPO_ROOT, 'Dockerfile'), join(REPO_ROOT, '.dockerignore'),
      ...filesUnder(COMPOSE_DIR), ...filesUnder(join(REPO_ROOT, 'charts')), ...filesUnder(join(REPO_ROOT, 'scripts/deploy')),
    ];
    const bad = files.filter((file) => {
      const bytes = readFileSync(file);
      return bytes.includes(13) || (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf);
    });
    expect(bad.map((f) => relative(REPO_ROOT, f))).toEqual([]);
  });

  it('builds a small non-root image from node:24-slim in stages', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(instructions).toContain('ARG NODE_IMAGE=node:24-slim');
    const stages = instructions.filter((l) => l.startsWith('FROM '));
    expect(stages).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS runtime']);
    const runtime = instructions.slice(instructions.indexOf('FROM ${NODE_IMAGE} AS runtime'));
    expect(runtime.filter((l) => l.startsWith('USER ')).at(-1)).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(runtime.join('\n')).toMatch(/FLTS_HOME=\/data/);
    // Both servers default to 127.0.0.1; in a container, health checks, probes and scrapers come from outside.
    expect(runtime.join('\n')).toMatch(/FLTS_SERVE_HOST=0\.0\.0\.0[\s\S]*FLTS_DAEMON_HOST=0\.0\.0\.0/);
    // The runtime stage gets only the packed package (package.json "files") and production modules.
    expect(runtime.filter((l) => l.startsWith('COPY') || l.startsWith('ADD'))).toEqual(['COPY --from=build /out /app']);
    expect(instructions.join('\n')).toMatch(/npm ci[\s\S]*npm prune --omit=dev[\s\S]*npm pack --ignore-scripts/);
    expect(instructions.some((l) => l.startsWith('HEALTHCHECK '))).toBe(true);

    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignore[ignore.findIndex((l) => l && !l.startsWith('#'))]).toBe('*');
    for (const needed of ['!package.json', '!package-lock.json', '!src/', '!bin/', '!daemon/', '!proto/', '!scripts/', '!examples/', '!docs/']) expect(ignore).toContain(needed);
  });

  it('sends the builder every file the Dockerfile copies from the context', () => {
    // Before, .dockerignore left out .npmrc, which the build stage copies: the build failed at that COPY.
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const copied = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())
      .filter((l) => /^(COPY|ADD) /.test(l) && !/--from=/.test(l))
      .flatMap((l) => l.split(/\s+/).slice(1).filter((word) => !word.startsWith('--')).slice(0, -1));
    expect(copied).toContain('.npmrc');
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8');
    const sent = copied.filter((source) => dockerContextKeeps(ignore, source));
    expect(copied.filter((source) => !sent.includes(source))).toEqual([]);
    for (const source of copied) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    // The matcher itself: what the allow-list leaves out stays out.
    for (const left of ['test/deploy/chart.test.ts', 'charts/flts/values.yaml', 'src/core/errors.test.ts', 'node_modules/yaml/package.json', '.git/HEAD']) expect(dockerContextKeeps(ignore, left), left).toBe(false);
    for (const kept of ['src/core/errors.ts', 'package.json', 'proto/grpc_predict_v2.proto']) expect(dockerContextKeeps(ignore, kept), kept).toBe(true);
  });

  it('packs what the image runs: the CLI and daemon launchers, compiled commands and the oclif manifest, no sources', () => {
    // The image's build stage unpacks `npm pack`, so the packed file list is the image's /app.
    const res = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    expect(res.status, res.stderr).toBe(0);
    const files: string[] = JSON.parse(res.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const needed of ['package.json', 'bin/run.js', 'bin/bare-environment.js', 'daemon/main.js', 'dist/commands/serve.js', 'dist/commands/preprocess.js', 'oclif.manifest.json']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((f) => /^(src|test|charts|compose|scripts)\//.test(f) || f.endsWith('.test.js'))).toEqual([]);
    // Error hints and --help name these; test fixtures are no part of the library or the CLI.
    for (const needed of ['docs/errors.md', 'docs/config.md', 'docs/promotion.md', 'docs/security.md']) expect(files).toContain(needed);
    expect(files.filter((f) => f.includes('.fixture.'))).toEqual([]);
  });

  it('passes hadolint', () => {
    const res = run(tools.hadolint, ['--no-color', 'Dockerfile']);
    expect(res.status, res.stdout + res.stderr).toBe(0);
  });
});
