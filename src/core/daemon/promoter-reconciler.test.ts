import { describe, expect, it } from 'vitest';
import type { PromotionRecord } from '../registry/pointers.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { findAutoPromotion, missingModelTypes } from './promoter-reconciler.js';

const HASH = 'a'.repeat(64);
const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };

function promotion(timestamp: string, source: 'auto' | 'manual', configHash = HASH): PromotionRecord {
  return { identifier: '', config_hash: configHash, run_id: 'r1', model_type: 'LSTM', experiment: 'Default', model_uri: 'runs:/r1/LSTM', rmse: 0.1, mae: 0.1, mse: 0.01, score: 0.1, timestamp, weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, source, previous_run_id: null, reason: '' };
}

function finished(id: string, type: 'LSTM' | 'NAIVE', at: string) {
  const run = fakeRun(id, type, metrics, '2026-01-01T00:00:00.000Z', 'SUCCESS', HASH);
  return { ...run, timings: { ...run.timings, finished_at: at } };
}

describe('core > daemon > promoter-reconciler', () => {
  it('names the expected types without a SUCCESS run, case-insensitively', () => {
    expect(missingModelTypes(['gru', 'LSTM', 'NAIVE'], [finished('a', 'LSTM', '2026-01-01T00:01:00.000Z')])).toEqual(['GRU', 'NAIVE']);
    expect(missingModelTypes(['LSTM'], [finished('a', 'LSTM', '2026-01-01T00:01:00.000Z')])).toEqual([]);
  });

  it('finds the automatic promotion made after the newest SUCCESS run of the hash, comparing microsecond timestamps as times', () => {
    const runs = [finished('a', 'LSTM', '2026-01-01T00:01:00.500Z'), finished('b', 'NAIVE', '2026-01-01T00:02:00.250Z')];
    const after = promotion('2026-01-01T00:02:00.250001Z', 'auto');
    expect(findAutoPromotion([after], HASH, runs)).toBe(after);
    // Same millisecond as the run: still after it (the promoter reads the run before promoting).
    expect(findAutoPromotion([promotion('2026-01-01T00:02:00.250000Z', 'auto')], HASH, runs)).toBeDefined();
  });

  it('does not count manual promotions, other hashes, or promotions older than a newer SUCCESS run', () => {
    const runs = [finished('a', 'LSTM', '2026-01-01T00:05:00.000Z')];
    expect(findAutoPromotion([promotion('2026-01-01T00:06:00.000000Z', 'manual')], HASH, runs)).toBeUndefined();
    expect(findAutoPromotion([promotion('2026-01-01T00:06:00.000000Z', 'auto', 'b'.repeat(64))], HASH, runs)).toBeUndefined();
    expect(findAutoPromotion([promotion('2026-01-01T00:04:59.999999Z', 'auto')], HASH, runs)).toBeUndefined();
  });
});
