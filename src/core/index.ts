/**
 * flts as a library: the same core the CLI and the daemon use. Each area is a small set of functions that
 * take settings and explicit dependencies (store, bus, logger, AbortSignal, event sink); nothing here prints
 * or reads the process environment, so callers decide where output and configuration come from.
 */
import type * as Backend from './tf/backend.js';
import type * as BuildServer from './serve/build-server.js';
import type * as InferenceService from './serve/start-inference-service.js';

export { FltsError, ERROR_CATALOGUE, exitCodeFor, httpStatusFor, isFltsError, toFltsError } from './errors.js';
export type { ErrorCode, ErrorKind } from './errors.js';
export type { FltsEvent, EventSink } from './events.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';

export { resolveSettings, defaultSettings } from './config/settings.js';
export type { Settings, ResolvedSettings, ResolveSettingsOptions, EnvironmentLike } from './config/settings.js';
export { computeConfigHash, buildCanonicalConfig, resolveDataFiles } from './config/config-hash.js';
export { canonicalPythonJson, pyFloat } from './config/python-json.js';
export { isolatedStack, type IsolatedStack } from './config/isolated-stack.js';

export { createObjectStore, createFsStore, getJson, getJsonIfExists, putJson } from './storage/index.js';
export type { ObjectStore, ObjectInfo } from './storage/index.js';
export { createS3Store } from './storage/s3-store.js';

export type { TimeFrame } from './data/time-frame.js';
export type { ScalerParams } from './data/scaler.js';
export { readTable } from './data/read-table.js';
export { runPreprocess } from './preprocess/run-preprocess.js';
export { preprocess, buildPreprocessClaims, type PreprocessOutcome, type PreprocessClaims } from './workflows/preprocess.js';
export type { PreprocessResult } from './preprocess/run-preprocess.js';
export { loadProcessedData } from './preprocess/processed-data.js';
export type { ProcessedData } from './preprocess/processed-data.js';
export { timeFeatureValues } from './preprocess/time-features.js';

export { MODEL_TYPES } from './models/forecast-model.js';
export type { ForecastModel, ModelType, WindowSpec } from './models/forecast-model.js';
/** Selects (and loads) a TensorFlow.js backend; TensorFlow.js loads with the first call, not with the library. */
export async function selectBackend(...args: Parameters<typeof Backend.selectBackend>): ReturnType<typeof Backend.selectBackend> {
  return (await import('./tf/backend.js')).selectBackend(...args);
}
export { trainModels } from './workflows/train.js';
export type { TrainModelsRequest, TrainModelsResult, TrainModelsDeps } from './workflows/train.js';

export { evaluateRuns } from './eval/evaluate-runs.js';
export { buildScoreboard, referenceScore } from './eval/scoreboard.js';
export type { Scoreboard, ScoreboardRow } from './eval/scoreboard.js';

export type { RunRecord } from './registry/run-record.js';
export { listRunRecords, readRunRecord } from './registry/run-store.js';
export { loadRunForServing } from './registry/load-run.js';
export { exportRun, EXPORT_FORMATS } from './registry/export-run.js';
export type { ExportFormat, RunExport } from './registry/export-run.js';
export { readPromotionPointer } from './registry/pointers.js';
export type { PromotionRecord } from './registry/pointers.js';
export { promote, promoteBest, rollback, type PromotionDecision, type PromotionDeps, type PromotionResult, type BestPromotionRequest, type RollbackRequest } from './workflows/promote.js';
export { autoPromote, decideAutoPromotion, type AutoPromotionOutcome } from './workflows/auto-promote.js';
export { validateCandidate, type CandidateCheck } from './workflows/validate-candidate.js';
export { listPromotionHistory } from './registry/promotion-history.js';

// fastify, its plugins and the metrics registry load with the first server, not with the library.
export async function buildServer(...args: Parameters<typeof BuildServer.buildServer>): ReturnType<typeof BuildServer.buildServer> {
  return (await import('./serve/build-server.js')).buildServer(...args);
}
export async function startInferenceService(...args: Parameters<typeof InferenceService.startInferenceService>): ReturnType<typeof InferenceService.startInferenceService> {
  return (await import('./serve/start-inference-service.js')).startInferenceService(...args);
}
export type { InferenceService } from './serve/start-inference-service.js';
export { sweepPredictionLogs, startLogRetention } from './serve/prediction-log-retention.js';
export type { LogSweepOptions, LogSweepResult, LogRetention, LogRetentionOptions } from './serve/prediction-log-retention.js';

export { createMessageBus } from './bus/index.js';
export type { MessageBus } from './bus/index.js';
