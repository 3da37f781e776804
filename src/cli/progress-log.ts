import type { EventSink, FltsEvent } from '../core/events.js';
import type { Logger } from '../core/logger.js';

/**
 * Which counts of a long loop to report: the first past each tenth of the work, and the last; ten lines whatever its
 * length (a backtest of 4,000 folds is not 4,000 lines), whatever the step between counts (chunks of windows). One
 * per loop, named by `key` (a model type, a run and its stage).
 */
export function tenthsOf(): (key: string, done: number, total: number) => boolean {
  const reported = new Map<string, number>();
  return (key, done, total) => {
    if (done >= total) {
      reported.delete(key);
      return true;
    }
    const tenth = Math.floor((10 * done) / total);
    if (tenth <= (reported.get(key) ?? 0)) return false;
    reported.set(key, tenth);
    return true;
  };
}

/** Seconds left at the pace so far: `done` of `total` took `elapsedMs`. */
function etaSec(elapsedMs: number, done: number, total: number): number | null {
  if (done <= 0 || total <= done) return done >= total ? 0 : null;
  return Math.round(((total - done) * elapsedMs) / done / 1000);
}

/** A loss or rmse as JSON can hold it: NaN and infinities would be written as null anyway, said so here. */
const finite = (value: number | undefined): number | null => (value === undefined || !Number.isFinite(value) ? null : value);

/**
 * A --json run's progress, for whoever reads its stderr while stdout waits for the one document: the core's events as
 * log lines, one event name each, written literally, and snake_case fields (README "Commands"). Every long command
 * logs its events through this one sink (FltsCommand.progress), so a script reads preprocess, train, backtest, predict
 * and bench progress alike. Info lines, which the level asked for silences (--log-level warn); the warnings a run says as
 * progress (a model too short to train) are warnings here too. `now`: a monotonic clock in ms, for the ETAs.
 */
export function createProgressLog(logger: Pick<Logger, 'info' | 'warn'>, now: () => number = () => performance.now()): EventSink {
  const runs = new Map<string, { modelType: string; epochs: number; startedAt: number }>();
  const backtests = new Map<string, number>();
  const passesTenth = tenthsOf();
  let forecastFrom: { at: number; windows: number } | undefined;
  const group = (at: { replicas: number | null; variant?: string }) => ({ replicas: at.replicas, ...(at.variant ? { variant: at.variant } : {}) });
  return (event: FltsEvent): void => {
    switch (event.type) {
      case 'train.start':
        runs.set(event.runId, { modelType: event.modelType, epochs: event.epochs, startedAt: now() });
        logger.info({ run_id: event.runId, model_type: event.modelType, backend: event.backend, epochs: event.epochs, batches_per_epoch: event.batchesPerEpoch }, 'train_model_started');
        break;
      case 'train.epoch_end': {
        const run = runs.get(event.runId);
        // Up to the most epochs: early stopping may end the run sooner.
        const eta = run ? etaSec(now() - run.startedAt, event.epoch, run.epochs) : null;
        logger.info({ run_id: event.runId, model_type: run?.modelType ?? null, epoch: event.epoch, epochs: run?.epochs ?? null, loss: finite(event.loss), val_loss: finite(event.valLoss), samples_per_sec: event.samplesPerSec === undefined ? null : Math.round(event.samplesPerSec), eta_sec: eta }, 'train_epoch_done');
        break;
      }
      case 'train.predict':
        if (!passesTenth(`${event.runId} ${event.stage}`, event.done, event.total)) break;
        logger.info({ run_id: event.runId, model_type: runs.get(event.runId)?.modelType ?? null, stage: event.stage, done: event.done, total: event.total }, 'train_forecast_progress');
        break;
      case 'train.done': {
        const run = runs.get(event.runId);
        // A run refused before its fit began (its data, a model too large, no backend) has no started line to close: its
        // done line, all nulls but the status, told nothing the command's coded error does not, as backtest and predict
        // tell a failure by that error alone.
        if (!run) break;
        runs.delete(event.runId);
        logger.info({ run_id: event.runId, model_type: run.modelType, status: event.status, duration_ms: Math.round(now() - run.startedAt) }, 'train_model_done');
        break;
      }
      case 'preprocess.reading':
        logger.info({ role: event.role, file: event.file, bytes: event.bytes, files: event.files }, 'preprocess_file_reading');
        break;
      case 'preprocess.read':
        logger.info({ role: event.role, file: event.file, rows: event.rows, columns: event.columns, files_done: event.filesDone, files: event.files }, 'preprocess_file_read');
        break;
      case 'preprocess.writing':
        logger.info({ config_hash: event.configHash, train_rows: event.trainRows, test_rows: event.testRows, columns: event.columns }, 'preprocess_writing');
        break;
      case 'preprocess.done':
        logger.info({ config_hash: event.configHash, status: 'processed', duration_ms: Math.round(event.durationMs) }, 'preprocess_done');
        break;
      case 'preprocess.cached':
        logger.info({ config_hash: event.configHash, status: event.status, duration_ms: Math.round(event.durationMs) }, 'preprocess_done');
        break;
      case 'backtest.model_start':
        backtests.set(event.modelType, now());
        logger.info({ model_type: event.modelType, run_id: event.runId, folds: event.folds, refit_every: event.refitEvery }, 'backtest_model_started');
        break;
      case 'backtest.fold': {
        const done = event.fold + 1;
        if (!passesTenth(event.modelType, done, event.folds)) break;
        const startedAt = backtests.get(event.modelType);
        logger.info({ model_type: event.modelType, fold: done, folds: event.folds, rmse: finite(event.rmse), eta_sec: startedAt === undefined ? null : etaSec(now() - startedAt, done, event.folds) }, 'backtest_fold_done');
        break;
      }
      case 'batch.progress': {
        // Paced from the first chunk: the time before it went on reading the data, not forecasting.
        forecastFrom ??= { at: now(), windows: event.windows };
        if (!passesTenth('predict', event.windows, event.total)) break;
        const eta = event.windows > forecastFrom.windows ? etaSec(now() - forecastFrom.at, event.windows - forecastFrom.windows, event.total - forecastFrom.windows) : null;
        logger.info({ windows: event.windows, total: event.total, eta_sec: event.windows >= event.total ? 0 : eta }, 'predict_windows_done');
        break;
      }
      case 'log':
        // What a workflow says to the person watching (waiting for another process's run, a type not trained).
        if (event.level === 'warn') logger.warn({ reason: event.message }, 'progress_warning');
        else logger.info({ reason: event.message }, 'progress_note');
        break;
      case 'bench.payload_file':
        // Rows of the default dataset rarely fit the served run: said as a warning, since the report says so only at the end.
        if (event.origin === 'default') logger.warn({ event: 'bench_default_request_rows', file: event.file, why: event.why, ...(event.hint ? { hint: event.hint } : {}) }, 'bench_default_request_rows');
        else logger.info({ file: event.file, origin: event.origin, why: event.why }, 'bench_request_rows');
        break;
      case 'bench.replicas_starting':
        logger.info(group(event), 'bench_replicas_starting');
        break;
      case 'bench.replicas_ready':
        logger.info({ ...group(event), url: event.url, pids: event.pids }, 'bench_replicas_ready');
        break;
      case 'bench.cell_start':
        logger.info({ phase: event.phase, protocol: event.protocol, ...group(event), connections: event.connections, duration_sec: event.durationSec }, 'bench_cell_started');
        break;
      case 'bench.cell_done':
        logger.info({ phase: event.phase, protocol: event.protocol, ...group(event), connections: event.connections, requests_per_sec: event.requestsPerSec, p99_ms: event.p99Ms, errors: event.errors }, 'bench_cell_done');
        break;
      case 'bench.cell_interrupted':
        logger.info({ phase: event.phase, protocol: event.protocol, ...group(event), connections: event.connections, duration_sec: event.durationSec, elapsed_sec: event.elapsedSec, requests: event.requests }, 'bench_cell_interrupted');
        break;
      default:
        break;
    }
  };
}
