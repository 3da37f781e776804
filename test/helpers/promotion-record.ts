import type { PromotionRecord } from '../../src/core/registry/pointers.js';

/** A promotion history record of a run that was never trained, written at `second` past 2026-01-01T00:00. */
export function historyRecord(runId: string, previous: string | null, second: number, action: 'promote' | 'rollback' = 'promote'): PromotionRecord {
  return {
    identifier: '',
    config_hash: 'hash',
    run_id: runId,
    model_type: 'NAIVE',
    experiment: 'flts',
    model_uri: `runs:/${runId}/NAIVE`,
    rmse: null,
    mae: null,
    mse: null,
    score: null,
    timestamp: `2026-01-01T00:00:${String(second).padStart(2, '0')}.000000Z`,
    weights: { rmse: 1, mae: 0, mse: 0 },
    source: action === 'rollback' ? 'rollback' : 'auto',
    previous_run_id: previous,
    reason: 'test',
    action,
  };
}
