import { describe, expect, it } from 'vitest';
import type { FltsEvent } from '../core/events.js';
import { createProgressLog, tenthsOf } from './progress-log.js';

/** A logger that keeps what it is given, and a clock the test moves. */
function recorded() {
  const logged: Array<{ level: string; event?: string; fields: object }> = [];
  const logger = { info: (fields: object, event?: string) => logged.push({ level: 'info', fields, event }), warn: (fields: object, event?: string) => logged.push({ level: 'warn', fields, event }) };
  let ms = 0;
  return { logged, logger, now: () => ms, advance: (by: number) => (ms += by) };
}

describe('cli > progress log (--json progress on stderr)', () => {
  it('logs a model\'s start, each epoch with its losses and an ETA at the most epochs, and its end', () => {
    const { logged, logger, now, advance } = recorded();
    const onEvent = createProgressLog(logger, now);
    onEvent({ type: 'train.start', runId: 'r1', modelType: 'LSTM', backend: 'onnx', epochs: 4, batchesPerEpoch: 3 });
    onEvent({ type: 'train.batch_end', runId: 'r1', epoch: 1, batch: 1, batches: 3, loss: 0.5 });
    advance(2000);
    onEvent({ type: 'train.epoch_end', runId: 'r1', epoch: 1, loss: 0.25, valLoss: 0.125, samplesPerSec: 321.4 });
    advance(2000);
    onEvent({ type: 'train.epoch_end', runId: 'r1', epoch: 2, loss: 0.2, samplesPerSec: undefined });
    onEvent({ type: 'train.done', runId: 'r1', status: 'SUCCESS' });
    expect(logged).toEqual([
      { level: 'info', event: 'train_model_started', fields: { run_id: 'r1', model_type: 'LSTM', backend: 'onnx', epochs: 4, batches_per_epoch: 3 } },
      { level: 'info', event: 'train_epoch_done', fields: { run_id: 'r1', model_type: 'LSTM', epoch: 1, epochs: 4, loss: 0.25, val_loss: 0.125, samples_per_sec: 321, eta_sec: 6 } },
      { level: 'info', event: 'train_epoch_done', fields: { run_id: 'r1', model_type: 'LSTM', epoch: 2, epochs: 4, loss: 0.2, val_loss: null, samples_per_sec: null, eta_sec: 4 } },
      { level: 'info', event: 'train_model_done', fields: { run_id: 'r1', model_type: 'LSTM', status: 'SUCCESS', duration_ms: 4000 } },
    ]);
  });

  it('logs no done line for a run that failed before it started: no started line to close, its error tells the failure', () => {
    const { logged, logger } = recorded();
    const onEvent = createProgressLog(logger);
    onEvent({ type: 'train.done', runId: 'r0', status: 'FAILED' });
    onEvent({ type: 'train.start', runId: 'r1', modelType: 'NAIVE', backend: 'js', epochs: 0, batchesPerEpoch: 0 });
    onEvent({ type: 'train.done', runId: 'r1', status: 'FAILED' });
    expect(logged.map((line) => [line.event, (line.fields as { run_id: string }).run_id])).toEqual([
      ['train_model_started', 'r1'],
      ['train_model_done', 'r1'],
    ]);
  });

  it('logs preprocess\'s files as their parse begins and ends, its write and its end, processed or found stored', () => {
    const { logged, logger } = recorded();
    const onEvent = createProgressLog(logger);
    onEvent({ type: 'preprocess.reading', role: 'train', file: 'a.csv', bytes: 1200, files: 2 });
    onEvent({ type: 'preprocess.read', role: 'train', file: 'a.csv', rows: 60, columns: 2, filesDone: 1, files: 2 });
    onEvent({ type: 'preprocess.writing', configHash: 'h1', trainRows: 60, testRows: 20, columns: 8 });
    onEvent({ type: 'preprocess.done', configHash: 'h1', durationMs: 81.6 });
    onEvent({ type: 'preprocess.cached', configHash: 'h1', status: 'reused', durationMs: 4.2 });
    expect(logged).toEqual([
      { level: 'info', event: 'preprocess_file_reading', fields: { role: 'train', file: 'a.csv', bytes: 1200, files: 2 } },
      { level: 'info', event: 'preprocess_file_read', fields: { role: 'train', file: 'a.csv', rows: 60, columns: 2, files_done: 1, files: 2 } },
      { level: 'info', event: 'preprocess_writing', fields: { config_hash: 'h1', train_rows: 60, test_rows: 20, columns: 8 } },
      { level: 'info', event: 'preprocess_done', fields: { config_hash: 'h1', status: 'processed', duration_ms: 82 } },
      { level: 'info', event: 'preprocess_done', fields: { config_hash: 'h1', status: 'reused', duration_ms: 4 } },
    ]);
  });

  it('logs a backtest model\'s start and its folds at every tenth, with an ETA', () => {
    const { logged, logger, now, advance } = recorded();
    const onEvent = createProgressLog(logger, now);
    onEvent({ type: 'backtest.model_start', modelType: 'NAIVE', runId: null, folds: 40, refitEvery: 0 });
    for (let fold = 0; fold < 40; fold++) {
      advance(100);
      onEvent({ type: 'backtest.fold', modelType: 'NAIVE', fold, folds: 40, rmse: 0.5 });
    }
    expect(logged[0]).toEqual({ level: 'info', event: 'backtest_model_started', fields: { model_type: 'NAIVE', run_id: null, folds: 40, refit_every: 0 } });
    expect(logged.slice(1).map((line) => line.fields)).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36, 40].map((fold) => ({ model_type: 'NAIVE', fold, folds: 40, rmse: 0.5, eta_sec: Math.round(((40 - fold) * 0.1 * fold) / fold) })));
    expect(new Set(logged.slice(1).map((line) => line.event))).toEqual(new Set(['backtest_fold_done']));
  });

  it('logs a batch forecast\'s windows at every tenth whatever the chunk, the post-fit forecasts likewise, and a run\'s warnings as warnings', () => {
    const { logged, logger, now, advance } = recorded();
    const onEvent = createProgressLog(logger, now);
    for (let windows = 256; windows < 2000; windows += 256) {
      onEvent({ type: 'batch.progress', windows, total: 2000 });
      advance(1000);
    }
    onEvent({ type: 'batch.progress', windows: 2000, total: 2000 });
    expect(logged.map((line) => line.event)).toEqual(Array(8).fill('predict_windows_done'));
    expect(logged.map((line) => (line.fields as { windows: number }).windows)).toEqual([256, 512, 768, 1024, 1280, 1536, 1792, 2000]);
    // 256 windows a second after the first chunk: 1488 windows left at 512 are 6 s (rounded).
    expect(logged.map((line) => (line.fields as { eta_sec: number | null }).eta_sec)).toEqual([null, 6, 5, 4, 3, 2, 1, 0]);
    logged.length = 0;
    onEvent({ type: 'train.predict', runId: 'r1', stage: 'test', done: 5, total: 5 });
    onEvent({ type: 'log', level: 'warn', message: 'GRU: too few rows. It is not trained.' });
    onEvent({ type: 'log', level: 'info', message: 'GRU: waiting for run r0 to end before training.' });
    expect(logged).toEqual([
      { level: 'info', event: 'train_forecast_progress', fields: { run_id: 'r1', model_type: null, stage: 'test', done: 5, total: 5 } },
      { level: 'warn', event: 'progress_warning', fields: { reason: 'GRU: too few rows. It is not trained.' } },
      { level: 'info', event: 'progress_note', fields: { reason: 'GRU: waiting for run r0 to end before training.' } },
    ]);
  });

  it('reports the first count past each tenth and the end, one loop per key, a loop run again from its start', () => {
    const passes = tenthsOf();
    expect([1, 2, 3].map((done) => passes('a', done, 3))).toEqual([true, true, true]);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].filter((done) => passes('b', done, 20))).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect([1, 2, 3].map((done) => passes('a', done, 3))).toEqual([true, true, true]);
  });

  it('logs bench groups and cells as info lines, the default rows as a warning', () => {
    const { logged, logger } = recorded();
    const onEvent = createProgressLog(logger);
    const variant = 'FLTS_SERVE_ENGINE=wasm';
    const events: FltsEvent[] = [
      { type: 'bench.payload_file', file: '/data/example_test.csv', origin: 'named', why: 'named by --dataset' },
      { type: 'bench.replicas_starting', replicas: 1, variant },
      { type: 'bench.replicas_ready', replicas: 1, variant, url: 'http://127.0.0.1:40000', pids: [11] },
      { type: 'bench.cell_start', phase: 'predict', protocol: 'http', replicas: 1, variant, connections: 16, durationSec: 30 },
      { type: 'bench.cell_progress', phase: 'predict', protocol: 'http', replicas: 1, variant, connections: 16, durationSec: 30, elapsedSec: 0.25, requests: 40 },
      { type: 'bench.cell_done', phase: 'predict', protocol: 'http', replicas: 1, variant, connections: 16, requestsPerSec: 5082.4, p99Ms: 25.7, errors: 0 },
      { type: 'bench.cell_interrupted', phase: 'baseline', protocol: 'http', replicas: 1, variant, connections: 64, durationSec: 5, elapsedSec: 1.04, requests: 900 },
      { type: 'bench.replicas_ready', replicas: null, url: 'http://127.0.0.1:8000', pids: [] },
      { type: 'bench.payload_file', file: '/data/PobleSec_test.csv', origin: 'default', why: 'the default dataset', hint: 'Name the data.' },
    ];
    events.forEach(onEvent);
    const group = { replicas: 1, variant };
    expect(logged).toEqual([
      { level: 'info', event: 'bench_request_rows', fields: { file: '/data/example_test.csv', origin: 'named', why: 'named by --dataset' } },
      { level: 'info', event: 'bench_replicas_starting', fields: group },
      { level: 'info', event: 'bench_replicas_ready', fields: { ...group, url: 'http://127.0.0.1:40000', pids: [11] } },
      { level: 'info', event: 'bench_cell_started', fields: { phase: 'predict', protocol: 'http', ...group, connections: 16, duration_sec: 30 } },
      { level: 'info', event: 'bench_cell_done', fields: { phase: 'predict', protocol: 'http', ...group, connections: 16, requests_per_sec: 5082.4, p99_ms: 25.7, errors: 0 } },
      { level: 'info', event: 'bench_cell_interrupted', fields: { phase: 'baseline', protocol: 'http', ...group, connections: 64, duration_sec: 5, elapsed_sec: 1.04, requests: 900 } },
      { level: 'info', event: 'bench_replicas_ready', fields: { replicas: null, url: 'http://127.0.0.1:8000', pids: [] } },
      { level: 'warn', event: 'bench_default_request_rows', fields: { event: 'bench_default_request_rows', file: '/data/PobleSec_test.csv', why: 'the default dataset', hint: 'Name the data.' } },
    ]);
  });
});
