import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClaimReads } from '../batch/claim-reads.js';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus, MessageHandler, SubscribeOptions } from '../bus/message-bus.js';
import { encodeInferenceClaim } from '../bus/messages.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { createFeaturePlan } from '../forecast/feature-plan.js';
import type { LiveScorer } from '../live/live-scorer.js';
import { silentLogger, type Logger } from '../logger.js';
import { createLiveMonitor, type LiveMonitor } from '../serve/live-monitor.js';
import type { ModelHolder } from '../serve/model-holder.js';
import type { ServedModel } from '../serve/served-model.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { followClaimActuals } from './claim-actuals-follower.js';

/** A line a follower logged at one of the levels its join records. */
export interface LoggedLine {
  event: string;
  fields: Record<string, unknown>;
}

type Level = 'debug' | 'warn' | 'error';

export interface ClaimFollowerJoin {
  /** What the follower logged at the levels asked for (warn and error unless told). */
  events: LoggedLine[];
  /** Stops the follower, then the monitor it scores with where the scene made it. */
  stop(): Promise<void>;
}

export interface ClaimFollowerScene {
  root: string;
  bus: MessageBus;
  /** The scene's store, saying each object read in `reads`. */
  store: ObjectStore;
  reads: string[];
  settings: Settings;
  topic: string;
  /** A served run `run-a` (config `cfg1`) that reads `down` unscaled, with an input window of 2 rows. */
  holder: ModelHolder;
  /** Publishes a claim of `incoming/<object>` for the served config. */
  claim(object: string, identifier?: string): Promise<void>;
  /** How far the group is behind on the claims topic. */
  lag(group: string): Promise<number | undefined>;
  /** A live monitor of the holder that never loads a shadow, stopped by the join that scores with it. */
  monitor(replica: string, options?: { settings?: Settings; now?: () => Date }): LiveMonitor;
  /** Starts a follower of the claims in `group`, scoring with `live`, on the scene's bus unless told. */
  join(group: string, options: { live: LiveMonitor; settings?: Settings; claimReads?: ClaimReads; levels?: Level[]; bus?: MessageBus }): Promise<ClaimFollowerJoin>;
}

const opened: Array<{ root: string; bus: MessageBus }> = [];

/**
 * A bus and a store in a scratch folder, with the claimed objects in bucket `incoming`, and the served run a follower
 * scores for. The folder and bus are released by closeClaimFollowerScenes.
 */
export async function claimFollowerScene(options: { flags?: Record<string, number>; objects?: Record<string, string> } = {}): Promise<ClaimFollowerScene> {
  const root = mkdtempSync(path.join(tmpdir(), 'flts-claim-actuals-'));
  const bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
  opened.push({ root, bus });
  const fsStore = createFsStore(path.join(root, 'store'));
  const reads: string[] = [];
  const store: ObjectStore = { ...fsStore, get: async (bucket, key) => (reads.push(key), fsStore.get(bucket, key)) };
  await store.ensureBucket('incoming');
  for (const [object, text] of Object.entries(options.objects ?? {})) await store.put('incoming', object, text);
  const settings = resolveSettings({ flags: options.flags ?? {} }).settings;
  const topic = settings.bus.topics.inferenceData;
  const plan = createFeaturePlan({ inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] }, { method: 'MinMaxScaler', columns: [], offset: [], scale: [] });
  const holder = { current: () => ({ plan, run: { runId: 'run-a', modelType: 'NAIVE', configHash: 'cfg1' } }) as unknown as ServedModel, status: () => ({}) } as unknown as ModelHolder;
  const monitors = new Set<LiveMonitor>();
  return {
    root,
    bus,
    store,
    reads,
    settings,
    topic,
    holder,
    claim: (object, identifier = '') => bus.publish(topic, encodeInferenceClaim({ bucket: 'incoming', object, size: 0, configHash: 'cfg1', identifier })),
    lag: async (group) => (await bus.lag(group, [topic]))[0]?.lag,
    monitor(replica, { settings: own = settings, now } = {}) {
      const monitor = createLiveMonitor({ settings: own, holder, loadShadow: () => Promise.reject(new Error('no shadow')), replica, logger: silentLogger, now });
      monitors.add(monitor);
      return monitor;
    },
    async join(group, { live, settings: own = settings, claimReads, levels = ['warn', 'error'], bus: joinedBus = bus }) {
      const events: LoggedLine[] = [];
      const record = (fields: object, event?: string): void => void events.push({ event: event ?? '', fields: fields as Record<string, unknown> });
      const at = (level: Level): Logger['warn'] => (levels.includes(level) ? record : () => {});
      const logger: Logger = { trace: () => {}, debug: at('debug'), info: () => {}, warn: at('warn'), error: at('error'), child: () => logger };
      const subscription = await followClaimActuals({ settings: own, bus: joinedBus, store, holder, live, logger, claimReads }, group);
      return {
        events,
        async stop() {
          await subscription.stop();
          if (monitors.delete(live)) await live.stop();
        },
      };
    },
  };
}

/** Closes the buses of every scene made so far and removes their folders. */
export async function closeClaimFollowerScenes(): Promise<void> {
  for (const { root, bus } of opened.splice(0)) {
    await bus.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

/**
 * A stand-in for the live monitor that scores each claim's actuals on `scorer` in one pass, as of `since` (when the
 * replica began remembering forecasts); `observed` counts the claims scored through any of them.
 */
export function scoringReplicas(scorer: () => LiveScorer): { at(since: number): LiveMonitor; observed(): number } {
  let observed = 0;
  return {
    at: (since) =>
      ({
        scorer: scorer(),
        since,
        observeActualsInTurns: async (actuals: Parameters<LiveMonitor['observeActualsInTurns']>[0]) => {
          observed++;
          const scoring = scorer().startScoring(actuals);
          scoring.scoreRows(actuals.time.length);
          return scoring.result();
        },
      }) as unknown as LiveMonitor,
    observed: () => observed,
  };
}

/** How many points of `run-a` the scorer matched. */
export const matchedOf = (scorer: LiveScorer): number => scorer.figures().find((run) => run.run_id === 'run-a')?.matched_total ?? 0;

/**
 * A claims topic of several partitions whose deliveries a test plays, one at a time, as Kafka would make them: each
 * partition's messages in its own order, the partitions in whatever order the test gives.
 */
export interface PartitionedClaims {
  bus: MessageBus;
  /** Delivers a claim of `incoming/<object>` at `offset` of `partition`, stamped `timestamp`; resolves once handled. */
  deliver(partition: number, offset: number, object: string, timestamp: number): Promise<void>;
  /** Says the consumer read `partition` to `offset` with nothing before it left to deliver (the bus's onReadTo). */
  readTo(partition: number, offset: number): void;
  /** The group's committed offset on `partition` from now on, as the bus's lag says it (-1 until set). */
  commit(partition: number, offset: number): void;
}

/** A bus whose claims topic ends at `ends` (by partition) for every look, and delivers only what the test plays. */
export function partitionedClaims(topic: string, ends: readonly number[]): PartitionedClaims {
  let subscribed: { options: SubscribeOptions; handler: MessageHandler; stopping: AbortController } | undefined;
  const committed = ends.map(() => -1);
  const unsubscribed = (): never => {
    throw new Error('no follower subscribed');
  };
  const bus: MessageBus = {
    kind: 'kafka',
    ensureTopics: async () => {},
    publish: async () => {},
    lag: async (_group, topics) => (topics.includes(topic) ? ends.map((end, partition) => ({ topic, partition, committedOffset: committed[partition], endOffset: end, lag: end - Math.max(0, committed[partition]) })) : []),
    async subscribe(options, handler) {
      subscribed = { options, handler, stopping: new AbortController() };
      const { stopping } = subscribed;
      return { group: options.group, topics: options.topics, stop: async () => stopping.abort() };
    },
    close: async () => {},
  };
  return {
    bus,
    async deliver(partition, offset, object, timestamp) {
      const { handler, stopping } = subscribed ?? unsubscribed();
      const { key, value } = encodeInferenceClaim({ bucket: 'incoming', object, size: 0, configHash: 'cfg1', identifier: '' });
      await handler({ topic, partition, offset: String(offset), key, value, headers: {}, timestamp }, { attempt: 1, signal: stopping.signal });
    },
    readTo(partition, offset) {
      (subscribed ?? unsubscribed()).options.onReadTo?.({ topic, partition, offset: String(offset) });
    },
    commit(partition, offset) {
      committed[partition] = offset;
    },
  };
}
