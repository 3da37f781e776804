import { FltsError } from '../errors.js';
import { failureFields } from './failure-fields.js';
import { bodiesByDay, logObjectKey, toLogLine, type LogLine, type PredictionLog, type PredictionLogOptions } from './prediction-log.js';

/** A segment is closed and a new object started beyond this size, so no single object grows without bound. */
const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;

interface PendingLine extends LogLine {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The `sync` log: `append` resolves only once the record is durably written, so a 200 never names a record a
 * crash can lose. Group commit: while one write runs, every record appended meanwhile waits and goes out in
 * the next write, one fsync'd append (embedded store) or one new object (S3) for the whole group; the cost
 * of durability is shared by all concurrent requests instead of paid per request.
 */
export function createSyncPredictionLog(options: Omit<PredictionLogOptions, 'flushIntervalMs' | 'maxBuffered'>): PredictionLog {
  const prefix = options.identifier || 'default';
  const segments = new Map<string, { key: string; bytes: number }>();
  let pending: PendingLine[] = [];
  let writing = false;
  /** Records of the write running now. */
  let beingWritten = 0;
  let scheduled = false;
  let idle: Promise<void> = Promise.resolve();
  let markIdle: () => void = () => undefined;

  async function writeDay(day: string, body: string): Promise<void> {
    const { store, bucket } = options;
    if (!store.appendDurable) {
      await store.put(bucket, logObjectKey(prefix, day, new Date()), body, { contentType: 'application/x-ndjson' });
      return;
    }
    let segment = segments.get(day);
    if (!segment || segment.bytes >= SEGMENT_MAX_BYTES) {
      if (!segment) segments.clear();
      segment = { key: logObjectKey(prefix, day, new Date()), bytes: 0 };
      segments.set(day, segment);
    }
    await store.appendDurable(bucket, segment.key, body);
    segment.bytes += Buffer.byteLength(body);
  }

  async function writeGroup(group: PendingLine[]): Promise<void> {
    try {
      for (const [day, { body }] of bodiesByDay(group)) await writeDay(day, body);
      for (const line of group) line.resolve();
    } catch (cause) {
      const failure = failureFields(cause);
      options.logger.warn({ ...failure.fields, records: group.length }, 'prediction_log_write_failed');
      if (failure.stack) options.logger.debug({ stack: failure.stack }, 'prediction_log_write_failed_stack');
      const error = new FltsError('FLTS_STORE_UNAVAILABLE', 'The prediction record could not be written durably (FLTS_SERVE_PREDICTION_LOG_DURABILITY=sync); the prediction is not acknowledged.', { cause });
      for (const line of group) line.reject(error);
    }
  }

  function pump(): void {
    scheduled = false;
    if (writing || pending.length === 0) return;
    writing = true;
    const group = pending;
    pending = [];
    beingWritten = group.length;
    void writeGroup(group).finally(() => {
      writing = false;
      beingWritten = 0;
      if (pending.length > 0) pump();
      else markIdle();
    });
  }

  return {
    durability: 'sync',
    append(record) {
      return new Promise<void>((resolve, reject) => {
        if (!writing && pending.length === 0) idle = new Promise((done) => (markIdle = done));
        pending.push({ ...toLogLine(record), resolve, reject });
        // Start on the next turn, so the handlers a forward pass releases together share one write.
        if (!writing && !scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
    flush: () => idle,
    close: () => idle,
    dropped: 0,
    get unwritten() {
      return pending.length + beingWritten;
    },
  };
}
