import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** Repository root, chart and tool locations shared by the deployment tests. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/flts');
export const COMPOSE_DIR = join(REPO_ROOT, 'compose');
export const TOOLS_DIR = process.env.FLTS_TOOLS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flts-tools');
export const SCHEMA_DIR = join(TOOLS_DIR, 'kubernetes-json-schema');
/** The oldest Kubernetes version the chart supports and a current one; install-tools.sh unpacks both. */
export const KUBE_VERSIONS = ['1.25.0', '1.36.0'] as const;

export const tools = {
  helm: join(TOOLS_DIR, 'bin/helm'),
  kubeconform: join(TOOLS_DIR, 'bin/kubeconform'),
  promtool: join(TOOLS_DIR, 'bin/promtool'),
  hadolint: join(TOOLS_DIR, 'bin/hadolint'),
  dockerCompose: 'docker-compose',
  haproxy: 'haproxy',
};

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

/** Tools (or schema sets) that scripts/deploy/install-tools.sh would provide but are not there. */
export function missingTools(): string[] {
  const missing: string[] = [];
  for (const name of ['helm', 'kubeconform', 'promtool', 'hadolint'] as const) {
    if (!existsSync(tools[name])) missing.push(name);
  }
  for (const version of KUBE_VERSIONS) {
    if (!existsSync(join(SCHEMA_DIR, `v${version}-standalone-strict/deployment-apps-v1.json`))) missing.push(`schemas v${version}`);
  }
  if (!onPath(tools.dockerCompose)) missing.push('docker-compose');
  if (!onPath(tools.haproxy) && !existsSync('/usr/sbin/haproxy')) missing.push('haproxy');
  return missing;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], cwd = REPO_ROOT, input?: string, env: Record<string, string> = {}): RunResult {
  const res = spawnSync(command, args, { cwd, encoding: 'utf8', input, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw res.error;
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/**
 * `run` without blocking the test worker: a long command (validate.sh: a minute and more on a loaded machine) run
 * synchronously starves the worker's calls to vitest, which then fails the whole run with an unhandled
 * "Timeout calling onTaskUpdate".
 */
export function runAsync(command: string, args: string[], cwd = REPO_ROOT, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : undefined) : 0;
      if (status === undefined) reject(error);
      else resolve({ status, stdout, stderr });
    });
  });
}

// Loose shape of a rendered Kubernetes object: the tests read nested fields they know exist.
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [field: string]: any };

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null && typeof doc === 'object');
}

export interface TemplateOptions {
  values?: string[];
  set?: Record<string, string>;
  kubeVersion?: string;
  /** The release's namespace (helm's default when unset: "default"). */
  namespace?: string;
  /** The release's name ("flts" when unset). */
  release?: string;
}

function templateArgs({ values = [], set = {}, kubeVersion = KUBE_VERSIONS[1], namespace, release = 'flts' }: TemplateOptions): string[] {
  const args = ['template', release, CHART_DIR, '--kube-version', kubeVersion, ...(namespace ? ['--namespace', namespace] : [])];
  // Relative to the chart; an absolute path (a values file a test wrote) as it is.
  for (const file of values) args.push('-f', resolve(CHART_DIR, file));
  for (const [key, value] of Object.entries(set)) args.push('--set', `${key}=${value}`);
  return args;
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export function helmTemplate(options: TemplateOptions = {}): Manifest[] {
  const res = run(tools.helm, templateArgs(options));
  if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return parseManifests(res.stdout);
}

/** `helmTemplate` without blocking the test worker (see runAsync). */
export async function helmTemplateAsync(options: TemplateOptions = {}): Promise<Manifest[]> {
  const res = await runAsync(tools.helm, templateArgs(options));
  if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return parseManifests(res.stdout);
}

/** `helmTemplateError` without blocking the test worker. */
export async function helmTemplateErrorAsync(options: TemplateOptions = {}): Promise<string> {
  const res = await runAsync(tools.helm, templateArgs(options));
  return res.status === 0 ? '' : res.stderr;
}

/** helm's error output for a render that is expected to fail ("" if it rendered). */
export function helmTemplateError(options: TemplateOptions = {}): string {
  const res = run(tools.helm, templateArgs(options));
  return res.status === 0 ? '' : res.stderr;
}

export function byKind(objects: Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

export function component(objects: Manifest[], name: string): Manifest[] {
  return objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === name);
}

/** The pod spec of a workload (Deployment, Job, Pod), or undefined for other kinds. */
export function podSpec(o: Manifest): any {
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'Deployment' || o.kind === 'Job' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet') return o.spec.template.spec;
  return undefined;
}

/** Environment of a container as name -> value (secret references as "secret:<name>/<key>"). */
export function containerEnv(container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    env[entry.name] = ref ? `secret:${ref.name}/${ref.key}` : String(entry.value);
  }
  return env;
}

/**
 * The variables the kubelet links into a pod for each Service of its namespace that has a cluster IP (unless the
 * pod sets enableServiceLinks: false): <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT[_<PORT NAME>] and the Docker-link
 * forms <NAME>_PORT=tcp://<ip>:<port> and <NAME>_PORT_<port>_TCP[_PROTO|_PORT|_ADDR].
 */
export function serviceLinkEnv(objects: Manifest[]): Record<string, string> {
  const env: Record<string, string> = {};
  byKind(objects, 'Service')
    .filter((service) => service.spec.clusterIP !== 'None')
    .forEach((service, index) => {
      const ip = `10.96.0.${index + 10}`;
      const name = service.metadata.name.toUpperCase().replace(/-/g, '_');
      const ports = service.spec.ports as { name?: string; port: number; protocol?: string }[];
      env[`${name}_SERVICE_HOST`] = ip;
      env[`${name}_SERVICE_PORT`] = String(ports[0].port);
      env[`${name}_PORT`] = `tcp://${ip}:${ports[0].port}`;
      for (const port of ports) {
        const proto = (port.protocol ?? 'TCP').toUpperCase();
        if (port.name) env[`${name}_SERVICE_PORT_${port.name.toUpperCase().replace(/-/g, '_')}`] = String(port.port);
        const prefix = `${name}_PORT_${port.port}_${proto}`;
        Object.assign(env, { [prefix]: `${proto.toLowerCase()}://${ip}:${port.port}`, [`${prefix}_PROTO`]: proto.toLowerCase(), [`${prefix}_PORT`]: String(port.port), [`${prefix}_ADDR`]: ip });
      }
    });
  return env;
}

/**
 * The environment a container of a rendered workload starts with, in the kubelet's order: service links (only for
 * names the container does not set), then envFrom (ConfigMap and Secret of the render; an existing Secret's keys are
 * unknown), then env. A secretKeyRef gives `secretValue`. The image's own ENV is left out: the chart must not rely on
 * how a particular image was built.
 */
export function containerStartEnv(objects: Manifest[], workload: Manifest, container: any, secretValue = 'secret-value'): Record<string, string> {
  const env: Record<string, string> = {};
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, find('ConfigMap', source.configMapRef.name)?.data ?? {});
    if (source.secretRef) Object.assign(env, find('Secret', source.secretRef.name)?.stringData ?? {});
  }
  for (const entry of container.env ?? []) env[entry.name] = entry.valueFrom ? secretValue : String(entry.value);
  if (podSpec(workload).enableServiceLinks !== false) {
    for (const [name, value] of Object.entries(serviceLinkEnv(objects))) if (!(name in env)) env[name] = value;
  }
  return env;
}

/** Seconds of a Compose duration such as "45s", "1m30s" or "1500ms". */
export function composeDurationSeconds(text: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  let total = 0;
  for (const [, amount, unit] of String(text).matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) total += Number(amount) * units[unit];
  return total;
}
