import { describe, expect, it } from 'vitest';
import { rankMlflowRuns, rankMlflowRunsByTargetSet } from '../core/eval/rank-mlflow-runs.js';
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

  it('draws one table per target set the runs logged, each ranked from 1, the runs that logged none last', () => {
    const base = { experimentId: '1', experimentName: 'NonML', runName: 'NAIVE', modelType: 'NAIVE', configHash: 'c'.repeat(64), status: 'FINISHED' as const, startTime: Date.parse('2025-01-01T00:00:00Z'), modelUri: 'runs:/x/NAIVE', tags: {} };
    const ranked = rankMlflowRunsByTargetSet(
      [
        { ...base, mlflowRunId: 'wide', testRmse: 0.1, testMae: 0.1, testMse: 0.1, params: { targets: 'up,down' } },
        { ...base, mlflowRunId: 'down', testRmse: 0.2, testMae: 0.2, testMse: 0.2, params: { targets: 'down' } },
        { ...base, mlflowRunId: 'reference', testRmse: 0.3, testMae: 0.3, testMse: 0.3, params: {} },
      ],
      ['down'],
    );
    const lines = renderMlflowScoreboard({ source: 'mlflow', uri: 'http://127.0.0.1:5000', configHash: base.configHash, ...ranked, targets: ['down'], excluded: [] });
    expect(lines[0]).toContain('3 target sets, one board each');
    const sections = lines.filter((line) => line.startsWith('targets '));
    expect(sections).toEqual([
      'targets down: 1 run(s), ranked among themselves; the configured targets: promote --best and automatic promotion choose from these',
      'targets down,up: 1 run(s), ranked among themselves',
      "targets not logged (reference trainers' runs): 1 run(s), ranked among themselves",
    ]);
    const firsts = lines.filter((line) => /^1\s/.test(line)).map((line) => line.split(/\s{2,}/)[3]);
    expect(firsts).toEqual(['down', 'wide', 'reference']);
  });
});
