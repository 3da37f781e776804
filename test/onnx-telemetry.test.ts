import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startServe } from './helpers/serve-process.js';

/**
 * ONNX Runtime's telemetry, left on, writes $TMPDIR/mat-debug-<pid>.log and $TMPDIR/.ses and keeps a device id
 * under $HOME/.cache/Microsoft. Each command gets a TMPDIR and a HOME of its own, so anything there is its.
 */
// Any of these switches ONNX Runtime's telemetry off by itself; the commands must do without them.
const SUPPRESSORS = ['ORT_DISABLE_TELEMETRY', 'ORT_RUNNING_UNIT_TESTS', 'CI', 'TF_BUILD', 'GITHUB_ACTIONS'];

let root: string;
let home: string;
let gruRun: string;

interface Sandbox {
  env: Record<string, string>;
  trace: string;
  leftovers(): string[];
  /** Thread ids that loaded onnxruntime-node (0 = the main thread). */
  onnxThreads(): number[];
}

function sandbox(name: string): Sandbox {
  const dir = path.join(root, name);
  const tmp = path.join(dir, 'tmp');
  const userHome = path.join(dir, 'home');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(userHome, { recursive: true });
  const trace = path.join(dir, 'modules.txt');
  return {
    env: { FLTS_HOME: home, TMPDIR: tmp, HOME: userHome, FLTS_TEST_MODULE_TRACE: trace },
    trace,
    leftovers: () => [...readdirSync(tmp).map((file) => `tmp/${file}`), ...readdirSync(userHome).map((file) => `home/${file}`)],
    onnxThreads: () =>
      existsSync(trace)
        ? [...new Set(readFileSync(trace, 'utf8').split('\n').filter((line) => line.includes('/onnxruntime-node/dist/index.js')).map((line) => Number(line.split(' ')[0])))].sort()
        : [],
  };
}

const traced = { nodeArgs: ['--import', path.resolve(__dirname, 'helpers/module-trace.mjs')], unset: SUPPRESSORS, timeoutMs: 120_000 };

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'flts-onnx-telemetry-'));
  home = path.join(root, 'flts-home');
  const prepared = await runCli(['preprocess', '--dataset', 'example'], { env: { FLTS_HOME: home } });
  expect(prepared.exitCode, prepared.stderr).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('ONNX Runtime telemetry', () => {
  it('is off when a network trains on ONNX Runtime on the main thread', async () => {
    const box = sandbox('train-one');
    const result = await runCli(['train', '--model', 'GRU', '--epochs', '1', '--json'], { ...traced, env: { ...box.env, FLTS_PARALLEL_MODELS: '1', FLTS_TRAIN_ENGINE: 'onnx' } });
    expect(result.exitCode, result.stderr).toBe(0);
    gruRun = result.json.result.runs[0].run_id;
    expect(box.onnxThreads()).toEqual([0]);
    expect(box.leftovers()).toEqual([]);
  });

  it('is off when networks train side by side, each session on a worker thread', async () => {
    const box = sandbox('train-two');
    const result = await runCli(['train', '--model', 'GRU,LSTM', '--epochs', '1'], { ...traced, env: { ...box.env, FLTS_PARALLEL_MODELS: '2', FLTS_TRAIN_ENGINE: 'onnx' } });
    expect(result.exitCode, result.stderr).toBe(0);
    // Only worker threads load it here: the main thread's own environment is what they must have been given.
    expect(box.onnxThreads().length).toBe(2);
    expect(box.onnxThreads()).not.toContain(0);
    expect(box.leftovers()).toEqual([]);
  });

  it('is off when serve runs a network on its ONNX Runtime inference thread', async () => {
    const box = sandbox('serve');
    const unset = Object.fromEntries(SUPPRESSORS.map((name) => [name, undefined]));
    const server = await startServe(['--run', gruRun], { ...unset, ...box.env, FLTS_SERVE_ENGINE: 'onnx' }, { untilServing: true, nodeArgs: traced.nodeArgs });
    const response = await fetch(`${server.url}/predict`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await server.stop()).toBe(0);
    expect(box.onnxThreads().length).toBeGreaterThan(0);
    expect(box.onnxThreads()).not.toContain(0);
    expect(box.leftovers()).toEqual([]);
  });
});
