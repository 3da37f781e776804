import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { untilAbortedAs } from '../retry.js';
import type { EventSink } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ForecastModel, ModelType, WindowSpec } from '../models/forecast-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { prependHistory } from '../forecast/windows.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import { loadRunForServing } from '../registry/load-run.js';
import type { RunRecord } from '../registry/run-record.js';
import { listRunRecords, runsBucket } from '../registry/run-store.js';
import { runsOfTargets, targetSetOf } from '../eval/scoreboard.js';
import { runsOnData } from '../registry/trained-data.js';
import { detectCadence } from '../data/timestamps.js';
import type { ObjectStore } from '../storage/object-store.js';
import { renderBacktestChart } from './backtest-chart.js';
import { backtestModel, type BacktestModelResult } from './backtest-model.js';
import { backtestKeys, saveBacktestRecord, type BacktestRecord } from './backtest-record.js';
import { createFoldModelProvider } from './fold-models.js';
import { modelWindow } from '../train/fit-model.js';
import { trainingRowsNeeded } from '../train/training-rows.js';
import { missingTargets } from '../train/prepare-windows.js';
import { planFoldOrigins } from './fold-plan.js';

export interface RunBacktestInput {
  /** Processed data version; the latest when omitted. */
  configHash?: string;
  /** Default: the `backtest.models` setting, else NAIVE plus every type with a SUCCESS run of the configured targets trained on the rows held now. */
  modelTypes?: ModelType[];
  /** Overrides of the `backtest.*` settings (0 = the setting's own default rule). */
  horizon?: number;
  stride?: number;
  folds?: number;
  refitEvery?: number;
}

export interface RunBacktestDeps {
  store: ObjectStore;
  logger?: Logger;
  onEvent?: EventSink;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface RunBacktestResult extends BacktestRecord {
  /** Objects written in the runs bucket: the record, each run's own backtest.json, the chart. */
  objects: string[];
  store_location: string;
}

/** The stop of a backtest: it stores nothing, since its record ranks every model type it was asked for. */
function backtestStopped(modelType: string, done: number, total: number, cause?: unknown): FltsError {
  return new FltsError('FLTS_BACKTEST_ABORTED', `Backtest stopped at ${modelType}, with ${done} of ${total} model type(s) done; nothing was stored.`, { cause, details: { modelType, done, total } });
}

/**
 * The stop of a backtest while it reads the data and runs: they store nothing, and a store that does not answer held
 * a stop until its time limit (store.s3.idleTimeoutMs), then ended it as unavailable rather than as stopped.
 */
const stoppedWhileReading = (): FltsError => new FltsError('FLTS_BACKTEST_ABORTED', 'Backtest stopped while it read the data and runs, before its first fold; nothing was stored.', { details: { done: 0 } });

function newestRunByType(runs: readonly RunRecord[]): Map<string, RunRecord> {
  const byType = new Map<string, RunRecord>();
  for (const run of runs) if (run.status === 'SUCCESS') byType.set(run.model_type, run); // oldest first, so the newest wins
  return byType;
}

function rank(models: readonly BacktestModelResult[]): BacktestRecord['ranking'] {
  return [...models]
    .sort((a, b) => (Number.isNaN(a.aggregate.score) ? 1 : Number.isNaN(b.aggregate.score) ? -1 : a.aggregate.score - b.aggregate.score))
    .map((model, index) => ({ rank: index + 1, model_type: model.model_type, run_id: model.run_id, score: model.aggregate.score, rmse: model.aggregate.rmse }));
}

/**
 * Refuses a type whose folds cannot be forecast: the first origin must leave its input window of history, and a type
 * fitted here (without a run, or refitted) is fitted on at least the training rows, which must hold what training
 * needs (training-rows.ts).
 */
function assertFoldRows(modelType: ModelType, window: WindowSpec, rows: { firstOrigin: number; trainRows: number; fitted: boolean }): void {
  if (rows.firstOrigin < window.inputSeqLen) {
    throw new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${modelType}: the first fold origin (row ${rows.firstOrigin}) leaves fewer than its ${window.inputSeqLen} rows of input history; leave it out (--models) or backtest fewer folds (--folds).`, {
      details: { modelType, origin: rows.firstOrigin, inputSeqLen: window.inputSeqLen },
    });
  }
  const needed = trainingRowsNeeded(window);
  if (rows.fitted && rows.trainRows < needed) {
    throw new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${modelType} is fitted for the backtest (it has no run to use, or --refit-every is set) on the ${rows.trainRows} training rows, fewer than the ${needed} its window needs (${window.inputSeqLen} input rows + a horizon of ${window.outputSeqLen} + 1 for the validation tail); leave it out (--models), train it first, or preprocess more rows (SAMPLE_TRAIN_ROWS, --sample-train-rows; 0 keeps all).`, {
      details: { modelType, rows: rows.trainRows, needed, inputSeqLen: window.inputSeqLen, outputSeqLen: window.outputSeqLen },
    });
  }
}

/**
 * Rolling-origin backtest over the test period of one processed data version, for each model type: fold
 * origins step through the test rows, each fold forecasts `horizon` steps from the rows before its origin,
 * and models are refitted every `refitEvery` folds on the data before the origin (never by default: the
 * trained runs' models are used as they are). A type's run is its newest SUCCESS one of the configured targets
 * (`training.targets`, as a set: what promotion chooses from) trained on the rows the config_hash holds now
 * (`runsOnData`): one of rows that new data replaced was fitted and scaled on other rows,
 * and is no candidate of these, so the type is backtested as it would be without a run. Stores the record, with the
 * digests of the rows it scored (so a ranking on it knows when new rows replace them), each run's share and an
 * error-over-time chart.
 */
export async function runBacktest(settings: Settings, deps: RunBacktestDeps, input: RunBacktestInput = {}): Promise<RunBacktestResult> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'backtest' });
  const data = await untilAbortedAs(loadProcessedData(deps.store, settings, { configHash: input.configHash }), deps.signal, stoppedWhileReading);
  // Runs of the sidecar the rows were read with, not one read again: a preprocess in between would pair runs of new rows with folds of the old.
  // Runs of the configured targets only: a type fitted here without a run forecasts those (modelWindow), and models
  // forecasting other columns pool other errors, so they are never scored against each other.
  const targets = targetSetOf(settings.training.targets);
  // As training refuses them: a target no column holds was refused by the first model's window as "not among the
  // run's features", for a backtest that may have no run.
  const missing = missingTargets(data, targets);
  if (missing) throw missing;
  const runs = newestRunByType(runsOfTargets(runsOnData(data.sidecar, data.configHash, await untilAbortedAs(listRunRecords(deps.store, settings, { configHash: data.configHash }), deps.signal, stoppedWhileReading)), targets));
  const configured = (input.modelTypes?.length ? input.modelTypes : settings.backtest.models) as ModelType[];
  const modelTypes: ModelType[] = configured.length > 0 ? [...new Set(configured)] : ['NAIVE', ...([...runs.keys()].filter((type) => type !== 'NAIVE') as ModelType[])];
  const t = settings.training;
  const horizon = input.horizon || settings.backtest.horizon || t.outputSeqLen;
  const stride = input.stride || settings.backtest.stride || horizon;
  const refitEvery = input.refitEvery ?? settings.backtest.refitEvery;
  const series = prependHistory(data.train, data.test, data.train.time.length);
  const trainRows = data.train.time.length;
  const origins = planFoldOrigins({ firstTestRow: trainRows, totalRows: series.time.length, horizon, stride, folds: input.folds ?? settings.backtest.folds });
  const cadenceMs = detectCadence(series.time);

  // Without a run, the window training would give this type (a day for SNAIVE, MSTL's smoothing rows). Every type is
  // checked against the rows before any is backtested, so a type the data cannot carry is refused before the work.
  const windows = new Map(modelTypes.map((modelType) => [modelType, runs.get(modelType)?.window ?? modelWindow(modelType, data, settings)] as const));
  for (const [modelType, window] of windows) assertFoldRows(modelType, window, { firstOrigin: origins[0], trainRows, fitted: modelType !== 'NAIVE' && (refitEvery > 0 || !runs.has(modelType)) });

  const models: BacktestModelResult[] = [];
  for (const modelType of modelTypes) {
    if (deps.signal?.aborted) throw backtestStopped(modelType, models.length, modelTypes.length);
    const run = runs.get(modelType);
    // Before the run's model is loaded or a model fitted: a refit's first fold alone can take minutes.
    deps.onEvent?.({ type: 'backtest.model_start', modelType, runId: run?.run_id ?? null, folds: origins.length, refitEvery });
    let runModel: ForecastModel | undefined;
    let runIntervals: IntervalCalibration | undefined;
    if (run && refitEvery === 0 && modelType !== 'NAIVE') ({ model: runModel, intervals: runIntervals } = await loadRunForServing(deps.store, settings, run.run_id));
    const window = windows.get(modelType) as WindowSpec;
    const provider = createFoldModelProvider({ modelType, window, run: run && runModel ? { runId: run.run_id, model: runModel, intervals: runIntervals } : undefined, scaler: data.scaler, trainRows, refitEvery, settings, signal: deps.signal });
    try {
      const result = await backtestModel({ series, origins, horizon, cadenceMs, window, scaler: data.scaler, provider, onEvent: deps.onEvent, signal: deps.signal }).catch((error: unknown) => {
        // A refit stopped by the signal says its training was stopped, which would tell of a run recorded KILLED.
        throw deps.signal?.aborted ? backtestStopped(modelType, models.length, modelTypes.length, error) : error;
      });
      // A refitted (or NAIVE) model is not loaded from the run, but it stands for the run's configuration.
      models.push(run ? { ...result, run_id: run.run_id } : result);
      logger.info({ model_type: modelType, run_id: result.run_id, rmse: result.aggregate.rmse, folds: origins.length }, 'backtest_model_done');
    } finally {
      provider.dispose();
      runModel?.dispose();
    }
  }

  const { data_sha256: processedSha256, fingerprints } = data.sidecar.flts ?? {};
  const record: BacktestRecord = {
    config_hash: data.configHash,
    data: { ...(processedSha256 ? { processed_sha256: processedSha256 } : {}), ...(fingerprints ? { fingerprints } : {}) },
    targets,
    created_at: (deps.now?.() ?? new Date()).toISOString(),
    horizon,
    stride,
    refit_every: refitEvery,
    origins: models[0]?.folds.map((fold) => fold.origin) ?? [],
    models,
    ranking: rank(models),
  };
  const objects = await saveBacktestRecord(deps.store, settings, record);
  const chartKey = backtestKeys(data.configHash).chart;
  await deps.store.put(runsBucket(settings), chartKey, renderBacktestChart(record), { contentType: 'image/svg+xml' });
  return { ...record, objects: [...objects, chartKey].map((key) => `${runsBucket(settings)}/${key}`), store_location: deps.store.location };
}
