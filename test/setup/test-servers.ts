/**
 * Vitest global setup: the servers and tools the tests need, started on first request and shared by every test
 * file of the run.
 *
 * A test file asks for a kind with `await useServers(kind)` (test/helpers/servers.ts). This process answers on a
 * loopback HTTP port: it reuses a server that is already reachable (`npm run dev:infra`, or endpoints exported by
 * the caller), otherwise starts one in a state directory of its own under the system temp directory, once per run.
 * The teardown stops exactly what was started here (also on exit or SIGINT/SIGTERM). A run killed outright (SIGKILL)
 * cannot: each state directory names its owner (this process's pid), and the next run stops the servers of owners
 * that are gone, only those whose recorded pid still runs with that state directory on its command line.
 * A kind whose toolchain is missing (no Java for Kafka, ...) is reported in one line and its tests skip; with
 * CI=true it fails them instead.
 *
 * To add a kind: one entry in KINDS (what it needs on PATH, how to find a running one, how to start it in a
 * directory and return the variables tests read, how to stop it), then `useServers('<kind>')` in the tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { missingTools, TOOLS_DIR } from '../deploy/deploy-tools.js';
import { freePort } from '../helpers/free-port.js';

export type ServerKind = 'infra' | 'kafka-secure' | 'mlflow' | 'deploy-tools' | 'tritonclient' | 'mlflow-client';
export type Vars = Record<string, string>;
/** The answer to a test file: variables to use, or why its tests skip; a failure is an error message. */
export type ServerGrant = { status: 'ready'; vars: Vars } | { status: 'skip'; reason: string } | { status: 'failed'; reason: string };

interface KindSpec {
  /** What the kind is, for messages. */
  what: string;
  /** The missing toolchain, named for the skip line, or undefined when everything needed is installed. */
  missingToolchain(): string | undefined;
  /** Variables of an instance that already answers, if any. */
  reuse(): Promise<Vars | undefined>;
  /** Starts an instance with its state in `dir` and returns its variables. */
  start(dir: string): Promise<Vars>;
  /** Stops the instance started in `dir` (synchronous: also runs from an exit handler). */
  stop?(dir: string): void;
  /** Files in the state directory holding the pids that `stop` signals. */
  pidFiles?: string[];
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INFRA_SH = path.join(REPO_ROOT, 'scripts/infra/infra.sh');
const INFRA_NAMES = ['KAFKA_BOOTSTRAP_SERVERS', 'MINIO_ENDPOINT', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'MINIO_SECURE', 'AWS_DEFAULT_REGION'];
const SECURE_NAMES = ['KAFKA_SECURE_SASL_PLAINTEXT_SERVERS', 'KAFKA_SECURE_SASL_SSL_SERVERS', 'KAFKA_SECURE_SSL_SERVERS', 'KAFKA_SECURE_PLAINTEXT_SERVERS', 'KAFKA_SECURE_ADVERTISING_ELSEWHERE_SERVERS', 'KAFKA_SECURE_UNREACHABLE_ADVERTISED', 'KAFKA_SECURE_SCRAM_USER', 'KAFKA_SECURE_SCRAM_PASSWORD', 'KAFKA_SECURE_ACL_USER', 'KAFKA_SECURE_ACL_PASSWORD', 'KAFKA_SECURE_CA_FILE', 'KAFKA_SECURE_OTHER_CA_FILE', 'KAFKA_SECURE_CLIENT_CERT_FILE', 'KAFKA_SECURE_CLIENT_KEY_FILE'];
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function missingCommands(commands: string[]): string | undefined {
  const missing = commands.filter((command) => !onPath(command));
  return missing.length > 0 ? missing.join(', ') : undefined;
}

/** Runs a command to completion; resolves with its stdout, rejects with the tail of its stderr. */
function run(command: string, args: string[], env: Vars = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${path.basename(args[0] ?? command)} exited with ${code}: ${stderr.slice(-3000)}`))));
  });
}

function readEnvFile(file: string): Vars {
  if (!existsSync(file)) return {};
  const vars: Vars = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]] = match[2];
  }
  return vars;
}

/** The variables `names` from `source`, or undefined unless `required` (default: the first two) are all there. */
function pick(source: NodeJS.ProcessEnv | Vars, names: string[], required = names.slice(0, 2)): Vars | undefined {
  const vars: Vars = {};
  for (const name of names) if (source[name] !== undefined) vars[name] = source[name]!;
  return required.every((name) => vars[name]) ? vars : undefined;
}

async function infraAnswers(vars: Vars, servers = ['kafka', 's3']): Promise<boolean> {
  const probe = path.join(REPO_ROOT, 'scripts/infra/probe.mjs');
  try {
    await Promise.all(servers.map((name) => run(process.execPath, [probe, name], vars)));
    return true;
  } catch {
    return false;
  }
}

async function mlflowAnswers(uri: string): Promise<boolean> {
  try {
    return (await fetch(`${uri}/health`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

/** up.sh starts from an empty state directory, so it gets one inside the directory that names the owner. */
const mlflowState = (dir: string): string => path.join(dir, 'server');

const KINDS: Record<ServerKind, KindSpec> = {
  infra: {
    what: 'Kafka and S3Proxy (scripts/infra/infra.sh)',
    missingToolchain: () => missingCommands(['java', 'mvn']),
    async reuse() {
      // Endpoints exported by the caller first, then the ones `npm run dev:infra` / `npm run infra:up` wrote.
      for (const vars of [pick(process.env, INFRA_NAMES), pick(readEnvFile(path.join(REPO_ROOT, '.infra/env')), INFRA_NAMES)]) {
        if (vars && (await infraAnswers(vars))) return vars;
      }
      return undefined;
    },
    async start(dir) {
      // Ports chosen by the OS, never the fixed defaults: several suites may start their servers at once.
      const [kafka, controller, s3] = [await freePort(), await freePort(), await freePort()];
      await run('bash', [INFRA_SH, 'up'], {
        FLTS_INFRA_DIR: dir, FLTS_INFRA_KAFKA_PORT: String(kafka), FLTS_INFRA_KAFKA_CONTROLLER_PORT: String(controller), FLTS_INFRA_S3_PORT: String(s3), FLTS_INFRA_TIMEOUT: '180',
      });
      return pick(readEnvFile(path.join(dir, 'env')), INFRA_NAMES) ?? {};
    },
    stop(dir) {
      spawnSync('bash', [INFRA_SH, 'down'], { cwd: REPO_ROOT, env: { ...process.env, FLTS_INFRA_DIR: dir }, stdio: 'ignore', timeout: 90_000 });
    },
    pidFiles: ['kafka.pid', 's3.pid'],
  },
  'kafka-secure': {
    what: 'a Kafka with SASL (SCRAM) and TLS listeners (scripts/infra/infra.sh start kafka-secure)',
    missingToolchain: () => missingCommands(['java', 'mvn', 'openssl']),
    async reuse() {
      for (const vars of [pick(process.env, SECURE_NAMES, SECURE_NAMES), pick(readEnvFile(path.join(REPO_ROOT, '.infra/kafka-secure/env')), SECURE_NAMES, SECURE_NAMES)]) {
        if (vars && (await infraAnswers(vars, ['kafka-secure']))) return vars;
      }
      return undefined;
    },
    async start(dir) {
      const ports: number[] = [];
      for (let i = 0; i < 6; i++) ports.push(await freePort());
      await run('bash', [INFRA_SH, 'start', 'kafka-secure'], { FLTS_INFRA_DIR: dir, FLTS_INFRA_KAFKA_SECURE_PORTS: ports.join(' '), FLTS_INFRA_TIMEOUT: '180' });
      return pick(readEnvFile(path.join(dir, 'kafka-secure/env')), SECURE_NAMES, SECURE_NAMES) ?? {};
    },
    stop(dir) {
      spawnSync('bash', [INFRA_SH, 'stop', 'kafka-secure'], { cwd: REPO_ROOT, env: { ...process.env, FLTS_INFRA_DIR: dir }, stdio: 'ignore', timeout: 90_000 });
    },
    pidFiles: ['kafka-secure.pid'],
  },
  mlflow: {
    what: 'the MLflow tracking server (scripts/mlflow/up.sh)',
    missingToolchain() {
      const python = process.env.FLTS_MLFLOW_PYTHON ?? 'python3';
      return spawnSync(python, ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0 ? undefined : `${python} with venv`;
    },
    async reuse() {
      const stateFile = path.join(process.env.FLTS_MLFLOW_STATE ?? path.join(REPO_ROOT, '.mlflow'), 'uri');
      for (const uri of [process.env.FLTS_TEST_MLFLOW_URI, existsSync(stateFile) ? readFileSync(stateFile, 'utf8').trim() : undefined]) {
        if (uri && (await mlflowAnswers(uri))) return { FLTS_TEST_MLFLOW_URI: uri };
      }
      return undefined;
    },
    async start(dir) {
      const stdout = await run('bash', [path.join(REPO_ROOT, 'scripts/mlflow/up.sh')], { FLTS_MLFLOW_STATE: mlflowState(dir) });
      return { FLTS_TEST_MLFLOW_URI: stdout.trim().split('\n').pop()! };
    },
    stop(dir) {
      spawnSync('bash', [path.join(REPO_ROOT, 'scripts/mlflow/down.sh')], { cwd: REPO_ROOT, env: { ...process.env, FLTS_MLFLOW_STATE: mlflowState(dir) }, stdio: 'ignore', timeout: 60_000 });
    },
    pidFiles: ['server/pid'],
  },
  'deploy-tools': {
    what: 'helm, kubeconform, promtool, the Kubernetes schemas, hadolint, docker-compose and haproxy (scripts/deploy/install-tools.sh)',
    missingToolchain() {
      const needed = ['go', 'python3'];
      // docker-compose and haproxy come from Debian packages when they are not installed already.
      if (!onPath('docker-compose') || !(onPath('haproxy') || existsSync('/usr/sbin/haproxy'))) needed.push('apt-get');
      return missingCommands(needed);
    },
    reuse: async () => (missingTools().length === 0 ? { FLTS_TOOLS_DIR: TOOLS_DIR } : undefined),
    async start() {
      await run('bash', [path.join(REPO_ROOT, 'scripts/deploy/install-tools.sh')], { FLTS_TOOLS_DIR: TOOLS_DIR });
      const missing = missingTools();
      if (missing.length > 0) throw new Error(`install-tools.sh left out ${missing.join(', ')}`);
      return { FLTS_TOOLS_DIR: TOOLS_DIR };
    },
  },
  tritonclient: {
    what: 'tritonclient[http,grpc] from PyPI, the Open Inference Protocol client (scripts/tritonclient/install.sh)',
    missingToolchain() {
      return spawnSync('python3', ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0 ? undefined : 'python3 with venv';
    },
    // The install script finds its cached venv in a moment, and installs it when it is missing or stale.
    reuse: async () => undefined,
    async start() {
      const stdout = await run('bash', [path.join(REPO_ROOT, 'scripts/tritonclient/install.sh')]);
      return { FLTS_TEST_TRITONCLIENT_PYTHON: stdout.trim().split('\n').pop()! };
    },
  },
  'mlflow-client': {
    what: 'mlflow-skinny with onnx and onnxruntime from PyPI, an MLflow user loading models (scripts/mlflow-client/install.sh)',
    missingToolchain() {
      const python = process.env.FLTS_MLFLOW_PYTHON ?? 'python3';
      return spawnSync(python, ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0 ? undefined : `${python} with venv`;
    },
    reuse: async () => undefined,
    async start() {
      const stdout = await run('bash', [path.join(REPO_ROOT, 'scripts/mlflow-client/install.sh')]);
      return { FLTS_TEST_MLFLOW_CLIENT_PYTHON: stdout.trim().split('\n').pop()! };
    },
  },
};

const STATE_PREFIX = 'flts-test-';
const OWNER_FILE = 'owner';

/** Creates the state directory of a kind, naming `owner` (this process) as the one that stops what runs in it. */
export function createStateDir(kind: ServerKind, owner = process.pid, root = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(root, `${STATE_PREFIX}${kind}-`));
  writeFileSync(path.join(dir, OWNER_FILE), `${owner}\n`);
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a running process, or undefined. */
function commandLine(pid: number): string | undefined {
  const result = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Stops the servers left by runs that ended without their teardown (SIGKILL): state directories under `root` whose
 * owner is no longer alive. A recorded pid is signalled only while its process still runs with the state directory
 * on its command line (every server started here is given it); any other pid file is removed first, so a reused
 * pid is never hit. Directories without an owner file are left alone. Returns the directories cleaned up.
 */
export function stopOrphanedServers(root = os.tmpdir()): { kind: ServerKind; dir: string; owner: number }[] {
  const cleaned: { kind: ServerKind; dir: string; owner: number }[] = [];
  for (const name of readdirSync(root)) {
    const kind = (Object.keys(KINDS) as ServerKind[]).find((candidate) => name.startsWith(`${STATE_PREFIX}${candidate}-`));
    const dir = path.join(root, name);
    if (!kind || !existsSync(path.join(dir, OWNER_FILE))) continue;
    const owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8').trim());
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    const { stop, pidFiles = [] } = KINDS[kind];
    for (const file of pidFiles.map((pidFile) => path.join(dir, pidFile)).filter(existsSync)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (!(Number.isInteger(pid) && pid > 0 && commandLine(pid)?.includes(dir))) rmSync(file, { force: true });
    }
    stop?.(dir);
    rmSync(dir, { recursive: true, force: true });
    cleaned.push({ kind, dir, owner });
  }
  return cleaned;
}

/** Variables for a log line, without credentials. */
function shown(vars: Vars): string {
  return Object.entries(vars)
    .filter(([name]) => !/USER|PASSWORD|SECRET|KEY/.test(name))
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}

function log(message: string): void {
  process.stderr.write(`[test servers] ${message}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  for (const { kind, dir, owner } of stopOrphanedServers()) log(`${kind}: stopped what a run killed without its teardown left in ${dir} (pid ${owner})`);
  const grants = new Map<ServerKind, Promise<ServerGrant>>();
  const started: { kind: ServerKind; dir: string }[] = [];

  function stopAll(): void {
    for (const { kind, dir } of started.splice(0).reverse()) {
      const { stop } = KINDS[kind];
      if (stop) {
        stop(dir);
        log(`${kind}: stopped`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async function grant(kind: ServerKind): Promise<ServerGrant> {
    const spec = KINDS[kind];
    const missing = spec.missingToolchain();
    if (missing) {
      const reason = `${missing} not found, so ${spec.what} cannot run`;
      if (IN_CI) return { status: 'failed', reason: `CI=true and ${reason}` };
      log(`${kind}: tests that need it are skipped: ${reason}`);
      return { status: 'skip', reason };
    }
    const reused = await spec.reuse();
    if (reused) {
      log(`${kind}: already available, reused (${shown(reused)})`);
      return { status: 'ready', vars: reused };
    }
    const dir = createStateDir(kind);
    started.push({ kind, dir });
    const begun = Date.now();
    try {
      const vars = await spec.start(dir);
      log(`${kind}: started in ${Math.round((Date.now() - begun) / 1000)} s (${shown(vars)})`);
      return { status: 'ready', vars };
    } catch (error) {
      return { status: 'failed', reason: `starting ${spec.what} failed: ${(error as Error).message}` };
    }
  }

  const broker = http.createServer((request, response) => {
    const kind = decodeURIComponent((request.url ?? '').replace(/^\/servers\//, '')) as ServerKind;
    if (request.method !== 'POST' || !(kind in KINDS)) {
      response.writeHead(404).end();
      return;
    }
    if (!grants.has(kind)) grants.set(kind, grant(kind));
    void grants.get(kind)!.then((answer) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
  });
  broker.requestTimeout = 0;
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  project.provide('testServers', `http://127.0.0.1:${(broker.address() as { port: number }).port}`);

  // Servers are started in sessions of their own, so an interrupted run must stop them itself.
  process.once('exit', stopAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }

  return async () => {
    await new Promise((resolve) => broker.close(resolve));
    await Promise.allSettled(grants.values());
    stopAll();
  };
}
