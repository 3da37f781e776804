import { FltsError, isServiceRefusal, toFltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import { backoffDelayMs, sleep, UNTIL_AVAILABLE, type BackoffPolicy } from '../retry.js';
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
  /** The bus topic a promotion notice arrives on, when the owner follows one; named on the log while nothing is promoted. */
  promotionTopic?: string;
  /** A pointed run that failed to load is retried after this long (sooner on a forced reload). */
  retryFailedMs?: number;
  batching: Omit<RequestBatcherOptions, 'onBatch'>;
  metrics?: ServeMetrics;
  logger: Logger;
  onEvent?: EventSink;
  now?: () => number;
  /** How a pinned run is retried while the store is unavailable; defaults to UNTIL_AVAILABLE. */
  storeWait?: BackoffPolicy;
}

export interface DegradedState {
  /**
   * Why, for anyone: the public health routes show it. Built of run ids, pointer keys and error codes, never of a
   * cause's message, which can name the S3 endpoint, its access key id or a local path.
   */
  reason: string;
  /** Why, for the operator: the reason with each cause's message (logged as serve_degraded, and the library's `degraded`). */
  detail: string;
  /** The error code of the cause (FLTS_RUN_NOT_FOUND, FLTS_MODEL_ARTIFACT_MISSING, ...), when there is one. */
  code?: string;
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
  /**
   * Reads the pointer cascade and loads the promoted run if it changed; a pinned holder reloads its pinned run
   * instead. A pointed run that cannot be loaded falls back along the cascade. Never throws.
   */
  reloadFromPointer(options?: { force?: boolean }): Promise<ReloadOutcome>;
  /** The promotion pointer as it stands (the first usable one of the cascade), undefined when there is none; loads nothing. Throws when the store cannot be read. */
  readPointer(): Promise<PointerTarget | undefined>;
  /**
   * First load and pointer polling. A pinned run that cannot be loaded throws, unless the cause is retriable
   * (the store is unavailable): then it is retried in the background while the holder reports itself degraded.
   * Following the pointer throws only when the store refuses the credentials (or permissions, or certificate) and so
   * no model can be served; a missing or broken run is waited for.
   */
  start(): Promise<void>;
  /**
   * Reads the pinned run's record, before start(): throws when the store answers that it cannot be served (not found,
   * or a reason no wait mends, as start() would a moment later), so that a wrong --run is refused before the server
   * listens. A store that is unavailable is left to start(), which waits for it. Does nothing when following the
   * pointer, or with a source that cannot read a record alone.
   */
  checkPinnedRun(): Promise<void>;
  /**
   * Reads the pointer every `pollIntervalMs` from now on, as start() does after its first load: for an owner that made
   * the first load itself (reloadFromPointer). Does nothing for a pinned holder, without an interval, or when polling.
   */
  followPointer(): void;
  /**
   * Settles when the holder, serving nothing, meets a reason that waiting does not mend: the pinned run turned out
   * unloadable (its wait ends), or the store refuses the credentials, permissions or certificate. Settings are read
   * at startup, so its owner should stop and let a restart pick up corrected ones (`flts serve` exits). Polling the
   * pointer goes on meanwhile. Never settles otherwise.
   */
  readonly gaveUp: Promise<FltsError>;
  /** Stops polling and disposes the model once idle. */
  stop(): Promise<void>;
  status(): ModelHolderStatus;
}

/**
 * What an operator needs of a holder that has no promoted run: where it looks, since when, and how it will learn of a
 * promotion (a bus notice, a pointer poll, or neither: only a `POST /reload_latest` loads one then).
 */
function waitingFields(options: ModelHolderOptions, since: Date): Record<string, unknown> {
  const polls = !options.pinnedRunId && options.pollIntervalMs > 0;
  const ways = [...(options.promotionTopic ? ['bus'] : []), ...(polls ? ['poll'] : [])];
  return {
    bucket: options.source.pointerLocation?.bucket ?? null,
    pointers: options.source.pointerLocation?.keys ?? null,
    waiting_since: since.toISOString(),
    learns_by: ways.length > 0 ? ways.join('+') : 'reload_only',
    promotion_topic: options.promotionTopic ?? null,
    poll_interval_ms: polls ? options.pollIntervalMs : null,
  };
}

export function createModelHolder(options: ModelHolderOptions): ModelHolder {
  const now = options.now ?? Date.now;
  const retryFailedMs = options.retryFailedMs ?? 30_000;
  const logger = options.logger.child({ component: 'model-holder' });
  let served: ServedModel | undefined;
  let degraded: DegradedState | undefined;
  let startedAt: number | undefined;
  let startupReadyMs: number | null = null;
  /** Runs that failed to load, so polling does not reload a broken run every tick. */
  const failures = new Map<string, { at: number; error: FltsError }>();
  let loading: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let stopped = false;
  let waiting: AbortController | undefined;
  let giveUp: ((error: FltsError) => void) | undefined;
  const gaveUp = new Promise<FltsError>((resolve) => (giveUp = resolve));
  const endWait = (error: FltsError): void => {
    if (!giveUp) return;
    logger.error({ code: error.code, err: error.message }, 'serve_model_wait_ended');
    giveUp(error);
    giveUp = undefined;
  };
  /** A pointer that cannot be followed by anyone with these settings, while nothing is served. */
  const hopeless = (outcome: ReloadOutcome): FltsError | undefined => (!served && outcome.result === 'failed' && isServiceRefusal(outcome.error) ? outcome.error : undefined);

  /** `say` writes the sentence once; `cause(error)` in it is the error's code in the reason, its code and message in the detail. */
  const setDegraded = (say: (cause: (error: FltsError) => string) => string, runId?: string, code?: string): void => {
    const reason = say((error) => error.code);
    const detail = say((error) => `${error.code}: ${error.message}`);
    if (degraded?.detail !== detail) logger.warn({ reason: detail, run_id: runId, code }, 'serve_degraded');
    degraded = { reason, detail, runId, ...(code ? { code } : {}), since: degraded?.reason === reason ? degraded.since : new Date(now()).toISOString() };
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
    failures.delete(runId);
    clearDegraded();
    logger.info({ run_id: runId, model_type: next.run.modelType, config_hash: next.run.configHash, engine: next.model.engine, engine_note: next.model.engineNote, previous_run_id: previous?.run.runId }, 'serve_model_loaded');
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
    failures.set(runId, { at: now(), error: flts });
    options.metrics?.countReload('failure');
    logger.error({ run_id: runId, code: flts.code, err: flts.message }, 'serve_model_load_failed');
    options.onEvent?.({ type: 'serve.model_load_failed', runId, code: flts.code, message: flts.message });
    setDegraded((cause) => `Run ${runId} could not be loaded (${cause(flts)}); ${served ? `still serving run ${served.run.runId}` : 'no model is served'}.`, runId, flts.code);
    return flts;
  }

  async function reloadPinned(runId: string, force: boolean): Promise<ReloadOutcome> {
    if (!force && served?.run.runId === runId) return { result: 'unchanged', runId };
    try {
      await swapIn(runId);
      return { result: 'loaded', runId };
    } catch (error) {
      return { result: 'failed', runId, error: recordFailure(runId, error) };
    }
  }

  /** The promoted run's pointer (with the corrupt ones passed over), then the usable pointers after it in the cascade. */
  async function readCascade(): Promise<PointerTarget[]> {
    const first = await options.source.readPointer();
    if (!first) return [];
    const all = options.source.readPointerCascade ? await options.source.readPointerCascade() : [];
    const at = all.findIndex((pointer) => pointer.source === first.source);
    return [first, ...(at >= 0 ? all.slice(at + 1) : [])];
  }

  /** Tries one pointed run; true when it is served afterwards. */
  async function tryTarget(target: PointerTarget, force: boolean): Promise<{ ok: true; loaded: boolean } | { ok: false; error: FltsError }> {
    if (served?.run.runId === target.runId) return { ok: true, loaded: false };
    const failed = failures.get(target.runId);
    if (!force && failed && now() - failed.at < retryFailedMs) return { ok: false, error: failed.error };
    try {
      await swapIn(target.runId);
      return { ok: true, loaded: true };
    } catch (error) {
      return { ok: false, error: recordFailure(target.runId, error) };
    }
  }

  async function reloadOnce(force: boolean): Promise<ReloadOutcome> {
    if (options.pinnedRunId) return reloadPinned(options.pinnedRunId, force);
    let cascade: PointerTarget[];
    try {
      cascade = await readCascade();
    } catch (error) {
      const flts = toFltsError(error);
      setDegraded((cause) => `The promotion pointer cannot be read (${cause(flts)}); ${served ? `still serving run ${served.run.runId}` : 'no model is served'}.`, undefined, flts.code);
      return { result: 'failed', error: flts };
    }
    const [first, ...fallbacks] = cascade;
    if (!first) {
      if (served) setDegraded(() => `No promotion pointer found; still serving run ${served!.run.runId}.`);
      return { result: 'no_pointer' };
    }
    // Corrupt pointers before the first usable one are passed over, and reported (each problem names a key, never a message).
    const passedOver = first.skipped?.length ? `Serving run ${first.runId} from ${first.source ?? 'a fallback pointer'} because ${first.skipped.join('; ')}.` : undefined;
    const attempt = await tryTarget(first, force);
    if (attempt.ok) {
      if (passedOver) setDegraded(() => passedOver, first.runId);
      else if (degraded) clearDegraded();
      return { result: attempt.loaded ? 'loaded' : 'unchanged', runId: first.runId };
    }
    // The pointed run is missing or broken: the next pointer of the cascade (or the last good model) serves meanwhile.
    const unloadable = (cause: (error: FltsError) => string): string => `${first.source ?? 'the pointer'} names run ${first.runId}, which cannot be loaded (${cause(attempt.error)})`;
    for (const fallback of fallbacks) {
      if (fallback.runId === first.runId) continue;
      const kept = await tryTarget(fallback, force);
      if (kept.ok) {
        setDegraded((cause) => `${unloadable(cause)}; serving run ${fallback.runId} from ${fallback.source ?? 'the next pointer'}.`, first.runId, attempt.error.code);
        return { result: 'failed', runId: first.runId, error: attempt.error };
      }
    }
    setDegraded((cause) => `${unloadable(cause)}; ${served ? `still serving run ${served.run.runId}` : 'no model is served'}.`, first.runId, attempt.error.code);
    return { result: 'failed', runId: first.runId, error: attempt.error };
  }

  function loadRun(runId: string): Promise<ServedModel> {
    return serialized(async () => {
      try {
        return await swapIn(runId);
      } catch (error) {
        throw recordFailure(runId, error);
      }
    });
  }

  /** Retries the pinned run until it loads, fails for a reason retrying cannot fix, or the holder stops. */
  async function waitForPinnedRun(runId: string, signal: AbortSignal): Promise<void> {
    for (let retry = 1; ; retry += 1) {
      if (!(await sleep(backoffDelayMs(options.storeWait ?? UNTIL_AVAILABLE, retry), signal))) return;
      try {
        await loadRun(runId);
        return;
      } catch (error) {
        const flts = toFltsError(error);
        if (!flts.retriable) return endWait(flts);
      }
    }
  }

  function schedulePoll(): void {
    if (stopped || options.pinnedRunId || options.pollIntervalMs <= 0) return;
    polling = true;
    timer = setTimeout(() => {
      void serialized(() => reloadOnce(false))
        .then((outcome) => {
          const refused = hopeless(outcome);
          if (refused && !stopped) endWait(refused);
        })
        .finally(schedulePoll);
    }, options.pollIntervalMs);
    timer.unref();
  }

  return {
    acquire() {
      const current = served;
      if (!current) {
        // The reason, not the detail: /predict answers this to anyone.
        throw new FltsError('FLTS_SERVE_NO_MODEL', degraded?.reason ?? 'No model is loaded yet: nothing has been promoted, or the promoted run is still loading.');
      }
      return { served: current, release: current.acquire() };
    },
    current: () => served,
    loadRun,
    reloadFromPointer(reloadOptions = {}) {
      return serialized(() => reloadOnce(reloadOptions.force ?? true));
    },
    readPointer: () => options.source.readPointer(),
    async start() {
      startedAt = now();
      stopped = false;
      options.metrics?.setModelReady(false, false);
      if (options.pinnedRunId) {
        try {
          await loadRun(options.pinnedRunId);
        } catch (error) {
          // An orchestrator restarting the process would not bring the store back sooner; waiting says why on /readyz.
          if (!toFltsError(error).retriable) throw error;
          waiting = new AbortController();
          void waitForPinnedRun(options.pinnedRunId, waiting.signal);
        }
        return;
      }
      const outcome = await this.reloadFromPointer({ force: true });
      // Stopped while the pointer was read (a signal right after the server listened): the stop was said last.
      if (stopped) return;
      const refused = hopeless(outcome);
      if (refused) throw refused;
      if (outcome.result === 'no_pointer') {
        logger.warn(waitingFields(options, new Date()), 'serve_waiting_for_promotion');
        options.onEvent?.({ type: 'serve.waiting_for_promotion' });
      }
      if (!polling) schedulePoll();
    },
    async checkPinnedRun() {
      if (!options.pinnedRunId || !options.source.readRun) return;
      try {
        await options.source.readRun(options.pinnedRunId);
      } catch (error) {
        if (!toFltsError(error).retriable) throw error;
      }
    },
    followPointer() {
      if (!polling) schedulePoll();
    },
    gaveUp,
    async stop() {
      stopped = true;
      waiting?.abort();
      if (timer) clearTimeout(timer);
      polling = false;
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
