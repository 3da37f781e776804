import { FltsError, toFltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import type { ModelSource, PointerTarget } from './model-source.js';
import type { RequestBatcherOptions } from '../forecast/request-batcher.js';
import { openServedModel, type ServedModel } from './served-model.js';
import type { ServeMetrics } from './serve-metrics.js';

export interface ModelHolderOptions {
  source: ModelSource;
  /** Serve this run and never follow the promotion pointer. */
  pinnedRunId?: string;
  /** How often the pointer is read; 0 = only on `reloadFromPointer()` calls. */
  pollIntervalMs: number;
  /** A pointed run that failed to load is retried after this long (sooner on a forced reload). */
  retryFailedMs?: number;
  batching: Omit<RequestBatcherOptions, 'onBatch'>;
  metrics?: ServeMetrics;
  logger: Logger;
  onEvent?: EventSink;
  now?: () => number;
}

export interface DegradedState {
  reason: string;
  /** The run that should be served but is not. */
  runId?: string;
  since: string;
}

export interface ModelHolderStatus {
  ready: boolean;
  current?: { runId: string; modelType: string; configHash: string; loadedAt: string; engine?: string; engineNote?: string };
  degraded?: DegradedState;
  /** Milliseconds from `start()` to the first warm model, null until then. */
  startupReadyMs: number | null;
  pinnedRunId?: string;
}

export type ReloadOutcome =
  | { result: 'loaded'; runId: string }
  | { result: 'unchanged'; runId: string }
  | { result: 'no_pointer' }
  | { result: 'failed'; runId?: string; error: FltsError };

/**
 * Owns the served model. Loads a new run beside the current one, warms it, then swaps in one assignment:
 * requests already holding the old model finish on it, and it is disposed when the last one releases it.
 * A pointer to a missing or broken run never removes the working model; the holder reports itself
 * degraded (F3) and retries later.
 */
export interface ModelHolder {
  /** The served model for one request, with its release function; FLTS_SERVE_NO_MODEL before the first load. */
  acquire(): { served: ServedModel; release: () => void };
  current(): ServedModel | undefined;
  /** Loads, warms and swaps in `runId`. Throws (and marks degraded when a model is already served) on failure. */
  loadRun(runId: string): Promise<ServedModel>;
  /** Reads the pointer cascade and loads the promoted run if it changed. Never throws. */
  reloadFromPointer(options?: { force?: boolean }): Promise<ReloadOutcome>;
  /** First load (pinned run: throws on failure; pointer: never throws) and pointer polling. */
  start(): Promise<void>;
  /** Stops polling and disposes the model once idle. */
  stop(): Promise<void>;
  status(): ModelHolderStatus;
}

export function createModelHolder(options: ModelHolderOptions): ModelHolder {
  const now = options.now ?? Date.now;
  const retryFailedMs = options.retryFailedMs ?? 30_000;
  const logger = options.logger.child({ component: 'model-holder' });
  let served: ServedModel | undefined;
  let degraded: DegradedState | undefined;
  let startedAt: number | undefined;
  let startupReadyMs: number | null = null;
  let lastFailure: { runId: string; at: number; error: FltsError } | undefined;
  let loading: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const setDegraded = (reason: string, runId?: string): void => {
    if (degraded?.reason !== reason) logger.warn({ reason, runId }, 'serve_degraded');
    degraded = { reason, runId, since: degraded?.reason === reason ? degraded.since : new Date(now()).toISOString() };
    options.metrics?.setModelReady(served !== undefined, served !== undefined);
  };
  const clearDegraded = (): void => {
    degraded = undefined;
    options.metrics?.setModelReady(served !== undefined, false);
  };

  async function swapIn(runId: string): Promise<ServedModel> {
    const next = await openServedModel(options.source, runId, {
      batching: options.batching,
      onBatch: options.metrics ? (size) => options.metrics?.observeBatch(size) : undefined,
    });
    if (stopped) {
      next.retire();
      throw new FltsError('FLTS_SERVE_NO_MODEL', 'The server is stopping.');
    }
    const previous = served;
    served = next;
    previous?.retire();
    if (startupReadyMs === null && startedAt !== undefined) startupReadyMs = now() - startedAt;
    options.metrics?.countReload('success');
    options.metrics?.setModel(next.run);
    lastFailure = undefined;
    clearDegraded();
    logger.info({ runId, modelType: next.run.modelType, configHash: next.run.configHash, engine: next.model.engine, engineNote: next.model.engineNote, previousRunId: previous?.run.runId }, 'serve_model_loaded');
    options.onEvent?.({ type: 'serve.model_loaded', runId, modelType: next.run.modelType, configHash: next.run.configHash, previousRunId: previous?.run.runId });
    return next;
  }

  /** Loads run after run, never two at once. */
  function serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = loading.then(task, task);
    loading = result.catch(() => undefined);
    return result;
  }

  function recordFailure(runId: string, error: unknown): FltsError {
    const flts = toFltsError(error);
    lastFailure = { runId, at: now(), error: flts };
    options.metrics?.countReload('failure');
    logger.error({ runId, code: flts.code, err: flts.message }, 'serve_model_load_failed');
    options.onEvent?.({ type: 'serve.model_load_failed', runId, code: flts.code, message: flts.message });
    if (served) setDegraded(`Run ${runId} could not be loaded (${flts.code}: ${flts.message}); still serving run ${served.run.runId}.`, runId);
    return flts;
  }

  async function reloadOnce(force: boolean): Promise<ReloadOutcome> {
    let pointer: PointerTarget | undefined;
    try {
      pointer = await options.source.readPointer();
    } catch (error) {
      const flts = toFltsError(error);
      if (served) setDegraded(`The promotion pointer cannot be read (${flts.code}: ${flts.message}); still serving run ${served.run.runId}.`);
      return { result: 'failed', error: flts };
    }
    if (!pointer) {
      if (served) setDegraded(`No promotion pointer found; still serving run ${served.run.runId}.`);
      return { result: 'no_pointer' };
    }
    const fallback = pointer.skipped?.length ? `Serving run ${pointer.runId} from ${pointer.source ?? 'a fallback pointer'} because ${pointer.skipped.join('; ')}.` : undefined;
    if (served?.run.runId === pointer.runId) {
      if (fallback) setDegraded(fallback, pointer.runId);
      else if (degraded) clearDegraded();
      return { result: 'unchanged', runId: pointer.runId };
    }
    if (!force && lastFailure?.runId === pointer.runId && now() - lastFailure.at < retryFailedMs) {
      return { result: 'failed', runId: pointer.runId, error: lastFailure.error };
    }
    try {
      await swapIn(pointer.runId);
      if (fallback) setDegraded(fallback, pointer.runId);
      return { result: 'loaded', runId: pointer.runId };
    } catch (error) {
      return { result: 'failed', runId: pointer.runId, error: recordFailure(pointer.runId, error) };
    }
  }

  function schedulePoll(): void {
    if (stopped || options.pinnedRunId || options.pollIntervalMs <= 0) return;
    timer = setTimeout(() => {
      void serialized(() => reloadOnce(false)).finally(schedulePoll);
    }, options.pollIntervalMs);
    timer.unref();
  }

  return {
    acquire() {
      const current = served;
      if (!current) {
        throw new FltsError('FLTS_SERVE_NO_MODEL', degraded?.reason ?? 'No model is loaded yet: nothing has been promoted, or the promoted run is still loading.');
      }
      return { served: current, release: current.acquire() };
    },
    current: () => served,
    loadRun(runId) {
      return serialized(async () => {
        try {
          return await swapIn(runId);
        } catch (error) {
          throw recordFailure(runId, error);
        }
      });
    },
    reloadFromPointer(reloadOptions = {}) {
      return serialized(() => reloadOnce(reloadOptions.force ?? true));
    },
    async start() {
      startedAt = now();
      stopped = false;
      options.metrics?.setModelReady(false, false);
      if (options.pinnedRunId) {
        await this.loadRun(options.pinnedRunId);
        return;
      }
      const outcome = await this.reloadFromPointer({ force: true });
      if (outcome.result === 'no_pointer') logger.warn({}, 'serve_waiting_for_promotion');
      schedulePoll();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await loading;
      served?.retire();
      served = undefined;
    },
    status() {
      return {
        ready: served !== undefined,
        current: served && {
          runId: served.run.runId,
          modelType: served.run.modelType,
          configHash: served.run.configHash,
          loadedAt: served.loadedAt,
          engine: served.model.engine,
          engineNote: served.model.engineNote,
        },
        degraded,
        startupReadyMs,
        pinnedRunId: options.pinnedRunId,
      };
    },
  };
}
