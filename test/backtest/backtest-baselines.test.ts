import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBacktest, type RunBacktestResult } from '../../src/core/backtest/run-backtest.js';
import { inverseScaleColumn } from '../../src/core/data/scaler.js';
import type { FltsError } from '../../src/core/errors.js';
import { prependHistory } from '../../src/core/forecast/windows.js';
import { dailyPeriod } from '../../src/core/models/seasonal-naive-model.js';
import { loadProcessedData } from '../../src/core/preprocess/processed-data.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { saveRunRecord } from '../../src/core/registry/run-store.js';
import { createSliceHome } from '../helpers/poblesec-slice.js';

describe('backtest > baselines without a trained run', () => {
  let remove: (() => void) | undefined;
  let result: RunBacktestResult;
  let down: Float64Array;
  let period: number;

  beforeAll(async () => {
    const home = createSliceHome('flts-backtest-baselines-', { 'data.sampleTrainRows': 2000, 'data.sampleTestRows': 60 });
    remove = home.remove;
    await runPreprocess(home.settings, { store: home.store });
    const data = await loadProcessedData(home.store, home.settings);
    const series = prependHistory(data.train, data.test, data.train.time.length);
    down = inverseScaleColumn(data.scaler, 'down', series.values.down);
    period = dailyPeriod(data.train.time);
    result = await runBacktest(home.settings, { store: home.store }, { modelTypes: ['SNAIVE'], horizon: 1, stride: 15, folds: 4 });
  }, 120_000);

  afterAll(() => {
    remove?.();
  });

  it('forecasts SNAIVE from a window one day long (the value one period before each origin), with its bands', () => {
    const snaive = result.models.find((m) => m.model_type === 'SNAIVE')!;
    expect(period).toBeGreaterThan(100);
    expect(snaive.folds).toHaveLength(4);
    for (const fold of snaive.folds) {
      const before = down[fold.origin_row - period];
      // The model computes in float32: equal to about 7 significant digits.
      expect(Math.abs((fold.forecast.down as number[])[0] - before)).toBeLessThanOrEqual(1e-6 * Math.abs(before));
      const band = fold.intervals!.down['0.8'];
      expect(band.upper[0] as number).toBeGreaterThan(band.lower[0] as number);
    }
  });

});

describe('backtest > a model whose window the history cannot fill', () => {
  it('is refused naming the model, as the fold origin leaves fewer rows than its window', async () => {
    const home = createSliceHome('flts-backtest-short-', { 'data.sampleTrainRows': 300, 'data.sampleTestRows': 60 });
    try {
      await runPreprocess(home.settings, { store: home.store });
      const refused = runBacktest(home.settings, { store: home.store }, { modelTypes: ['NAIVE', 'SNAIVE'], horizon: 1, stride: 15, folds: 2 });
      await expect(refused).rejects.toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', message: expect.stringMatching(/^SNAIVE: /), details: { modelType: 'SNAIVE' } });
    } finally {
      home.remove();
    }
  }, 120_000);
});

describe('backtest > a model that cannot be fitted on the rows', () => {
  // Prophet's optimiser gives up on the first 400 rows of PobleSec; the refusal sent the reader to a run.json that
  // the backtest, which records no run of its fits, never wrote.
  it('is refused naming the model and the backtest, with a hint that does not send to a run it never recorded', async () => {
    const home = createSliceHome('flts-backtest-unfitted-', { 'data.sampleTrainRows': 400, 'data.sampleTestRows': 20 });
    try {
      await runPreprocess(home.settings, { store: home.store });
      const refused = await runBacktest(home.settings, { store: home.store }, { modelTypes: ['NAIVE', 'PROPHET'], horizon: 1, stride: 10, folds: 2 }).catch((error: FltsError) => error);
      expect(refused).toMatchObject({ code: 'FLTS_TRAIN_OPTIMIZER_FAILED', message: expect.stringMatching(/^PROPHET could not be fitted for the backtest on the first 400 rows \(.*\): Prophet's optimiser found no fit for target "down" over \d+ training rows/), details: { modelType: 'PROPHET', rows: 400 } });
      expect((refused as FltsError).hint).toMatch(/--models/);
      expect((refused as FltsError).hint).not.toMatch(/run\.json/);
    } finally {
      home.remove();
    }
  }, 120_000);
});

describe('backtest > targets no processed column holds', () => {
  it('are refused as training refuses them, naming the processed columns, not the features of a run there is none of', async () => {
    const home = createSliceHome('flts-backtest-no-target-', { 'data.sampleTrainRows': 300, 'data.sampleTestRows': 40 });
    try {
      await runPreprocess(home.settings, { store: home.store });
      const settings = { ...home.settings, training: { ...home.settings.training, targets: ['down', 'nosuch'] } };
      await expect(runBacktest(settings, { store: home.store }, { modelTypes: ['NAIVE'], horizon: 1, stride: 10, folds: 2 })).rejects.toMatchObject({
        code: 'FLTS_MODEL_TARGET_MISSING',
        message: expect.stringMatching(/^Target\(s\) nosuch not among the processed columns \(down, /),
        details: { missing: ['nosuch'] },
      });
    } finally {
      home.remove();
    }
  }, 120_000);
});

describe('backtest > runs of other targets', () => {
  it('takes each type\'s newest run of the configured targets, leaves types with runs of other targets only, and records the targets', async () => {
    const home = createSliceHome('flts-backtest-targets-', { 'data.sampleTrainRows': 300, 'data.sampleTestRows': 40 });
    try {
      await runPreprocess(home.settings, { store: home.store });
      const { configHash } = await loadProcessedData(home.store, home.settings);
      const ofTargets = (run: RunRecord, targets: string[]): RunRecord => ({ ...run, window: { ...run.window, targets } });
      const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };
      const configured = fakeRun('naive-down', 'NAIVE', metrics, '2026-12-01T00:00:00Z', 'SUCCESS', configHash);
      // Newer, but forecasting another set of columns: no candidate of a backtest of `down`.
      const other = ofTargets(fakeRun('naive-down-up', 'NAIVE', metrics, '2026-12-02T00:00:00Z', 'SUCCESS', configHash), ['up', 'down']);
      const otherOnly = ofTargets(fakeRun('snaive-up', 'SNAIVE', metrics, '2026-12-03T00:00:00Z', 'SUCCESS', configHash), ['up']);
      for (const run of [configured, other, otherOnly]) await saveRunRecord(home.store, home.settings, run);

      const result = await runBacktest(home.settings, { store: home.store }, { horizon: 1, stride: 10, folds: 2 });
      expect(result.targets).toEqual(['down']);
      expect(result.models.map((m) => [m.model_type, m.run_id])).toEqual([['NAIVE', configured.run_id]]);
    } finally {
      home.remove();
    }
  }, 120_000);
});
