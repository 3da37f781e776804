import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../config/settings.js';
import { inverseScaleColumn } from '../data/scaler.js';
import { computeMetrics } from '../forecast/metrics.js';
import { loadRunForServing } from '../registry/load-run.js';
import { runRecordDigest } from '../registry/run-record-seal.js';
import { readRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { getJson } from '../storage/json-objects.js';
import type { PredictionsArtifact } from './predictions-artifact.js';
import { prepareWindows } from './prepare-windows.js';
import { syntheticProcessedData } from './synthetic-data.fixture.js';
import { trainRun } from './train-run.js';
import type { EpochRecord } from './fit-network.js';
import type { FltsEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { selectRows } from '../data/time-frame.js';
import { fitProphetModel } from '../models/prophet-model.js';
import { calibrateModelIntervals, calibrateOnTrainingWindows } from './run-intervals.js';
import { fitForecastModel, modelWindow } from './fit-model.js';
import { predictWindows } from '../forecast/predict-windows.js';
import type { ForecastModel } from '../models/forecast-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { createIntervalSource, forecastIntervals } from '../forecast/forecast-intervals.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-train-'));
const store = createFsStore(root);
const data = syntheticProcessedData(300, 60);
const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

function settings(): Settings {
  const s = defaultSettings();
  s.training = { ...s.training, hiddenSize: 8, numLayers: 2, epochs: 3, batchSize: 32, learningRate: 0.01, backend: 'wasm' };
  return s;
}

async function loadedPredictions(runId: string): Promise<{ predicted: number[]; artifact: PredictionsArtifact; leaked: number }> {
  const s = settings();
  const { model, scaler, run } = await loadRunForServing(store, s, runId);
  const windows = prepareWindows(data, run.window, s.training.validationSplit).test;
  const before = tf.memory().numTensors;
  const scaled = await model.predict({ windows: windows.x, size: windows.size, forecastTimes: windows.forecastTimes });
  await model.predict({ windows: windows.x.subarray(0, run.window.inputSeqLen * run.window.features.length), size: 1, forecastTimes: windows.forecastTimes.subarray(0, 1) });
  const leaked = tf.memory().numTensors - before;
  model.dispose();
  const artifact = await getJson<PredictionsArtifact>(store, s.store.buckets.runs, `${runId}/predictions.json`);
  return { predicted: Array.from(inverseScaleColumn(scaler, 'down', scaled)), artifact, leaked };
}

afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > train > train-run', () => {
  it('records an LSTM run whose saved model reproduces its test predictions without leaking tensors', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const record = await trainRun('LSTM', data, settings(), { store });
    expect(record.status).toBe('SUCCESS');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(await readRunRecord(store, settings(), record.run_id)).toEqual(record);
    for (const file of ['run.json', 'metrics.json', 'scaler.json', 'intervals.json', 'loss-curve.svg', 'predictions.json', 'model/model.json', 'model/weights.bin']) {
      expect(await store.exists('runs', `${record.run_id}/${file}`), file).toBe(true);
    }
    const { predicted, artifact, leaked } = await loadedPredictions(record.run_id);
    expect(leaked).toBe(0);
    expect(predicted.length).toBe(data.test.time.length);
    // Serving loads recurrent runs through the fused inference path, whose float32 arithmetic differs from
    // training's in the last bits: compare relative to the magnitude of the forecast (original units, ~1e8).
    predicted.forEach((v, i) => expect(Math.abs(v - artifact.predicted.down[i])).toBeLessThanOrEqual(1e-6 * Math.abs(artifact.predicted.down[i])));
    // reported metrics are those of the predictions stored in the run (original units)
    const fromArtifact = computeMetrics(artifact.actual.down, artifact.predicted.down);
    expect(record.metrics!.test.targets.down.original.rmse).toBeCloseTo(fromArtifact.rmse, -1);
    // Intervals: the coverage in the record is that of the stored bands, and the 95 % band is the wider one.
    const intervals = record.metrics!.test.targets.down.intervals!;
    expect(Object.keys(intervals)).toEqual(['0.8', '0.95']);
    const band = artifact.intervals!.down['0.8'];
    const inside = artifact.actual.down.filter((actual, i) => actual >= band.lower[i] && actual <= band.upper[i]).length;
    expect(intervals['0.8'].coverage).toBeCloseTo(inside / artifact.actual.down.length, 10);
    expect(intervals['0.95'].mean_width).toBeGreaterThan(intervals['0.8'].mean_width!);
  });

  it('records the SHA-256 of every file its model predicts from, so that weights changed since training are refused at load', async () => {
    for (const [modelType, model] of [['LSTM', ['model/model.json', 'model/weights.bin']], ['NAIVE', ['model/naive.json']]] as const) {
      const record = await trainRun(modelType, data, settings(), { store });
      const files = [...model, 'scaler.json', 'intervals.json'].sort();
      expect(Object.keys(record.artifact_sha256 ?? {}).sort()).toEqual(files);
      for (const file of files) {
        const stored = createHash('sha256').update(await store.get('runs', `${record.run_id}/${file}`)).digest('hex');
        expect(record.artifact_sha256![file], file).toBe(stored);
      }
      expect((await readRunRecord(store, settings(), record.run_id)).artifact_sha256).toEqual(record.artifact_sha256);
      const key = `${record.run_id}/${model.at(-1)}`;
      const bytes = Buffer.from(await store.get('runs', key));
      bytes[bytes.length - 4] ^= 0x01;
      await store.put('runs', key, bytes);
      await expect(loadRunForServing(store, settings(), record.run_id)).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining(`${key} does not have the SHA-256 its run recorded`) });
    }
  });

  it('seals the record it finishes with, so that an edit of run.json since training is refused at load', async () => {
    const record = await trainRun('NAIVE', data, settings(), { store });
    const stored = await readRunRecord(store, settings(), record.run_id);
    expect(stored.record_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(runRecordDigest(stored)).toBe(stored.record_sha256);
    expect((await loadRunForServing(store, settings(), record.run_id)).run.run_id).toBe(record.run_id);
    const key = `${record.run_id}/run.json`;
    // Without its digests, a swapped model or scaler would load unchecked.
    await store.put('runs', key, JSON.stringify({ ...stored, artifact_sha256: undefined }));
    await expect(loadRunForServing(store, settings(), record.run_id)).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining(`${key} does not have the SHA-256 its training sealed it with`) });
  });

  it('trains the SNAIVE and MSTL baselines like any other type, each with its own window and intervals', async () => {
    // SNAIVE reads a whole day (720 rows at this 2-minute step) and MSTL fits its season on two days or more.
    const long = syntheticProcessedData(1800, 200);
    for (const modelType of ['SNAIVE', 'MSTL'] as const) {
      const record = await trainRun(modelType, long, settings(), { store });
      expect(record.status).toBe('SUCCESS');
      expect(record.window.features).toEqual(['down']);
      expect(record.metrics!.test.count).toBe(long.test.time.length);
      expect(record.metrics!.test.targets.down.intervals!['0.8'].coverage).toBeGreaterThan(0);
      const { model, intervals } = await loadRunForServing(store, settings(), record.run_id);
      expect(model.modelType).toBe(modelType);
      // SNAIVE's error is the difference of two rows a period apart; MSTL's, the error of the smoothing of its
      // seasonally adjusted window, whose season the calibration keeps for serving.
      expect(intervals?.scale).toBe(modelType === 'SNAIVE' ? 'seasonal-volatility' : 'smoothing');
      expect(intervals?.season?.profiles.down?.length).toBe(modelType === 'MSTL' ? 720 : undefined);
      // SNAIVE fits nothing: every training window it can forecast (all but the first day) calibrates it.
      expect(intervals?.calibration).toBe(modelType === 'SNAIVE' ? 'training-windows' : 'validation-tail');
      if (modelType === 'SNAIVE') expect(intervals?.windows).toBe(long.train.time.length - 720);
      // A served forecast gets the band the run's test coverage was measured on.
      const test = prepareWindows(long, record.window, 0.1).test;
      const last = test.size - 1;
      const first = test.x.subarray(last * record.window.inputSeqLen, (last + 1) * record.window.inputSeqLen);
      const forecast = { time: test.forecastTimes.subarray(last, last + 1), values: [Float64Array.from(inverseScaleColumn(long.scaler, 'down', await model.predict({ windows: first, size: 1, forecastTimes: test.forecastTimes.subarray(last, last + 1) })))] };
      const [served] = forecastIntervals(await createIntervalSource(intervals!, [0.8]), record.window, first, forecast);
      const stored = (await getJson<PredictionsArtifact>(store, 'runs', `${record.run_id}/predictions.json`)).intervals!.down['0.8'];
      expect(served!.down['0.8'][0]).toBeCloseTo(stored.lower[last], 0);
      expect(served!.down['0.8'][1]).toBeCloseTo(stored.upper[last], 0);
      model.dispose();
    }
  });

  it('keeps the best epoch and is reproducible with the same seed', async () => {
    const s = settings();
    s.training.epochs = 3;
    const first = await trainRun('GRU', data, s, { store });
    const second = await trainRun('GRU', data, s, { store });
    // The same saved network, names included, although the process built other networks before and between them.
    const saved = async (runId: string) => Buffer.from(await store.get('runs', `${runId}/model/model.json`)).toString('utf8');
    expect(await saved(second.run_id)).toBe(await saved(first.run_id));
    expect(second.metrics!.test_rmse).toBe(first.metrics!.test_rmse);
    const { epochs } = await getJson<{ epochs: EpochRecord[] }>(store, 'runs', `${first.run_id}/metrics.json`);
    const best = epochs.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
    expect(first.best_epoch).toBe(best.epoch);
    expect(first.metrics!.val_loss).toBe(best.val_loss);
    s.training.seed = 7;
    const other = await trainRun('GRU', data, s, { store });
    expect(other.metrics!.test_rmse).not.toBe(first.metrics!.test_rmse);
  });

  describe('after early stopping', () => {
    const s = settings();
    // The processed inputs as they are: these trajectories were chosen so that a drop stage wins; the standardised
    // inputs (the default) have their own test below.
    s.training = { ...s.training, epochs: 8, patience: 2, lrDrops: 0, engine: 'fused', workers: 1, inputScaling: 'none', targetForm: 'level' };
    // Two days of rows, so that the validation tail lies on a part of the daily cycle the fit has seen.
    const long = syntheticProcessedData(1500, 100);
    const window = modelWindow('GRU', long, s);
    const windows = prepareWindows(long, window, s.training.validationSplit);
    const fitGru = (training: Partial<Settings['training']>, events: FltsEvent[] = []) =>
      fitForecastModel('GRU', long.train, windows, window, { ...s, training: { ...s.training, ...training } }, { runId: 'after', scaler: long.scaler, onEvent: (event) => events.push(event) });
    /** What progress shows: the epochs announced, the epoch of each epoch_end and of each batch_end. */
    const progress = (events: FltsEvent[]) => ({
      announced: events.flatMap((event) => (event.type === 'train.start' ? [event.epochs] : [])),
      epochEnds: events.flatMap((event) => (event.type === 'train.epoch_end' ? [event.epoch] : [])),
      batchEpochs: [...new Set(events.flatMap((event) => (event.type === 'train.batch_end' ? [event.epoch] : [])))],
    });
    const tailError = async (model: ForecastModel) => {
      const predicted = await predictWindows(model, windows.validation);
      return predicted.reduce((sum, p, i) => sum + (p - windows.validation.y[i]) ** 2, 0) / predicted.length;
    };
    const losses = (history: EpochRecord[] | undefined) => history?.map(({ loss, val_loss }) => [loss, val_loss]);
    // The fit with these settings as they are, which four tests compare against: seeded, so fitted once for all.
    let plain: ReturnType<typeof fitGru> | undefined;
    const plainFit = () => (plain ??= fitGru({}));
    afterAll(async () => (await plain)?.model.dispose());

    it('lrDrops: a stage at a tenth of the rate continues from the best weights and counts only where it lowers the validation loss', async () => {
      const plain = await plainFit();
      const events: FltsEvent[] = [];
      const dropped = await fitGru({ lrDrops: 2 }, events);
      const history = dropped.history!;
      // Progress counts on across the stages within the one budget, as the history numbers the epochs.
      expect(progress(events)).toEqual({ announced: [s.training.epochs], epochEnds: history.map((epoch) => epoch.epoch), batchEpochs: history.map((epoch) => epoch.epoch) });
      expect(losses(history.slice(0, plain.history!.length))).toEqual(losses(plain.history));
      // The first drop must be kept here, or the test would not see a stage count.
      expect(dropped.bestEpoch).toBeGreaterThan(plain.history!.length);
      expect(dropped.bestValLoss).toBeLessThan(plain.bestValLoss!);
      expect(dropped.bestValLoss).toBe(Math.min(...history.map((epoch) => epoch.val_loss)));
      expect(history[dropped.bestEpoch! - 1].val_loss).toBe(dropped.bestValLoss);
      history.forEach((epoch, i) => expect(epoch.epoch).toBe(i + 1));
      // The drops share the epoch budget.
      expect(history.length).toBeLessThanOrEqual(s.training.epochs);
      // The network kept is the best epoch's, whichever stage it came from.
      expect(relative(await tailError(dropped.model), dropped.bestValLoss!)).toBeLessThan(1e-4);
      dropped.model.dispose();
    });

    it('refit: the saved network also learns the validation tail, its intervals calibrated on the tail errors of the network before it saw the tail', async () => {
      const plain = await plainFit();
      const events: FltsEvent[] = [];
      const refit = await fitGru({ refit: 'tail', refitEpochs: 20 }, events);
      // The refit's epochs follow the fit's in progress, and the announced epochs include them.
      const counted = Array.from({ length: plain.history!.length + 20 }, (_, i) => i + 1);
      expect(progress(events)).toEqual({ announced: [s.training.epochs + 20], epochEnds: counted, batchEpochs: counted });
      // Each epoch's batches are its own: the refit's are the tail's, not the fit head's announced at the start.
      const batchCounts = (refitting: boolean) => [...new Set(events.flatMap((event) => (event.type === 'train.batch_end' && event.epoch > plain.history!.length === refitting ? [event.batches] : [])))];
      expect([batchCounts(false), batchCounts(true)]).toEqual([[Math.ceil(windows.fit.size / s.training.batchSize)], [Math.ceil(windows.validation.size / s.training.batchSize)]]);
      expect(plain.intervals?.calibration).toBe('training-windows');
      expect(refit.intervals).toEqual(await calibrateModelIntervals(plain.model, windows.validation, window, long.scaler, 'validation-tail', { steps: s.eval.intervalSteps }));
      // Early stopping is the plain fit's; the refit trains on the tail, so it forecasts it better.
      expect(losses(refit.history)).toEqual(losses(plain.history));
      expect(refit.bestEpoch).toBe(plain.bestEpoch);
      expect(await tailError(refit.model)).toBeLessThan(await tailError(plain.model));
      refit.model.dispose();
      const record = await trainRun('GRU', long, { ...s, training: { ...s.training, refit: 'tail', refitEpochs: 20 } }, { store });
      expect(record.params).toMatchObject({ refit: 'tail', refit_epochs: 20 });
      expect((await getJson<IntervalCalibration>(store, 'runs', `${record.run_id}/intervals.json`)).errors).toEqual(refit.intervals!.errors);
    });

    it('an early-stopped network is calibrated on every training window of the last four weeks, one without early stopping on the tail', async () => {
      const stopped = await plainFit();
      expect(stopped.intervals?.calibration).toBe('training-windows');
      expect(stopped.intervals).toEqual(await calibrateOnTrainingWindows(stopped.model, long.train, window, long.scaler, s.eval.intervalSteps));
      // Every training window, the fit's and the tail's (the data is shorter than four weeks).
      expect(stopped.intervals?.windows).toBe(windows.fit.size + windows.validation.size);
      const unstopped = await fitGru({ earlyStopping: false, epochs: 2 });
      expect(unstopped.intervals).toBeUndefined();
      const record = await trainRun('GRU', long, { ...s, training: { ...s.training, earlyStopping: false, epochs: 2 } }, { store });
      expect(await getJson<IntervalCalibration>(store, 'runs', `${record.run_id}/intervals.json`)).toMatchObject({ calibration: 'validation-tail', windows: windows.validation.size });
      unstopped.model.dispose();
    });

    it('inputScaling standard: the network fits standardised inputs, is saved with the map folded in, and the refit calibrates on the network before the fold', async () => {
      const none = await plainFit();
      const standard = await fitGru({ inputScaling: 'standard' });
      // Another fit (the inputs differ), whose forecasts of processed windows are its validation loss: the fold kept the network.
      expect(losses(standard.history)).not.toEqual(losses(none.history));
      expect(relative(await tailError(standard.model), standard.bestValLoss!)).toBeLessThan(1e-4);
      const refit = await fitGru({ inputScaling: 'standard', refit: 'tail', refitEpochs: 2 });
      expect(losses(refit.history)).toEqual(losses(standard.history));
      const before = await calibrateModelIntervals(standard.model, windows.validation, window, long.scaler, 'validation-tail', { steps: s.eval.intervalSteps });
      // Calibrated through the map on the network not yet folded: the folded network's errors, to float32 rounding
      // (of forecasts near 1e8, so relative to the largest error).
      refit.intervals!.errors.down.forEach((step, h) => step.forEach((e, i) => expect(Math.abs(e - before.errors.down[h][i])).toBeLessThan(1e-5 * step[step.length - 1])));
      const record = await trainRun('GRU', long, { ...s, training: { ...s.training, inputScaling: 'standard' } }, { store });
      expect(record.params).toMatchObject({ input_scaling: 'standard' });
      for (const fitted of [standard, refit]) fitted.model.dispose();
    });
  });

  it('records NAIVE with the persistence metrics of the test file', async () => {
    const record = await trainRun('NAIVE', data, settings(), { store });
    const actual = inverseScaleColumn(data.scaler, 'down', data.test.values.down);
    const previous = [inverseScaleColumn(data.scaler, 'down', data.train.values.down.subarray(-1))[0], ...Array.from(actual.subarray(0, -1))];
    expect(record.metrics!.test.targets.down.original.rmse).toBeCloseTo(computeMetrics(actual, previous).rmse, 0);
  });

  it('records a level it has too few calibration windows for as uncalibrated, with no band, and warns once', async () => {
    const s = settings();
    s.eval = { ...s.eval, intervalLevels: ['0.8', '0.999999'] };
    const events: FltsEvent[] = [];
    const record = await trainRun('NAIVE', data, s, { store, onEvent: (event) => events.push(event) });
    expect(record.status).toBe('SUCCESS');
    const calibration = await getJson<IntervalCalibration>(store, 'runs', `${record.run_id}/intervals.json`);
    const reason = `too few calibration windows for 0.999999: need 999999, have ${calibration.errors.down[0].length}`;
    const intervals = record.metrics!.test.targets.down.intervals!;
    expect(intervals['0.999999']).toEqual({ coverage: null, mean_width: null, uncalibrated: reason });
    expect(intervals['0.8'].coverage).toBeGreaterThan(0.5);
    expect(intervals['0.8'].coverage).toBeLessThan(1);
    const warnings = events.flatMap((event) => (event.type === 'log' && event.level === 'warn' ? [event.message] : []));
    expect(warnings).toEqual([`NAIVE run ${record.run_id}: no prediction band (and no coverage) at down 0.999999: ${reason}`]);
    const bands = (await getJson<PredictionsArtifact>(store, 'runs', `${record.run_id}/predictions.json`)).intervals!.down;
    expect(new Set([...bands['0.999999'].lower, ...bands['0.999999'].upper])).toEqual(new Set([null]));
  });

  it('bounds the bands of a target that never went below zero in training at 0, and leaves a target that did unbounded', async () => {
    // The test rows cover the daily trough: shifted down by 3.99e7 the series comes within 1e5 of zero there,
    // closer than the 95 % band reaches, and shifted by 1e8 it goes below zero.
    const saved = async (downShift: number) => {
      const record = await trainRun('NAIVE', syntheticProcessedData(500, 100, downShift), settings(), { store });
      const key = (file: string) => `${record.run_id}/${file}`;
      return { calibration: await getJson<IntervalCalibration>(store, 'runs', key('intervals.json')), bands: (await getJson<PredictionsArtifact>(store, 'runs', key('predictions.json'))).intervals!.down };
    };
    const nonNegative = await saved(-3.99e7);
    expect(nonNegative.calibration.lowerBounds).toEqual({ down: 0 });
    for (const band of Object.values(nonNegative.bands)) expect(Math.min(...band.lower)).toBeGreaterThanOrEqual(0);
    expect(nonNegative.bands['0.95'].lower).toContain(0);
    const negative = await saved(-1e8);
    expect(negative.calibration.lowerBounds).toBeUndefined();
    expect(Math.min(...negative.bands['0.95'].lower)).toBeLessThan(0);
  });

  it('loads a Prophet run that predicts exactly what the trained model predicted', async () => {
    const record = await trainRun('PROPHET', data, settings(), { store });
    expect(record.status).toBe('SUCCESS');
    const { predicted, artifact } = await loadedPredictions(record.run_id);
    // Serving loads recurrent runs through the fused inference path, whose float32 arithmetic differs from
    // training's in the last bits: compare relative to the magnitude of the forecast (original units, ~1e8).
    predicted.forEach((v, i) => expect(Math.abs(v - artifact.predicted.down[i])).toBeLessThanOrEqual(1e-6 * Math.abs(artifact.predicted.down[i])));
  });

  it('fits Prophet on a constant target (all zeros once scaled) and forecasts the constant, trained and loaded', async () => {
    const flat = (frame: typeof data.train) => ({ ...frame, values: { ...frame.values, down: new Float64Array(frame.time.length) } });
    const constant = { ...data, train: flat(data.train), test: flat(data.test) };
    const record = await trainRun('PROPHET', constant, settings(), { store });
    expect(record.status).toBe('SUCCESS');
    const artifact = await getJson<PredictionsArtifact>(store, settings().store.buckets.runs, `${record.run_id}/predictions.json`);
    const level = data.scaler.offset[data.scaler.columns.indexOf('down')];
    artifact.predicted.down.forEach((value) => expect(value).toBeCloseTo(level, 0));
    const { model, run } = await loadRunForServing(store, settings(), record.run_id);
    const windows = prepareWindows(constant, run.window, settings().training.validationSplit).test;
    const scaled = await model.predict({ windows: windows.x, size: windows.size, forecastTimes: windows.forecastTimes });
    model.dispose();
    scaled.forEach((value) => expect(Math.abs(value)).toBeLessThan(1e-6));
  });

  it('calibrates Prophet intervals on the validation tail with a fit that never saw it', async () => {
    const s = settings();
    const record = await trainRun('PROPHET', data, s, { store });
    const { model, intervals } = await loadRunForServing(store, s, record.run_id);
    const windows = prepareWindows(data, record.window, s.training.validationSplit);
    const rows = data.train.time.length - windows.validation.size - record.window.outputSeqLen + 1;
    const before = fitProphetModel(selectRows(data.train, 0, rows), record.window, s.training.prophet, s.training.seed).model;
    const fitEnd = data.train.time[data.train.time.length - 1];
    const outOfSample = await calibrateModelIntervals(before, windows.validation, record.window, data.scaler, 'validation-tail', { fitEnds: { calibrating: data.train.time[rows - 1], served: fitEnd }, steps: s.eval.intervalSteps });
    const inSample = await calibrateModelIntervals(model, windows.validation, record.window, data.scaler, 'in-sample', { fitEnds: { calibrating: fitEnd, served: fitEnd }, steps: s.eval.intervalSteps });
    before.dispose();
    model.dispose();
    expect(intervals?.calibration).toBe('validation-tail');
    expect(intervals?.errors).toEqual(outOfSample.errors);
    expect(intervals?.errors).not.toEqual(inSample.errors);
    // Prophet reads no recent values, and its bands widen past the end of the saved model's fit.
    expect(intervals?.scale).toBe('constant');
    expect(intervals?.growth).toEqual(outOfSample.growth);
    expect(intervals?.growth?.fitEnd).toBe(fitEnd);
  });

  it('saves the floor of a target that never went negative with the run, and the loaded model keeps to it', async () => {
    const record = await trainRun('NAIVE', data, settings(), { store });
    const down = data.scaler.columns.indexOf('down');
    const zero = -data.scaler.offset[down] / data.scaler.scale[down];
    expect(record.window.targetFloors?.down).toBeCloseTo(zero, 12);
    const { model, run } = await loadRunForServing(store, settings(), record.run_id);
    const nf = run.window.features.length;
    const windows = new Float32Array(run.window.inputSeqLen * nf).fill(zero - 1);
    const [forecast] = await model.predict({ windows, size: 1, forecastTimes: new Float64Array(1) });
    model.dispose();
    expect(forecast).toBeCloseTo(zero, 5);
  });

  it('records FAILED with the error and rethrows it', async () => {
    const s = settings();
    s.training.targets = ['nope'];
    const error = (await trainRun('LSTM', data, s, { store }).catch((e: unknown) => e)) as { code: string; details: { runId: string } };
    expect(error.code).toBe('FLTS_MODEL_TARGET_MISSING');
    const record = await readRunRecord(store, s, error.details.runId);
    expect(record.status).toBe('FAILED');
    expect(record.error?.message).toMatch(/nope/);
  });

  it('stops on abort and records KILLED, logged as a warning rather than a failure', async () => {
    const abort = new AbortController();
    const logged: Array<[string, string | undefined]> = [];
    const record = (level: string) => (_entry: object, msg?: string) => void logged.push([level, msg]);
    const logger: Logger = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
    const error = (await trainRun('LSTM', data, settings(), {
      store,
      signal: abort.signal,
      logger,
      onEvent: (event) => {
        if (event.type === 'train.batch_end' && event.batch === 2) abort.abort();
      },
    }).catch((e: unknown) => e)) as { code: string; details: { runId: string } };
    expect(error.code).toBe('FLTS_TRAIN_ABORTED');
    expect((await readRunRecord(store, settings(), error.details.runId)).status).toBe('KILLED');
    expect(logged).toContainEqual(['warn', 'train_killed']);
    expect(logged.filter(([level]) => level === 'error')).toEqual([]);
  });

  it('stops between the forecasts after the fit once the event loop sees the abort, and records KILLED', async () => {
    const abort = new AbortController();
    const events: FltsEvent[] = [];
    const error = (await trainRun('LSTM', data, { ...settings(), training: { ...settings().training, epochs: 1 } }, {
      store,
      signal: abort.signal,
      onEvent: (event) => {
        events.push(event);
        // The abort comes from a later turn of the event loop, as a SIGINT handler's would.
        if (event.type === 'train.predict' && event.stage === 'recursive' && event.done === 1) setImmediate(() => abort.abort());
      },
    }).catch((e: unknown) => e)) as { code: string; details: { runId: string } };
    expect(error.code).toBe('FLTS_TRAIN_ABORTED');
    expect((await readRunRecord(store, settings(), error.details.runId)).status).toBe('KILLED');
    const recursive = events.filter((event) => event.type === 'train.predict' && event.stage === 'recursive');
    // One step of the intervals' 30 ran; the remaining steps and the test forecasts did not.
    expect(recursive).toEqual([{ type: 'train.predict', runId: error.details.runId, stage: 'recursive', done: 1, total: 30 }]);
    expect(events.filter((event) => event.type === 'train.predict' && event.stage === 'test')).toEqual([]);
    expect(events.at(-1)).toEqual({ type: 'train.done', runId: error.details.runId, status: 'KILLED' });
  });

  it('reports every chunk of the forecasts after the fit', async () => {
    const events: FltsEvent[] = [];
    const record = await trainRun('LSTM', data, { ...settings(), training: { ...settings().training, epochs: 1 } }, { store, onEvent: (event) => events.push(event) });
    expect(record.status).toBe('SUCCESS');
    const stages = events.flatMap((event) => (event.type === 'train.predict' ? [`${event.stage} ${event.done}/${event.total}`] : []));
    expect(stages.filter((stage) => stage.startsWith('recursive'))).toEqual(Array.from({ length: 30 }, (_, i) => `recursive ${i + 1}/30`));
    expect(stages.at(-1)).toBe(`test ${data.test.time.length}/${data.test.time.length}`);
  });
});
