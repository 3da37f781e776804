import { toFltsError } from '../errors.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import type { MatchedError } from '../live/live-scorer.js';
import type { Logger } from '../logger.js';
import type { LiveMonitor } from './live-monitor.js';
import type { PredictionLog } from './prediction-log.js';
import { buildPredictionLogRecord, buildPredictResponse, newRequestId, type PredictResponse } from './prediction-response.js';
import type { PredictionInput, PredictionResult } from './run-prediction.js';
import type { ServeMetrics } from './serve-metrics.js';
import { createServeStats, type ServeStats } from './serve-stats.js';

export interface ServedPrediction {
  /** The series the forecast belongs to ("" = "default"), for live scoring and its log record. */
  identifier: string;
  input: PredictionInput;
  result: PredictionResult;
  /** The answer in /predict's shape, which the prediction log records; built from `result` when not given. */
  response?: PredictResponse;
  /** The client's request id (the Open Inference Protocol's `id`), when it gave one. */
  requestId?: string;
}

/**
 * What a served prediction leaves behind, whichever protocol asked for it (POST /predict, the Open Inference
 * Protocol over HTTP or gRPC): its place in /stats, its count, its live scoring and its prediction-log record.
 */
export interface PredictionRecorder {
  readonly stats: ServeStats;
  /** Runs one prediction request, timed in /stats (a failure counted by its code); `run` returns its answer and model time. */
  measure<T>(run: () => Promise<{ answer: T; modelMs: number }>): Promise<T>;
  /**
   * Counts the prediction, scores the actuals its input brings and remembers its forecast, and writes its log
   * record: before this resolves with a sync log (the answer waits for its record), after the answer otherwise.
   */
  record(prediction: ServedPrediction): Promise<void>;
  /** Resolves once the work that follows the answers sent so far (scoring, appending their records) has ended. */
  settled(): Promise<void>;
}

export interface PredictionRecorderDeps {
  /** Absent: nothing is counted (the library's forecaster, which has no /metrics). */
  metrics?: Pick<ServeMetrics, 'countPredictions'>;
  /** Where the records go: the server's prediction log, or a library caller's sink of them. */
  predictionLog?: Pick<PredictionLog, 'durability' | 'append'>;
  live?: LiveMonitor;
  logger: Logger;
  /** The deployment identifier ("" = "default"): a prediction names its series in `record`, which the log record gives. */
  identifier: string;
}

export function createPredictionRecorder(deps: PredictionRecorderDeps): PredictionRecorder {
  const stats = createServeStats();
  const { predictionLog, live, metrics, logger } = deps;
  const afterResponses = createAfterResponseQueue((error) => logger.warn({ err: error }, 'prediction_log_append_failed'));
  return {
    stats,
    async measure(run) {
      const started = performance.now();
      stats.requestStarted();
      try {
        const { answer, modelMs } = await run();
        stats.requestFinished(performance.now() - started, modelMs);
        return answer;
      } catch (error) {
        const flts = toFltsError(error);
        stats.requestFinished(performance.now() - started, 0, { status: flts.kind === 'internal' ? 500 : 400, code: flts.code });
        throw error;
      }
    },
    async record({ identifier, input, result, response: given, requestId }) {
      metrics?.countPredictions(result.forecast.time.length);
      const observe = (): Promise<MatchedError[]> => (live ? live.observePrediction(identifier, input, result) : Promise.resolve([]));
      if (!predictionLog) {
        // Scoring comes after the answer is sent: it neither delays nor fails a prediction.
        if (live) afterResponses.push(() => observe().catch((error: unknown) => logger.warn({ err: error }, 'live_observe_failed')));
        return;
      }
      // The record holds the answer in /predict's shape: built for the log alone when another protocol answered.
      const response = given ?? buildPredictResponse(result, identifier, requestId ?? newRequestId());
      if (!given && turnSpent()) await nextTurn();
      if (predictionLog.durability === 'sync') {
        await predictionLog.append(buildPredictionLogRecord(response, result.targets, new Date(), await observe()));
        return;
      }
      afterResponses.push(() =>
        observe().then(
          (matched) => predictionLog.append(buildPredictionLogRecord(response, result.targets, new Date(), matched)),
          (error: unknown) => logger.warn({ err: error }, 'live_observe_failed'),
        ),
      );
    },
    settled: () => afterResponses.settled(),
  };
}

/**
 * Work that follows the answers sent in one I/O phase, started together in the next check phase (one
 * setImmediate for all of them rather than one each), in arrival order, spread over turns when they are long
 * (remembering a 10000-row forecast). A task that fails is reported to `onError`: with no request left to
 * fail, an unhandled rejection would end the process.
 */
function createAfterResponseQueue(onError: (error: unknown) => void): { push(task: () => Promise<unknown>): void; settled(): Promise<void> } {
  const tasks: Array<() => Promise<unknown>> = [];
  /** Tasks started and not ended. */
  const started = new Set<Promise<unknown>>();
  let running = false;
  // One runner at a time, so tasks queued while it waits for a turn still start in arrival order.
  const run = async (): Promise<void> => {
    running = true;
    while (tasks.length > 0) {
      if (turnSpent()) await nextTurn();
      const task = (tasks.shift() as () => Promise<unknown>)().catch(onError);
      started.add(task);
      void task.finally(() => started.delete(task));
    }
    running = false;
  };
  return {
    push(task) {
      if (tasks.length === 0 && !running) setImmediate(() => void run());
      tasks.push(task);
    },
    // A stopping server's last flush waits for the records of its last answers, appended a turn or more after them.
    async settled() {
      while (tasks.length > 0 || running || started.size > 0) {
        if (started.size > 0) await Promise.all(started);
        else await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}
