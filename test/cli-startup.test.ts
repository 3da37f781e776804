import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS } from './helpers/poblesec-slice.js';
import { BIN, cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';
import { startServe } from './helpers/serve-process.js';

// Preloaded into the command: lists, on stderr at exit, the packages of every module the process loaded.
const PACKAGE_LOG = `
import { registerHooks } from 'node:module';
const packages = new Set();
registerHooks({
  load(url, context, next) {
    const name = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url)?.[1];
    if (name) packages.add(name);
    return next(url, context);
  },
});
process.on('exit', () => process.stderr.write('loaded packages: ' + JSON.stringify([...packages].sort()) + '\\n'));
`;

function loadedPackages(stderr: string): string[] {
  const line = stderr.split('\n').find((text) => text.startsWith('loaded packages: '));
  if (!line) throw new Error(`no package list on stderr:\n${stderr}`);
  return JSON.parse(line.slice('loaded packages: '.length)) as string[];
}

/** TensorFlow.js and its backends, e.g. @tensorflow/tfjs-core or @tensorflow/tfjs-node. */
const tensorflow = (packages: readonly string[]): string[] => packages.filter((name) => name.startsWith('@tensorflow/'));

/** augurs' WebAssembly (MSTL, ETS, Prophet) and Prophet's Stan optimiser, e.g. @bsull/augurs-prophet-wasmstan. */
const augurs = (packages: readonly string[]): string[] => packages.filter((name) => name.startsWith('@bsull/augurs'));

describe('cli > start-up', () => {
  let dir: string;
  let hook: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flts-cli-startup-'));
    hook = path.join(dir, 'package-log.mjs');
    await writeFile(hook, PACKAGE_LOG);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a command on the embedded store and bus that reads no data loads none of kafkajs, undici and nodejs-polars', async () => {
    const run = await runCli(['promote', '--history', '--json'], { env: { FLTS_HOME: path.join(dir, 'home') }, nodeArgs: ['--import', hook] });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.result.history).toEqual([]);
    const packages = loadedPackages(run.stderr);
    // The hook itself works: the CLI's own framework is listed.
    expect(packages).toContain('@oclif/core');
    expect(packages).not.toContain('kafkajs');
    expect(packages).not.toContain('undici');
    expect(packages).not.toContain('nodejs-polars');
  });

  describe('on a home with a small slice of PobleSec', () => {
    let env: Record<string, string>;
    let naiveRun: string;
    beforeAll(async () => {
      env = { FLTS_HOME: path.join(dir, 'slice'), FLTS_DATA_DIR: DATASETS, SAMPLE_TRAIN_ROWS: '400', SAMPLE_TEST_ROWS: '150' };
      const pre = await runCli(['preprocess', '--json'], { env });
      expect(pre.exitCode, pre.stderr).toBe(0);
    });

    it('trains and backtests a baseline without loading TensorFlow.js or augurs', async () => {
      const train = await runCli(['train', '--model', 'NAIVE', '--json'], { env, nodeArgs: ['--import', hook] });
      expect(train.exitCode, train.stderr).toBe(0);
      naiveRun = train.json.result.runs[0].run_id;
      expect(tensorflow(loadedPackages(train.stderr))).toEqual([]);
      expect(augurs(loadedPackages(train.stderr))).toEqual([]);
      // Refitting every fold fits the baseline again, through the same fit as training.
      const backtest = await runCli(['backtest', '--models', 'NAIVE', '--folds', '2', '--refit-every', '1', '--json'], { env, nodeArgs: ['--import', hook] });
      expect(backtest.exitCode, backtest.stderr).toBe(0);
      expect(backtest.json.result.ranking.map((row: { model_type: string }) => row.model_type)).toEqual(['NAIVE']);
      expect(tensorflow(loadedPackages(backtest.stderr))).toEqual([]);
      expect(augurs(loadedPackages(backtest.stderr))).toEqual([]);
    }, 60_000);

    it('an MSTL fit does load augurs (the hook sees a package loaded on first use)', async () => {
      const train = await runCli(['train', '--model', 'MSTL', '--json'], { env, nodeArgs: ['--import', hook] });
      expect(train.exitCode, train.stderr).toBe(0);
      expect(train.json.result.runs.map((run: { status: string }) => run.status)).toEqual(['SUCCESS']);
      expect(augurs(loadedPackages(train.stderr))).toContain('@bsull/augurs');
    }, 60_000);

    it('bench over HTTP alone does not load @grpc/grpc-js', async () => {
      const server = await startServe(['--run', naiveRun], cleanEnvironment(env));
      try {
        const args = ['--target', server.url, '--protocol', 'http', '--connections', '2', '--duration', '1s', '--baseline-duration', '1s', '--warmup', '0', '--out', path.join(dir, 'bench'), '--json'];
        const bench = await runCli(['bench', ...args], { env, nodeArgs: ['--import', hook] });
        expect(bench.exitCode, bench.stdout + bench.stderr).toBe(0);
        expect(bench.json.result.cells.map((cell: { protocol: string }) => cell.protocol)).toEqual(['http', 'http']);
        const packages = loadedPackages(bench.stderr);
        expect(packages).toContain('autocannon');
        expect(packages).not.toContain('@grpc/grpc-js');
        expect(packages).not.toContain('@grpc/proto-loader');
      } finally {
        await server.stop();
      }
    }, 60_000);
  });

  it('a trainer daemon waiting for its first processed data loads none of TensorFlow.js, augurs and the inference API', async () => {
    const child = spawn(process.execPath, ['--import', hook, BIN, 'daemon', '--roles', 'trainer', '--port', '0'], {
      cwd: REPO_ROOT,
      env: cleanEnvironment({ FLTS_HOME: path.join(dir, 'daemon-home'), FLTS_BUS: 'fs' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Roles started: ')) resolve();
      });
      void closed.then(() => reject(new Error(`the daemon exited before listening:\n${stdout}\n${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await closed, stderr).toBe(0);
    const packages = loadedPackages(stderr);
    // Its health server is fastify, so the daemon does load that, but not the inference API's plugins.
    expect(packages).toContain('fastify');
    expect(packages).not.toContain('@fastify/swagger');
    expect(tensorflow(packages)).toEqual([]);
    expect(augurs(packages)).toEqual([]);
  }, 60_000);

  it('promote-manual without a screen (--json, no --run) loads neither ink nor react', async () => {
    const run = await runCli(['promote-manual', '--json'], { env: { FLTS_HOME: path.join(dir, 'home') }, nodeArgs: ['--import', hook] });
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.json.error.code).toBe('FLTS_USAGE_INVALID_FLAG');
    const packages = loadedPackages(run.stderr);
    expect(packages).not.toContain('ink');
    expect(packages).not.toContain('react');
  });

  it('the library, used on the filesystem store, loads none of minio\'s client, TensorFlow.js, augurs and fastify', async () => {
    const script = path.join(dir, 'embedded.mjs');
    const library = path.join(REPO_ROOT, 'dist/core/index.js');
    await writeFile(
      script,
      `const flts = await import(${JSON.stringify(library)});
const { settings } = flts.resolveSettings({ env: {}, flags: { home: ${JSON.stringify(path.join(dir, 'library-home'))} } });
const store = await flts.createObjectStore(settings);
console.log(JSON.stringify({ kind: store.kind, runs: (await flts.listRunRecords(store, settings)).length }));`,
    );
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', hook, script], { cwd: dir, env: cleanEnvironment({}) });
    expect(JSON.parse(stdout)).toEqual({ kind: 'fs', runs: 0 });
    const packages = loadedPackages(stderr);
    expect(tensorflow(packages)).toEqual([]);
    expect(augurs(packages)).toEqual([]);
    expect(packages).not.toContain('fastify');
    // minio's client and its XML parsers; two small files of minio's own, the base of flts' credentials providers, do load.
    expect(packages).not.toContain('fast-xml-parser');
    expect(packages).not.toContain('xml2js');
  });
});
