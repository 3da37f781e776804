import { describe, expect, it } from 'vitest';
import type { MlflowRunSummary } from '../tracking/list-mlflow-runs.js';
import { mlflowRunScore, rankMlflowRuns } from './rank-mlflow-runs.js';

function run(id: string, startTime: number, metrics: { rmse?: number; mae?: number; mse?: number }): MlflowRunSummary {
  return {
    mlflowRunId: id,
    experimentId: '0',
    experimentName: 'Default',
    runName: 'GRU',
    modelType: 'GRU',
    configHash: 'h',
    status: 'FINISHED',
    startTime,
    testRmse: metrics.rmse,
    testMae: metrics.mae,
    testMse: metrics.mse,
    modelUri: `runs:/${id}/GRU`,
    params: {},
    tags: {},
  };
}

describe('core > eval > rank-mlflow-runs', () => {
  it("scores like the reference eval (Nov 4 E2E GRU: 0.0299628)", () => {
    expect(mlflowRunScore({ testRmse: 0.04159637, testMae: 0.02939517, testMse: 0.00173026 })).toBeCloseTo(0.0299628, 7);
  });

  it('ranks by score, ties to the newest run, missing metrics after scored runs and NaN last', () => {
    const ranked = rankMlflowRuns([
      run('nan', 5, { rmse: Number.NaN, mae: 0.1, mse: 0.1 }),
      run('missing', 6, { rmse: 0.1, mae: 0.1 }),
      run('tie-old', 1, { rmse: 0.2, mae: 0.2, mse: 0.2 }),
      run('best', 2, { rmse: 0.1, mae: 0.1, mse: 0.1 }),
      run('tie-new', 3, { rmse: 0.2, mae: 0.2, mse: 0.2 }),
    ]);
    expect(ranked.map((r) => r.mlflowRunId)).toEqual(['best', 'tie-new', 'tie-old', 'missing', 'nan']);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(ranked[3].score).toBe(Number.POSITIVE_INFINITY);
  });
});
