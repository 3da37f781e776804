import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toFltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createFsBus, POLL_READ_BYTES, type FsBus, type FsBusRetention } from './fs-bus.js';
import { describeMessageBusContract, waitFor } from './message-bus.contract.js';
import type { BusMetrics, MessageBus } from './message-bus.js';
import { createMessageBus } from './index.js';
import { decodeTrainClaim, encodeTrainClaim } from './messages.js';
import { resolveSettings } from '../config/settings.js';

// Every bus of this file keeps its files under one directory, removed at the end.
const scratch = mkdtemp(path.join(os.tmpdir(), 'flts-fs-bus-'));
const busRoot = async (): Promise<string> => mkdtemp(path.join(await scratch, 'bus-'));
afterAll(async () => rm(await scratch, { recursive: true, force: true }));

const contractRoot = busRoot();
describeMessageBusContract('core > bus > fs-bus', async () => createFsBus({ root: await contractRoot, pollIntervalMs: 20 }));

describe('core > bus > fs-bus files', () => {
  const buses: MessageBus[] = [];
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
  });

  async function freshBus(root?: string, logger?: Logger): Promise<{ bus: MessageBus; root: string }> {
    const dir = root ?? (await busRoot());
    const bus = createFsBus({ root: dir, pollIntervalMs: 20, logger, retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 20 }, restart: { policy: { baseDelayMs: 5, maxDelayMs: 20 } } });
    buses.push(bus);
    return { bus, root: dir };
  }

  const claim = (object: string) => ({ bucket: 'processed-data', object, size: 1, configHash: 'h', identifier: '' });

  it('keeps one JSON line per message and the committed offset per group', async () => {
    const { bus, root } = await freshBus();
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    await bus.publish('training-data', encodeTrainClaim(claim('b')));
    const lines = (await readFile(path.join(root, 'topics', 'training-data.log'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).key)).toEqual(['train-claim', 'train-claim']);
    const seen: string[] = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await waitFor(() => seen.length === 2, 'both claims');
    const offsetFile = path.join(root, 'groups', 'train-gru', 'training-data.offset');
    await waitFor(async () => (await readFile(offsetFile, 'utf8').catch(() => '')).trim() === '2', 'the committed offset 2');
    expect(seen).toEqual(['a', 'b']);
  });

  it('skips a torn line left by a crashed writer and still delivers what follows', async () => {
    const { bus, root } = await freshBus();
    await bus.publish('training-data', encodeTrainClaim(claim('before')));
    await appendFile(path.join(root, 'topics', 'training-data.log'), '{"key":"train-claim","val');
    await bus.publish('training-data', encodeTrainClaim(claim('after')));
    const seen: string[] = [];
    await bus.subscribe({ group: 'g', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await waitFor(() => seen.length === 2, 'both intact claims');
    expect(seen).toEqual(['before', 'after']);
  });

  it('dead-letters lines of any other shape with a coded reason and goes on with the next message', async () => {
    const { bus, root } = await freshBus();
    const log = path.join(root, 'topics', 'training-data.log');
    await bus.publish('training-data', encodeTrainClaim(claim('before')));
    await appendFile(log, 'null\n5\n[1,2]\n{"key":"train-claim","value":{"bucket":"processed-data"}}\n{"key":7,"value":"not json","headers":"x"}\n');
    await bus.publish('training-data', encodeTrainClaim(claim('after')));
    const seen: string[] = [];
    const dlq = { topic: 'DLQ-model-training', role: 'trainer' };
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'], dlq }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await waitFor(() => seen.length === 2, 'both intact claims');
    const dlqLog = path.join(root, 'topics', 'DLQ-model-training.log');
    await waitFor(async () => (await readFile(dlqLog, 'utf8').catch(() => '')).trim().split('\n').length === 5, 'five dead letters');
    const letters = (await readFile(dlqLog, 'utf8')).trim().split('\n').map((line) => JSON.parse(JSON.parse(line).value));
    expect(seen).toEqual(['before', 'after']);
    expect(letters.map((letter) => letter.error)).toEqual(Array.from({ length: 5 }, () => expect.stringMatching(/^FLTS_BUS_MESSAGE_INVALID: /)));
    expect(letters.map((letter) => letter.payload)).toEqual([null, 5, [1, 2], { key: 'train-claim', value: { bucket: 'processed-data' } }, 'not json']);
  });

  it('keeps consuming after a failure outside the handler, delivering the interrupted message again', async () => {
    const { logger, shown } = recording();
    const { bus, root } = await freshBus(undefined, logger);
    // A directory where the committed offset goes: committing fails until it is gone.
    const offsetFile = path.join(root, 'groups', 'train-gru', 'training-data.offset');
    const seen: string[] = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    await mkdir(offsetFile, { recursive: true });
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    // Removed once the commit has failed, not merely once the handler ran: a commit still under way would succeed.
    await waitFor(() => shown().some(([, msg]) => msg === 'bus_consumer_crashed_recovering'), 'the failed commit');
    await rm(offsetFile, { recursive: true });
    await waitFor(async () => (await readFile(offsetFile, 'utf8').catch(() => '')).trim() === '1', 'the committed offset 1');
    await bus.publish('training-data', encodeTrainClaim(claim('b')));
    await waitFor(() => seen.includes('b'), 'the next claim');
    expect(seen.filter((object) => object === 'a').length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toBe('b');
  });

  function recording(): { logger: Logger; lines: Array<[string, string, Record<string, unknown>]>; shown: () => Array<[string, string, Record<string, unknown>]> } {
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const at = (level: string) => (fields: object, msg?: string) => void lines.push([level, msg ?? '', fields as Record<string, unknown>]);
    const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
    return { logger, lines, shown: () => lines.filter(([level]) => level !== 'debug' && level !== 'trace') };
  }

  /** The restarts' waits, each pending until the test releases it (or the bus's signal aborts it): a clock the test steps. */
  function steppedWaits(): { waits: Array<{ ms: number; release: () => void }>; sleep: (ms: number, signal: AbortSignal) => Promise<boolean> } {
    const waits: Array<{ ms: number; release: () => void }> = [];
    const sleep = (ms: number, signal: AbortSignal): Promise<boolean> =>
      new Promise((resolve) => {
        if (signal.aborted) return resolve(false);
        signal.addEventListener('abort', () => resolve(false), { once: true });
        waits.push({ ms, release: () => resolve(true) });
      });
    return { waits, sleep };
  }

  it('restarts a consumer that keeps failing outside its handler with a capped backoff, logs the episode once, then its end, and delivers again', async () => {
    const root = await busRoot();
    const { logger, shown } = recording();
    const { waits, sleep } = steppedWaits();
    let now = 0;
    const crashes: string[] = [];
    const crashing: boolean[] = [];
    let restarts = 0;
    const metrics: BusMetrics = { subscribed() {}, delivered() {}, retried() {}, deadLetterRefused() {}, connectionFailed() {}, consumerCrashed: (_group, code) => void crashes.push(code), consumerRestarted: () => void (restarts += 1), crashing: (_group, active) => void crashing.push(active) };
    const bus = createFsBus({ root, pollIntervalMs: 20, logger, metrics, restart: { random: () => 1, now: () => now, sleep } });
    buses.push(bus);
    const seen: string[] = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(decodeTrainClaim(message).object));
    // A directory where the committed offset goes: committing fails, and so does every restart reading it back.
    const offsetFile = path.join(root, 'groups', 'train-gru', 'training-data.offset');
    await mkdir(offsetFile, { recursive: true });
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    // Five minutes of the fault, one step per wait: each restart fails, and the next wait is asked for.
    for (let step = 1; step <= 14; step += 1) {
      await waitFor(() => waits.length === step, `wait ${step}`);
      now += waits[step - 1].ms;
      waits[step - 1].release();
    }
    await waitFor(() => waits.length === 15, 'wait 15');
    // UNTIL_AVAILABLE, as the Kafka bus: 1 s doubling to 30 s (the jitter's top, random() = 1).
    expect(waits.map(({ ms }) => ms)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, ...Array.from({ length: 10 }, () => 30_000)]);
    expect([crashes.length, restarts, crashing]).toEqual([15, 14, [true]]);
    expect(new Set(crashes)).toEqual(new Set(['FLTS_PATH_UNUSABLE']));
    // One line for the episode, once more after 5 min with the count, and no stack; the old line per failure is gone.
    expect(shown().map(([level, msg]) => [level, msg])).toEqual([['error', 'bus_consumer_crashed_recovering'], ['error', 'bus_consumer_still_crashing']]);
    expect(shown()[0][2]).toMatchObject({ group: 'train-gru', topics: ['training-data'], code: 'FLTS_PATH_UNUSABLE', reason: expect.stringContaining('training-data.offset'), restart: false, retry_in_ms: 1_000 });
    expect(shown()[1][2]).toMatchObject({ crashes: 14, since_ms: 301_000 });
    expect(shown().some(([, , fields]) => 'err' in fields)).toBe(false);
    expect(seen).toEqual(['a']);

    // The fault clears: the next restart delivers the uncommitted message again, commits it, and ends the episode.
    await rm(offsetFile, { recursive: true });
    now += waits[14].ms;
    waits[14].release();
    await waitFor(() => shown().length === 3, 'the end of the episode');
    expect(shown()[2]).toEqual(['info', 'bus_consumer_recovered', { group: 'train-gru', topics: ['training-data'], crashes: 15, not_logged: 13, attempts: 15, after_ms: 331_000 }]);
    expect([restarts, crashing]).toEqual([15, [true, false]]);
    await bus.publish('training-data', encodeTrainClaim(claim('b')));
    await waitFor(async () => (await readFile(offsetFile, 'utf8').catch(() => '')).trim() === '2', 'the committed offset 2');
    expect(seen).toEqual(['a', 'a', 'b']);
    expect(waits).toHaveLength(15);
  });

  it('keeps a message whose dead letter cannot be written uncommitted, backing off, and dead-letters it once the DLQ can be written', async () => {
    const root = await busRoot();
    const { logger, shown } = recording();
    const { waits, sleep } = steppedWaits();
    const bus = createFsBus({ root, pollIntervalMs: 20, logger, retry: { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1 }, restart: { random: () => 1, sleep } });
    buses.push(bus);
    // A directory where the DLQ's log goes: appending the dead letter fails until it is gone.
    const dlqLog = path.join(root, 'topics', 'DLQ-model-training.log');
    await mkdir(dlqLog, { recursive: true });
    let calls = 0;
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'], dlq: { topic: 'DLQ-model-training', role: 'trainer' } }, async () => {
      calls += 1;
      throw new Error('handler fails');
    });
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    for (let step = 1; step <= 3; step += 1) {
      await waitFor(() => waits.length === step, `wait ${step}`);
      waits[step - 1].release();
    }
    await waitFor(() => waits.length === 4, 'wait 4');
    const offsetFile = path.join(root, 'groups', 'train-gru', 'training-data.offset');
    // Handled again at each restart, never acknowledged: the offset stays uncommitted.
    expect([calls, await readFile(offsetFile, 'utf8').catch(() => 'none')]).toEqual([4, 'none']);
    expect(waits.map(({ ms }) => ms)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(shown().filter(([, msg]) => msg.startsWith('bus_consumer_')).map(([level, msg, fields]) => [level, msg, fields.code])).toEqual([['error', 'bus_consumer_crashed_recovering', 'FLTS_PATH_UNUSABLE']]);
    await rm(dlqLog, { recursive: true });
    waits[3].release();
    await waitFor(async () => (await readFile(offsetFile, 'utf8').catch(() => '')).trim() === '1', 'the committed offset 1');
    const letters = (await readFile(dlqLog, 'utf8')).trim().split('\n');
    expect(letters).toHaveLength(1);
    expect(JSON.parse(JSON.parse(letters[0]).value)).toMatchObject({ group: 'train-gru', role: 'trainer' });
    await waitFor(() => shown().some(([, msg]) => msg === 'bus_consumer_recovered'), 'the end of the episode');
    expect(calls).toBe(5);
  });

  it('codes a topic log that became unreadable while the consumer polls as an unusable path naming the log, not as a bug', async () => {
    const root = await busRoot();
    // The topics directory is a symlink, so the log can be swapped for a directory at once: a gap with no log
    // (ENOENT, named by Node) would hide the read's unnamed EISDIR.
    await mkdir(path.join(root, 'topics-before'));
    await symlink(path.join(root, 'topics-before'), path.join(root, 'topics'));
    await mkdir(path.join(root, 'topics-after', 'training-data.log'), { recursive: true });
    const { logger, shown } = recording();
    const { waits, sleep } = steppedWaits();
    const crashes: string[] = [];
    const metrics: BusMetrics = { subscribed() {}, delivered() {}, retried() {}, deadLetterRefused() {}, connectionFailed() {}, consumerCrashed: (_group, code) => void crashes.push(code), consumerRestarted() {}, crashing() {} };
    const bus = createFsBus({ root, pollIntervalMs: 20, logger, metrics, restart: { sleep } });
    buses.push(bus);
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async () => {});
    await symlink(path.join(root, 'topics-after'), path.join(root, 'topics-swap'));
    await rename(path.join(root, 'topics-swap'), path.join(root, 'topics'));
    // The restart waits until the test releases it, so the one crash is the poll's read.
    await waitFor(() => waits.length === 1, 'the crash of the poll');
    expect(crashes).toEqual(['FLTS_PATH_UNUSABLE']);
    expect(shown()[0][2]).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', reason: expect.stringContaining(`${path.join('topics', 'training-data.log')}: is a directory (EISDIR)`) });
  });

  it('codes a publish that finds the disk full as a retriable shortage naming the log, not as a bug', async () => {
    const { bus, root } = await freshBus();
    await mkdir(path.join(root, 'topics'));
    // Every write to /dev/full fails with ENOSPC, which Node reports without the path on a file handle.
    await symlink('/dev/full', path.join(root, 'topics', 'training-data.log'));
    const error = toFltsError(await bus.publish('training-data', { key: 'k', value: '{}' }).catch((caught: unknown) => caught));
    expect(error.code).toBe('FLTS_STORE_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain(path.join(root, 'topics', 'training-data.log'));
  });

  it('returns from close() while a failing consumer backs off', async () => {
    const root = await busRoot();
    const { logger, shown } = recording();
    // An hour's wait: close() would hang past the test's timeout if the wait did not end with the subscription.
    const bus = createFsBus({ root, pollIntervalMs: 20, logger, restart: { policy: { baseDelayMs: 3_600_000 } } });
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async () => {});
    await mkdir(path.join(root, 'groups', 'train-gru', 'training-data.offset'), { recursive: true });
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    await waitFor(() => shown().some(([, msg]) => msg === 'bus_consumer_crashed_recovering'), 'the crash');
    await bus.close();
    await expect(readFile(path.join(root, 'groups', 'train-gru', 'consumer.lock'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(shown().map(([, msg]) => msg)).toEqual(['bus_consumer_crashed_recovering']);
  });

  it('lets one consumer per group at a time and takes over the lock of a dead process', async () => {
    const { bus, root } = await freshBus();
    await bus.subscribe({ group: 'eval-promoter', topics: ['model-training'] }, async () => {});
    await expect(bus.subscribe({ group: 'eval-promoter', topics: ['model-training'] }, async () => {})).rejects.toMatchObject({ code: 'FLTS_OFFSETS_GROUP_ACTIVE' });
    // A lock whose owner pid no longer exists, as left by a killed daemon.
    await mkdir(path.join(root, 'groups', 'other'), { recursive: true });
    await writeFile(path.join(root, 'groups', 'other', 'consumer.lock'), '2147483646 dead-owner');
    await expect(bus.subscribe({ group: 'other', topics: ['model-training'] }, async () => {})).resolves.toMatchObject({ group: 'other' });
  });

  it('counts the end offset from what was appended since its last look, by this process or another, and a log written anew from its start', async () => {
    const { bus, root } = await freshBus();
    const log = path.join(root, 'topics', 'training-data.log');
    const group = 'train-gru';
    const position = async () => (await bus.lag(group, ['training-data']))[0];
    expect(await position()).toEqual({ topic: 'training-data', partition: 0, committedOffset: -1, endOffset: 0, lag: 0 });
    for (const object of ['a', 'b']) await bus.publish('training-data', encodeTrainClaim(claim(object)));
    expect(await position()).toMatchObject({ endOffset: 2, lag: 2 });
    // Another process's append, looked at mid-line: the line is a message once its newline is written.
    await appendFile(log, '{"key":"k","val');
    expect(await position()).toMatchObject({ endOffset: 2, lag: 2 });
    await appendFile(log, 'ue":"{}","timestamp":1}\n');
    expect(await position()).toMatchObject({ endOffset: 3, lag: 3 });
    // Another file in its place, longer than the one counted and with newlines before the count's end: counted whole.
    const record = (value: string): string => `${JSON.stringify({ key: 'k', value, timestamp: 1 })}\n`;
    const replace = async (text: string): Promise<void> => {
      await writeFile(`${log}.new`, text);
      await rename(`${log}.new`, log);
    };
    await replace(record('x'.repeat(300)));
    expect(await position()).toMatchObject({ endOffset: 1, lag: 1 });
    await replace(Array.from({ length: 12 }, () => record('{}')).join(''));
    expect(await position()).toMatchObject({ endOffset: 12, lag: 12 });
    // The group's commits and the next publish, counted on from there.
    const seen: string[] = [];
    await bus.subscribe({ group, topics: ['training-data'] }, async (message) => void seen.push(message.offset));
    await waitFor(async () => (await position()).committedOffset === 12, 'the commits');
    expect(await position()).toEqual({ topic: 'training-data', partition: 0, committedOffset: 12, endOffset: 12, lag: 0 });
    await bus.publish('training-data', encodeTrainClaim(claim('c')));
    expect((await position()).endOffset).toBe(13);
    await waitFor(async () => (await position()).committedOffset === 13, 'the commit of the next');
    expect(await position()).toEqual({ topic: 'training-data', partition: 0, committedOffset: 13, endOffset: 13, lag: 0 });
    expect(seen).toHaveLength(13);
  });

  it('counts the end offset of a log past 2 GiB, which cannot be read whole', async () => {
    const { bus, root } = await freshBus();
    await bus.ensureTopics(['training-data']);
    // Sparse: zeros that take no disk, a torn line as far as the bus is concerned.
    await truncate(path.join(root, 'topics', 'training-data.log'), 2 ** 31 + 1);
    await bus.publish('training-data', encodeTrainClaim(claim('a')));
    expect(await bus.lag('train-gru', ['training-data'])).toEqual([{ topic: 'training-data', partition: 0, committedOffset: -1, endOffset: 2, lag: 2 }]);
    await bus.publish('training-data', encodeTrainClaim(claim('b')));
    expect((await bus.lag('train-gru', ['training-data']))[0].endOffset).toBe(3);
  });

  it('delivers a backlog larger than one read a piece at a time, a line longer than a piece whole, in order', async () => {
    const { bus, root } = await freshBus();
    const values = ['first', 'x'.repeat(POLL_READ_BYTES + 1), ...Array.from({ length: 17 }, (_, index) => String(index % 10).repeat(1024 * 1024)), 'last'];
    await mkdir(path.join(root, 'topics'));
    await writeFile(path.join(root, 'topics', 'training-data.log'), values.map((value) => `${JSON.stringify({ key: 'k', value, timestamp: 1 })}\n`).join(''));
    const seen: Array<[string, string]> = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push([message.offset, message.value]));
    await waitFor(() => seen.length === values.length, 'every message');
    expect(seen.map(([offset]) => offset)).toEqual(values.map((_, index) => String(index)));
    expect(seen.map(([, value]) => value)).toEqual(values);
    await waitFor(async () => (await bus.lag('train-gru', ['training-data']))[0].lag === 0, 'the commits');
  });

  it('resumes a group in a log past 2 GiB, which cannot be read whole, where it committed', async () => {
    const { bus, root } = await freshBus();
    await bus.ensureTopics(['training-data']);
    // Sparse zeros that take no disk, one torn line then as far as the bus is concerned, the group past it.
    await truncate(path.join(root, 'topics', 'training-data.log'), 2 ** 31 + 1);
    for (const object of ['a', 'b']) await bus.publish('training-data', encodeTrainClaim(claim(object)));
    await mkdir(path.join(root, 'groups', 'train-gru'), { recursive: true });
    await writeFile(path.join(root, 'groups', 'train-gru', 'training-data.offset'), '2\n');
    const seen: string[] = [];
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(`${message.offset} ${decodeTrainClaim(message).object}`));
    await waitFor(() => seen.length === 1, 'the message after the committed offset');
    expect(seen).toEqual(['2 b']);
  });

  it('starts a new group at the end when fromBeginning is false', async () => {
    const { bus } = await freshBus();
    await bus.publish('model-selected', { key: 'promotion', value: '{"run_id":"old"}' });
    const seen: string[] = [];
    await bus.subscribe({ group: 'serve-1', topics: ['model-selected'], fromBeginning: false }, async (message) => void seen.push(message.value));
    await bus.publish('model-selected', { key: 'promotion', value: '{"run_id":"new"}' });
    await waitFor(() => seen.length === 1, 'the new promotion');
    expect(seen).toEqual(['{"run_id":"new"}']);
  });
});

describe('core > bus > fs-bus retention, and a dead letter across a kill', () => {
  const buses: MessageBus[] = [];
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
  });
  const claim = (object: string) => ({ bucket: 'processed-data', object, size: 1, configHash: 'h', identifier: '' });
  const record = (object: string, timestamp: number): string => `${JSON.stringify({ key: 'train-claim', value: encodeTrainClaim(claim(object)).value, timestamp })}\n`;

  function recording(): { logger: Logger; lines: Array<[string, string, Record<string, unknown>]> } {
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const at = (level: string) => (fields: object, msg?: string) => void lines.push([level, msg ?? '', fields as Record<string, unknown>]);
    const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
    return { logger, lines };
  }

  function retained(root: string, retention: FsBusRetention, logger?: Logger, metrics?: BusMetrics): FsBus {
    const bus = createFsBus({ root, pollIntervalMs: 20, logger, metrics, retention });
    buses.push(bus);
    return bus;
  }

  it('removes the messages older than the retention time, keeps every offset, and resumes a group whose unconsumed messages went at the first offset left, saying how many it lost', async () => {
    const root = await busRoot();
    const { logger, lines } = recording();
    const lost: Array<[string, string, number]> = [];
    const metrics: BusMetrics = { subscribed() {}, delivered() {}, retried() {}, deadLetterRefused() {}, connectionFailed() {}, consumerCrashed() {}, consumerRestarted() {}, crashing() {}, lostToRetention: (group, topic, count) => void lost.push([group, topic, count]) };
    const bus = retained(root, { ms: 7 * 86_400_000, bytes: -1, checkIntervalMs: 0 }, logger, metrics);
    // Four messages appended a year ago, two now.
    await mkdir(path.join(root, 'topics'), { recursive: true });
    await writeFile(path.join(root, 'topics', 'training-data.log'), ['old-0', 'old-1', 'old-2', 'old-3'].map((object) => record(object, Date.now() - 365 * 86_400_000)).join(''));
    for (const object of ['new-4', 'new-5']) await bus.publish('training-data', encodeTrainClaim(claim(object)));
    // train-gru consumed everything, train-lstm stopped after two.
    const seen: string[] = [];
    const gru = await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(`${message.offset} ${decodeTrainClaim(message).object}`));
    await waitFor(async () => (await bus.lag('train-gru', ['training-data']))[0].committedOffset === 6, 'train-gru at the end');
    await gru.stop();
    await mkdir(path.join(root, 'groups', 'train-lstm'), { recursive: true });
    await writeFile(path.join(root, 'groups', 'train-lstm', 'training-data.offset'), '2\n');

    const trims = await bus.applyRetention();
    expect(trims).toEqual([{ topic: 'training-data', fromOffset: 0, logStartOffset: 4, removedBytes: expect.any(Number), keptBytes: expect.any(Number), unconsumed: [{ group: 'train-lstm', committedOffset: 2, lost: 2 }] }]);
    expect(lines.filter(([level]) => level === 'warn').map(([, msg, fields]) => [msg, fields.group, fields.committed_offset, fields.lost])).toEqual([['bus_fs_retention_removed_unconsumed', 'train-lstm', 2, 2]]);
    // The offsets kept: the end is 6 still, and lag counts from each group's commit.
    expect(await bus.lag('train-gru', ['training-data'])).toEqual([{ topic: 'training-data', partition: 0, committedOffset: 6, endOffset: 6, lag: 0 }]);
    expect(await bus.lag('train-lstm', ['training-data'])).toEqual([{ topic: 'training-data', partition: 0, committedOffset: 2, endOffset: 6, lag: 4 }]);
    expect(await bus.lag('train-new', ['training-data'])).toEqual([{ topic: 'training-data', partition: 0, committedOffset: -1, endOffset: 6, lag: 2 }]);
    // Nothing more to remove: the log is left as it is.
    expect(await bus.applyRetention()).toEqual([]);

    const lstm: string[] = [];
    await bus.subscribe({ group: 'train-lstm', topics: ['training-data'] }, async (message) => void lstm.push(`${message.offset} ${decodeTrainClaim(message).object}`));
    await waitFor(() => lstm.length === 2, 'the messages left');
    expect(lstm).toEqual(['4 new-4', '5 new-5']);
    expect(lost).toEqual([['train-lstm', 'training-data', 2]]);
    expect(lines.filter(([, msg]) => msg === 'bus_fs_offset_reset_by_retention').map(([level, , fields]) => [level, fields.committed_offset, fields.log_start_offset, fields.lost])).toEqual([['warn', 2, 4, 2]]);
    await waitFor(async () => (await bus.lag('train-lstm', ['training-data']))[0].lag === 0, 'train-lstm at the end');

    // The groups go on from there, at offsets counted as before.
    await bus.publish('training-data', encodeTrainClaim(claim('new-6')));
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'] }, async (message) => void seen.push(`${message.offset} ${decodeTrainClaim(message).object}`));
    await waitFor(() => seen.length === 7 && lstm.length === 3, 'the next message, to both');
    expect(seen).toEqual(['0 old-0', '1 old-1', '2 old-2', '3 old-3', '4 new-4', '5 new-5', '6 new-6']);
    expect(lstm.at(-1)).toBe('6 new-6');
    const fresh: string[] = [];
    await bus.subscribe({ group: 'train-new', topics: ['training-data'] }, async (message) => void fresh.push(message.offset));
    await waitFor(() => fresh.length === 3, 'a new group, from the first offset left');
    expect(fresh).toEqual(['4', '5', '6']);
  });

  it('keeps a log within retentionBytes as it is published to, by whichever bus publishes, losing no message of two publishing at once, while a group consumes it', async () => {
    const root = await busRoot();
    const limits = { ms: -1, bytes: 4096, checkIntervalMs: 0, stepBytes: 1024 };
    // Two buses on one directory, as two processes are: only the topic's lock file orders their appends and cuts.
    const [one, two] = [retained(root, limits), retained(root, limits)];
    const seen: number[] = [];
    await one.subscribe({ group: 'replica-actuals', topics: ['inference-data'] }, async (message) => void seen.push(Number(message.offset)));
    const publish = async (bus: FsBus, from: string): Promise<void> => {
      for (let index = 0; index < 150; index += 1) await bus.publish('inference-data', { key: null, value: JSON.stringify({ from, index, pad: 'x'.repeat(100) }) });
    };
    await Promise.all([publish(one, 'one'), publish(two, 'two')]);
    const { size } = await stat(path.join(root, 'topics', 'inference-data.log'));
    expect(size).toBeLessThanOrEqual(limits.bytes + limits.stepBytes + 200);
    const [range] = await two.lag('nobody', ['inference-data']);
    expect(range.endOffset).toBe(300);
    // What is left is the last messages of both, each once, numbered up to the end.
    const values = (await readFile(path.join(root, 'topics', 'inference-data.log'), 'utf8')).trim().split('\n');
    const header = JSON.parse(values[0]) as { logStartOffset: number };
    expect(header.logStartOffset).toBe(300 - range.lag);
    const kept = values.slice(1).map((line) => JSON.parse(JSON.parse(line).value) as { from: string; index: number });
    expect(kept).toHaveLength(range.lag);
    for (const from of ['one', 'two']) {
      const mine = kept.filter((value) => value.from === from).map((value) => value.index);
      expect(mine).toEqual(Array.from({ length: mine.length }, (_, index) => 150 - mine.length + index));
    }
    // The consumer saw offsets only going up, and ends at the end whatever it lost.
    await waitFor(async () => (await one.lag('replica-actuals', ['inference-data']))[0].committedOffset === 300, 'the consumer at the end');
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe(299);
  });

  /**
   * A log whose oldest messages retention removed, written into the file the log was (its inode): what a file system
   * that gives the new log the inode number of the one it replaced looks like to a reader of it. Messages 8 and 9 are
   * kept and `appended` more follow them, from offset 10.
   */
  async function writtenAnewInPlace(log: string, appended: number): Promise<void> {
    const before = await stat(log);
    const kept = (await readFile(log, 'utf8')).trim().split('\n').slice(8);
    const added = Array.from({ length: appended }, (_, index) => JSON.stringify({ key: null, value: `m${10 + index}`, timestamp: Date.now() }));
    await writeFile(log, ['{"logStartOffset":8}', ...kept, ...added].map((line) => `${line}\n`).join(''));
    expect((await stat(log)).ino).toBe(before.ino);
  }

  it.each([
    ['shorter than the position the consumer had read to', 2],
    ['longer than the position the consumer had read to', 20],
  ])('delivers from a log written anew under the inode number of the one it replaced (%s), at the offsets it holds', async (_case, appended) => {
    const root = await busRoot();
    const writer = createFsBus({ root, pollIntervalMs: 20 });
    buses.push(writer);
    for (let index = 0; index < 10; index += 1) await writer.publish('inference-data', { key: null, value: `m${index}` });
    // Looks again after a pass that delivered, or when its own bus publishes: the log changes between two of its looks.
    const reader = createFsBus({ root, pollIntervalMs: 3_600_000 });
    buses.push(reader);
    const seen: string[] = [];
    // The tenth message is held until the log is written anew: the consumer's next read, right after it, meets the new
    // log and never a file half written (writeFile truncates, then writes), which no retention leaves to be read.
    let rewritten!: () => void;
    const logRewritten = new Promise<void>((resolve) => (rewritten = resolve));
    await reader.subscribe({ group: 'replica-actuals', topics: ['inference-data'] }, async (message) => {
      seen.push(`${message.offset} ${message.value}`);
      if (seen.length === 10) await logRewritten;
    });
    await waitFor(() => seen.length === 10, 'the first ten messages');
    await writtenAnewInPlace(path.join(root, 'topics', 'inference-data.log'), appended);
    rewritten();
    await reader.publish('inference-data', { key: null, value: 'last' });
    const expected = [...Array.from({ length: appended }, (_, index) => `${10 + index} m${10 + index}`), `${10 + appended} last`];
    await waitFor(() => seen.length >= 10 + expected.length, 'the messages after the first ten');
    expect(seen.slice(10)).toEqual(expected);
  });

  it('counts the offsets of a log written anew under the inode number of the one it counted before', async () => {
    const root = await busRoot();
    const bus = createFsBus({ root, pollIntervalMs: 20 });
    buses.push(bus);
    for (let index = 0; index < 10; index += 1) await bus.publish('inference-data', { key: null, value: `m${index}` });
    expect(await bus.lag('nobody', ['inference-data'])).toEqual([{ topic: 'inference-data', partition: 0, committedOffset: -1, endOffset: 10, lag: 10 }]);
    await writtenAnewInPlace(path.join(root, 'topics', 'inference-data.log'), 20);
    expect(await bus.lag('nobody', ['inference-data'])).toEqual([{ topic: 'inference-data', partition: 0, committedOffset: -1, endOffset: 30, lag: 22 }]);
  });

  it('is applied to every topic by a bus that consumes, as its first subscription starts, without being asked', async () => {
    const root = await busRoot();
    await mkdir(path.join(root, 'topics'), { recursive: true });
    const old = Date.now() - 2 * 3_600_000;
    await writeFile(path.join(root, 'topics', 'training-data.log'), ['a', 'b', 'c'].map((object) => record(object, old)).join(''));
    const bus = retained(root, { ms: 3_600_000, bytes: -1, checkIntervalMs: 60_000 });
    await bus.subscribe({ group: 'serve-1', topics: ['model-selected'] }, async () => {});
    const log = path.join(root, 'topics', 'training-data.log');
    await waitFor(async () => (await readFile(log, 'utf8')).startsWith('{"logStartOffset":3}\n'), 'the old messages removed');
    expect(await bus.lag('train-gru', ['training-data'])).toEqual([{ topic: 'training-data', partition: 0, committedOffset: -1, endOffset: 3, lag: 0 }]);
  });

  it('takes its limits from the settings: FLTS_BUS_FS_RETENTION_BYTES keeps a topic near its size, FLTS_BUS_FS_RETENTION_HOURS -1 and the default keep every message meanwhile', async () => {
    const home = await busRoot();
    const bus = createMessageBus(resolveSettings({ env: { FLTS_BUS: 'fs', FLTS_HOME: home, FLTS_BUS_FS_RETENTION_BYTES: '2000', FLTS_BUS_FS_RETENTION_HOURS: '-1' } }).settings)!;
    buses.push(bus);
    for (let index = 0; index < 40; index += 1) await bus.publish('inference-data', { key: null, value: JSON.stringify({ index, pad: 'x'.repeat(100) }) });
    const [range] = await bus.lag('nobody', ['inference-data']);
    expect(range).toMatchObject({ endOffset: 40 });
    expect(range.lag).toBeGreaterThan(0);
    expect(range.lag).toBeLessThan(40);
    expect((await stat(path.join(home, 'bus', 'topics', 'inference-data.log'))).size).toBeLessThanOrEqual(4000 + 200);
    // The defaults: 168 hours, no size limit; a day-old message stays.
    const kept = createMessageBus(resolveSettings({ env: { FLTS_BUS: 'fs', FLTS_HOME: await busRoot() } }).settings) as FsBus;
    buses.push(kept);
    for (let index = 0; index < 40; index += 1) await kept.publish('inference-data', { key: null, value: JSON.stringify({ index, pad: 'x'.repeat(100) }) });
    expect(await kept.applyRetention(Date.now() + 86_400_000)).toEqual([]);
    expect((await kept.applyRetention(Date.now() + 169 * 3_600_000)).map((trim) => trim.logStartOffset)).toEqual([40]);
  });

  /**
   * A bus root whose group train-gru dead-lettered the one message of training-data in a process killed (-9) before
   * it committed the message; `letters` reads the DLQ's headers.
   */
  async function killedAfterDeadLetter(): Promise<{ root: string; dlqLog: string; letters: () => Promise<Array<Record<string, string>>> }> {
    const root = await busRoot();
    const seed = createFsBus({ root });
    await seed.publish('training-data', { key: 'train-claim', value: '{"bucket": "processed-data"}' });
    await seed.close();
    const built = pathToFileURL(path.resolve(__dirname, '../../../dist/core/bus/fs-bus.js')).href;
    const messages = pathToFileURL(path.resolve(__dirname, '../../../dist/core/bus/messages.js')).href;
    // Killed by its own delivery listener, which the bus calls once the dead letter is stored and before the commit.
    const script = `import { createFsBus } from ${JSON.stringify(built)}; import { decodeTrainClaim } from ${JSON.stringify(messages)};
      const bus = createFsBus({ root: process.argv[1], pollIntervalMs: 20, onDelivery: ({ outcome }) => { if (outcome === 'dead-lettered') process.kill(process.pid, 'SIGKILL'); } });
      await bus.subscribe({ group: 'train-gru', topics: ['training-data'], dlq: { topic: 'DLQ-model-training', role: 'trainer' } }, async (message) => void decodeTrainClaim(message));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: 'ignore' });
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    expect(exit).toBe('SIGKILL');
    const dlqLog = path.join(root, 'topics', 'DLQ-model-training.log');
    const letters = async (): Promise<Array<Record<string, string>>> => (await readFile(dlqLog, 'utf8')).trim().split('\n').map((line) => JSON.parse(line).headers);
    expect(await letters()).toHaveLength(1);
    return { root, dlqLog, letters };
  }

  it('takes at once the topic lock of a publisher killed (-9) while it appended, instead of holding up every publish to the topic', async () => {
    const root = await busRoot();
    const built = pathToFileURL(path.resolve(__dirname, '../../../dist/core/bus/fs-bus.js')).href;
    // Killed as it opens the log to append, its lock taken: the moment a SIGKILL of a daemon's publish leaves it.
    const script = `import fs from 'node:fs'; import { syncBuiltinESMExports } from 'node:module';
      const open = fs.promises.open;
      fs.promises.open = async function (file, flags, ...rest) { if (String(file).endsWith('model-training.log') && flags === 'a+') process.kill(process.pid, 'SIGKILL'); return open.call(this, file, flags, ...rest); };
      syncBuiltinESMExports();
      const { createFsBus } = await import(${JSON.stringify(built)});
      await createFsBus({ root: process.argv[1] }).publish('model-training', { key: 'trained-NAIVE', value: '{}' });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: 'ignore' });
    expect(await new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))).toBe('SIGKILL');
    const lockFile = path.join(root, 'topics', 'model-training.lock');
    expect(Number.parseInt(await readFile(lockFile, 'utf8'), 10)).toBe(child.pid);

    const warnings: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
    const logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (fields: Record<string, unknown>, msg?: string) => void warnings.push({ fields, msg }), child: () => logger } as unknown as Logger;
    const bus = createFsBus({ root, pollIntervalMs: 20, logger });
    buses.push(bus);
    await bus.publish('model-training', { key: 'trained-LSTM', value: '{}' });
    expect(warnings.filter((warning) => warning.msg === 'bus_fs_topic_lock_taken_over').map((warning) => warning.fields)).toEqual([expect.objectContaining({ topic: 'model-training', holder: 'gone', holder_pid: child.pid })]);
    expect((await readFile(path.join(root, 'topics', 'model-training.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line).key)).toEqual(['trained-LSTM']);
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes a dead letter once when its consumer is killed (-9) after writing it and before committing its message', async () => {
    const { root, letters } = await killedAfterDeadLetter();
    const bus = createFsBus({ root, pollIntervalMs: 20 });
    buses.push(bus);
    expect((await bus.lag('train-gru', ['training-data']))[0].committedOffset).toBe(-1);

    // The group's next consumer gets the message again, fails on it again, and commits it without a second letter.
    let calls = 0;
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'], dlq: { topic: 'DLQ-model-training', role: 'trainer' } }, async (message) => {
      calls += 1;
      decodeTrainClaim(message);
    });
    await waitFor(async () => (await bus.lag('train-gru', ['training-data']))[0].committedOffset === 1, 'the commit');
    expect(calls).toBe(1);
    // The one letter, named for a DLQ reader to tell a copy by, as it must with Kafka.
    expect(await letters()).toEqual([expect.objectContaining({ 'flts-dead-letter-id': 'training-data/0/0/train-gru', 'flts-source-offset': '0' })]);

    // Replayed by hand (its offset file written again after the letter): a new failure is a new letter.
    await bus.close();
    await writeFile(path.join(root, 'groups', 'train-gru', 'training-data.offset'), '0\n');
    const again = createFsBus({ root, pollIntervalMs: 20 });
    buses.push(again);
    await again.subscribe({ group: 'train-gru', topics: ['training-data'], dlq: { topic: 'DLQ-model-training', role: 'trainer' } }, async (message) => void decodeTrainClaim(message));
    await waitFor(async () => (await again.lag('train-gru', ['training-data']))[0].committedOffset === 1, 'the commit of the replay');
    expect(await letters()).toHaveLength(2);
  });

  it('finds the killed consumer\'s dead letter however much the other groups sharing its DLQ wrote after it', async () => {
    const { root, dlqLog, letters } = await killedAfterDeadLetter();
    // 6 MiB of other groups' letters, written after it as other processes write them (more than the last 4 MiB once looked at).
    const pad = 'x'.repeat(1_000);
    const other = (index: number) => `${JSON.stringify({ key: null, value: JSON.stringify({ pad }), headers: { 'flts-dead-letter-id': `training-data/0/${index}/train-lstm` }, timestamp: Date.now() })}\n`;
    await appendFile(dlqLog, Array.from({ length: 6 * 1024 }, (_, index) => other(index)).join(''));
    const ours = (headers: Record<string, string>) => headers['flts-dead-letter-id'] === 'training-data/0/0/train-gru';
    expect((await letters()).filter(ours)).toHaveLength(1);

    const bus = createFsBus({ root, pollIntervalMs: 20 });
    buses.push(bus);
    await bus.subscribe({ group: 'train-gru', topics: ['training-data'], dlq: { topic: 'DLQ-model-training', role: 'trainer' } }, async (message) => void decodeTrainClaim(message));
    await waitFor(async () => (await bus.lag('train-gru', ['training-data']))[0].committedOffset === 1, 'the commit');
    expect((await letters()).filter(ours)).toHaveLength(1);
  });
});
