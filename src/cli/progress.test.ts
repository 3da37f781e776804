import { describe, expect, it } from 'vitest';
import { createBacktestProgress, createTrainProgress, drawsBars } from './progress.js';

const events = [
  { type: 'train.start', runId: 'r1', modelType: 'LSTM', backend: 'wasm', epochs: 2, batchesPerEpoch: 3 },
  { type: 'train.batch_end', runId: 'r1', epoch: 1, batch: 1, batches: 3, loss: 0.5 },
  { type: 'train.epoch_end', runId: 'r1', epoch: 1, loss: 0.25, valLoss: 0.125, samplesPerSec: 321.4 },
  { type: 'train.done', runId: 'r1', status: 'SUCCESS' },
] as const;

describe('cli > progress', () => {
  it('prints one plain line per epoch when not on a terminal', () => {
    const lines: string[] = [];
    const progress = createTrainProgress({ json: false, tty: false, say: (line) => lines.push(line) });
    events.forEach((event) => progress.onEvent(event));
    progress.stop();
    expect(lines).toEqual(['LSTM run r1: 2 epochs x 3 batches, backend wasm', 'LSTM epoch 1/2: loss 2.500e-1, val_loss 1.250e-1, 321 samples/s']);
  });

  it('prints a warning the run reports, and leaves its info lines to the log', () => {
    const lines: string[] = [];
    const progress = createTrainProgress({ json: false, tty: false, say: (line) => lines.push(line) });
    progress.onEvent({ type: 'log', level: 'warn', message: 'NAIVE run r1: no prediction band (and no coverage) at down 0.95: too few calibration windows for 0.95: need 19, have 5' });
    progress.onEvent({ type: 'log', level: 'info', message: 'detail' });
    expect(lines).toEqual(['warning: NAIVE run r1: no prediction band (and no coverage) at down 0.95: too few calibration windows for 0.95: need 19, have 5']);
  });

  it('prints nothing under --json', () => {
    const lines: string[] = [];
    const progress = createTrainProgress({ json: true, tty: true, say: (line) => lines.push(line) });
    events.forEach((event) => progress.onEvent(event));
    expect(lines).toEqual([]);
  });

  it('draws a bar with the loss on a terminal stream', () => {
    const written: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ json: false, tty: true, say: () => {}, stream });
    progress.onEvent(events[0]);
    progress.onEvent(events[1]);
    progress.stop();
    expect(written.join('')).toMatch(/LSTM epoch 1\/2 .* 1\/3 loss 5\.000e-1/);
  });

  it('draws a bar per stage of the forecasts after the fit on a terminal, and nothing otherwise', () => {
    const written: string[] = [];
    const lines: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (chunk: string) => written.push(chunk), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const progress = createTrainProgress({ json: false, tty: true, say: () => {}, stream });
    const plain = createTrainProgress({ json: false, tty: false, say: (line) => lines.push(line) });
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
    const progress = createTrainProgress({ json: false, tty: true, say: () => {}, stream });
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
    const progress = createTrainProgress({ json: false, tty: true, say: (line) => lines.push(line), stream });
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
    const onEvent = createBacktestProgress((line) => lines.push(line));
    for (let fold = 0; fold < 20; fold++) onEvent({ type: 'backtest.fold', modelType: 'PROPHET', fold, folds: 20, rmse: 0.1 });
    for (let fold = 0; fold < 3; fold++) onEvent({ type: 'backtest.fold', modelType: 'NAIVE', fold, folds: 3, rmse: 0.1 });
    onEvent({ type: 'train.done', runId: 'r1', status: 'SUCCESS' });
    expect(lines).toEqual([...[2, 4, 6, 8, 10, 12, 14, 16, 18].map((done) => `PROPHET: ${done}/20 folds`), 'PROPHET: 20 folds done', 'NAIVE: 1/3 folds', 'NAIVE: 2/3 folds', 'NAIVE: 3 folds done']);
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
    const progress = createTrainProgress({ json: false, tty: drawsBars(stream, { TERM: 'dumb' }), say: (line) => lines.push(line), stream });
    events.forEach((event) => progress.onEvent(event));
    progress.stop();
    expect(written.join('')).toBe('');
    expect(lines).toEqual(['LSTM run r1: 2 epochs x 3 batches, backend wasm', 'LSTM epoch 1/2: loss 2.500e-1, val_loss 1.250e-1, 321 samples/s']);
  });
});
