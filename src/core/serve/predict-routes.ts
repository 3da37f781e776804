import { FltsError, toFltsError } from '../errors.js';
import type { MatchedError } from '../live/live-scorer.js';
import type { ReloadOutcome } from './model-holder.js';
import { buildPredictionLogRecord, buildPredictResponse, newRequestId } from './prediction-response.js';
import { runPrediction } from './run-prediction.js';
import { predictSchema, reloadSchema, type PredictBody, type PredictQuery } from './schemas/predict.js';
import type { ServeContext } from './serve-context.js';

/** POST /predict (the reference contract) and POST /reload_latest. */
export function registerPredictRoutes(context: ServeContext): void {
  const { holder, metrics, stats, predictionLog, live } = context;
  const forcedReload = createReloadLimiter(() => holder.reloadFromPointer({ force: true }), context.reloadMinIntervalMs);
  const afterResponses = createAfterResponseQueue((error) => context.logger.warn({ err: error }, 'prediction_log_append_failed'));

  context.routes.route({
    method: 'POST',
    url: '/predict',
    schema: predictSchema,
    handler: async (request) => {
      const body = (request.body ?? {}) as PredictBody;
      const query = request.query as PredictQuery;
      const started = performance.now();
      stats.requestStarted();
      try {
        const input = { data: body.data ?? undefined, indexCol: body.index_col, inferenceLength: query.inference_length ?? body.inference_length };
        const result = await runPrediction(holder, input, context.inferenceLength);
        const response = buildPredictResponse(result, context.identifier, newRequestId());
        // Live scoring: the actuals this request brings are scored, its forecast remembered (the record lists what matched).
        const observe = (): Promise<MatchedError[]> => (live ? live.observePrediction(body.identifier ?? context.identifier, input, result) : Promise.resolve([]));
        // sync: the answer waits for its record to be on disk; buffered: scoring and the record come after the answer is sent.
        if (predictionLog?.durability === 'sync') await predictionLog.append(buildPredictionLogRecord(response, result.targets, new Date(), await observe()));
        else if (live || predictionLog) {
          afterResponses.push(() =>
            observe().then(
              (matched) => predictionLog?.append(buildPredictionLogRecord(response, result.targets, new Date(), matched)),
              (error: unknown) => context.logger.warn({ err: error }, 'live_observe_failed'),
            ),
          );
        }
        metrics.countPredictions(response.predictions.length);
        stats.requestFinished(performance.now() - started, result.modelMs);
        return response;
      } catch (error) {
        const flts = toFltsError(error);
        stats.requestFinished(performance.now() - started, 0, { status: flts.kind === 'internal' ? 500 : 400, code: flts.code });
        throw error;
      }
    },
  });

  context.routes.route({
    method: 'POST',
    url: '/reload_latest',
    schema: reloadSchema,
    handler: async () => {
      const outcome = await forcedReload();
      const current = holder.status().current;
      const loaded = outcome.result === 'loaded' || outcome.result === 'unchanged';
      return {
        status: loaded ? 'loaded' : 'not_loaded',
        result: outcome.result,
        run_id: current?.runId ?? null,
        model_type: current?.modelType ?? null,
        config_hash: current?.configHash ?? null,
        ...(outcome.result === 'failed' ? { message: outcome.error.message } : {}),
      };
    },
  });
}

/**
 * Work that follows the answers sent in one I/O phase, started together in the next check phase (one
 * setImmediate for all of them rather than one each), in arrival order. A task that fails is reported to
 * `onError`: with no request left to fail, an unhandled rejection would end the process.
 */
function createAfterResponseQueue(onError: (error: unknown) => void): { push(task: () => Promise<unknown>): void } {
  let tasks: Array<() => Promise<unknown>> = [];
  const run = (): void => {
    const due = tasks;
    tasks = [];
    for (const task of due) task().catch(onError);
  };
  return {
    push(task) {
      if (tasks.length === 0) setImmediate(run);
      tasks.push(task);
    },
  };
}

/**
 * Forced reloads at most once per `minIntervalMs`: a call while one runs shares its outcome, a call soon after
 * one finished is refused with 429 and Retry-After, so a client in a loop cannot make the server load models
 * back to back.
 */
function createReloadLimiter(reload: () => Promise<ReloadOutcome>, minIntervalMs: number): () => Promise<ReloadOutcome> {
  let inFlight: Promise<ReloadOutcome> | undefined;
  let lastStarted = Number.NEGATIVE_INFINITY;
  return () => {
    if (inFlight) return inFlight;
    const waitMs = lastStarted + minIntervalMs - performance.now();
    if (waitMs > 0) {
      const retryAfterSec = Math.ceil(waitMs / 1000);
      throw new FltsError('FLTS_SERVE_RELOAD_RATE_LIMITED', `A reload was forced less than ${minIntervalMs} ms ago; retry in ${retryAfterSec} s.`, { details: { retryAfterSec } });
    }
    lastStarted = performance.now();
    inFlight = reload().finally(() => (inFlight = undefined));
    return inFlight;
  };
}
