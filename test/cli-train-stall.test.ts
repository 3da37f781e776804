import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeFor, FltsError } from '../src/core/errors.js';
import { listRunRecords } from '../src/core/registry/run-store.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { REPO_ROOT, runCli } from './helpers/run-cli.js';

/** The NAIVE model's file is written after its last chunk of forecasts: a write that never ends there is a stuck fit. */
const STUCK = ['--import', path.join(REPO_ROOT, 'test/helpers/stuck-at-rename.mjs')];

let slice: SliceHome;
beforeEach(() => {
  slice = createSliceHome('flts-cli-train-stall-');
});
afterEach(() => slice.remove());

describe('cli > train held to training.stallTimeoutMs', () => {
  // Before, flts train waited on a stuck fit for ever, whatever the setting said: it was the daemon's alone.
  it('ends a training stuck past FLTS_TRAIN_STALL_TIMEOUT_MS with FLTS_TRAIN_STALLED, naming the run, and a non-zero exit', async () => {
    const { settings, store, home } = slice;
    const { configHash } = await preprocess(settings, { store });
    const env = { FLTS_HOME: home, FLTS_TRAIN_STALL_TIMEOUT_MS: '1000', STUCK_AT_RENAME: '/model/naive\\.json$' };
    const stalled = await runCli(['train', '--model', 'NAIVE', '--json'], { env, nodeArgs: STUCK, timeoutMs: 60_000 });
    expect(stalled.exitCode).toBe(exitCodeFor(new FltsError('FLTS_TRAIN_STALLED', 'stalled')));
    expect(stalled.exitCode).not.toBe(0);
    const [run] = await listRunRecords(store, settings, { configHash });
    expect(stalled.json.error).toMatchObject({ code: 'FLTS_TRAIN_STALLED', details: { run_id: run.run_id, model_type: 'NAIVE', config_hash: configHash, bound_ms: 1000 } });
    expect(stalled.json.error.message).toContain(`NAIVE run ${run.run_id} has made no progress`);
    expect(run).toMatchObject({ model_type: 'NAIVE', status: 'RUNNING' });
    // Its process gone, as a daemon restarted on its /livez is, the next training on this host finds the run dead at
    // once, records it KILLED and trains the type again.
    const again = await runCli(['train', '--model', 'NAIVE', '--json'], { env: { FLTS_HOME: home } });
    expect(again.exitCode, again.stdout).toBe(0);
    const runs = await listRunRecords(store, settings, { configHash });
    expect(runs.map((record) => `${record.run_id === run.run_id ? 'stalled' : 'again'} ${record.status}`).sort()).toEqual(['again SUCCESS', 'stalled KILLED']);
  }, 120_000);
});
