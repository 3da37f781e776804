import type { Settings } from '../config/settings.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { requiredArtifactKeys } from '../workflows/promotion-checks.js';

export const RUNBOOK_HASH = 'c'.repeat(64);

/** Saves a run serving can load, with every artifact (or without those named in `missing`). */
export async function addRunWithArtifacts(store: ObjectStore, settings: Settings, run: RunRecord, missing: string[] = []): Promise<void> {
  await addLoadableRun(store, settings, run);
  for (const key of requiredArtifactKeys(run)) if (missing.some((m) => key.endsWith(m))) await store.delete(settings.store.buckets.runs, key);
}

/**
 * Four runs of one config_hash: scores runB (GRU) 0.02932 < runC (NAIVE) 0.03036 < runA (LSTM) 0.0375, and
 * runF (LSTM) FAILED. runA and runB differ in one parameter.
 */
export async function seedRunbookRegistry(store: ObjectStore, settings: Settings): Promise<Record<'runA' | 'runB' | 'runC' | 'runF', RunRecord>> {
  const runA = { ...fakeRun('runA', 'LSTM', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-01T00:00:00.000Z'), params: { hidden_units: 32, epochs: 10 } };
  const runB = { ...fakeRun('runB', 'GRU', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-02T00:00:00.000Z'), params: { hidden_units: 64, epochs: 10 } };
  const runC = fakeRun('runC', 'NAIVE', { rmse: 0.042, mae: 0.03, mse: 0.0018 }, '2025-01-03T00:00:00.000Z');
  const runF = fakeRun('runF', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-04T00:00:00.000Z', 'FAILED');
  for (const run of [runA, runB, runC, runF]) await addRunWithArtifacts(store, settings, run);
  return { runA, runB, runC, runF };
}
