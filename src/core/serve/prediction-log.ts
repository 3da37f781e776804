import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { InferenceResultFields } from '../forecast/inference-result.js';
import type { ObjectStore } from '../storage/object-store.js';

/** One JSONL line: the reference's inference result record, plus flts' request id. */
export interface PredictionLogRecord extends InferenceResultFields {
  req_id: string;
  metrics: Record<string, unknown>;
  samples: unknown[];
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

export interface PredictionLog {
  /** Never blocks and never throws: the record is written by a later background flush. */
  append(record: PredictionLogRecord): void;
  flush(): Promise<void>;
  /** Stops the timer and writes what is buffered. */
  close(): Promise<void>;
  readonly dropped: number;
}

/**
 * Buffers prediction records and writes each flush as a NEW object
 * `<identifier|default>/<YYYYMMDD>/<HHMMSSmmm>-<random>.jsonl`. Nothing is ever read back and rewritten,
 * so concurrent servers cannot overwrite each other's lines (F22) and the cost of a write does not grow
 * with the day's volume.
 */
/** A record serialized when it is appended, so a flush only joins lines and never stalls the event loop. */
interface BufferedLine {
  day: string;
  line: string;
}

export function createPredictionLog(options: PredictionLogOptions): PredictionLog {
  const prefix = options.identifier || 'default';
  let buffer: BufferedLine[] = [];
  let dropped = 0;
  let writing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  function objectKey(day: string, now: Date): string {
    const time = now.toISOString().slice(11, 23).replace(/[:.]/g, '');
    return `${prefix}/${day}/${time}-${randomBytes(6).toString('hex')}.jsonl`;
  }

  async function writeBatch(lines: BufferedLine[]): Promise<void> {
    const byDay = new Map<string, BufferedLine[]>();
    for (const entry of lines) {
      const group = byDay.get(entry.day);
      if (group) group.push(entry);
      else byDay.set(entry.day, [entry]);
    }
    for (const [day, dayLines] of byDay) {
      const body = dayLines.map((entry) => entry.line).join('\n') + '\n';
      try {
        await options.store.put(options.bucket, objectKey(day, new Date()), body, { contentType: 'application/x-ndjson' });
      } catch (error) {
        options.logger.warn({ err: error, records: dayLines.length }, 'prediction_log_write_failed');
        buffer = [...dayLines, ...buffer].slice(0, options.maxBuffered);
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
    append(record) {
      buffer.push({ day: record.timestamp.slice(0, 10).replace(/-/g, ''), line: JSON.stringify(record) });
      if (buffer.length > options.maxBuffered) {
        buffer.shift();
        dropped++;
      }
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
