import { describe, expect, it } from 'vitest';
import { rankMlflowRuns } from '../core/eval/rank-mlflow-runs.js';
import { renderMlflowScoreboard } from './mlflow-scoreboard-table.js';

describe('cli > mlflow-scoreboard-table', () => {
  it('shows a metric a run did not log, and the score it leaves, as "-", never Infinity or NaN', () => {
    const base = { experimentId: '1', experimentName: 'Default', runName: 'LSTM', configHash: 'c'.repeat(64), status: 'FINISHED' as const, startTime: Date.parse('2025-01-01T00:00:00Z'), modelUri: 'runs:/x/LSTM', params: {}, tags: {} };
    const rows = rankMlflowRuns([
      { ...base, mlflowRunId: 'logged', modelType: 'LSTM', testRmse: 0.1, testMae: 0.05, testMse: 0.01 },
      { ...base, mlflowRunId: 'unlogged', modelType: 'GRU', testMae: Number.NaN },
    ]);
    const lines = renderMlflowScoreboard({ source: 'mlflow', uri: 'http://127.0.0.1:5000', configHash: base.configHash, rows, excluded: [] });
    const header = lines[1].split(/\s{2,}/);
    const cells = Object.fromEntries(lines[3].split(/\s{2,}/).map((cell, i) => [header[i], cell]));
    expect(cells).toMatchObject({ 'mlflow run': 'unlogged', rmse: '-', mae: '-', mse: '-', score: '-' });
    expect(lines.join('\n')).not.toMatch(/Infinity|NaN/);
  });
});
