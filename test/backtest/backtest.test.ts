import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtestModel, type BacktestModelResult } from '../../src/core/backtest/backtest-model.js';
import { evaluateRunsByBacktest } from '../../src/core/backtest/backtest-ranking.js';
import { createFoldModelProvider } from '../../src/core/backtest/fold-models.js';
import { runBacktest, type RunBacktestResult } from '../../src/core/backtest/run-backtest.js';
import type { Settings } from '../../src/core/config/settings.js';
import { inverseScaleColumn } from '../../src/core/data/scaler.js';
import type { TimeFrame } from '../../src/core/data/time-frame.js';
import type { ModelType, WindowSpec } from '../../src/core/models/forecast-model.js';
import { prependHistory } from '../../src/core/forecast/windows.js';
import { loadProcessedData, type ProcessedData } from '../../src/core/preprocess/processed-data.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { loadRunForServing } from '../../src/core/registry/load-run.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { detectCadence } from '../../src/core/data/timestamps.js';
import { getJson } from '../../src/core/storage/json-objects.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { createSliceHome } from '../helpers/poblesec-slice.js';
import { conformalHalfWidth, type IntervalCalibration } from '../../src/core/models/prediction-intervals.js';

const FOLDS = 4;
const HORIZON = 3;
const STRIDE = 20;

/** A copy of the series whose every value from `row` on is absurd: any leak past a fold origin would show. */
function poisonFrom(series: TimeFrame, row: number): TimeFrame {
  const values = Object.fromEntries(series.columns.map((c) => {
    const copy = Float64Array.from(series.values[c]);
    copy.fill(1e6, row);
    return [c, copy];
  }));
  return { time: series.time, columns: series.columns, values };
}

describe('backtest > rolling-origin backtest over a PobleSec slice', () => {
  let store: ObjectStore;
  let settings: Settings;
  let remove: (() => void) | undefined;
  let data: ProcessedData;
  let series: TimeFrame;
  let runs: RunRecord[];
  let plain: RunBacktestResult;
  let refit: RunBacktestResult;

  const model = (result: RunBacktestResult, type: string): BacktestModelResult => result.models.find((m) => m.model_type === type) as BacktestModelResult;
  const defaultWindow = (): WindowSpec => ({ features: [...data.columns], targets: [...settings.training.targets], inputSeqLen: settings.training.inputSeqLen, outputSeqLen: settings.training.outputSeqLen });

  /** Re-runs one model's backtest on a poisoned copy of the series, with a provider built the way runBacktest builds it. */
  async function rerun(type: ModelType, poisoned: TimeFrame, origins: number[], refitEvery: number): Promise<BacktestModelResult> {
    const run = runs.find((r) => r.model_type === type);
    const loaded = run && refitEvery === 0 ? await loadRunForServing(store, settings, run.run_id) : undefined;
    const window = run?.window ?? defaultWindow();
    const provider = createFoldModelProvider({ modelType: type, window, run: loaded && run ? { runId: run.run_id, model: loaded.model, intervals: loaded.intervals } : undefined, scaler: data.scaler, trainRows: data.train.time.length, refitEvery, settings });
    try {
      return await backtestModel({ series: poisoned, origins, horizon: HORIZON, cadenceMs: detectCadence(series.time), window, scaler: data.scaler, provider });
    } finally {
      provider.dispose();
      loaded?.model.dispose();
    }
  }

  beforeAll(async () => {
    ({ store, settings, remove } = createSliceHome('flts-backtest-', {
      // augurs' Prophet optimiser fails on the first 400 rows (line search), so a few more.
      'data.sampleTrainRows': 600,
      'backtest.refitEpochs': 1,
      // Bands on the model horizon's step and the recursive step after it; the third step gets none.
      'eval.intervalSteps': 2,
    }));
    await runPreprocess(settings, { store });
    runs = (await trainModels({ models: ['LSTM', 'NAIVE', 'PROPHET'] }, settings, { store })).runs;
    data = await loadProcessedData(store, settings);
    series = prependHistory(data.train, data.test, data.train.time.length);
    const input = { modelTypes: ['NAIVE', 'PROPHET', 'LSTM'] as ModelType[], horizon: HORIZON, stride: STRIDE, folds: FOLDS };
    plain = await runBacktest(settings, { store }, input);
    refit = await runBacktest(settings, { store }, { ...input, modelTypes: ['PROPHET', 'LSTM'], refitEvery: 2 });
  }, 180_000);

  afterAll(() => {
    remove?.();
  });

  it('places the folds in the test period, the last one ending at the last row', () => {
    const trainRows = data.train.time.length;
    const origins = model(plain, 'NAIVE').folds.map((f) => f.origin_row);
    expect(origins).toHaveLength(FOLDS);
    expect(origins.at(-1)).toBe(series.time.length - HORIZON);
    origins.slice(1).forEach((origin, k) => expect(origin - origins[k]).toBe(STRIDE));
    expect(origins[0]).toBeGreaterThanOrEqual(trainRows);
    for (const result of [...plain.models, ...refit.models]) {
      for (const fold of result.folds) {
        expect(Date.parse(`${fold.input_end}Z`)).toBeLessThan(Date.parse(`${fold.origin}Z`));
        if (fold.fitted_end !== null) expect(Date.parse(`${fold.fitted_end}Z`)).toBeLessThan(Date.parse(`${fold.origin}Z`));
        expect(fold.forecast.time).toHaveLength(HORIZON);
      }
    }
    expect(model(refit, 'LSTM').folds.map((f) => f.refitted)).toEqual([true, false, true, false]);
  });

  it('forecasts NAIVE as the last value before each origin and scores it against the held-out rows', () => {
    const down = inverseScaleColumn(data.scaler, 'down', series.values.down);
    for (const fold of model(plain, 'NAIVE').folds) {
      const last = down[fold.origin_row - 1];
      // The model computes in float32: equal to about 7 significant digits.
      for (const value of fold.forecast.down as number[]) expect(Math.abs(value - last)).toBeLessThanOrEqual(1e-6 * Math.abs(last));
      const errors = [0, 1, 2].map((h) => series.values.down[fold.origin_row + h] - series.values.down[fold.origin_row - 1]);
      expect(fold.metrics.rmse).toBeCloseTo(Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / HORIZON), 5);
    }
  });

  it('never lets data after a fold origin reach that fold (every value after it poisoned, forecasts unchanged)', async () => {
    const origins = model(plain, 'NAIVE').folds.map((f) => f.origin_row);
    // A Prophet refit is not reproducible (augurs' optimiser gives different fits for identical data in one
    // process), so refitted Prophet is covered by the fitted_end < origin check above instead.
    for (const [results, types, refitEvery] of [[plain, ['NAIVE', 'PROPHET', 'LSTM'], 0], [refit, ['LSTM'], 2]] as const) {
      for (const type of types) {
        const reference = model(results, type);
        for (const [k, origin] of origins.entries()) {
          const poisoned = await rerun(type, poisonFrom(series, origin), origins, refitEvery);
          expect(poisoned.folds[k].forecast, `${type} fold ${k} refitEvery ${refitEvery}`).toEqual(reference.folds[k].forecast);
          // Models that read the input window see the poison in later folds, so the comparison above can fail
          // (a Prophet fitted before every origin forecasts from timestamps alone).
          const readsInputs = type !== 'PROPHET';
          if (readsInputs && k < origins.length - 1) expect(poisoned.folds[k + 1].forecast).not.toEqual(reference.folds[k + 1].forecast);
        }
      }
    }
  }, 240_000);

  it('carries prediction intervals on the calibrated steps of every fold, recursive ones included, with their empirical coverage', async () => {
    const steps = settings.eval.intervalSteps;
    expect(steps).toBeGreaterThan(settings.training.outputSeqLen);
    expect(steps).toBeLessThan(HORIZON);
    const down = inverseScaleColumn(data.scaler, 'down', series.values.down);
    for (const result of [...plain.models, ...refit.models]) {
      let inside = 0;
      for (const fold of result.folds) {
        const forecast = fold.forecast.down as number[];
        const inner = fold.intervals?.down['0.8'];
        const outer = fold.intervals?.down['0.95'];
        expect(inner && outer, `${result.model_type} fold ${fold.fold}`).toBeTruthy();
        if (!inner || !outer) continue;
        forecast.forEach((value, h) => {
          if (h >= steps) {
            // Past the steps the calibration covers, no band.
            expect([inner.lower[h], inner.upper[h], outer.lower[h], outer.upper[h]]).toEqual([null, null, null, null]);
            return;
          }
          const [lo80, hi80, lo95, hi95] = [inner.lower[h], inner.upper[h], outer.lower[h], outer.upper[h]] as number[];
          // `down` (bytes) was never negative in the rows the model was fitted on: the lower ends stop at 0, where
          // both may meet, even above a forecast below 0 (the LSTM's on this slice).
          expect(lo80).toBeLessThanOrEqual(Math.max(value, 0));
          expect(hi80).toBeGreaterThan(value);
          expect(lo95).toBeGreaterThanOrEqual(0);
          expect(lo95).toBeLessThanOrEqual(lo80);
          expect(hi95).toBeGreaterThan(hi80);
        });
        const actual = Array.from({ length: steps }, (_, h) => down[fold.origin_row + h]);
        const within = actual.filter((value, h) => value >= (inner.lower[h] as number) && value <= (inner.upper[h] as number)).length;
        expect(fold.coverage?.down['0.8']).toEqual({ coverage: within / steps, inside: within, count: steps });
        inside += within;
      }
      expect(result.aggregate.coverage?.down['0.8']).toEqual({ coverage: inside / (FOLDS * steps), inside, count: FOLDS * steps });
    }
    // A trained run's model keeps the calibration saved with it: the ratio of the bands' upper half-widths (the
    // lower ends may stop at 0) is its quantiles' ratio.
    const lstm = runs.find((r) => r.model_type === 'LSTM') as RunRecord;
    const calibration = (await loadRunForServing(store, settings, lstm.run_id)).intervals as IntervalCalibration;
    expect(calibration.lowerBounds).toEqual({ down: 0 });
    const [q80, q95] = [0.8, 0.95].map((level) => conformalHalfWidth(calibration.errors.down[0], level));
    for (const fold of model(plain, 'LSTM').folds) {
      const band = fold.intervals?.down as Record<string, { lower: number[]; upper: number[] }>;
      const value = (fold.forecast.down as number[])[0];
      expect((band['0.95'].upper[0] - value) / (band['0.8'].upper[0] - value)).toBeCloseTo(q95 / q80, 4);
    }
  });

  it('gives a level its calibration has too few windows for no band in any fold and no coverage, not a band that covers everything', async () => {
    const lstm = runs.find((r) => r.model_type === 'LSTM') as RunRecord;
    const loaded = await loadRunForServing(store, settings, lstm.run_id);
    const saved = loaded.intervals as IntervalCalibration;
    // Five errors per step: enough for 0.8 (4), not for 0.95 (19).
    const short: IntervalCalibration = { ...saved, windows: 5, errors: { down: saved.errors.down.map((step) => step.slice(-5)) } };
    const provider = createFoldModelProvider({ modelType: 'LSTM', window: lstm.window, run: { runId: lstm.run_id, model: loaded.model, intervals: short }, scaler: data.scaler, trainRows: data.train.time.length, refitEvery: 0, settings });
    try {
      const origins = model(plain, 'LSTM').folds.map((f) => f.origin_row);
      const result = await backtestModel({ series, origins, horizon: HORIZON, cadenceMs: detectCadence(series.time), window: lstm.window, scaler: data.scaler, provider });
      for (const fold of result.folds) {
        const band = fold.intervals?.down as Record<string, { lower: (number | null)[]; upper: (number | null)[] }>;
        expect([...band['0.95'].lower, ...band['0.95'].upper].every((end) => end === null)).toBe(true);
        expect(band['0.8'].upper[0]).toBeGreaterThan((fold.forecast.down as number[])[0]);
        expect(Object.keys(fold.coverage?.down ?? {})).toEqual(['0.8']);
      }
      expect(Object.keys(result.aggregate.coverage?.down ?? {})).toEqual(['0.8']);
    } finally {
      provider.dispose();
      loaded.model.dispose();
    }
  });

  it('stops at its signal between folds with FLTS_BACKTEST_ABORTED, storing nothing, for a loaded model and a refitted one', async () => {
    const key = `backtests/${data.configHash}/backtest.json`;
    const before = await getJson<unknown>(store, settings.store.buckets.runs, key);
    for (const [modelType, refitEvery] of [['NAIVE', 0], ['LSTM', 1]] as const) {
      const abort = new AbortController();
      const onEvent = (event: { type: string }): void => {
        if (event.type === 'backtest.fold') abort.abort();
      };
      const stopped = await runBacktest(settings, { store, signal: abort.signal, onEvent }, { modelTypes: [modelType], horizon: HORIZON, stride: STRIDE, folds: FOLDS, refitEvery }).catch((error: unknown) => error);
      expect(stopped, modelType).toMatchObject({ code: 'FLTS_BACKTEST_ABORTED', details: { modelType, done: 0, total: 1 } });
    }
    expect(await getJson<unknown>(store, settings.store.buckets.runs, key)).toEqual(before);
  });

  it('records the backtest with the runs and ranks eval on it, with an error-over-time chart', async () => {
    const lstm = runs.find((r) => r.model_type === 'LSTM') as RunRecord;
    const stored = await getJson<any>(store, settings.store.buckets.runs, `backtests/${data.configHash}/backtest.json`);
    expect(stored.models.map((m: any) => m.model_type)).toEqual(['PROPHET', 'LSTM']);
    const own = await getJson<any>(store, settings.store.buckets.runs, `${lstm.run_id}/backtest.json`);
    expect(own.result.model_type).toBe('LSTM');
    const svg = (await store.get(settings.store.buckets.runs, `backtests/${data.configHash}/error-over-time.svg`)).toString();
    expect(svg).toContain('<svg');
    expect(svg).toContain('PROPHET');
    expect(svg).toContain('LSTM');

    // Re-record the plain backtest (with NAIVE), then rank on it.
    await runBacktest(settings, { store }, { modelTypes: ['NAIVE', 'PROPHET', 'LSTM'], horizon: HORIZON, stride: STRIDE, folds: FOLDS });
    const board = await evaluateRunsByBacktest({}, settings, { store });
    expect(board.rows.map((r) => r.run_id).sort()).toEqual(runs.map((r) => r.run_id).sort());
    for (const row of board.rows) {
      const result = model(plain, row.model_type);
      const folds = result.folds;
      const mean = (pick: (f: (typeof folds)[number]) => number): number => folds.reduce((s, f) => s + pick(f), 0) / folds.length;
      expect(row.rmse).toBeCloseTo(mean((f) => f.metrics.rmse), 10);
      expect(row.score).toBeCloseTo(0.5 * mean((f) => f.metrics.rmse) + 0.3 * mean((f) => f.metrics.mae) + 0.2 * mean((f) => f.metrics.mse), 10);
    }
    expect(board.rows.map((r) => r.score)).toEqual([...board.rows.map((r) => r.score)].sort((a, b) => a - b));
    // Coverage beside the errors, and the improvement over the best baseline backtest, as on the test split.
    for (const row of board.rows) {
      const pooled = model(plain, row.model_type).aggregate.coverage?.[row.target] ?? {};
      expect(Object.keys(pooled).length).toBeGreaterThan(0);
      expect(row.coverage).toEqual(Object.fromEntries(Object.entries(pooled).map(([level, counts]) => [level, counts.coverage])));
      expect(row.baseline_model_type).toBe('NAIVE');
      expect(row.improvement_over_baseline_pct).toBeCloseTo(100 * (1 - row.rmse / model(plain, 'NAIVE').aggregate.rmse), 10);
    }
  });
});
