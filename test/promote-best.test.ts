import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../src/core/config/settings.js';
import { fakeRun } from '../src/core/registry/run-record.fixture.js';
import { readRunRecord, saveRunRecord } from '../src/core/registry/run-store.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import { addLoadableRun } from '../src/core/workflows/loadable-run.fixture.js';
import { runCli } from './helpers/run-cli.js';

let home: string;

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'flts-promote-best-'));
  const store = createFsStore(path.join(home, 'store'));
  const settings = defaultSettings();
  await addLoadableRun(store, settings, fakeRun('runA', 'LSTM', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-01T00:00:00.000Z'));
  await addLoadableRun(store, settings, fakeRun('runB', 'GRU', { rmse: 0.03, mae: 0.02, mse: 0.0009 }, '2025-01-02T00:00:00.000Z'));
  await addLoadableRun(store, settings, fakeRun('runC', 'NAIVE', { rmse: 0.042, mae: 0.03, mse: 0.0018 }, '2025-01-03T00:00:00.000Z'));
  // Sealed by its training, then its run.json edited by hand to rank first.
  await addLoadableRun(store, settings, fakeRun('runEdited', 'NAIVE', { rmse: 0.06, mae: 0.05, mse: 0.0036 }, '2025-01-04T00:00:00.000Z'), { digests: true });
  const sealed = await readRunRecord(store, settings, 'runEdited');
  await saveRunRecord(store, settings, { ...sealed, metrics: fakeRun('runEdited', 'NAIVE', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '').metrics });
});

const EDITED_LEFT_OUT = 'left out: Run runEdited is damaged: runs/runEdited/run.json does not have the SHA-256 its training sealed it with (edited since training).';
afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('cli > promote --best', () => {
  it('checks the winning network on the serving engine: ONNX Runtime, without loading tfjs', async () => {
    const trace = path.join(home, 'modules.txt');
    const result = await runCli(['promote', '--best', '--json'], {
      env: { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot', FLTS_TEST_MODULE_TRACE: trace },
      nodeArgs: ['--import', path.resolve(__dirname, 'helpers/module-trace.mjs')],
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.json.result.record).toMatchObject({ run_id: 'runB', model_type: 'GRU', source: 'best' });
    expect(result.json.result.validation.windows).toBeGreaterThan(0);
    const modules = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
    expect(modules.some((line) => line.includes('/onnxruntime-node/'))).toBe(true);
    expect(modules.filter((line) => line.includes('/@tensorflow/'))).toEqual([]);
  });

  it('leaves a run whose run.json was edited since training off the scoreboard and out of the choice, and says so as text and as JSON', async () => {
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot' };
    const board = await runCli(['eval', '--json'], { env });
    expect(board.exitCode, board.stderr).toBe(0);
    // runA, runB and runC were recorded without a seal (as before records were sealed): they rank as they always did.
    expect(board.json.result.rows.map((row: { run_id: string }) => row.run_id)).toEqual(['runB', 'runC', 'runA']);
    expect(board.json.result.corrupt_runs).toEqual([{ run_id: 'runEdited', code: 'FLTS_RUN_CORRUPT', message: EDITED_LEFT_OUT.slice('left out: '.length) }]);
    expect((await runCli(['eval'], { env })).stdout).toContain(EDITED_LEFT_OUT);

    const chosen = await runCli(['promote', '--best', '--json'], { env });
    expect(chosen.exitCode, chosen.stderr).toBe(0);
    expect(chosen.json.result.record.run_id).toBe('runB');
    expect(chosen.json.result.corrupt_runs).toEqual(board.json.result.corrupt_runs);
    expect((await runCli(['promote', '--best'], { env })).stdout).toContain(EDITED_LEFT_OUT);

    const named = await runCli(['promote', '--run', 'runEdited', '--force', '--json'], { env });
    expect(named.exitCode).not.toBe(0);
    expect(named.json.error.code).toBe('FLTS_RUN_CORRUPT');
  });

  it('says that it published model-selected when a bus is configured', async () => {
    const result = await runCli(['promote', '--run', 'runA'], { env: { FLTS_HOME: home, FLTS_BUS: 'fs' } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('published model-selected: replicas following the bus reload now');
  });

  it('a promotion by name says which damaged runs its quality gate was judged without', async () => {
    const env = { FLTS_HOME: home, FLTS_OPERATOR: 'ci-bot' };
    // runEdited, the newest NAIVE, is no baseline: runB is judged against runC.
    const text = await runCli(['promote', '--run', 'runC', '--min-improvement', '5', '--force'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(EDITED_LEFT_OUT);
    const named = await runCli(['promote', '--run', 'runB', '--min-improvement', '5', '--json'], { env });
    expect(named.exitCode, named.stderr).toBe(0);
    expect(named.json.result.gate).toEqual({ passed: true, reason: 'passes the quality gate (judged without damaged run(s) left out of its scoreboard: runEdited)' });
    expect(named.json.result.corrupt_runs).toEqual([{ run_id: 'runEdited', code: 'FLTS_RUN_CORRUPT', message: EDITED_LEFT_OUT.slice('left out: '.length) }]);
  });
});

