import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMessageBus } from '../src/core/bus/index.js';
import { trainerGroupId } from '../src/core/bus/topics.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { listRunRecords } from '../src/core/registry/run-store.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import { fsStoreRoot } from '../src/core/storage/index.js';
import { freePort } from './helpers/free-port.js';
import { REPO_ROOT, runCli } from './helpers/run-cli.js';
import { waitUntil } from './helpers/wait-until.js';

const ENTRY = path.join(REPO_ROOT, 'daemon/main.js');

/** Every daemon a test started: one its test left running (a timeout, a failed expectation) is ended after it. */
const daemons = new Set<ChildProcess>();

function spawnEntry(args: string[], env: Record<string, string>): ChildProcess & { stdout: NonNullable<ChildProcess['stdout']>; stderr: NonNullable<ChildProcess['stderr']> } {
  const child = spawn(process.execPath, [ENTRY, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  daemons.add(child);
  child.once('exit', () => daemons.delete(child));
  return child;
}

afterEach(() => {
  for (const child of daemons) child.kill('SIGKILL');
});

/** daemon/main.js with `args` and `env`: its output so far, when it exited (code and time), and a wait for a stderr line. */
function startEntry(args: string[], env: Record<string, string>) {
  const child = spawnEntry(args, env);
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const check of waiters) check();
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    /** Resolves once stderr matches `pattern` (or the process exits first). */
    stderrMatches: (pattern: RegExp) =>
      Promise.race([
        exited,
        new Promise<void>((resolve) => {
          const check = (): void => void (pattern.test(stderr) && resolve());
          waiters.push(check);
          check();
        }),
      ]),
  };
}

describe('daemon/main.js, the daemon executable', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-entry-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? home,
    FLTS_HOME: home,
    FLTS_STORE: 'fs',
    FLTS_BUS: 'fs',
    SAMPLE_TRAIN_ROWS: '300',
    SAMPLE_TEST_ROWS: '100',
    FLTS_DAEMON_ROLES: 'trainer',
    FLTS_TRAINER_MODELS: 'NAIVE',
    FLTS_LOG_LEVEL: 'warn',
  };
  const settings = resolveSettings({ env }).settings;
  const store = createFsStore(fsStoreRoot(settings));
  const bus = createMessageBus(settings)!;
  afterAll(async () => {
    await bus.close();
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('reads settings like `flts daemon`, trains the preprocess claim, reports healthy and stops on SIGTERM with exit 0', async () => {
    const preprocessed = await runCli(['preprocess', '--dataset', 'PobleSec', '--train', '../shared/datasets/PobleSec.csv', '--test', '../shared/datasets/PobleSec_test.csv', '--json'], { env, timeoutMs: 120_000 });
    expect(preprocessed.exitCode, preprocessed.stderr).toBe(0);
    const configHash: string = preprocessed.json.result.config_hash;

    // The flags are the command's: --port beats FLTS_DAEMON_PORT, the roles and models come from the environment.
    const child = spawnEntry(['--port', '0'], env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await waitUntil(async () => /Daemon listening on (http:\/\/\S+) \(roles: trainer\)[^]*Roles started: trainer/.exec(stdout)?.[1], `the daemon to start its roles (${stdout}${stderr})`, 60_000, 100);
      const health = await waitUntil(async () => {
        const response = await fetch(`${url}/healthz`);
        return response.ok ? ((await response.json()) as { status: string; roles: string[] }) : undefined;
      }, 'GET /healthz');
      expect(health).toMatchObject({ status: 'ok', roles: ['trainer'] });

      const run = await waitUntil(async () => (await listRunRecords(store, settings, { configHash })).find((r) => r.model_type === 'NAIVE' && r.status === 'SUCCESS'), 'a NAIVE run for the claim');
      expect(run.config_hash).toBe(configHash);
      // The claim on training-data is committed once its run exists: the trainer group has nothing left to read.
      const group = trainerGroupId('NAIVE', settings.bus.groups.trainerPrefix);
      const lag = await waitUntil(async () => {
        const partitions = await bus.lag(group, [settings.bus.topics.trainingData]);
        return partitions.length > 0 && partitions.every((p) => p.endOffset > 0 && p.lag === 0) ? partitions : undefined;
      }, `${group} to commit the training-data claim`);
      expect(lag.reduce((sum, p) => sum + p.endOffset, 0)).toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain('SIGTERM: stopping');
  }, 180_000);

  it('answers --version as `flts --version` does, where the daemon command had no such flag', async () => {
    const entry = startEntry(['--version'], env);
    const [exited, cli] = await Promise.all([entry.exited, runCli(['--version'], { env })]);
    expect(exited.code, entry.stderr()).toBe(0);
    expect(entry.stdout()).toMatch(/^flts\/\d+\.\d+\.\d+ /);
    expect(entry.stdout()).toBe(cli.stdout);
  });

  it('says where the serving role\'s inference API listens, beside the health server', async () => {
    const child = spawnEntry(['--roles', 'serving', '--port', '0'], { ...env, FLTS_SERVE_PORT: '0' });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const api = await waitUntil(async () => /serving: inference API on (http:\/\/\S+)/.exec(stdout)?.[1], `the serving role to listen (${stdout})`, 60_000, 100);
      expect(stdout).toMatch(/Daemon listening on http:\/\/\S+ \(roles: serving\)/);
      expect(((await (await fetch(`${api}/healthz`)).json()) as { service: string }).service).toBe('inference-api');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stdout).toBe(0);
  }, 90_000);

  it('stops promptly on SIGTERM while its startup still waits for a broker that is not there', async () => {
    // Nothing listens there: every connect is refused, and kafkajs retries one for about 25 s before giving up.
    const brokers = `127.0.0.1:${await freePort()}`;
    const daemon = startEntry(['--port', '0'], { ...env, FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: brokers, FLTS_LOG_LEVEL: 'info' });
    // The health server listens first, then the first attempt to reach the broker starts.
    await daemon.stderrMatches(/"msg":"daemon_listening"/);
    // Said on stdout as it is logged, while no role has started: the port and /readyz's reason are there meanwhile.
    const url = await waitUntil(async () => /Daemon listening on (http:\/\/\S+) \(roles: /.exec(daemon.stdout())?.[1], `the listening line on stdout (${daemon.stdout()})`, 10_000, 50);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect(daemon.stdout()).not.toContain('Roles started');
    const signalledAt = Date.now();
    daemon.child.kill('SIGTERM');
    const { code, at } = await daemon.exited;
    expect(code, `${daemon.stdout()}\n${daemon.stderr().slice(-2000)}`).toBe(0);
    expect(daemon.stdout()).toContain('SIGTERM: stopped while starting');
    // It took the rest of that attempt (about 25 s): a loaded machine's few seconds stay well below.
    expect(at - signalledAt).toBeLessThan(10_000);
  }, 90_000);

  /** daemon/main.js with `--json`, sent SIGINT as soon as it logs daemon_listening: its exit, document and log lines. */
  async function sigintOnListening(args: string[], extra: Record<string, string>) {
    const daemon = startEntry([...args, '--port', '0', '--json'], { ...env, ...extra, FLTS_LOG_LEVEL: 'info' });
    await daemon.stderrMatches(/"msg":"daemon_listening"/);
    daemon.child.kill('SIGINT');
    const { code } = await daemon.exited;
    const messages = daemon.stderr().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; url?: string });
    return {
      code,
      output: `${daemon.stdout()}\n${daemon.stderr().slice(-3000)}`,
      messages,
      url: messages.find((line) => line.msg === 'daemon_listening')?.url,
      document: () => JSON.parse(daemon.stdout()) as { status: string; result: { url: string; roles: string[]; stopped_by: string } },
    };
  }

  it('stopped by SIGINT before its roles started, names the url its health server listened on in the --json document', async () => {
    // Nothing listens there: the store refuses every connect, so the roles wait for it to answer, and stay unstarted.
    const run = await sigintOnListening([], { FLTS_STORE: 's3', MINIO_ENDPOINT: `127.0.0.1:${await freePort()}` });
    expect(run.code, run.output).toBe(0);
    expect(run.url, run.output).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.document(), run.output).toEqual({ status: 'ok', result: { url: run.url, roles: [], serving_url: null, grpc_url: null, stopped_by: 'SIGINT' } });
    expect(run.messages.map((line) => line.msg)).not.toContain('daemon_role_started');
    // As serve_stopped: under --json the log alone says the daemon is gone, and why.
    expect(run.messages.at(-1), run.output).toMatchObject({ msg: 'daemon_stopped', stopped_by: 'SIGINT' });
  }, 90_000);

  it('stopped by SIGINT as soon as it listens, whatever its roles were doing, exits 0 with the url and says it stopped last', async () => {
    // Store and bus answer at once: the signal lands while the roles start (or, on a fast machine, after), and every
    // order must end the same way. The serving role is the slowest to start (it loads the inference API).
    const run = await sigintOnListening(['--roles', 'trainer,promoter,serving,batch'], { FLTS_SERVE_PORT: '0' });
    expect(run.code, run.output).toBe(0);
    const { result } = run.document();
    expect(result, run.output).toMatchObject({ url: run.url, stopped_by: 'SIGINT' });
    expect([[], ['trainer', 'promoter', 'serving', 'batch']]).toContainEqual(result.roles);
    // Nothing starts after the stop: every role started was stopped before it said so.
    expect(run.messages.at(-1), run.output).toMatchObject({ msg: 'daemon_stopped', stopped_by: 'SIGINT' });
  }, 90_000);

  it('stops within about a second on SIGTERM while kafkajs waits between its connect retries, however long its backoff grew', async () => {
    const brokers = `127.0.0.1:${await freePort()}`;
    // Debug: an outage is logged once, then at most every 5 min (kafka-log.ts), each try and kafkajs' seed line at debug.
    const daemon = startEntry(['--port', '0'], { ...env, FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: brokers, FLTS_LOG_LEVEL: 'debug' });
    // kafkajs logs each refused connect with the wait before its next try: after the fifth it was 5 s, a timer
    // nothing could cut short, so closing the bus took effect only then.
    await daemon.stderrMatches(/"retry_count":4,.*Failed to connect to seed broker/);
    const signalledAt = Date.now();
    daemon.child.kill('SIGTERM');
    const { code, at } = await daemon.exited;
    expect(code, `${daemon.stdout()}\n${daemon.stderr().slice(-2000)}`).toBe(0);
    expect(daemon.stdout()).toContain('SIGTERM: stopped while starting');
    // About 5 s before, about 1 s now: the margin is for a loaded machine.
    expect(at - signalledAt).toBeLessThan(3_500);
  }, 90_000);
});

describe('flts daemon and flts serve, signalled while their modules still load', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-early-'));
  const hook = path.join(REPO_ROOT, 'test/helpers/signal-at-oclif.mjs');
  afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  /** Runs an entry with the hook: its exit code (or the signal that ended it), its stdout and what it left in its home. */
  async function signalledWhileLoading(entry: string[], signal: NodeJS.Signals) {
    const home = mkdtempSync(path.join(dir, 'home-'));
    const child = spawn(process.execPath, ['--import', hook, ...entry, '--port', '0'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: home, FLTS_HOME: home, FLTS_BUS: 'fs', EARLY_SIGNAL: signal, FLTS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    daemons.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = await new Promise<number | string>((resolve) => child.on('close', (code, by) => resolve(code ?? String(by))));
    daemons.delete(child);
    return { ended, stdout, output: `${stdout}\n${stderr}`, left: readdirSync(home) };
  }

  it.each([
    ['daemon/main.js', [ENTRY]],
    ['flts daemon', [path.join(REPO_ROOT, 'bin/run.js'), 'daemon']],
    ['flts serve', [path.join(REPO_ROOT, 'bin/run.js'), 'serve']],
  ])('%s stopped by SIGTERM then exits 0, says so and leaves nothing behind', async (_name, entry) => {
    const run = await signalledWhileLoading(entry, 'SIGTERM');
    expect(run.ended, run.output).toBe(0);
    expect(run.stdout).toBe('SIGTERM: stopped while loading\n');
    expect(run.left).toEqual([]);
  }, 60_000);

  it('prints its --json document for a SIGINT then, as for a stop before its health server listened', async () => {
    const run = await signalledWhileLoading([ENTRY, '--json'], 'SIGINT');
    expect(run.ended, run.output).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: 'ok', result: { url: '', roles: [], serving_url: null, grpc_url: null, stopped_by: 'SIGINT' } });
    expect(run.left).toEqual([]);
  }, 60_000);

  it('flts serve prints its own --json document for a SIGINT then, as for a stop before it listened', async () => {
    const run = await signalledWhileLoading([path.join(REPO_ROOT, 'bin/run.js'), 'serve', '--json'], 'SIGINT');
    expect(run.ended, run.output).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: 'ok', result: { url: '', grpc_url: null, run_id: null, stopped_by: 'SIGINT' } });
    expect(run.left).toEqual([]);
  }, 60_000);
});
