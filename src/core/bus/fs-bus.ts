import { open, readdir, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { FltsError, toFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { sleep, type BackoffPolicy } from '../retry.js';
import { createConsumerRecovery } from './consumer-recovery.js';
import { DEAD_LETTER_ID_HEADER, DEFAULT_RETRY_POLICY, deliverToGroup } from './delivery.js';
import type { BusMetrics, DeliveryListener, MessageBus, MessageHandler, OutgoingMessage, PartitionLag, ReceivedMessage, RetryPolicy, SubscribeOptions, Subscription } from './message-bus.js';
import { createSubscriptionSet, tellJoined } from './subscription-set.js';
import { makeDirectory } from '../make-directory.js';
import { currentBootId, currentPidNamespace, processRunning, processStartOf, recordedProcessGone } from '../proc-stat.js';
import { TEMP_FILE_PREFIX, writeFileWhole } from '../write-file-whole.js';

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
  /** How long and how much of each topic is kept (bus.fs.retention*); without it, everything is kept. */
  retention?: FsBusRetention;
}

/**
 * Each topic's retention, as a Kafka broker's log.retention.ms and log.retention.bytes (per topic, as those are per
 * partition): the oldest messages go once they are older than `ms` or once the log is larger than `bytes`, whether
 * or not every group consumed them. A group whose unconsumed messages went resumes at the topic's first offset left,
 * as a Kafka consumer whose offset fell out of range resets to the earliest, and says how many it lost.
 */
export interface FsBusRetention {
  /** Messages appended longer ago than this are removed; -1 = no limit. */
  ms: number;
  /** A log larger than this loses its oldest messages until it is not; -1 = no limit. */
  bytes: number;
  /** How often a bus with subscriptions applies it (log.retention.check.interval.ms); 0 = only when a publish outgrows `bytes`. */
  checkIntervalMs: number;
  /**
   * The least a removal takes, unless what it keeps is smaller (RETENTION_STEP_BYTES): a log is cut by writing what
   * it keeps anew, as Kafka deletes whole segments, so the cost of each cut is spread over this many bytes at least.
   */
  stepBytes?: number;
}

/** What one removal of a topic's oldest messages took. */
export interface RetentionTrim {
  topic: string;
  /** The first offset before and after. */
  fromOffset: number;
  logStartOffset: number;
  removedBytes: number;
  keptBytes: number;
  /** Groups that had not consumed all of what went, and how many of its messages each lost. */
  unconsumed: Array<{ group: string; committedOffset: number; lost: number }>;
}

/** The embedded bus, with its retention, which a daemon applies on its own and tests apply when they choose. */
export interface FsBus extends MessageBus {
  /** Applies the retention to every topic now; the topics cut, in the order they were. */
  applyRetention(now?: number): Promise<RetentionTrim[]>;
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

/** When a log line was appended; undefined for a torn line (no message, and no time). */
function timestampOf(line: Buffer): number | undefined {
  try {
    const stamp = (JSON.parse(line.toString('utf8')) as Partial<LogRecord> | null)?.timestamp;
    return typeof stamp === 'number' ? stamp : undefined;
  } catch {
    return undefined;
  }
}

/** `read` given the file opened for reading, closed after it; its errors name the file (onFile). */
async function withFileOpen<T>(file: string, read: (handle: FileHandle) => Promise<T>): Promise<T> {
  return onFile(file, async () => {
    const handle = await open(file, 'r');
    try {
      return await read(handle);
    } finally {
      await handle.close();
    }
  });
}

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
 * Calls `visit` with each line of the open log from byte `from` that is ended by a newline (the text after the last
 * one is a line still being written, not a message yet), its index from there and the byte position after it, until
 * `visit` returns true; read a piece at a time, so a log of gigabytes takes little memory. Returns how many lines were
 * visited.
 */
async function forEachLine(handle: FileHandle, from: number, visit: (line: Buffer, index: number, end: number) => boolean): Promise<number> {
  const chunk = Buffer.alloc(COUNT_CHUNK_BYTES);
  // The start of a line begun in an earlier piece, copied since the chunk is read into again.
  let begun: Buffer[] = [];
  let index = 0;
  for (let readAt = from; ; ) {
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
}

/** The byte position after the open log's first `lines` lines from byte `from`, or after its last line when it has fewer; read a piece at a time. */
async function positionAfterLines(handle: FileHandle, from: number, lines: number): Promise<number> {
  if (lines <= 0) return from;
  const chunk = Buffer.alloc(COUNT_CHUNK_BYTES);
  let position = from;
  let found = 0;
  for (let readAt = from; ; ) {
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
}

/**
 * The first line of a log whose oldest messages retention removed: the offset of the line after it, which the
 * offsets of the lines after it count from (Kafka's log start offset). A log without it starts at 0, as every log did
 * before retention; no record the bus writes starts so (each starts with its key).
 */
const LOG_START_PREFIX = '{"logStartOffset":';
const LOG_HEADER_MAX_BYTES = 64;

const logHeader = (start: number): string => `${LOG_START_PREFIX}${start}}\n`;

/** The log start offset of the open log and the bytes its header line takes (none: 0 and 0). */
async function readLogStart(handle: FileHandle): Promise<{ start: number; headerBytes: number }> {
  const bytes = Buffer.alloc(LOG_HEADER_MAX_BYTES);
  const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
  const text = bytes.toString('latin1', 0, bytesRead);
  const end = text.indexOf('\n');
  if (!text.startsWith(LOG_START_PREFIX) || end < 0) return { start: 0, headerBytes: 0 };
  const start = Number(text.slice(LOG_START_PREFIX.length, end - 1));
  return Number.isSafeInteger(start) && start >= 0 && text[end - 1] === '}' ? { start, headerBytes: end + 1 } : { start: 0, headerBytes: 0 };
}

/** The most one write of appends queued together takes (FsBus append), unless a single message is larger. */
const APPEND_BATCH_BYTES = 4 * 1024 * 1024;

/** A message waiting for its topic's append under way. */
interface QueuedAppend {
  line: Buffer;
  resolve: (size: number) => void;
  reject: (error: unknown) => void;
}

/** The least one removal of a topic's oldest messages takes, unless what it keeps is smaller (FsBusRetention.stepBytes). */
export const RETENTION_STEP_BYTES = 16 * 1024 * 1024;

/**
 * A topic's log lock is older than this only when its holder died holding it (an append holds it for a write, a
 * removal refreshes it as it copies): it is taken over. Its time says so, since processes sharing a bus directory
 * from other containers have pids of their own; its pid only where it names a process of this host, boot and pid
 * namespace (topicLockHolderGone).
 */
const TOPIC_LOCK_STALE_MS = 10_000;

let ownLockIdentity: string | undefined;

/**
 * Who holds a topic's lock: the pid and a token of its own, then where that pid means something, the host name, the
 * process's start (boot id and start tick) and its pid namespace, so that a process on the same host and boot, in the
 * same pid namespace, can tell the holder gone (killed while appending) and take its lock at once.
 */
function topicLockOwner(): string {
  // The same for the process's life: read once, not from /proc (synchronously) at every publish.
  ownLockIdentity ??= [os.hostname(), processStartOf(process.pid) ?? '-', currentPidNamespace() ?? '-'].join(' ');
  return `${process.pid} ${randomUUID()} ${ownLockIdentity}`;
}

/**
 * Whether the lock's holder is known gone: recorded on this host, boot and pid namespace, and its pid is no longer
 * running or is another process's now. Anything else (another container, an older flts's lock, one not written yet)
 * leaves the decision to the lock's age.
 */
function topicLockHolderGone(owner: string): boolean {
  const [pidText, , host, started, namespace] = owner.split(' ');
  const pid = Number.parseInt(pidText ?? '', 10);
  const boot = currentBootId();
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || host !== os.hostname()) return false;
  if (!started || started === '-' || boot === undefined || !started.startsWith(`${boot}:`)) return false;
  if (!namespace || namespace === '-' || namespace !== currentPidNamespace()) return false;
  return recordedProcessGone(pid, started);
}

/**
 * The embedded bus: one append-only JSON-lines log per topic (`<root>/topics/<topic>.log`, a single
 * partition whose offsets are line numbers) and one committed-offset file per group and topic
 * (`<root>/groups/<group>/<topic>.offset`). Messages survive restarts like Kafka's.
 *
 * Retention (FsBusRetention) removes a log's oldest lines by writing the rest anew under a first line that says the
 * offset they start at, so offsets stay those they were (Kafka's log start offset moving forward).
 *
 * Concurrency: several processes may publish to the same topic (each message, or each batch of a process's messages
 * published at once, is one O_APPEND write, under the topic's lock file, which a removal of old messages takes too, so that no append lands in a log being replaced),
 * but a consumer group is consumed by one subscription at a time; a lock file with the owner's pid rejects a second
 * live consumer of the group (FLTS_OFFSETS_GROUP_ACTIVE) and is taken over when its owner died.
 */
export function createFsBus(options: FsBusOptions): FsBus {
  const root = path.resolve(options.root);
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const logger = options.logger ?? silentLogger;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const retention = options.retention;
  const subscriptions = createSubscriptionSet();
  const wakers = new Set<() => void>();
  /** Per topic, the appends of this process waiting for the one under way: written after it, together (appendQueued). */
  const appendQueues = new Map<string, QueuedAppend[]>();
  /** Per topic, the log last counted by logRange: which file, how far, its start offset and the lines ended up to there. */
  const lineCounts = new Map<string, { dev: number; ino: number; size: number; start: number; lines: number }>();
  /** Topics whose retention this process is applying: one removal at a time each. */
  const trimming = new Set<string>();
  let retentionTimer: NodeJS.Timeout | undefined;
  let retentionRun: Promise<unknown> = Promise.resolve();

  const topicsDir = path.join(root, 'topics');
  const topicFile = (topic: string): string => path.join(topicsDir, `${topic}.log`);
  const topicLock = (topic: string): string => path.join(topicsDir, `${topic}.lock`);
  const groupDir = (group: string): string => path.join(root, 'groups', encodeURIComponent(group));
  const offsetFile = (group: string, topic: string): string => path.join(groupDir(group), `${topic}.offset`);

  /**
   * Runs `work` holding the topic's lock file, which every append and every removal of old messages takes: a removal
   * replaces the log, and an append into the file it replaced would be lost. `refresh` keeps a long removal's lock
   * from being taken for a dead one's.
   */
  async function withTopicLock<T>(topic: string, work: (refresh: () => Promise<void>) => Promise<T>): Promise<T> {
    const lockFile = topicLock(topic);
    const owner = topicLockOwner();
    for (;;) {
      try {
        await writeFile(lockFile, owner, { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const heldMs = await stat(lockFile).then((stats) => Date.now() - stats.mtimeMs, () => 0);
        // A process killed while it appended (SIGKILL, OOM) left its lock: when its pid says it is gone, every
        // publish to the topic (the trainer's SUCCESS, preprocess's claims) goes on at once instead of waiting out
        // the lock's age.
        const holder = heldMs > TOPIC_LOCK_STALE_MS ? undefined : await readFile(lockFile, 'utf8').catch(() => '');
        const holderGone = holder !== undefined && topicLockHolderGone(holder);
        if (heldMs > TOPIC_LOCK_STALE_MS || holderGone) {
          // Still the dead holder's: another publisher may have taken it over and locked it for itself meanwhile.
          if (holderGone && (await readFile(lockFile, 'utf8').catch(() => '')) !== holder) continue;
          logger.warn({ topic, lock_file: lockFile, held_ms: Math.round(heldMs), ...(holderGone ? { holder: 'gone', holder_pid: Number.parseInt(holder, 10) } : {}) }, 'bus_fs_topic_lock_taken_over');
          await rm(lockFile, { force: true });
        } else {
          await delay(2);
        }
      }
    }
    try {
      return await work(async () => {
        const now = new Date();
        await utimes(lockFile, now, now).catch(() => {});
      });
    } finally {
      const current = await readFile(lockFile, 'utf8').catch(() => '');
      if (current === owner) await rm(lockFile, { force: true });
    }
  }

  /**
   * Appends `message` to the topic's log and resolves once it is synced, with the log's size after it. Appends from
   * this process are serialised per topic, so the torn-line check never races its own writes; those that come while
   * one is under way are written next, all in one write under one lock and one sync (a group commit), so that a
   * process publishing many messages at once pays the lock file and the sync once per batch, not once per message.
   */
  function append(topic: string, message: OutgoingMessage): Promise<number> {
    assertTopicName(topic);
    const record: LogRecord = { key: message.key, value: message.value, headers: message.headers, timestamp: Date.now() };
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    return new Promise((resolve, reject) => {
      const queue = appendQueues.get(topic);
      if (queue) return void queue.push({ line, resolve, reject });
      appendQueues.set(topic, [{ line, resolve, reject }]);
      void appendQueued(topic);
    });
  }

  /** Writes the topic's queued appends, a batch at a time (at most APPEND_BATCH_BYTES unless one line is larger), until none is left. */
  async function appendQueued(topic: string): Promise<void> {
    const queue = appendQueues.get(topic)!;
    while (queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < queue.length && (count === 0 || bytes + queue[count].line.length <= APPEND_BATCH_BYTES)) bytes += queue[count++].line.length;
      const batch = queue.splice(0, count);
      try {
        const size = await appendLines(topic, Buffer.concat(batch.map((queued) => queued.line), bytes));
        for (const queued of batch) queued.resolve(size);
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    appendQueues.delete(topic);
  }

  async function appendLines(topic: string, lines: Buffer): Promise<number> {
    const file = topicFile(topic);
    await makeDirectory(path.dirname(file));
    // Named in its errors: a full disk is then the retriable shortage it is (toFltsError), not a bug of flts.
    return onFile(file, () =>
      withTopicLock(topic, async () => {
        const handle = await open(file, 'a+');
        try {
          // A crash mid-write leaves a line without its newline; terminate it so the next record stays parseable.
          let { size } = await handle.stat();
          if (size > 0) {
            const last = Buffer.alloc(1);
            await handle.read(last, 0, 1, size - 1);
            if (last[0] !== 0x0a) {
              await handle.write('\n');
              size += 1;
            }
          }
          await handle.write(lines);
          await handle.datasync();
          return size + lines.length;
        } finally {
          await handle.close();
        }
      }),
    );
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
   * The first offset and the end offset of a topic: its lines ended by a newline (a line still being written is no
   * message yet), counted from the log's start offset. A log only grows until retention writes it anew, so each count
   * reads only what was appended since the one before (by any process) and adds its newlines: /readyz and /metrics ask
   * for it on every request, and reading the whole log each time made their cost grow with the topic. A log that is
   * another file now (written anew by retention, or removed and written again) or shorter than counted is counted again
   * from its start; what is not a regular file is read whole, as ever, for the error its read gives.
   */
  async function logRange(topic: string): Promise<{ start: number; end: number }> {
    const file = topicFile(topic);
    let handle: FileHandle;
    try {
      handle = await onFile(file, () => open(file, 'r'));
    } catch (error) {
      if (isMissing(error)) {
        lineCounts.delete(topic);
        return { start: 0, end: 0 };
      }
      throw error;
    }
    try {
      const { dev, ino, size, isFile } = await onFile(file, async () => {
        const stats = await handle.stat();
        return { dev: stats.dev, ino: stats.ino, size: stats.size, isFile: stats.isFile() };
      });
      if (!isFile) return { start: 0, end: countNewlines(await readWhole(file)) };
      const known = lineCounts.get(topic);
      // Its start offset tells a log written anew by retention from the one counted, when it got the same inode number.
      const { start, headerBytes } = await onFile(file, () => readLogStart(handle));
      const counted = known && known.dev === dev && known.ino === ino && known.size <= size && known.start === start ? known : { dev, ino, size: headerBytes, start, lines: 0 };
      const appended = await onFile(file, () => countNewlinesBetween(handle, counted.size, size));
      const lines = counted.lines + appended.lines;
      lineCounts.set(topic, { dev, ino, size: appended.through, start: counted.start, lines });
      return { start: counted.start, end: counted.start + lines };
    } finally {
      await handle.close();
    }
  }

  /**
   * The offset of the topic's first line appended at or after `timestamp`, or its end. Appends from several processes
   * may land slightly out of time order: the first line that qualifies decides, as a Kafka partition's first does.
   */
  async function firstOffsetAt(topic: string, timestamp: number): Promise<number> {
    const file = topicFile(topic);
    return withFileOpen(file, async (handle) => {
      const { start, headerBytes } = await readLogStart(handle);
      let found: number | undefined;
      const lines = await forEachLine(handle, headerBytes, (line, index) => {
        const stamp = timestampOf(line);
        if (stamp !== undefined && stamp >= timestamp) found = index;
        return found !== undefined;
      });
      return start + (found ?? lines);
    });
  }

  /**
   * Whether the DLQ holds a dead letter with this id appended at or after `since`: one written just before a process
   * was killed, whose message's offset was not committed after it. Looked for only when the message is the first a
   * subscription delivers, where such a message can only be; an offset file rewritten by hand since (a replay) makes
   * the letter older than `since`, and a new one is written. The whole log is walked, a piece at a time: the groups
   * sharing a DLQ may have written any amount after the letter (a look at the last 4 MiB wrote it again once they had),
   * and only a line naming the id is parsed.
   */
  async function deadLetterWritten(dlq: string, id: string, since: number): Promise<boolean> {
    // As the line spells it: JSON escapes a quote or a backslash in a group's name.
    const needle = Buffer.from(JSON.stringify(id).slice(1, -1));
    const isTheLetter = (line: Buffer): boolean => {
      if (!line.includes(needle)) return false;
      try {
        const record = JSON.parse(line.toString('utf8')) as Partial<LogRecord>;
        return record.headers?.[DEAD_LETTER_ID_HEADER] === id && typeof record.timestamp === 'number' && record.timestamp >= since;
      } catch {
        return false;
      }
    };
    try {
      return await withFileOpen(topicFile(dlq), async (handle) => {
        let found = false;
        await forEachLine(handle, 0, (line) => (found = isTheLetter(line)));
        return found;
      });
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /** The committed offset of every group that has one on `topic`. */
  async function committedOffsets(topic: string): Promise<Array<{ group: string; offset: number }>> {
    const names = await readdir(path.join(root, 'groups')).catch((error: unknown) => {
      if (isMissing(error)) return [] as string[];
      throw error;
    });
    const out: Array<{ group: string; offset: number }> = [];
    for (const name of names) {
      const group = decodeURIComponent(name);
      const offset = await readCommitted(group, topic).catch(() => undefined);
      if (offset !== undefined) out.push({ group, offset });
    }
    return out;
  }

  /**
   * Removes the topic's oldest messages past its retention: those appended longer ago than `ms` (up to the first
   * younger one) and as many as make the log fit in `bytes`. Only once the removal would take `stepBytes` or more than
   * it keeps, so that writing the rest anew costs no more than a few times what goes. The log is read outside its lock
   * (appends only add to it), and the rest written anew under it.
   */
  async function trimTopic(topic: string, limits: FsBusRetention, now: number): Promise<RetentionTrim | undefined> {
    const file = topicFile(topic);
    const handle = await onFile(file, () => open(file, 'r'));
    try {
      const { ino, size } = await handle.stat();
      const { start, headerBytes } = await readLogStart(handle);
      const oldestKept = limits.ms >= 0 ? now - limits.ms : -Infinity;
      let cutAt = headerBytes;
      let removed = 0;
      await forEachLine(handle, headerBytes, (line, _index, end) => {
        const tooLarge = limits.bytes >= 0 && size - cutAt > limits.bytes;
        const stamp = timestampOf(line);
        // A torn line has no time: it goes with what is before it.
        const old = stamp === undefined || stamp < oldestKept;
        if (!tooLarge && !(old && limits.ms >= 0)) return true;
        cutAt = end;
        removed += 1;
        return false;
      });
      const removedBytes = cutAt - headerBytes;
      const keptBytes = size - cutAt;
      if (removed === 0 || removedBytes < Math.min(limits.stepBytes ?? RETENTION_STEP_BYTES, keptBytes)) return undefined;
      const logStartOffset = start + removed;
      const trimmed = await onFile(file, () =>
        withTopicLock(topic, async (refresh) => {
          // Written anew by another process meanwhile: its removal stands, and this one is looked at again next time.
          const current = await stat(file).catch(() => undefined);
          if (!current || current.ino !== ino) return false;
          const temporary = path.join(topicsDir, `${TEMP_FILE_PREFIX}${topic}-${randomUUID()}`);
          const out = await open(temporary, 'wx');
          try {
            await out.write(logHeader(logStartOffset));
            const chunk = Buffer.alloc(COUNT_CHUNK_BYTES);
            for (let position = cutAt; ; ) {
              const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
              if (bytesRead === 0) break;
              await out.write(chunk, 0, bytesRead);
              position += bytesRead;
              await refresh();
            }
            await out.datasync();
            await out.close();
            await rename(temporary, file);
          } catch (error) {
            await out.close().catch(() => {});
            await rm(temporary, { force: true });
            throw error;
          }
          return true;
        }),
      );
      if (!trimmed) return undefined;
      const unconsumed = (await committedOffsets(topic)).filter(({ offset }) => offset < logStartOffset).map(({ group, offset }) => ({ group, committedOffset: offset, lost: logStartOffset - Math.max(offset, start) }));
      logger.info({ topic, from_offset: start, log_start_offset: logStartOffset, removed, removed_bytes: removedBytes, kept_bytes: keptBytes }, 'bus_fs_retention_removed');
      // As a Kafka user sees a consumer whose offset fell out of range: the group resumes at the first offset left.
      for (const lost of unconsumed) logger.warn({ topic, group: lost.group, committed_offset: lost.committedOffset, lost: lost.lost, log_start_offset: logStartOffset, retention_ms: limits.ms, retention_bytes: limits.bytes }, 'bus_fs_retention_removed_unconsumed');
      return { topic, fromOffset: start, logStartOffset, removedBytes, keptBytes, unconsumed };
    } finally {
      await handle.close();
    }
  }

  async function applyRetention(now = Date.now(), only?: string): Promise<RetentionTrim[]> {
    if (!retention || (retention.ms < 0 && retention.bytes < 0)) return [];
    const names = only !== undefined ? [] : await readdir(topicsDir).catch(() => [] as string[]);
    const topics = only !== undefined ? [only] : names.filter((name) => name.endsWith('.log') && !name.startsWith('.')).map((name) => name.slice(0, -'.log'.length));
    // What a removal killed mid-copy left: a copy under way is written to all the time.
    for (const name of names.filter((entry) => entry.startsWith(TEMP_FILE_PREFIX))) {
      const left = path.join(topicsDir, name);
      if (Date.now() - ((await stat(left).catch(() => undefined))?.mtimeMs ?? Date.now()) > TOPIC_LOCK_STALE_MS) await rm(left, { force: true });
    }
    const trims: RetentionTrim[] = [];
    for (const topic of topics) {
      if (trimming.has(topic) || !TOPIC_PATTERN.test(topic)) continue;
      trimming.add(topic);
      try {
        const trim = await trimTopic(topic, retention, now);
        if (trim) trims.push(trim);
      } catch (error) {
        // The messages stay: the next look tries again.
        const failure = toFltsError(error);
        logger.warn({ topic, code: failure.code, reason: failure.message }, 'bus_fs_retention_failed');
      } finally {
        trimming.delete(topic);
      }
    }
    return trims;
  }

  /** Retention looked at now and every checkIntervalMs while the bus has subscriptions, as a broker does. */
  function startRetention(): void {
    if (retentionTimer || !retention || retention.checkIntervalMs <= 0 || (retention.ms < 0 && retention.bytes < 0)) return;
    const run = (): void => {
      retentionRun = retentionRun
        .then(() => applyRetention())
        .catch((error: unknown) => {
          const failure = toFltsError(error);
          logger.warn({ code: failure.code, reason: failure.message }, 'bus_fs_retention_failed');
        });
    };
    retentionTimer = setInterval(run, retention.checkIntervalMs);
    retentionTimer.unref();
    run();
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
        if (Number.isFinite(pid) && processRunning(pid)) {
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
    const metrics = options.metrics;
    /**
     * Per topic: the next offset to deliver, the byte position of that line in the log, and which file that log is:
     * its device, inode and log start offset (an inode number alone is not enough, a file system gives the log
     * retention writes anew the number of one it replaced before), and its modification time when last read.
     */
    const cursors = new Map<string, { nextOffset: number; bytePosition: number; dev: number; ino: number; start: number; mtimeMs: number }>();
    /** Where each topic starts when the group has committed nothing there; none = its first offset. */
    const firstOffsets = new Map<string, number>();
    /** Per topic, the offset the latest seek resumed at and when its commit was written (0: none). */
    const resumedAt = new Map<string, { offset: number; since: number }>();
    /** Dead letters the DLQ refused as too large even bare, by source position: sent again, not handled again. */
    const refusedForGood = new Map<string, { topic: string; letter: OutgoingMessage }>();

    /**
     * Points the topic's cursor at `wanted` in the open log (its first offset when none). An offset retention removed
     * the message at resumes at the first offset left, as a Kafka consumer's does (auto.offset.reset earliest): said
     * and counted as messages the group lost, and committed, so that its lag counts from there.
     */
    async function place(topic: string, wanted: number | undefined, handle: FileHandle): Promise<void> {
      const { dev, ino, mtimeMs } = await handle.stat();
      const { start, headerBytes } = await readLogStart(handle);
      let nextOffset = wanted ?? start;
      if (nextOffset < start) {
        logger.warn({ group, topic, committed_offset: nextOffset, log_start_offset: start, lost: start - nextOffset }, 'bus_fs_offset_reset_by_retention');
        metrics?.lostToRetention?.(group, topic, start - nextOffset);
        nextOffset = start;
        await commit(group, topic, nextOffset);
      }
      // A log with fewer lines puts it after its last one: what follows is a line still being written.
      cursors.set(topic, { nextOffset, bytePosition: await positionAfterLines(handle, headerBytes, nextOffset - start), dev, ino, start, mtimeMs });
    }

    /** Points the topic's cursor at the group's committed offset. */
    async function seek(topic: string): Promise<void> {
      const committed = await readCommitted(group, topic);
      const since = committed === undefined ? 0 : await stat(offsetFile(group, topic)).then((stats) => stats.mtimeMs, () => 0);
      await withFileOpen(topicFile(topic), (handle) => place(topic, committed ?? firstOffsets.get(topic), handle));
      resumedAt.set(topic, { offset: cursors.get(topic)!.nextOffset, since });
    }
    for (const topic of topics) {
      await bus.ensureTopics([topic]);
      const { fromTimestamp } = subscribeOptions;
      if (fromTimestamp !== undefined) firstOffsets.set(topic, await firstOffsetAt(topic, fromTimestamp));
      else if (subscribeOptions.fromBeginning === false) firstOffsets.set(topic, (await logRange(topic)).end);
      // Committed at once, as the Kafka bus does: the group resumes there, and its lag counts from there.
      if (fromTimestamp !== undefined && (await readCommitted(group, topic)) === undefined) await commit(group, topic, firstOffsets.get(topic)!);
      await seek(topic);
    }
    // No membership to lose here: joined once, where the group starts is fixed.
    tellJoined(subscribeOptions, logger);
    metrics?.subscribed(group, topics);
    startRetention();

    async function readNewLines(topic: string): Promise<Array<{ offset: number; line: string }>> {
      const file = topicFile(topic);
      // Most polls find nothing new: they ask only for the log's size, and open it when it grew or was written anew.
      const seen = await onFile(file, () => stat(file));
      const placed = cursors.get(topic)!;
      if (seen.ino === placed.ino && seen.dev === placed.dev && seen.size === placed.bytePosition && seen.mtimeMs === placed.mtimeMs) return [];
      const buffer = await withFileOpen(file, async (handle) => {
        const stats = await handle.stat();
        let cursor = cursors.get(topic)!;
        // Written anew by retention: the same offset is elsewhere in it, or gone. A log only grows otherwise, so one
        // shorter than the cursor, or starting at another offset, is another file even under the same inode number.
        if (stats.ino !== cursor.ino || stats.dev !== cursor.dev || stats.size < cursor.bytePosition || (await readLogStart(handle)).start !== cursor.start) {
          await place(topic, cursor.nextOffset, handle);
          cursor = cursors.get(topic)!;
        }
        cursor.mtimeMs = stats.mtimeMs;
        const available = stats.size - cursor.bytePosition;
        if (available <= 0) return undefined;
        // A piece at a time, and at least one whole line when there is one: a line longer than a piece is read with more.
        for (let length = Math.min(available, POLL_READ_BYTES); ; length = Math.min(available, length * 2)) {
          const bytes = Buffer.alloc(length);
          const { bytesRead } = await handle.read(bytes, 0, length, cursor.bytePosition);
          const read = bytes.subarray(0, bytesRead);
          if (read.includes(0x0a) || bytesRead < length || length === available) return read;
        }
      });
      if (!buffer) return [];
      const end = buffer.lastIndexOf(0x0a);
      if (end < 0) return [];
      const cursor = cursors.get(topic)!;
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
      // Only the first message delivered since the cursor was placed can have been dead-lettered by a process killed before its commit.
      const resumed = resumedAt.get(topic);
      resumedAt.delete(topic);
      const written = resumed?.offset === offset ? (dlq: string, letter: OutgoingMessage) => deadLetterWritten(dlq, letter.headers?.[DEAD_LETTER_ID_HEADER] ?? '', resumed.since) : undefined;
      const result = await deliverToGroup(
        message,
        handler,
        { policy: retry, signal: controller.signal, logger, dlqOperation: subscribeOptions.dlqOperation ?? `consume ${topic}`, group, dlq: subscribeOptions.dlq, publishDlq: (dlq, dlqMessage) => bus.publish(dlq, dlqMessage), deadLetterWritten: written, refusedForGood },
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

  const bus: FsBus = {
    kind: 'fs',
    async ensureTopics(names) {
      names.forEach(assertTopicName);
      await makeDirectory(topicsDir);
      for (const name of names) await (await open(topicFile(name), 'a')).close();
    },
    async publish(topic, message) {
      const size = await append(topic, message);
      for (const wake of wakers) wake();
      // A log outgrowing its bytes by a step is cut at once, by whichever process made it so, daemon or not.
      if (retention && retention.bytes >= 0 && size - retention.bytes >= Math.min(retention.stepBytes ?? RETENTION_STEP_BYTES, retention.bytes)) await applyRetention(Date.now(), topic);
    },
    subscribe,
    async lag(group, topics): Promise<PartitionLag[]> {
      const out: PartitionLag[] = [];
      for (const topic of topics) {
        const { start, end } = await logRange(topic);
        const committed = await readCommitted(group, topic);
        out.push({ topic, partition: 0, committedOffset: committed ?? -1, endOffset: end, lag: end - (committed ?? start) });
      }
      return out;
    },
    applyRetention: (now) => applyRetention(now),
    async close() {
      clearInterval(retentionTimer);
      retentionTimer = undefined;
      await subscriptions.stopAll();
      await retentionRun;
    },
  };
  return bus;
}
