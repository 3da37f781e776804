/**
 * flts as a library: the same core the CLI and the daemon use. Each area is a small set of functions that
 * take settings and explicit dependencies (store, bus, logger, AbortSignal, event sink); nothing here prints
 * or reads the process environment, so callers decide where output and configuration come from.
 */
import type * as Backend from './tf/backend.js';
import type * as BuildServer from './serve/build-server.js';
import type * as InferenceService from './serve/start-inference-service.js';
import type * as StartServe from './daemon/start-serve.js';
import type * as ForecasterModule from './serve/forecaster.js';
import { FltsError } from './errors.js';
import { invalidArgument, optionalBoolean, optionalLogger, optionalText, requireDeps, requireObject, requireSettings, requireStore, requireText } from './library-arguments.js';
import * as SettingsModule from './config/settings.js';
import { ALL_SPECS } from './config/specs/index.js';
import * as ConfigHash from './config/config-hash.js';
import * as Storage from './storage/index.js';
import * as FsStore from './storage/fs-store.js';
import * as PreprocessWorkflow from './workflows/preprocess.js';
import * as TrainWorkflow from './workflows/train.js';
import * as Evaluate from './eval/evaluate-runs.js';
import * as RunStore from './registry/run-store.js';
import * as LoadRun from './registry/load-run.js';
import * as ExportRun from './registry/export-run.js';
import * as Pointers from './registry/pointers.js';
import * as PromotionHistory from './registry/promotion-history.js';
import * as PromoteWorkflow from './workflows/promote.js';
import * as AutoPromote from './workflows/auto-promote.js';
import * as ValidateCandidate from './workflows/validate-candidate.js';
import * as ProcessedData from './preprocess/processed-data.js';
import * as Bus from './bus/index.js';
import * as DependenciesModule from './workflows/open-dependencies.js';
import * as LogRetentionModule from './serve/prediction-log-retention.js';
import type { Settings } from './config/settings.js';
import type { ObjectStore } from './storage/index.js';
import type { SettingFlags, SettingPath } from './config/setting-paths.js';

// Every function below that takes settings, a store or a workflow's dependencies checks them first (library-arguments.ts):
// a JavaScript caller's mistake is FLTS_USAGE_INVALID_ARGUMENT naming the argument, not a TypeError from deep inside.

export { FltsError, ERROR_CATALOGUE, exitCodeFor, httpStatusFor, isFltsError, toFltsError } from './errors.js';
export type { ErrorCode, ErrorKind } from './errors.js';
export type { FltsEvent, EventSink } from './events.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';

export { defaultSettings } from './config/settings.js';
/** What resolveSettings() takes: `flags` by setting path (SettingFlags), so a path that names no setting fails to compile. */
export interface LibrarySettingsOptions extends Omit<SettingsModule.ResolveSettingsOptions, 'flags'> {
  flags?: SettingFlags;
}
/**
 * Flags whose keys are any text (a `Record<string, unknown>`, spread in or given as it is) are assignable to SettingFlags,
 * whose paths are all optional: such flags do not compile, so a path that names no setting cannot pass unseen.
 */
export type KnownSettingPaths<Flags> = string extends keyof Flags ? { 'flags are keyed by setting path (SettingFlags), not by any string': never } : { readonly [Path in Exclude<keyof Flags, SettingPath>]: never };
/**
 * Settings from defaults < `file` < `env` < `flags`, as the CLI resolves them. Nothing is read from the process: a
 * caller that wants its environment layered passes it as `env`. A flag path that names no setting does not compile
 * (SettingPath), and from JavaScript is FLTS_CONFIG_UNKNOWN_KEY (docs/config.md lists them), as a config file's unknown key is.
 */
export function resolveSettings<Flags extends SettingFlags = SettingFlags>(options: LibrarySettingsOptions & { flags?: Flags & KnownSettingPaths<Flags> } = {}): SettingsModule.ResolvedSettings {
  requireObject('resolveSettings', 'options', options);
  for (const layer of ['file', 'env', 'flags'] as const) if (options[layer] !== undefined) requireObject('resolveSettings', `options.${layer}`, options[layer]);
  const { flags, specs } = options as SettingsModule.ResolveSettingsOptions;
  if (flags && !specs) {
    const known = new Set(ALL_SPECS.map((spec) => spec.path));
    const unknown = Object.keys(flags).filter((key) => !known.has(key) && flags[key] !== undefined);
    if (unknown.length > 0) throw new FltsError('FLTS_CONFIG_UNKNOWN_KEY', `Unknown setting(s) in flags: ${unknown.join(', ')}.`, { details: { keys: unknown } });
  }
  return SettingsModule.resolveSettings(options);
}
export type { Settings, ResolvedSettings, ResolveSettingsOptions, EnvironmentLike, SettingWarning } from './config/settings.js';
export type { SettingFlags, SettingPath, SettingValue } from './config/setting-paths.js';
export { buildCanonicalConfig, resolveDataFiles } from './config/config-hash.js';
/** config_hash and its lineage for `settings.preprocess` and `settings.data`, as preprocess computes them. */
export function computeConfigHash(preprocess: Parameters<typeof ConfigHash.computeConfigHash>[0], data: Parameters<typeof ConfigHash.computeConfigHash>[1]): ReturnType<typeof ConfigHash.computeConfigHash> {
  requireObject('computeConfigHash', 'preprocess', preprocess, 'the preprocess settings (settings.preprocess)');
  requireObject('computeConfigHash', 'data', data, 'the data settings (settings.data)');
  return ConfigHash.computeConfigHash(preprocess, data);
}
export { canonicalPythonJson, pyFloat } from './config/python-json.js';
export { isolatedStack, type IsolatedStack } from './config/isolated-stack.js';

/**
 * The collaborators the settings name, built as the CLI and the daemon build theirs: hand them to preprocess(),
 * trainModels() and the promotions, which then publish what the commands publish; close() them when done.
 */
export async function openDependencies(settings: Settings, options?: DependenciesModule.OpenDependenciesOptions): Promise<DependenciesModule.Dependencies> {
  requireSettings('openDependencies', settings);
  if (options !== undefined) {
    requireObject('openDependencies', 'options', options, 'an object ({ logger, envNames, busMetrics, service, scratchDir }) or undefined');
    const { logger, envNames, busMetrics, service, scratchDir } = options as Record<string, unknown>;
    optionalLogger('openDependencies', 'options.logger', logger);
    if (envNames !== undefined) requireObject('openDependencies', 'options.envNames', envNames, 'the envNames of resolveSettings(), or undefined');
    if (busMetrics !== undefined) requireObject('openDependencies', 'options.busMetrics', busMetrics, 'bus metrics, or undefined');
    optionalBoolean('openDependencies', 'options.service', service);
    if (scratchDir !== undefined && (typeof scratchDir !== 'string' || scratchDir === '')) throw invalidArgument('openDependencies', 'options.scratchDir', 'a directory path, or undefined', scratchDir);
  }
  return DependenciesModule.openDependencies(settings, options);
}
export type { Dependencies, OpenDependenciesOptions } from './workflows/open-dependencies.js';

/**
 * A workflow that publishes, called without the bus its settings name, would do part of what its command does: the
 * store changes, MLflow is marked, and no replica or trainer hears of it. Refused, so the difference is never silent;
 * settings with bus.kind none publish nothing on purpose.
 */
function requireSettingsBus(fn: string, settings: Settings, deps: { bus?: unknown }): void {
  if (settings.bus.kind === 'none' || deps.bus !== undefined) return;
  throw invalidArgument(fn, 'deps.bus', `the bus settings.bus.kind names (${settings.bus.kind}): openDependencies(settings) builds it, or resolve settings with bus.kind none to publish nothing`, deps.bus);
}

export { getJson, getJsonIfExists, putJson } from './storage/index.js';
/** The store settings name: files under `home` (store.kind fs) or S3 (store.kind s3). */
export async function createObjectStore(settings: Settings, context?: Storage.ObjectStoreContext): Promise<ObjectStore> {
  requireSettings('createObjectStore', settings);
  return Storage.createObjectStore(settings, context);
}
/** A filesystem store rooted at `root` (one folder per bucket). */
export function createFsStore(root: string): ObjectStore {
  if (typeof root !== 'string' || root === '') throw invalidArgument('createFsStore', 'root', 'a directory path', root);
  return FsStore.createFsStore(root);
}
export type { ObjectStore, ObjectInfo } from './storage/index.js';
export { createS3Store } from './storage/s3-store.js';

export type { TimeFrame } from './data/time-frame.js';
export type { ScalerParams } from './data/scaler.js';
export { readTable } from './data/read-table.js';
export { runPreprocess } from './preprocess/run-preprocess.js';
export { buildPreprocessClaims, type PreprocessOutcome, type PreprocessClaims, type PreprocessWorkflowDeps } from './workflows/preprocess.js';
/** Reads, cleans, scales and stores the data files the settings name (src/core/workflows/preprocess.ts). */
export async function preprocess(settings: Settings, deps: PreprocessWorkflow.PreprocessWorkflowDeps): Promise<PreprocessWorkflow.PreprocessOutcome> {
  requireSettings('preprocess', settings);
  requireDeps('preprocess', deps);
  requireSettingsBus('preprocess', settings, deps);
  return PreprocessWorkflow.preprocess(settings, deps);
}
export type { PreprocessResult } from './preprocess/run-preprocess.js';
export async function loadProcessedData(store: ObjectStore, settings: Settings, options?: ProcessedData.LoadProcessedDataOptions): Promise<ProcessedData.ProcessedData> {
  requireStore('loadProcessedData', 'store', store);
  requireSettings('loadProcessedData', settings);
  return ProcessedData.loadProcessedData(store, settings, options);
}
export type { ProcessedData } from './preprocess/processed-data.js';
export { timeFeatureValues } from './preprocess/time-features.js';

export { MODEL_TYPES } from './models/forecast-model.js';
export type { ForecastModel, ModelType, WindowSpec } from './models/forecast-model.js';
/** Selects (and loads) a TensorFlow.js backend; TensorFlow.js loads with the first call, not with the library. */
export async function selectBackend(...args: Parameters<typeof Backend.selectBackend>): ReturnType<typeof Backend.selectBackend> {
  return (await import('./tf/backend.js')).selectBackend(...args);
}
/** Trains each model type asked for on the processed data and records a run of each (src/core/workflows/train.ts). */
export async function trainModels(request: TrainWorkflow.TrainModelsRequest, settings: Settings, deps: TrainWorkflow.TrainModelsDeps): Promise<TrainWorkflow.TrainModelsResult> {
  requireSettings('trainModels', settings);
  requireDeps('trainModels', deps);
  requireSettingsBus('trainModels', settings, deps);
  return TrainWorkflow.trainModels(request, settings, deps);
}
export type { TrainModelsRequest, TrainModelsResult, TrainModelsDeps } from './workflows/train.js';
/** What MLflow clients learn of their server, shared by those given one (`deps.tracking.servers`): an outage told once across syncs. */
export { createMlflowServers, type MlflowServers, type MlflowServerState } from './tracking/mlflow-servers.js';

export type { EvaluateRunsInput, EvaluateRunsResult } from './eval/evaluate-runs.js';
/** The scoreboard of a config_hash's SUCCESS runs (the latest processed data's by default), as `flts eval`. */
export async function evaluateRuns(input: Evaluate.EvaluateRunsInput, settings: Settings, deps: { store: ObjectStore }): Promise<Evaluate.EvaluateRunsResult> {
  requireObject('evaluateRuns', 'input', input);
  optionalText('evaluateRuns', 'input.configHash', input.configHash);
  requireSettings('evaluateRuns', settings);
  requireDeps('evaluateRuns', deps);
  return Evaluate.evaluateRuns(input, settings, deps);
}
export { buildScoreboard, referenceScore, rowsOfTargets } from './eval/scoreboard.js';
export type { Scoreboard, ScoreboardRow, TargetSetBoard } from './eval/scoreboard.js';

export type { RunRecord } from './registry/run-record.js';
/** Store and settings of the registry functions below, checked as the workflows' are. */
function requireRegistry(fn: string, store: unknown, settings: unknown): void {
  requireStore(fn, 'store', store);
  requireSettings(fn, settings);
}
export async function listRunRecords(store: ObjectStore, settings: Settings, filter?: { configHash?: string }): Promise<import('./registry/run-record.js').RunRecord[]> {
  requireRegistry('listRunRecords', store, settings);
  return RunStore.listRunRecords(store, settings, filter);
}
export async function readRunRecord(store: ObjectStore, settings: Settings, runId: string): Promise<import('./registry/run-record.js').RunRecord> {
  requireRegistry('readRunRecord', store, settings);
  requireText('readRunRecord', 'runId', runId);
  return RunStore.readRunRecord(store, settings, runId);
}
export type { LoadedRunForServing } from './registry/load-run.js';
/** A run's record, fitted model and scaler, as serving loads them: forecasts in-process with `model` and `scaler`. */
export async function loadRunForServing(store: ObjectStore, settings: Settings, runId: string, options?: Parameters<typeof LoadRun.loadRunForServing>[3]): Promise<LoadRun.LoadedRunForServing> {
  requireRegistry('loadRunForServing', store, settings);
  requireText('loadRunForServing', 'runId', runId);
  return LoadRun.loadRunForServing(store, settings, runId, options);
}
export { EXPORT_FORMATS } from './registry/export-run.js';
export type { ExportFormat, RunExport } from './registry/export-run.js';
export async function exportRun(store: ObjectStore, settings: Settings, runId: string, format?: ExportRun.ExportFormat): Promise<ExportRun.RunExport> {
  requireRegistry('exportRun', store, settings);
  requireText('exportRun', 'runId', runId);
  return ExportRun.exportRun(store, settings, runId, format);
}
export type { PromotionRecord, PromotionSource } from './registry/pointers.js';
/** The promotion this scope's pointer names (the run serving loads), or undefined before any promotion. */
export async function readPromotionPointer(store: ObjectStore, settings: Settings): Promise<Pointers.PromotionRecord | undefined> {
  requireRegistry('readPromotionPointer', store, settings);
  return Pointers.readPromotionPointer(store, settings);
}
export type { PromotionDecision, PromotionDeps, PromotionResult, TargetsChange, BestPromotionRequest, RollbackRequest } from './workflows/promote.js';
/** Promotes a run, as `flts promote --run` does (same checks, history record, pointers, notices). */
export async function promote(decision: PromoteWorkflow.PromotionDecision, settings: Settings, deps: PromoteWorkflow.PromotionDeps): Promise<PromoteWorkflow.PromotionResult> {
  requireSettings('promote', settings);
  requireDeps('promote', deps);
  requireSettingsBus('promote', settings, deps);
  return PromoteWorkflow.promote(decision, settings, deps);
}
/** Promotes the scoreboard winner, as `flts promote --best` does. */
export async function promoteBest(request: PromoteWorkflow.BestPromotionRequest, settings: Settings, deps: PromoteWorkflow.PromotionDeps): Promise<PromoteWorkflow.PromotionResult> {
  requireSettings('promoteBest', settings);
  requireDeps('promoteBest', deps);
  requireSettingsBus('promoteBest', settings, deps);
  return PromoteWorkflow.promoteBest(request, settings, deps);
}
/** Returns the scope to the run promoted before the current one, as `flts promote --rollback` does. */
export async function rollback(request: PromoteWorkflow.RollbackRequest, settings: Settings, deps: PromoteWorkflow.PromotionDeps): Promise<PromoteWorkflow.PromotionResult> {
  requireSettings('rollback', settings);
  requireDeps('rollback', deps);
  requireSettingsBus('rollback', settings, deps);
  return PromoteWorkflow.rollback(request, settings, deps);
}
export { decideAutoPromotion, type AutoPromotionOutcome } from './workflows/auto-promote.js';
/** The daemon promoter's decision and promotion for a config_hash's new SUCCESS runs. */
export async function autoPromote(configHash: string, actor: string, settings: Settings, deps: PromoteWorkflow.PromotionDeps): Promise<AutoPromote.AutoPromotionOutcome> {
  requireText('autoPromote', 'configHash', configHash);
  requireText('autoPromote', 'actor', actor);
  requireSettings('autoPromote', settings);
  requireDeps('autoPromote', deps);
  requireSettingsBus('autoPromote', settings, deps);
  return AutoPromote.autoPromote(configHash, actor, settings, deps);
}
export type { CandidateCheck } from './workflows/validate-candidate.js';
export async function validateCandidate(store: ObjectStore, settings: Settings, run: import('./registry/run-record.js').RunRecord): Promise<ValidateCandidate.CandidateCheck> {
  requireRegistry('validateCandidate', store, settings);
  requireObject('validateCandidate', 'run', run, 'a run record (readRunRecord())');
  return ValidateCandidate.validateCandidate(store, settings, run);
}
/** The promotion history of a scope (an identifier, or `global`; default: the settings' scope), oldest first. */
export async function listPromotionHistory(store: ObjectStore, settings: Settings, scope?: string): Promise<Pointers.PromotionRecord[]> {
  requireRegistry('listPromotionHistory', store, settings);
  optionalText('listPromotionHistory', 'scope', scope);
  return PromotionHistory.listPromotionHistory(store, settings, scope);
}

const HOLDER_METHODS = ['acquire', 'current', 'start', 'stop', 'status', 'reloadFromPointer'] as const;

// fastify, its plugins and the metrics registry load with the first server, not with the library.
/**
 * Another fastify app over the model of a started service: the holder is `startInferenceService(...).holder`, which the
 * service starts and stops. For requests in process, `startInferenceService(...).app.inject(...)` needs no second app.
 */
export async function buildServer(...args: Parameters<typeof BuildServer.buildServer>): ReturnType<typeof BuildServer.buildServer> {
  requireObject('buildServer', 'deps', args[0], 'an object with a holder ({ holder })');
  const holder: unknown = args[0].holder;
  if (!(holder instanceof Object) || !HOLDER_METHODS.every((method) => typeof (holder as Record<string, unknown>)[method] === 'function')) {
    throw invalidArgument('buildServer', 'deps.holder', 'a model holder (the holder of startInferenceService())', holder);
  }
  return (await import('./serve/build-server.js')).buildServer(...args);
}
export type { BuildServerDeps } from './serve/build-server.js';
export async function startInferenceService(...args: Parameters<typeof InferenceService.startInferenceService>): ReturnType<typeof InferenceService.startInferenceService> {
  requireSettings('startInferenceService', args[0]);
  requireDeps('startInferenceService', args[1]);
  return (await import('./serve/start-inference-service.js')).startInferenceService(...args);
}
export type { InferenceService, InferenceServiceDeps, ServiceStopReport } from './serve/start-inference-service.js';
/**
 * `flts serve` whole: startInferenceService and, given `deps.bus`, the replica's follower of `model-selected` (joined in
 * the background while the broker does not answer), whose promotions it loads even with serve.pollIntervalMs 0.
 * stop() leaves the brokers within bus.kafka.closeTimeoutMs and closes the bus.
 */
export async function startServe(...args: Parameters<typeof StartServe.startServe>): ReturnType<typeof StartServe.startServe> {
  requireSettings('startServe', args[0]);
  requireDeps('startServe', args[1]);
  return (await import('./daemon/start-serve.js')).startServe(...args);
}
export type { Serve, ServeDeps } from './daemon/start-serve.js';

/** The bound `serve.pollIntervalMs` has, a day. */
const MAX_POLL_INTERVAL_MS = 86_400_000;

/**
 * A run loaded from the store, forecasting in this process: the values and intervals POST /predict answers, with no
 * server. The run is `options.runId`, else `serve.runId`, else the promoted one, which reload() (or
 * `options.followPromotions`) follows; close() releases it.
 */
export async function openForecaster(settings: Settings, deps: ForecasterModule.ForecasterDeps, options?: ForecasterModule.ForecasterOptions): Promise<ForecasterModule.Forecaster> {
  requireSettings('openForecaster', settings);
  requireDeps('openForecaster', deps);
  const { onForecast } = deps as { onForecast?: unknown };
  if (onForecast !== undefined && typeof onForecast !== 'function') throw invalidArgument('openForecaster', 'deps.onForecast', 'a function (record, measures) of each forecast, or undefined', onForecast);
  if (options !== undefined) {
    requireObject('openForecaster', 'options', options, 'an object ({ runId, followPromotions }) or undefined');
    optionalText('openForecaster', 'options.runId', options.runId);
    const { followPromotions } = options;
    if (followPromotions !== undefined) {
      requireObject('openForecaster', 'options.followPromotions', followPromotions, 'an object ({ pollIntervalMs }) or undefined');
      const interval = followPromotions.pollIntervalMs;
      if (!Number.isInteger(interval) || (interval as number) < 1 || (interval as number) > MAX_POLL_INTERVAL_MS) {
        throw invalidArgument('openForecaster', 'options.followPromotions.pollIntervalMs', `a whole number of milliseconds from 1 to ${MAX_POLL_INTERVAL_MS}`, interval);
      }
    }
  }
  // The forecast code, and the model runtimes it loads, come with the first forecaster.
  return (await import('./serve/forecaster.js')).openForecaster(settings, deps, options);
}
export type { Forecaster, ForecasterDeps, ForecasterOptions, ForecasterReload, ForecastRequest, ForecastAnswer, ForecastMeasures } from './serve/forecaster.js';
export type { PredictionLogRecord } from './serve/prediction-log.js';
export type { ServedRunInfo } from './serve/model-source.js';
export type { PredictionRow, ResponseIntervals } from './serve/prediction-response.js';
export type { DataWarning } from './data/time-steps.js';

const SWEPT_STORE_METHODS = ['listFolders', 'list', 'deleteMany'] as const;

/** What a sweep is told: a store that can list folders and delete, a bucket, and whole days (0: none are deleted). */
function requireSweepOptions(fn: string, options: unknown): asserts options is Record<string, unknown> {
  requireObject(fn, 'options', options, 'an object ({ store, bucket, retentionDays })');
  const { store, bucket, retentionDays, maxDeletes, now, signal } = options;
  requireStore(fn, 'options.store', store);
  const sweepable = store as unknown as Record<string, unknown>;
  if (!SWEPT_STORE_METHODS.every((method) => typeof sweepable[method] === 'function')) {
    throw invalidArgument(fn, 'options.store', `an object store that can list folders and delete (${SWEPT_STORE_METHODS.join(', ')})`, store);
  }
  requireText(fn, 'options.bucket', bucket);
  if (bucket === '') throw invalidArgument(fn, 'options.bucket', 'a bucket name', bucket);
  if (!Number.isInteger(retentionDays) || (retentionDays as number) < 0) throw invalidArgument(fn, 'options.retentionDays', 'a whole number of days, 0 or more', retentionDays);
  if (maxDeletes !== undefined && (!Number.isInteger(maxDeletes) || (maxDeletes as number) < 1)) throw invalidArgument(fn, 'options.maxDeletes', 'a whole number, 1 or more', maxDeletes);
  if (now !== undefined && typeof now !== 'function') throw invalidArgument(fn, 'options.now', 'a function returning a Date', now);
  if (signal !== undefined && !(signal instanceof Object && typeof (signal as { aborted?: unknown }).aborted === 'boolean')) throw invalidArgument(fn, 'options.signal', 'an AbortSignal', signal);
}

/** One sweep of the prediction log's day folders older than `retentionDays` (see prediction-log-retention.ts). */
export async function sweepPredictionLogs(options: LogRetentionModule.LogSweepOptions): Promise<LogRetentionModule.LogSweepResult> {
  requireSweepOptions('sweepPredictionLogs', options);
  return LogRetentionModule.sweepPredictionLogs(options);
}
/** Sweeps now and then every `intervalMs`; stop() it when done. */
export function startLogRetention(options: LogRetentionModule.LogRetentionOptions): LogRetentionModule.LogRetention {
  requireSweepOptions('startLogRetention', options);
  const { logger, intervalMs, catchUpMs } = options as unknown as Record<string, unknown>;
  if (!(logger instanceof Object) || typeof (logger as Record<string, unknown>).warn !== 'function' || typeof (logger as Record<string, unknown>).info !== 'function') {
    throw invalidArgument('startLogRetention', 'options.logger', 'a logger (silentLogger for none)', logger);
  }
  for (const [name, value] of Object.entries({ intervalMs, catchUpMs })) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 1)) throw invalidArgument('startLogRetention', `options.${name}`, 'a number of milliseconds, 1 or more', value);
  }
  return LogRetentionModule.startLogRetention(options);
}
export type { LogSweepOptions, LogSweepResult, LogRetention, LogRetentionOptions } from './serve/prediction-log-retention.js';

/** The bus the settings name (bus.kind fs or kafka), or undefined for none; close it when done. */
export function createMessageBus(...args: Parameters<typeof Bus.createMessageBus>): ReturnType<typeof Bus.createMessageBus> {
  requireSettings('createMessageBus', args[0]);
  return Bus.createMessageBus(...args);
}
export type { MessageBus } from './bus/index.js';
