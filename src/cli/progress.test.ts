import { describe, expect, it } from 'vitest';
import { forecastEveryWindow } from '../core/batch/batch-forecast.js';
import type { FltsEvent } from '../core/events.js';
import { createFeaturePlan } from '../core/forecast/feature-plan.js';
import type { WindowSpec } from '../core/models/forecast-model.js';
import { createNaiveModel } from '../core/models/naive-model.js';
import { createProgressLog } from './progress-log.js';
import { createBacktestProgress, createPredictProgress, createTrainProgress, drawsBars } from './progress.js';

const events = [
  { type: 'train.start', runId: 'r1', modelType: 'LSTM', backend: 'wasm', epochs: 2, batchesPerEpoch: 3 },
  { type: 'train.batch_end', runId: 'r1', epoch: 1, batch: 1, batches: 3, loss: 0.5 },
  { type: 'train.epoch_end', runId: 'r1', epoch: 1, loss: 0.25, valLoss: 0.125, samplesPerSec: 321.4 },
  { type: 'train.done', runId: 'r1', status: 'SUCCESS' },
] as const;

describe('cli > progress', () => {
  it('prints one plain line per epoch when not on a terminal', () => {
    const lines: string[] = [];
    const progress = createTrainProgress({ tty: false, say: (line) => lines.push(line) });
    events.forEach((event) => progress.onEvent(event));
    progress.stop();
    expect(lines).toEqual(['LSTM run r1: 2 epochs x 3 batches, backend wasm', 'LSTM epoch 1/2: loss 2.500e-1, val_loss 1.250e-1, 321 samples/s']);
  });

  it('prints a warning the run reports, and its notes (a wait on another process\'s run), which no log line said', () => {
    const lines: string[] = [];
    const progress = createTrainProgress({ tty: false, say: (line) => lines.push(line) });
    progress.onEvent({ type: 'log', level: 'warn', message: 'NAIVE run r1: no prediction band (and no coverage) at down 0.95: too few calibration windows for 0.95: need 19, have 5' });
    progress.onEvent({ type: 'log', level: 'info', message: 'LSTM: waiting for run r0 (pid 7 on host) to end before training.' });
    expect(lines).toEqual(['warning: NAIVE run r1: no prediction band (and no coverage) at down 0.95: too few calibration windows for 0.95: need 19, have 5', 'LSTM: waiting for run r0 (pid 7 on host) to end before training.']);
  });

  it('draws a bar with the loss on a terminal stream', () => {
    const written: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ tty: true, say: () => {}, stream });
    progress.onEvent(events[0]);
    progress.onEvent(events[1]);
    progress.stop();
    expect(written.join('')).toMatch(/LSTM epoch 1\/2 .* 1\/3 loss 5\.000e-1/);
  });

  it('draws a bar per stage of the forecasts after the fit on a terminal, and nothing otherwise', () => {
    const written: string[] = [];
    const lines: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ tty: true, say: () => {}, stream });
    const plain = createTrainProgress({ tty: false, say: (line) => lines.push(line) });
    const predicted = [events[0], { type: 'train.predict', runId: 'r1', stage: 'calibration', done: 1024, total: 4000 }, { type: 'train.predict', runId: 'r1', stage: 'recursive', done: 3, total: 30 }] as const;
    predicted.forEach((event) => {
      progress.onEvent(event);
      plain.onEvent(event);
    });
    progress.stop();
    expect(written.join('')).toMatch(/LSTM interval calibration windows .* 1024\/4000/);
    expect(written.join('')).toMatch(/LSTM interval steps past the horizon .* 3\/30/);
    expect(lines).toEqual(['LSTM run r1: 2 epochs x 3 batches, backend wasm']);
  });

  it("draws a refit epoch's bar out of the refit's own batches, not the main fit's", () => {
    const written: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ tty: true, say: () => {}, stream });
    progress.onEvent({ type: 'train.start', runId: 'r1', modelType: 'LSTM', backend: 'wasm', epochs: 3, batchesPerEpoch: 40 });
    progress.onEvent({ type: 'train.batch_end', runId: 'r1', epoch: 1, batch: 1, batches: 40, loss: 0.5 });
    progress.onEvent({ type: 'train.epoch_end', runId: 'r1', epoch: 1, loss: 0.5 });
    written.length = 0;
    progress.onEvent({ type: 'train.batch_end', runId: 'r1', epoch: 2, batch: 1, batches: 4, loss: 0.25 });
    progress.stop();
    expect(written.join('')).toMatch(/LSTM epoch 2\/3 .* 1\/4 loss 2\.500e-1/);
  });

  it('names each model on its own lines when two train side by side, and draws the bar of one run at a time', () => {
    const lines: string[] = [];
    const written: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ tty: true, say: (line) => lines.push(line), stream });
    progress.onEvent({ type: 'train.start', runId: 'r1', modelType: 'LSTM', backend: 'wasm', epochs: 2, batchesPerEpoch: 3 });
    progress.onEvent({ type: 'train.start', runId: 'r2', modelType: 'GRU', backend: 'wasm', epochs: 4, batchesPerEpoch: 5 });
    progress.onEvent({ type: 'train.batch_end', runId: 'r1', epoch: 1, batch: 1, batches: 3, loss: 0.5 });
    progress.onEvent({ type: 'train.batch_end', runId: 'r2', epoch: 1, batch: 1, batches: 5, loss: 0.75 });
    progress.onEvent({ type: 'train.epoch_end', runId: 'r2', epoch: 1, loss: 0.5, valLoss: 0.25, samplesPerSec: 100 });
    progress.onEvent({ type: 'train.epoch_end', runId: 'r1', epoch: 1, loss: 0.25, valLoss: 0.125, samplesPerSec: 200 });
    progress.stop();
    expect(lines.slice(2)).toEqual(['GRU epoch 1/4: loss 5.000e-1, val_loss 2.500e-1, 100 samples/s', 'LSTM epoch 1/2: loss 2.500e-1, val_loss 1.250e-1, 200 samples/s']);
    const drawn = written.join('');
    expect(drawn).toMatch(/LSTM epoch 1\/2 .* 1\/3 loss 5\.000e-1/);
    expect(drawn).not.toMatch(/GRU epoch/);
  });

  it('says each model\'s backtest folds at every tenth of them, then its total', () => {
    // Before: only the total, so a refitting backtest said nothing for minutes on each model.
    const lines: string[] = [];
    const { onEvent } = createBacktestProgress({ tty: false, say: (line) => lines.push(line) });
    onEvent({ type: 'backtest.model_start', modelType: 'PROPHET', runId: 'r1', folds: 20, refitEvery: 5 });
    for (let fold = 0; fold < 20; fold++) onEvent({ type: 'backtest.fold', modelType: 'PROPHET', fold, folds: 20, rmse: 0.1 });
    onEvent({ type: 'backtest.model_start', modelType: 'NAIVE', runId: null, folds: 3, refitEvery: 5 });
    for (let fold = 0; fold < 3; fold++) onEvent({ type: 'backtest.fold', modelType: 'NAIVE', fold, folds: 3, rmse: 0.1 });
    onEvent({ type: 'train.done', runId: 'r1', status: 'SUCCESS' });
    expect(lines).toEqual(['PROPHET: 20 folds, refit every 5', ...[2, 4, 6, 8, 10, 12, 14, 16, 18].map((done) => `PROPHET: ${done}/20 folds`), 'PROPHET: 20 folds done', 'NAIVE: 3 folds, refit every 5', 'NAIVE: 1/3 folds', 'NAIVE: 2/3 folds', 'NAIVE: 3 folds done']);
  });

  it('draws a bar of each model\'s folds on a terminal, and says its total when done', () => {
    // Before: plain lines on a terminal too, where train and bench draw bars.
    const written: string[] = [];
    const lines: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createBacktestProgress({ tty: true, say: (line) => lines.push(line), stream });
    progress.onEvent({ type: 'backtest.model_start', modelType: 'MSTL', runId: null, folds: 40, refitEvery: 0 });
    for (let fold = 0; fold < 7; fold++) progress.onEvent({ type: 'backtest.fold', modelType: 'MSTL', fold, folds: 40, rmse: 0.1 });
    progress.stop();
    expect(written.join('')).toMatch(/MSTL folds .* 7\/40/);
    expect(lines).toEqual([]);
    const finished = createBacktestProgress({ tty: true, say: (line) => lines.push(line), stream });
    finished.onEvent({ type: 'backtest.model_start', modelType: 'NAIVE', runId: null, folds: 3, refitEvery: 0 });
    for (let fold = 0; fold < 3; fold++) finished.onEvent({ type: 'backtest.fold', modelType: 'NAIVE', fold, folds: 3, rmse: 0.1 });
    expect(lines).toEqual(['NAIVE: 3 folds done']);
  });

  it('says a forecast\'s windows at each tenth and the total, as text and log lines alike, also when a chunk is longer than a tenth', async () => {
    // 1,431 windows in chunks of 256: each chunk stepped over a tenth or two, 6 lines where README says one a tenth.
    const window: WindowSpec = { inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] };
    const rows = 1432;
    const frame = { time: Float64Array.from({ length: rows }, (_, i) => i * 60_000), columns: ['down'], values: { down: Float64Array.from({ length: rows }, (_, i) => i) } };
    const lines: string[] = [];
    const logged: number[] = [];
    const text = createPredictProgress({ tty: false, say: (line) => lines.push(line) });
    const log = createProgressLog({ info: (fields: object) => logged.push((fields as { windows: number }).windows), warn: () => {} } as never);
    const onChunk = (windows: number, total: number) => {
      const event: FltsEvent = { type: 'batch.progress', windows, total };
      text.onEvent(event);
      log(event);
    };
    const plan = createFeaturePlan(window, { method: 'MinMaxScaler', columns: ['down'], offset: [0], scale: [1] });
    await forecastEveryWindow(plan, createNaiveModel(window), { frame, scaled: false, cadenceMs: 60_000, warnings: [], source: 'test' }, { chunkSize: 256, onChunk });
    const said = [144, 287, 430, 573, 716, 859, 1002, 1145, 1288, 1431];
    expect(lines).toEqual(said.map((windows) => `forecast: ${windows}/1431 windows`));
    expect(logged).toEqual(said);
  });

  it('says a batch forecast\'s windows at every tenth of them off a terminal, and draws a bar on one', () => {
    // Before: `flts predict` over a long file said nothing until its report.
    const lines: string[] = [];
    const plain = createPredictProgress({ tty: false, say: (line) => lines.push(line) });
    for (let windows = 256; windows < 2000; windows += 256) plain.onEvent({ type: 'batch.progress', windows, total: 2000 });
    plain.onEvent({ type: 'batch.progress', windows: 2000, total: 2000 });
    expect(lines).toEqual(['forecast: 256/2000 windows', 'forecast: 512/2000 windows', 'forecast: 768/2000 windows', 'forecast: 1024/2000 windows', 'forecast: 1280/2000 windows', 'forecast: 1536/2000 windows', 'forecast: 1792/2000 windows', 'forecast: 2000/2000 windows']);
    const written: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const drawn = createPredictProgress({ tty: true, say: () => {}, stream });
    drawn.onEvent({ type: 'batch.progress', windows: 512, total: 2000 });
    drawn.stop();
    expect(written.join('')).toMatch(/forecast windows .* 512\/2000/);
  });
});

describe('cli > progress > drawsBars', () => {
  it('draws on a terminal, not off one', () => {
    expect(drawsBars({ isTTY: true }, { TERM: 'xterm-256color' })).toBe(true);
    expect(drawsBars({ isTTY: true }, {})).toBe(true);
    expect(drawsBars({ isTTY: false }, { TERM: 'xterm' })).toBe(false);
    expect(drawsBars({}, {})).toBe(false);
  });

  it('prints plain lines on a TERM=dumb terminal, which cannot move the cursor a bar redraws with', () => {
    expect(drawsBars({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    const lines: string[] = [];
    const written: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ tty: drawsBars(stream, { TERM: 'dumb' }), say: (line) => lines.push(line), stream });
    events.forEach((event) => progress.onEvent(event));
    progress.stop();
    expect(written.join('')).toBe('');
    expect(lines).toEqual(['LSTM run r1: 2 epochs x 3 batches, backend wasm', 'LSTM epoch 1/2: loss 2.500e-1, val_loss 1.250e-1, 321 samples/s']);
  });
});
