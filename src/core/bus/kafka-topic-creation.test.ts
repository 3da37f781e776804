import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { createMessageBus } from './index.js';
import type { MessageBus } from './message-bus.js';
import { ensureTopicsWithinReach } from './reach.js';

/**
 * The admin client's answers, as the test decides them: a cluster slow to create topics cannot be had from the test
 * broker (its controller answers within milliseconds), so the bounds on reaching the cluster and on creating topics
 * are checked here against an admin whose calls end when the test says, on a fake clock.
 */
const admin = vi.hoisted(() => ({
  listTopics: vi.fn<() => Promise<string[]>>(),
  createTopics: vi.fn<() => Promise<boolean>>(),
  fetchTopicMetadata: vi.fn(async () => ({ topics: [] })),
  connect: vi.fn(async () => {}),
  disconnect: vi.fn(async () => {}),
}));

/** The log creator of the latest bus's client: a failed connection try is a line kafkajs logs. */
const kafkaLogs = vi.hoisted((): import('./fake-kafkajs.fixture.js').FakeKafkaLogs => ({}));

vi.mock('./kafkajs-module.js', async () => (await import('./fake-kafkajs.fixture.js')).fakeKafkajsModule(admin, kafkaLogs));

/** kafkajs' line for a connection try to `broker` that was refused. */
const refusedTry = (broker: string) => ({ namespace: 'Connection', level: 1, label: 'ERROR', log: { message: `Connection error: connect ECONNREFUSED ${broker}`, broker } });

/** A promise and what settles it. */
function held<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** What kafkajs' admin connect rejects with once its retries to a bootstrap address that refuses are over. */
function connectRetriesExceeded(): Error {
  const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9'), { name: 'KafkaJSConnectionError', retriable: true, broker: '127.0.0.1:9', code: 'ECONNREFUSED' });
  return Object.assign(new Error(refused.message, { cause: refused }), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, retryCount: 8 });
}

/** Whether `promise` has settled, and how. */
function watch(promise: Promise<unknown>): () => 'pending' | 'resolved' | 'rejected' {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(() => (state = 'resolved'), () => (state = 'rejected'));
  return () => state;
}

const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9' } });

function bus(oneShot: boolean): MessageBus {
  return createMessageBus(settings, { oneShot })!;
}

describe('core > bus > kafka-bus > topic creation bounds', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    admin.listTopics.mockReset();
    admin.createTopics.mockReset();
    admin.connect.mockReset();
    admin.connect.mockResolvedValue(undefined);
  });
  afterEach(() => vi.useRealTimers());

  it('has a command wait for a cluster that answered and is slow to create topics, past bus.kafka.commandConnectTimeoutMs', async () => {
    admin.listTopics.mockResolvedValue([]);
    const creation = held<boolean>();
    admin.createTopics.mockReturnValue(creation.promise);
    const ensuring = bus(true).ensureTopics(['t']);
    const state = watch(ensuring);
    // Before, the command's 10 s bound on reaching the brokers covered the creation too, and failed it here.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(state()).toBe('pending');
    creation.resolve(true);
    await expect(ensuring).resolves.toBeUndefined();
  });

  it('fails a command whose topics are not created within bus.kafka.topicCreationTimeoutMs, naming it', async () => {
    admin.listTopics.mockResolvedValue([]);
    admin.createTopics.mockReturnValue(new Promise(() => {}));
    const ensuring = bus(true).ensureTopics(['t']);
    const state = watch(ensuring);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(state()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(ensuring).rejects.toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      retriable: true,
      message: expect.stringContaining('the brokers answered, but did not create the topics within 60000 ms, the wait FLTS_KAFKA_TOPIC_CREATION_TIMEOUT_MS (setting bus.kafka.topicCreationTimeoutMs) allows a command'),
      details: { setting: 'bus.kafka.topicCreationTimeoutMs', waitedMs: 60_000 },
    });
  });

  it('still fails a command within bus.kafka.commandConnectTimeoutMs when the cluster never answers', async () => {
    admin.listTopics.mockReturnValue(new Promise(() => {}));
    const ensuring = bus(true).ensureTopics(['t']);
    const state = watch(ensuring);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(state()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(ensuring).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', details: { setting: 'bus.kafka.commandConnectTimeoutMs', waitedMs: 10_000 } });
    expect(admin.createTopics).not.toHaveBeenCalled();
  });

  it("ends a service's wait for the cluster's first answer at reachWithinMs, and has the next wait for the same request", async () => {
    const listing = held<string[]>();
    admin.listTopics.mockReturnValue(listing.promise);
    admin.createTopics.mockResolvedValue(true);
    const service = bus(false);
    const first = service.ensureTopics(['t'], undefined, { reachWithinMs: 2_000 });
    const firstState = watch(first);
    await vi.advanceTimersByTimeAsync(2_000);
    // Before, a service's wait had no bound: it lasted as long as kafkajs' and the bus's retries (minutes).
    expect(firstState()).toBe('rejected');
    await expect(first).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true, message: expect.stringContaining('no answer yet after 2000 ms (still waiting)'), details: { waitedMs: 2_000 } });
    const second = service.ensureTopics(['t'], undefined, { reachWithinMs: 2_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    listing.resolve([]);
    await expect(second).resolves.toBeUndefined();
    // One listing for both waits: the second did not send another beside the one still under way.
    expect(admin.listTopics).toHaveBeenCalledTimes(1);
    expect(admin.createTopics).toHaveBeenCalledTimes(1);
  });

  it("ends a service's reach (ensureTopicsWithinReach, as flts daemon and flts serve use it) after bus.kafka.commandConnectTimeoutMs, and no other call of its bus", async () => {
    const listing = held<string[]>();
    admin.listTopics.mockReturnValue(listing.promise);
    admin.createTopics.mockResolvedValue(true);
    const service = bus(false);
    const reaching = ensureTopicsWithinReach(service, settings, ['model-selected', 'DLQ-model-selected']);
    const reachState = watch(reaching);
    const subscribing = service.subscribe({ group: 'flts-serving-r1', topics: ['model-selected'], fromBeginning: false }, async () => {});
    const subscribeState = watch(subscribing);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(reachState()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reachState()).toBe('rejected');
    await expect(reaching).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true, message: expect.stringContaining('no answer yet after 10000 ms (still waiting)'), details: { waitedMs: 10_000 } });
    // A subscribe names no bound: it waits on for the same listing, as long as the broker retries take.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(subscribeState()).toBe('pending');
    expect(admin.listTopics).toHaveBeenCalledTimes(1);
    listing.resolve([]);
  });

  it("ends a service's reach after bus.kafka.commandConnectTimeoutMs while its admin's connect waits for a bootstrap broker, naming it, and has the next attempt wait for the same connect", async () => {
    const connecting = held<void>();
    admin.connect.mockReturnValue(connecting.promise);
    admin.listTopics.mockResolvedValue([]);
    admin.createTopics.mockResolvedValue(true);
    const service = bus(false);
    const first = ensureTopicsWithinReach(service, settings, ['model-selected']);
    const firstState = watch(first);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(firstState()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1_000);
    // Before, the bound began once the connect was over: kafkajs retries a refused bootstrap address for about 25 s.
    expect(firstState()).toBe('rejected');
    const error = await first.catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      retriable: true,
      message: expect.stringContaining('Kafka admin connect failed (brokers 127.0.0.1:9): not connected yet after 10000 ms (still waiting): the bootstrap broker (127.0.0.1:9) refused the connection or did not answer'),
      details: { brokers: ['127.0.0.1:9'], waitedMs: 10_000 },
    });
    // Not the brokers' advertised addresses: nothing answered at the bootstrap one to name them.
    expect((error as Error).message).not.toContain('advertise');
    const second = ensureTopicsWithinReach(service, settings, ['model-selected']);
    const secondState = watch(second);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(secondState()).toBe('pending');
    connecting.resolve();
    await expect(second).resolves.toBeUndefined();
    // One connect for both attempts: the second did not open another beside the one still under way.
    expect(admin.connect).toHaveBeenCalledTimes(1);
  });

  it("counts a connect that outlasts several attempts' bounds from its start, with its failed tries, not from the attempt's", async () => {
    admin.connect.mockReturnValue(new Promise(() => {}));
    const service = bus(false);
    const first = ensureTopicsWithinReach(service, settings, ['model-selected']);
    first.catch(() => {});
    kafkaLogs.emit?.(refusedTry('127.0.0.1:9'));
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(first).rejects.toMatchObject({ message: expect.stringContaining('not connected yet after 10000 ms and 1 failed connection try (still waiting)'), details: { waitedMs: 10_000, failedConnections: 1 } });
    await vi.advanceTimersByTimeAsync(2_000);
    const second = ensureTopicsWithinReach(service, settings, ['model-selected']);
    second.catch(() => {});
    kafkaLogs.emit?.(refusedTry('127.0.0.1:9'));
    kafkaLogs.emit?.(refusedTry('127.0.0.1:9'));
    await vi.advanceTimersByTimeAsync(10_000);
    // Before, "not connected yet after 10000 ms": the second attempt's bound alone, of a connect 22 s under way.
    await expect(second).rejects.toMatchObject({ message: expect.stringContaining('not connected yet after 22000 ms and 3 failed connection tries (still waiting)'), details: { waitedMs: 22_000, failedConnections: 3 } });
    expect(admin.connect).toHaveBeenCalledTimes(1);
  });

  it("counts a service's reach from before its admin's connect: a slow connect leaves the listing only the rest of the bound", async () => {
    const connecting = held<void>();
    admin.connect.mockReturnValue(connecting.promise);
    admin.listTopics.mockReturnValue(new Promise(() => {}));
    const reaching = ensureTopicsWithinReach(bus(false), settings, ['model-selected']);
    const state = watch(reaching);
    await vi.advanceTimersByTimeAsync(6_000);
    connecting.resolve();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(state()).toBe('pending');
    await vi.advanceTimersByTimeAsync(1_000);
    // Before, the listing had a whole bound of its own after the connect: 16 s in all.
    expect(state()).toBe('rejected');
    await expect(reaching).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining('no answer yet after 10000 ms (still waiting)'), details: { waitedMs: 10_000 } });
  });

  it("words kafkajs giving up its admin's connect during a service's reach as the bound's end does, and has the next attempt connect anew", async () => {
    let giveUp: (error: Error) => void = () => {};
    admin.connect.mockReturnValueOnce(new Promise<void>((_, reject) => (giveUp = reject)));
    admin.listTopics.mockResolvedValue([]);
    admin.createTopics.mockResolvedValue(true);
    const service = bus(false);
    const first = ensureTopicsWithinReach(service, settings, ['model-selected']);
    first.catch(() => {});
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(first).rejects.toMatchObject({ message: expect.stringContaining('not connected yet after 10000 ms (still waiting): the bootstrap broker (127.0.0.1:9)') });
    const second = ensureTopicsWithinReach(service, settings, ['model-selected']);
    const state = watch(second);
    kafkaLogs.emit?.(refusedTry('127.0.0.1:9'));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(state()).toBe('pending');
    kafkaLogs.emit?.(refusedTry('127.0.0.1:9'));
    giveUp(connectRetriesExceeded());
    await vi.advanceTimersByTimeAsync(0);
    // Before, this attempt said kafkajs' own words ("Kafka admin connect failed (brokers 127.0.0.1:9): Connection
    // error: connect ECONNREFUSED 127.0.0.1:9") where the attempts before it named the bootstrap broker; then "not
    // connected yet after 3000 ms", this attempt's share alone, of a connect tried for 13 s and refused each time.
    const error = await second.catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      retriable: true,
      message: "Kafka admin connect failed (brokers 127.0.0.1:9): not connected yet after 13000 ms and 2 failed connection tries (still waiting): the bootstrap broker (127.0.0.1:9) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach (a listener's host and port, up, with no firewall between); latest error: Connection error: connect ECONNREFUSED 127.0.0.1:9",
      details: { brokers: ['127.0.0.1:9'], waitedMs: 13_000, failedConnections: 2 },
    });
    // kafkajs' error stays the cause, as the logs show it.
    expect(((error as Error).cause as Error).cause).toMatchObject({ name: 'KafkaJSNumberOfRetriesExceeded' });
    // The connect given up on is over: the next attempt opens its own, and reaches the cluster with it.
    await expect(ensureTopicsWithinReach(service, settings, ['model-selected'])).resolves.toBeUndefined();
    expect(admin.connect).toHaveBeenCalledTimes(2);
  });

  it("names the bootstrap broker when kafkajs gives up a command's admin connect within bus.kafka.commandConnectTimeoutMs", async () => {
    let giveUp: (error: Error) => void = () => {};
    admin.connect.mockReturnValueOnce(new Promise<void>((_, reject) => (giveUp = reject)));
    const ensuring = bus(true).ensureTopics(['t']);
    ensuring.catch(() => {});
    await vi.advanceTimersByTimeAsync(4_000);
    giveUp(connectRetriesExceeded());
    // Before: "Kafka admin connect failed (brokers 127.0.0.1:9): Connection error: connect ECONNREFUSED 127.0.0.1:9".
    await expect(ensuring).rejects.toMatchObject({
      code: 'FLTS_BUS_UNAVAILABLE',
      retriable: true,
      message: "Kafka admin connect failed (brokers 127.0.0.1:9): not connected after 4000 ms, kafkajs' retries given up: the bootstrap broker (127.0.0.1:9) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach (a listener's host and port, up, with no firewall between); latest error: Connection error: connect ECONNREFUSED 127.0.0.1:9",
      details: { brokers: ['127.0.0.1:9'], waitedMs: 4_000 },
    });
  });

  it("leaves a connect refused for another reason than an unanswered bootstrap broker as kafkajs' failure codes it", async () => {
    admin.connect.mockRejectedValueOnce(Object.assign(new Error('SASL PLAIN authentication failed: bad credentials'), { name: 'KafkaJSSASLAuthenticationError', retriable: false }));
    await expect(ensureTopicsWithinReach(bus(false), settings, ['model-selected'])).rejects.toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED', retriable: false });
  });
});
