import { FltsError, toFltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeleteManyResult, ObjectStore } from '../storage/object-store.js';

/**
 * Retention of the prediction log (`<identifier|default>/<YYYYMMDD>/...` in the inference-logs bucket): whole day
 * folders older than the retention go, in every identifier's scope. Nothing in flts reads these records back (live
 * accuracy and probation keep their own reports in the runs bucket), but a `performance-eval` notice names its log
 * object for consumers outside flts, and a day folder is still written after midnight (buffered flushes, records
 * stamped before it): today's and yesterday's folders are therefore never deleted, whatever the retention.
 */
export interface LogSweepOptions {
  store: ObjectStore;
  bucket: string;
  /** Day folders dated more than this many days before today (UTC) are deleted; 0 deletes nothing. */
  retentionDays: number;
  now?: () => Date;
  /** Objects deleted at most in one sweep, so one sweep's work is bounded; the rest waits for the next. */
  maxDeletes?: number;
  signal?: AbortSignal;
}

export interface LogSweepResult {
  /** The day folders emptied, as `<identifier>/<YYYYMMDD>`. */
  days: string[];
  objects: number;
  /** False when the sweep stopped at `maxDeletes` (or was aborted) with old folders left. */
  complete: boolean;
}

export const DEFAULT_MAX_DELETES = 20_000;
/**
 * Keys handed to one `deleteMany`: four S3 DeleteObjects requests, which the S3 store sends side by side (twice as
 * fast as one after another on S3Proxy), and about a second of work between two looks at the signal.
 */
const DELETE_GROUP = 4000;
const DAY_MS = 86_400_000;
const DAY_FOLDER = /^(\d{4})(\d{2})(\d{2})\/$/;

/** `YYYYMMDD` of the UTC day `days` before `now`. */
function dayBefore(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

/** The day a folder name stands for, or undefined for anything that is not a real `YYYYMMDD` date (left alone). */
function folderDay(name: string): string | undefined {
  const match = DAY_FOLDER.exec(name);
  if (!match) return undefined;
  const [, year, month, day] = match;
  const date = new Date(`${year}-${month}-${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== `${year}-${month}-${day}` ? undefined : `${year}${month}${day}`;
}

/** The store's refusal of some of a folder's keys, under the store's code (the first refusal's), counted. */
function refused(folder: string, asked: number, failed: DeleteManyResult['failed']): FltsError {
  const [first] = failed;
  return new FltsError(first.error.code, `${failed.length} of ${asked} prediction log objects in ${folder} could not be deleted; the first, ${first.key}: ${first.error.message}`, {
    cause: first.error,
    details: { ...first.error.details, folder, failed: failed.length },
    hint: first.error.hint,
  });
}

/**
 * One sweep. Idempotent: replicas sweeping at once delete the same keys, and deleting a deleted object is not an
 * error on either store. Throws what the store throws; `startLogRetention` is what keeps that away from serving.
 */
export async function sweepPredictionLogs(options: LogSweepOptions): Promise<LogSweepResult> {
  const result: LogSweepResult = { days: [], objects: 0, complete: true };
  if (options.retentionDays <= 0) return result;
  const { store, bucket } = options;
  // At least one day is kept before today, so yesterday's folder stays whatever the setting.
  const oldestKept = dayBefore((options.now ?? (() => new Date()))(), Math.max(1, options.retentionDays));
  let budget = options.maxDeletes ?? DEFAULT_MAX_DELETES;
  for (const scope of await store.listFolders(bucket)) {
    for (const folder of await store.listFolders(bucket, scope)) {
      const day = folderDay(folder.slice(scope.length));
      if (day === undefined || day >= oldestKept) continue;
      if (budget <= 0 || options.signal?.aborted) return { ...result, complete: false };
      // One key past the budget tells a folder left unfinished from one finished exactly at the bound.
      const keys = (await store.list(bucket, folder, { limit: budget + 1 })).map((info) => info.key);
      const taken = keys.slice(0, budget);
      budget -= taken.length;
      for (let at = 0; at < taken.length; at += DELETE_GROUP) {
        if (options.signal?.aborted) return { ...result, complete: false };
        const group = taken.slice(at, at + DELETE_GROUP);
        const { deleted, failed } = await store.deleteMany(bucket, group);
        result.objects += deleted.length;
        if (failed.length > 0) throw refused(folder, group.length, failed);
      }
      if (taken.length < keys.length) return { ...result, complete: false };
      await store.removeEmptyFolder?.(bucket, folder);
      result.days.push(folder.slice(0, -1));
    }
  }
  return result;
}

export interface LogRetentionOptions extends Omit<LogSweepOptions, 'signal'> {
  logger: Logger;
  /** Between two sweeps; default 6 hours. */
  intervalMs?: number;
  /** After a sweep stopped at its bound, the next comes this much later instead; default 1 minute. */
  catchUpMs?: number;
}

export interface LogRetention {
  /** The scheduled sweep running or last run (never rejects); undefined when retention is off. */
  readonly lastSweep: Promise<LogSweepResult | undefined> | undefined;
  /**
   * One sweep at once (POST /prune_logs), keeping `retentionDays` days or else the configured retention; throws
   * what the store throws, and FLTS_REQUEST_INVALID when retention is off and no number of days is given.
   */
  sweepNow(retentionDays?: number): Promise<LogSweepResult>;
  /** Stops the timer and the sweep in progress (between two groups of deletes), and waits for it. */
  stop(): Promise<void>;
}

export const RETENTION_INTERVAL_MS = 6 * 3_600_000;
const CATCH_UP_MS = 60_000;

/**
 * Sweeps now and then every `intervalMs`, on a timer that does not keep the process alive. A failed sweep is
 * logged (`prediction_log_retention_failed`, with its code) and tried again at the next interval: retention never
 * fails a prediction or a start. Retention 0 starts nothing.
 */
export function startLogRetention(options: LogRetentionOptions): LogRetention {
  const controller = new AbortController();
  const sweepNow = (retentionDays = options.retentionDays): Promise<LogSweepResult> => {
    if (retentionDays <= 0) {
      return Promise.reject(new FltsError('FLTS_REQUEST_INVALID', 'Prediction log retention is off (FLTS_PREDICTION_LOG_RETENTION_DAYS=0): say how many days to keep (retention_days).'));
    }
    return sweepPredictionLogs({ ...options, retentionDays, signal: controller.signal });
  };
  if (options.retentionDays <= 0) return { lastSweep: undefined, sweepNow, stop: async () => void controller.abort() };
  const { logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let lastSweep: Promise<LogSweepResult | undefined>;

  const schedule = (ms: number): void => {
    if (controller.signal.aborted) return;
    timer = setTimeout(run, ms);
    timer.unref();
  };
  function run(): void {
    lastSweep = sweepPredictionLogs({ ...options, signal: controller.signal }).then(
      (result) => {
        if (result.objects > 0 || !result.complete) logger.info({ bucket: options.bucket, retention_days: options.retentionDays, days: result.days.length, objects: result.objects, complete: result.complete }, 'prediction_log_retention_swept');
        schedule(result.complete ? (options.intervalMs ?? RETENTION_INTERVAL_MS) : (options.catchUpMs ?? CATCH_UP_MS));
        return result;
      },
      (error: unknown) => {
        const flts = toFltsError(error);
        logger.warn({ code: flts.code, err: flts.message, bucket: options.bucket }, 'prediction_log_retention_failed');
        schedule(options.intervalMs ?? RETENTION_INTERVAL_MS);
        return undefined;
      },
    );
  }
  run();
  return {
    get lastSweep() {
      return lastSweep;
    },
    sweepNow,
    async stop() {
      controller.abort();
      clearTimeout(timer);
      await lastSweep;
    },
  };
}
