import { open, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { FltsError, toFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { sleep, type BackoffPolicy } from '../retry.js';
import { createConsumerRecovery } from './consumer-recovery.js';
import { DEFAULT_RETRY_POLICY, deliverToGroup } from './delivery.js';
import type { BusMetrics, DeliveryListener, MessageBus, MessageHandler, OutgoingMessage, PartitionLag, ReceivedMessage, RetryPolicy, SubscribeOptions, Subscription } from './message-bus.js';
import { createSubscriptionSet, tellJoined } from './subscription-set.js';
import { makeDirectory } from '../make-directory.js';
import { writeFileWhole } from '../write-file-whole.js';

export interface FsBusOptions {
  /** Directory of the bus; `<home>/bus` in flts. */
  root: string;
  retry?: RetryPolicy;
  logger?: Logger;
  /** How often a subscription looks for messages appended by other processes. */
  pollIntervalMs?: number;
  onDelivery?: DeliveryListener;
  /** Hears of deliveries, and of a consumer's poll that failed and was run again (counted as its crashes and restarts). */
  metrics?: BusMetrics;
  /** How a consumer that failed outside its handler is run again; the defaults are the Kafka bus's. */
  restart?: FsBusRestart;
}

/** The restart of a failed consumer, as far as it can be tuned; tests inject the clock, the jitter and the wait. */
export interface FsBusRestart {
  /** The wait before each restart while the failure lasts (default UNTIL_AVAILABLE: 1 s doubling to 30 s, jittered). */
  policy?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
  /** Waits `ms`, resolving false at once when `signal` aborts (retry.ts sleep). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

interface LogRecord {
  key: string | null;
  value: string;
  headers?: Record<string, string>;
  timestamp: number;
}

const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

function assertTopicName(topic: string): void {
  if (!TOPIC_PATTERN.test(topic) || topic === '.' || topic === '..') {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `Topic name ${JSON.stringify(topic)} is not valid: use 1-249 letters, digits, ".", "_" or "-".`, { details: { topic } });
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * `io` on `file`, with the file named in its error where Node leaves it out (a read through a file handle, EISDIR
 * when a directory stands in its place): named, the failure is coded as the unusable path it is (toFltsError), not
 * as a bug of flts.
 */
async function onFile<T>(file: string, io: () => Promise<T>): Promise<T> {
  try {
    return await io();
  } catch (error) {
    const errno = error as NodeJS.ErrnoException;
    if (error instanceof Error && typeof errno.code === 'string' && errno.path === undefined) errno.path = file;
    throw error;
  }
}

const readWhole = (file: string): Promise<Buffer> => onFile(file, () => readFile(file));

function countNewlines(data: Buffer): number {
  let lines = 0;
  for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) lines += 1;
  return lines;
}

/** Read a piece at a time: a log of gigabytes is counted and walked in little memory. */
const COUNT_CHUNK_BYTES = 1024 * 1024;

/**
 * How much of its backlog a consumer reads per pass: one far behind read it all at once, and a backlog past the
 * longest string V8 makes (512 MiB) failed every pass.
 */
export const POLL_READ_BYTES = 16 * 1024 * 1024;

/** The newlines of the file's bytes from `start` to `end`, and where the count stopped: `end`, or the file's end if it is shorter. */
async function countNewlinesBetween(handle: FileHandle, start: number, end: number): Promise<{ lines: number; through: number }> {
  const chunk = Buffer.alloc(Math.min(COUNT_CHUNK_BYTES, Math.max(end - start, 1)));
  let lines = 0;
  let position = start;
  while (position < end) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, end - position), position);
    if (bytesRead === 0) break;
    lines += countNewlines(chunk.subarray(0, bytesRead));
    position += bytesRead;
  }
  return { lines, through: position };
}

/**
 * Calls `visit` with each line of the file ended by a newline (the text after the last one is a line still being
 * written, not a message yet), its offset and the byte position after it, until `visit` returns true; read a piece at a
 * time, so a log of gigabytes takes little memory. Returns how many lines were visited.
 */
async function forEachLine(file: string, visit: (line: Buffer, index: number, end: number) => boolean): Promise<number> {
  return onFile(file, async () => {
    const handle = await open(file, 'r');
    try {
      const chunk = Buffer.alloc(COUNT_CHUNK_BYTES);
      // The start of a line begun in an earlier piece, copied since the chunk is read into again.
      let begun: Buffer[] = [];
      let index = 0;
      for (let readAt = 0; ; ) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, readAt);
        if (bytesRead === 0) return index;
        const data = chunk.subarray(0, bytesRead);
        let lineStart = 0;
        for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, lineStart)) {
          const rest = data.subarray(lineStart, newline);
          const stop = visit(begun.length > 0 ? Buffer.concat([...begun, rest]) : rest, index, readAt + newline + 1);
          begun = [];
          index += 1;
          lineStart = newline + 1;
          if (stop) return index;
        }
        if (lineStart < bytesRead) begun.push(Buffer.from(data.subarray(lineStart)));
        readAt += bytesRead;
      }
    } finally {
      await handle.close();
    }
  });
}

/** The byte position after the file's first `lines` lines, or after its last line when it has fewer; read a piece at a time. */
async function positionAfterLines(file: string, lines: number): Promise<number> {
  if (lines <= 0) return 0;
  return onFile(file, async () => {
    const handle = await open(file, 'r');
    try {
      const chunk = Buffer.alloc(COUNT_CHUNK_BYTES);
      let position = 0;
      let found = 0;
      for (let readAt = 0; ; ) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, readAt);
        if (bytesRead === 0) return position;
        const data = chunk.subarray(0, bytesRead);
        for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, newline + 1)) {
          position = readAt + newline + 1;
          found += 1;
          if (found === lines) return position;
        }
        readAt += bytesRead;
      }
    } finally {
      await handle.close();
    }
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded bus: one append-only JSON-lines log per topic (`<root>/topics/<topic>.log`, a single
 * partition whose offsets are line numbers) and one committed-offset file per group and topic
 * (`<root>/groups/<group>/<topic>.offset`). Messages survive restarts like Kafka's.
 *
 * Concurrency: several processes may publish to the same topic (each message is one O_APPEND write), but a
 * consumer group is consumed by one subscription at a time; a lock file with the owner's pid rejects a
 * second live consumer of the group (FLTS_OFFSETS_GROUP_ACTIVE) and is taken over when its owner died.
 */
export function createFsBus(options: FsBusOptions): MessageBus {
  const root = path.resolve(options.root);
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const logger = options.logger ?? silentLogger;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const subscriptions = createSubscriptionSet();
  const wakers = new Set<() => void>();
  const appendChains = new Map<string, Promise<void>>();
  /** Per topic, the log last counted by countLines: which file, how far, and the lines ended up to there. */
  const lineCounts = new Map<string, { dev: number; ino: number; size: number; lines: number }>();

  const topicFile = (topic: string): string => path.join(root, 'topics', `${topic}.log`);
  const groupDir = (group: string): string => path.join(root, 'groups', encodeURIComponent(group));
  const offsetFile = (group: string, topic: string): string => path.join(groupDir(group), `${topic}.offset`);

  async function append(topic: string, message: OutgoingMessage): Promise<void> {
    assertTopicName(topic);
    const record: LogRecord = { key: message.key, value: message.value, headers: message.headers, timestamp: Date.now() };
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    const file = topicFile(topic);
    await makeDirectory(path.dirname(file));
    // Named in its errors: a full disk is then the retriable shortage it is (toFltsError), not a bug of flts.
    await onFile(file, async () => {
      const handle = await open(file, 'a+');
      try {
        // A crash mid-write leaves a line without its newline; terminate it so the next record stays parseable.
        const { size } = await handle.stat();
        if (size > 0) {
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) await handle.write('\n');
        }
        await handle.write(line);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
  }

  async function readCommitted(group: string, topic: string): Promise<number | undefined> {
    try {
      const value = Number.parseInt((await readWhole(offsetFile(group, topic))).toString('utf8').trim(), 10);
      return Number.isFinite(value) && value >= 0 ? value : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async function commit(group: string, topic: string, nextOffset: number): Promise<void> {
    const target = offsetFile(group, topic);
    // Not synced: an offset lost to a power cut only redelivers messages, whose effects are idempotent.
    await writeFileWhole(target, `${nextOffset}\n`);
  }

  /**
   * The end offset of a topic: its lines ended by a newline (a line still being written is no message yet). A log
   * only grows, so each count reads only what was appended since the one before (by any process) and adds its
   * newlines: /readyz and /metrics ask for it on every request, and reading the whole log each time made their cost
   * grow with the topic, which is never cut. A log that is another file now (removed and written again) or shorter than
   * counted is counted again from its start; what is not a regular file is read whole, as ever, for the error its read gives.
   */
  async function countLines(topic: string): Promise<number> {
    const file = topicFile(topic);
    let handle: FileHandle;
    try {
      handle = await onFile(file, () => open(file, 'r'));
    } catch (error) {
      if (isMissing(error)) {
        lineCounts.delete(topic);
        return 0;
      }
      throw error;
    }
    try {
      const { dev, ino, size, isFile } = await onFile(file, async () => {
        const stats = await handle.stat();
        return { dev: stats.dev, ino: stats.ino, size: stats.size, isFile: stats.isFile() };
      });
      if (!isFile) return countNewlines(await readWhole(file));
      const known = lineCounts.get(topic);
      const counted = known && known.dev === dev && known.ino === ino && known.size <= size ? known : { size: 0, lines: 0 };
      const appended = await onFile(file, () => countNewlinesBetween(handle, counted.size, size));
      const lines = counted.lines + appended.lines;
      lineCounts.set(topic, { dev, ino, size: appended.through, lines });
      return lines;
    } finally {
      await handle.close();
    }
  }

  /**
   * The offset of the topic's first line appended at or after `timestamp`, or its end. Appends from several processes
   * may land slightly out of time order: the first line that qualifies decides, as a Kafka partition's first does.
   */
  async function firstOffsetAt(topic: string, timestamp: number): Promise<number> {
    let found: number | undefined;
    const lines = await forEachLine(topicFile(topic), (line, index) => {
      try {
        const stamp = (JSON.parse(line.toString('utf8')) as Partial<LogRecord> | null)?.timestamp;
        if (typeof stamp === 'number' && stamp >= timestamp) found = index;
      } catch {
        // A torn line: no message, and no time.
      }
      return found !== undefined;
    });
    return found ?? lines;
  }

  async function lockGroup(group: string): Promise<() => Promise<void>> {
    await makeDirectory(groupDir(group));
    const lockFile = path.join(groupDir(group), 'consumer.lock');
    const owner = `${process.pid} ${randomUUID()}`;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await writeFile(lockFile, owner, { flag: 'wx' });
        return async () => {
          const current = await readFile(lockFile, 'utf8').catch(() => '');
          if (current === owner) await rm(lockFile, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = (await readFile(lockFile, 'utf8').catch(() => '')).split(' ')[0];
        const pid = Number.parseInt(holder, 10);
        if (Number.isFinite(pid) && processAlive(pid)) {
          throw new FltsError('FLTS_OFFSETS_GROUP_ACTIVE', `Consumer group "${group}" of the file bus is already being consumed (pid ${pid}); the file bus allows one consumer per group.`, { details: { group, pid } });
        }
        await rm(lockFile, { force: true });
      }
    }
    throw new FltsError('FLTS_OFFSETS_GROUP_ACTIVE', `Consumer group "${group}" of the file bus could not be locked.`, { details: { group } });
  }

  function sleepUntilWoken(ms: number, signal: AbortSignal): Promise<boolean> {
    const wake = new AbortController();
    const onAbort = (): void => wake.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const waker = (): void => wake.abort();
    wakers.add(waker);
    return sleep(ms, wake.signal).finally(() => {
      wakers.delete(waker);
      signal.removeEventListener('abort', onAbort);
    });
  }

  async function subscribe(subscribeOptions: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    const { group, topics } = subscribeOptions;
    topics.forEach(assertTopicName);
    const retry: RetryPolicy = { ...policy, ...subscribeOptions.retry };
    const unlock = await lockGroup(group);
    const controller = new AbortController();
    // Per topic: the next offset to deliver and the byte position of that line in the log.
    const cursors = new Map<string, { nextOffset: number; bytePosition: number }>();
    /** Where each topic starts when the group has committed nothing there. */
    const firstOffsets = new Map<string, number>();
    /** Points the topic's cursor at the group's committed offset. */
    async function seek(topic: string): Promise<void> {
      const start = (await readCommitted(group, topic)) ?? firstOffsets.get(topic) ?? 0;
      // A log with fewer lines puts it after its last one: what follows is a line still being written.
      cursors.set(topic, { nextOffset: start, bytePosition: await positionAfterLines(topicFile(topic), start) });
    }
    for (const topic of topics) {
      await bus.ensureTopics([topic]);
      const { fromTimestamp } = subscribeOptions;
      firstOffsets.set(topic, fromTimestamp !== undefined ? await firstOffsetAt(topic, fromTimestamp) : subscribeOptions.fromBeginning === false ? await countLines(topic) : 0);
      // Committed at once, as the Kafka bus does: the group resumes there, and its lag counts from there.
      if (fromTimestamp !== undefined && (await readCommitted(group, topic)) === undefined) await commit(group, topic, firstOffsets.get(topic)!);
      await seek(topic);
    }
    // No membership to lose here: joined once, where the group starts is fixed.
    tellJoined(subscribeOptions, logger);
    const metrics = options.metrics;
    metrics?.subscribed(group, topics);

    async function readNewLines(topic: string): Promise<Array<{ offset: number; line: string }>> {
      const cursor = cursors.get(topic)!;
      const file = topicFile(topic);
      const buffer = await onFile(file, async () => {
        const available = (await stat(file)).size - cursor.bytePosition;
        if (available <= 0) return undefined;
        const handle = await open(file, 'r');
        try {
          // A piece at a time, and at least one whole line when there is one: a line longer than a piece is read with more.
          for (let length = Math.min(available, POLL_READ_BYTES); ; length = Math.min(available, length * 2)) {
            const bytes = Buffer.alloc(length);
            const { bytesRead } = await handle.read(bytes, 0, length, cursor.bytePosition);
            const read = bytes.subarray(0, bytesRead);
            if (read.includes(0x0a) || bytesRead < length || length === available) return read;
          }
        } finally {
          await handle.close();
        }
      });
      if (!buffer) return [];
      const end = buffer.lastIndexOf(0x0a);
      if (end < 0) return [];
      cursor.bytePosition += end + 1;
      return buffer
        .toString('utf8', 0, end)
        .split('\n')
        .map((line) => ({ offset: cursor.nextOffset++, line }));
    }

    async function consumeOne(topic: string, offset: number, line: string): Promise<boolean> {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        // A torn line from a crashed writer: it never was a message.
        logger.warn({ topic, offset }, 'bus_fs_skipped_torn_line');
        return true;
      }
      // A line written by hand or by another tool may be JSON of any shape; what is not a record with a text value
      // is delivered as it stands, so the topic's decoder dead-letters it with a reason instead of the loop failing.
      const record: Partial<LogRecord> = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Partial<LogRecord>) : {};
      const value = typeof record.value === 'string' ? record.value : line;
      const headers = record.headers !== null && typeof record.headers === 'object' && !Array.isArray(record.headers) ? record.headers : {};
      const message: ReceivedMessage = { topic, partition: 0, offset: String(offset), key: typeof record.key === 'string' ? record.key : null, value, headers, timestamp: typeof record.timestamp === 'number' ? record.timestamp : 0 };
      const result = await deliverToGroup(
        message,
        handler,
        { policy: retry, signal: controller.signal, logger, dlqOperation: subscribeOptions.dlqOperation ?? `consume ${topic}`, group, dlq: subscribeOptions.dlq, publishDlq: (dlq, dlqMessage) => bus.publish(dlq, dlqMessage) },
        { onDelivery: options.onDelivery, metrics },
      );
      if (result.outcome === 'abandoned') return false;
      await commit(group, topic, offset + 1);
      return true;
    }

    async function poll(): Promise<void> {
      while (!controller.signal.aborted) {
        let delivered = 0;
        for (const topic of topics) {
          for (const { offset, line } of await readNewLines(topic)) {
            if (controller.signal.aborted) return;
            if (line.trim() === '') continue;
            if (!(await consumeOne(topic, offset, line))) return;
            delivered += 1;
          }
        }
        // A whole pass read and committed: the failure, if there was one, is behind the consumer.
        recovery.joined();
        if (delivered === 0) await sleepUntilWoken(pollIntervalMs, controller.signal);
      }
    }

    /**
     * A failure outside the handler (a log or offset file that cannot be read or written, a DLQ that cannot be
     * stored) stops the poll, not the consumer: it starts again from the committed offsets, so the message being
     * handled is delivered again rather than lost, and the group never stops silently. While the failure lasts the
     * restarts back off as the Kafka bus's do, and the episode is logged and counted as theirs are: a fault that
     * stays (a corrupt file, a full disk) costs a restart every 30 s and a line every 5 min, not a loop of stacks.
     */
    const recovery = createConsumerRecovery({ group, topics, classify: toFltsError, logger, metrics, policy: options.restart?.policy, random: options.restart?.random, now: options.restart?.now });
    const wait = options.restart?.sleep ?? sleep;
    async function loop(): Promise<void> {
      let cursorsValid = true;
      while (!controller.signal.aborted) {
        try {
          if (!cursorsValid) {
            metrics?.consumerRestarted(group);
            for (const topic of topics) await seek(topic);
          }
          cursorsValid = true;
          await poll();
        } catch (error) {
          cursorsValid = false;
          // Coded here, so that the crash's debug line carries the code and details with the stack (classify keeps it).
          const delayMs = recovery.crashed({ error: toFltsError(error), restart: false }, !controller.signal.aborted);
          if (delayMs === undefined) return;
          await wait(delayMs, controller.signal);
        }
      }
    }

    const running = loop();
    return subscriptions.add(group, topics, async () => {
      controller.abort();
      await running;
      metrics?.crashing(group, false);
      await unlock();
      if (subscribeOptions.ephemeral) await rm(groupDir(group), { recursive: true, force: true });
    });
  }

  const bus: MessageBus = {
    kind: 'fs',
    async ensureTopics(names) {
      names.forEach(assertTopicName);
      await makeDirectory(path.join(root, 'topics'));
      for (const name of names) await (await open(topicFile(name), 'a')).close();
    },
    async publish(topic, message) {
      // Appends from this process are serialised per topic, so the torn-line check never races our own writes.
      const previous = appendChains.get(topic) ?? Promise.resolve();
      const next = previous.catch(() => {}).then(() => append(topic, message));
      appendChains.set(topic, next);
      await next;
      for (const wake of wakers) wake();
    },
    subscribe,
    async lag(group, topics): Promise<PartitionLag[]> {
      const out: PartitionLag[] = [];
      for (const topic of topics) {
        const endOffset = await countLines(topic);
        const committed = await readCommitted(group, topic);
        out.push({ topic, partition: 0, committedOffset: committed ?? -1, endOffset, lag: endOffset - (committed ?? 0) });
      }
      return out;
    },
    async close() {
      await subscriptions.stopAll();
    },
  };
  return bus;
}
