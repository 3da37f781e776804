import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { InferenceResultFields } from '../forecast/inference-result.js';
import type { ObjectStore } from '../storage/object-store.js';
import { LogLineBuffer, type DayBody } from './log-line-buffer.js';
import { failureFields } from './failure-fields.js';

/** One JSONL line: the reference's inference result record, plus flts' request id. */
export interface PredictionLogRecord extends InferenceResultFields {
  req_id: string;
  metrics: Record<string, unknown>;
  samples: unknown[];
  /** Earlier forecasts whose actuals this request brought: points and error per run. */
  live_matched?: Array<{ run_id: string; points: number; rmse: number; mae: number }>;
}

export interface PredictionLogOptions {
  store: ObjectStore;
  bucket: string;
  /** Deployment identifier; "" logs under `default/`. */
  identifier: string;
  flushIntervalMs: number;
  /** Records kept in memory at most; beyond it the oldest are dropped (and counted) rather than growing. */
  maxBuffered: number;
  logger: Logger;
}

export type PredictionLogDurability = 'buffered' | 'sync';

export interface PredictionLog {
  /**
   * `buffered`: the record is written by a later background flush, so a crash (kill -9, OOM, power loss) loses
   * what was appended since the last flush. `sync`: a 200 waits for this record to be on disk.
   */
  readonly durability: PredictionLogDurability;
  /**
   * buffered: returns a settled promise at once and never fails. sync: resolves once the record is durably
   * written (grouped with the records appended meanwhile), rejects with FLTS_STORE_UNAVAILABLE when it is not.
   */
  append(record: PredictionLogRecord): Promise<void>;
  flush(): Promise<void>;
  /** Stops the timer and writes what is buffered. */
  close(): Promise<void>;
  readonly dropped: number;
  /** Records appended and not written yet: buffered, or in a write still running. */
  readonly unwritten: number;
}

/** A record serialized when it is appended, so a write only joins lines and never stalls the event loop. */
export interface LogLine {
  day: string;
  line: string;
}

const WRITTEN: Promise<void> = Promise.resolve();

export function toLogLine(record: PredictionLogRecord): LogLine {
  return { day: record.timestamp.slice(0, 10).replace(/-/g, ''), line: JSON.stringify(record) };
}

/** `<identifier|default>/<YYYYMMDD>/<HHMMSSmmm>-<random>.jsonl`: a name no other writer can pick. */
export function logObjectKey(prefix: string, day: string, now: Date): string {
  const time = now.toISOString().slice(11, 23).replace(/[:.]/g, '');
  return `${prefix}/${day}/${time}-${randomBytes(6).toString('hex')}.jsonl`;
}

/** Lines grouped by UTC day, each group as one JSONL body. */
export function bodiesByDay(lines: readonly LogLine[]): Map<string, { body: string; count: number }> {
  const byDay = new Map<string, string[]>();
  for (const entry of lines) {
    const group = byDay.get(entry.day);
    if (group) group.push(entry.line);
    else byDay.set(entry.day, [entry.line]);
  }
  return new Map([...byDay].map(([day, dayLines]) => [day, { body: dayLines.join('\n') + '\n', count: dayLines.length }]));
}

/**
 * The `buffered` log: buffers prediction records and writes each flush as a NEW object (`logObjectKey`).
 * Nothing is ever read back and rewritten, so concurrent servers cannot overwrite each other's lines (F22)
 * and the cost of a write does not grow with the day's volume.
 */
export function createPredictionLog(options: PredictionLogOptions): PredictionLog {
  const prefix = options.identifier || 'default';
  // Two buffers: appends go to one while the other is being written, then they swap.
  let buffer = new LogLineBuffer();
  let spare = new LogLineBuffer();
  let dropped = 0;
  let writing: Promise<void> = Promise.resolve();
  /** Records of the write running now (out of `buffer` until it ends; those it could not write go back to it). */
  let beingWritten = 0;
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  const append = (day: string, line: string): void => {
    buffer.push(day, line);
    if (buffer.count > options.maxBuffered) {
      buffer.dropOldest();
      dropped++;
    }
  };

  async function writeBatch(taken: LogLineBuffer): Promise<void> {
    const failed: DayBody[] = [];
    for (const entry of taken.bodies()) {
      try {
        await options.store.put(options.bucket, logObjectKey(prefix, entry.day, new Date()), entry.body, { contentType: 'application/x-ndjson' });
      } catch (error) {
        const failure = failureFields(error);
        options.logger.warn({ ...failure.fields, records: entry.count }, 'prediction_log_write_failed');
        if (failure.stack) options.logger.debug({ stack: failure.stack }, 'prediction_log_write_failed_stack');
        failed.push(entry);
      }
    }
    if (failed.length === 0) return;
    // The lines that could not be written go back ahead of those appended meanwhile, up to maxBuffered.
    const appended = buffer;
    buffer = new LogLineBuffer();
    const requeue = (day: string, body: Uint8Array): void => {
      for (const line of Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8').split('\n')) {
        if (line && buffer.count < options.maxBuffered) buffer.push(day, line);
      }
    };
    for (const entry of failed) requeue(entry.day, entry.body);
    for (const entry of appended.bodies()) requeue(entry.day, entry.body);
  }

  function flush(): Promise<void> {
    writing = writing.then(async () => {
      if (buffer.count === 0) return;
      const taken = buffer;
      buffer = spare;
      beingWritten = taken.count;
      try {
        await writeBatch(taken);
      } finally {
        beingWritten = 0;
      }
      taken.clear();
      spare = taken;
    });
    return writing;
  }

  return {
    durability: 'buffered',
    append(record) {
      const { day, line } = toLogLine(record);
      append(day, line);
      return WRITTEN;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get dropped() {
      return dropped;
    },
    get unwritten() {
      return buffer.count + beingWritten;
    },
  };
}
