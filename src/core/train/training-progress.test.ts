import { describe, expect, it } from 'vitest';
import type { FltsEvent } from '../events.js';
import { createTrainingProgress } from './training-progress.js';

const start = (runId: string, modelType: string): FltsEvent => ({ type: 'train.start', runId, modelType, backend: 'wasm', epochs: 1, batchesPerEpoch: 1 });
const chunk = (runId: string): FltsEvent => ({ type: 'train.predict', runId, stage: 'calibration', done: 1, total: 2 });

describe('core > daemon > training progress', () => {
  it('bounds a fit that reports batches from its start, and one that reports none (Prophet) only from its first chunk of forecasts', () => {
    let clock = 0;
    const progress = createTrainingProgress(1_000, () => clock, () => 0);
    progress.observe(start('run-p', 'PROPHET'), { configHash: 'h', modelType: 'PROPHET' });
    progress.observe(start('run-l', 'LSTM'), { configHash: 'h', modelType: 'LSTM' });
    clock = 5_000;
    // The LSTM emitted no batch in 5 s: stuck. Prophet's fit is one call whose length grows with the rows: not judged.
    expect(progress.stall()).toMatchObject({ code: 'FLTS_TRAIN_STALLED', stalled_ms: 5_000, bound_ms: 1_000 });
    expect(progress.status().map((entry) => [entry.model_type, entry.stalled])).toEqual([['PROPHET', false], ['LSTM', true]]);
    progress.done({ configHash: 'h', modelType: 'LSTM' });
    expect(progress.stall()).toBeUndefined();
    clock = 1_000_000;
    expect(progress.stall()).toBeUndefined();
    // Its forecasts begun, Prophet's chunks are progress like any other model's, and their silence is bounded.
    progress.observe(chunk('run-p'), { configHash: 'h', modelType: 'PROPHET' });
    clock = 1_001_001;
    expect(progress.stall()).toMatchObject({ code: 'FLTS_TRAIN_STALLED', stalled_ms: 1_001, bound_ms: 1_000 });
    expect(progress.status()).toEqual([expect.objectContaining({ run_id: 'run-p', model_type: 'PROPHET', config_hash: 'h', stalled: true })]);
  });

  // /livez answers anyone who reaches the port: before, it named the run, its model type and its data version.
  it('says a stall by its code and numbers alone, the run being named by status()', () => {
    let clock = 0;
    const progress = createTrainingProgress(1_000, () => clock, () => Date.parse('2026-12-08T00:00:00Z'));
    progress.observe(start('3f2a9c', 'GRU'), { configHash: 'a'.repeat(64), modelType: 'GRU' });
    clock = 2_000;
    const stall = progress.stall();
    expect(stall).toEqual({ code: 'FLTS_TRAIN_STALLED', reason: expect.any(String), since: '2026-12-08T00:00:00.000Z', stalled_ms: 2_000, bound_ms: 1_000 });
    expect(stall?.reason).not.toMatch(/3f2a9c|GRU|aaaa/);
    expect(progress.status()).toEqual([expect.objectContaining({ run_id: '3f2a9c', model_type: 'GRU', config_hash: 'a'.repeat(64), stalled: true })]);
  });
});
