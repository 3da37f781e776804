import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { InferenceResultFields } from '../forecast/inference-result.js';
import type { ObjectStore } from '../storage/object-store.js';

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
  let buffer: LogLine[] = [];
  let dropped = 0;
  let writing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  async function writeBatch(lines: LogLine[]): Promise<void> {
    for (const [day, { body, count }] of bodiesByDay(lines)) {
      try {
        await options.store.put(options.bucket, logObjectKey(prefix, day, new Date()), body, { contentType: 'application/x-ndjson' });
      } catch (error) {
        options.logger.warn({ err: error, records: count }, 'prediction_log_write_failed');
        buffer = [...lines.filter((line) => line.day === day), ...buffer].slice(0, options.maxBuffered);
      }
    }
  }

  function flush(): Promise<void> {
    writing = writing.then(async () => {
      if (buffer.length === 0) return;
      const lines = buffer;
      buffer = [];
      await writeBatch(lines);
    });
    return writing;
  }

  return {
    durability: 'buffered',
    append(record) {
      buffer.push(toLogLine(record));
      if (buffer.length > options.maxBuffered) {
        buffer.shift();
        dropped++;
      }
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
  };
}
