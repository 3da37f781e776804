import type { ClaimMessage, ClaimReads } from '../batch/claim-reads.js';
import { claimDataRef, claimIdentifier } from '../batch/inference-claim-handler.js';
import { readInferenceActuals } from '../batch/inference-actuals.js';
import type { InferenceInput } from '../batch/inference-input.js';
import { isOutage } from '../bus/delivery.js';
import { decodeInferenceClaim, type DataClaim } from '../bus/messages.js';
import type { MessageBus, MessageHandler, PartitionLag, ReceivedMessage, SubscribeOptions, Subscription } from '../bus/message-bus.js';
import { roleDlq } from '../bus/topics.js';
import type { Settings } from '../config/settings.js';
import { toFltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import type { ModelHolder } from '../serve/model-holder.js';
import type { ServedModel } from '../serve/served-model.js';
import { watchPartitionEnds, type PartitionEnds } from './partition-ends.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface ClaimActualsDeps {
  settings: Settings;
  bus: MessageBus;
  store: ObjectStore;
  holder: ModelHolder;
  live: LiveMonitor;
  logger: Logger;
  /** Given where a batch role runs in this process: a claim it reads is taken from its read, not read again. */
  claimReads?: ClaimReads;
}

/** The replica's own group on `inference-data`, beside its promotion group (same prefix, so the same broker ACL covers it). */
export function claimActualsGroup(promotionGroup: string): string {
  return `${promotionGroup}-actuals`;
}

/**
 * How long before the replica began remembering forecasts (`LiveMonitor.since`) a claim may be stamped and still be
 * read when the follower joins: the stamp is the publisher's clock (Kafka's CreateTime), which may run ahead of this
 * host's. Too wide costs a read of a claim that matches nothing; too narrow would lose a claim's actuals.
 */
export const CLAIM_CLOCK_MARGIN_MS = 5 * 60_000;

/**
 * When a claim's rows arrived, for the age of those kept for forecasts made later: its publication, the stamp (the
 * publisher's clock) brought no earlier than the bus's order allows (publishedAt in the follower). A claim read late (a replica that joins and reads the recent claims, a backlog) is aged from
 * that stamp, so it keeps its rows no longer than a replica that read it then. But the stamp may be skewed:
 * - ahead of this host (a stamp after the receipt): no claim was published after it arrived, so the rows are aged
 *   from the receipt; an hour ahead must not keep them an hour past the bound (the kept rows clamp to it as well);
 * - behind: a stamp within the clock margin before the receipt cannot be told from a claim published as it arrived by
 *   a publisher behind this host (the margin the follower already reads claims by), so such a claim is aged from its
 *   receipt too: aged from the stamp, a publisher two minutes behind expired the rows two minutes early, all of them
 *   at once under a bound of a minute. A claim really published that recently keeps its rows at most the margin longer.
 * A stamp further back is taken as a claim read late, unless the bus's order says otherwise: the follower looks where
 * each partition ends every minute (PARTITION_ENDS_INTERVAL_MS), and a claim past an end it saw was published after
 * that look, whatever its stamp. So a publisher behind by more than the margin is read as publishing at most a look's
 * interval (plus the time a look takes) before it did, not its whole skew before; a claim really read late (a backlog,
 * a store outage waited out) is stamped after the last look that saw it not yet there, and keeps its stamp. Neither
 * way are rows kept past the bound from their receipt. Only while the looks fail (a broker away) does a publisher
 * behind still age its rows early, by as long as the looks have failed at most.
 */
export function claimRowsArrivedAt(publishedAt: number, receivedAt: number): number {
  return receivedAt - publishedAt <= CLAIM_CLOCK_MARGIN_MS ? receivedAt : publishedAt;
}

/**
 * Every serving replica scores its remembered forecasts with the actual values of each `inference-data` claim,
 * wherever the batch role that forecasts the claim runs (the same process, another Deployment). The replica reads
 * the claimed object itself, as batch inference with its served run reads it, in a group of its own (new with each
 * replica process: `<host>-<pid>`, deleted when it stops).
 *
 * Its memory of forecasts starts empty with the process, but a claim published before it may still bring actuals a
 * forecast made later is scored on (live.earlyActualsPoints): as a Kafka consumer joining with nothing committed looks
 * its start up by time, the group starts at the first claim recent enough that a replica running then would keep its
 * rows still (published within live.earlyActualsMaxAgeMs; each row is aged from the claim's publication, so one read
 * late goes when it would have gone read at once), bounded by the same memory as any kept row. With none kept
 * (live.earlyActualsPoints 0) a claim published before the replica found none of its forecasts, and is passed over.
 * Either way one published since the replica began remembering (`live.since`, less the clock margin) is read even
 * when the group joined later: the service answers and remembers forecasts before its follower joins, for as long as
 * the broker is away under `flts serve`, and a Kafka group that rejoins with nothing committed yet (a broker restart)
 * starts again. So the group starts at a time (`fromTimestamp`), not at the topic's beginning: a replica start never
 * reads and commits every claim the topic retains. The handler still passes a claim stamped before, unread (one a
 * partition holds out of time order, or a bus that starts elsewhere).
 * A claim read twice scores nothing more (ForecastMemory).
 *
 * The claims published before the replica began (read only for their kept rows) are bounded in what they cost at the
 * join, where a busy topic holds an hour of them: at most live.claimCatchUpMaxClaims of them and
 * live.claimCatchUpMaxBytes of their objects are read; past it the older of them are passed unread (a line of the bus
 * each, no store read) and one log line says how many, and the span of their stamps. Those read are the newest, over
 * every partition: the rows a forecast made next asks for, and the last to expire. So they are held as the bus
 * delivers them (at most the bound's count, the oldest by publication let go past it, whichever partition brought it)
 * until every partition is past where it ended when the catch-up began: it delivered the message there, or one
 * published since the replica began, or the bus read it to there (onReadTo: a partition the group starts at its end, a
 * transaction's marker at the end, where no message comes). Then their sizes are asked of the store newest first,
 * down to the bound on bytes, and those within it read oldest first. A bus that cannot say where a partition ends
 * leaves each read as it comes, the earliest kept as before.
 *
 * It only observes: a claim it cannot read is logged and skipped, never retried or dead-lettered (the batch role owns
 * the claim and reports it); a store outage is waited out by the bus as for any handler. Beside a batch role
 * (`claimReads`), the object is read once for both: the follower still scores every claim it sees, from whichever
 * role's read comes first.
 */
export async function followClaimActuals(deps: ClaimActualsDeps, group: string): Promise<Subscription> {
  const { settings, bus, claimReads } = deps;
  const topic = settings.bus.topics.inferenceData;
  const logger = deps.logger.child({ component: 'live-claims', group });
  // Before the subscription, so a claim delivered at once is shared already; let go when the subscription stops.
  const from = firstClaimAt(deps.live, settings, Date.now());
  const unfollow = claimReads?.follow(from);
  // Looked at before the group joins: a claim past the ends seen then was published since, whatever its stamp says.
  let looked: (lags: readonly PartitionLag[]) => void = () => {};
  const ends = watchPartitionEnds(bus, group, topic, {
    keepMs: settings.live.earlyActualsMaxAgeMs + CLAIM_CLOCK_MARGIN_MS,
    onError: (error) => logger.debug({ code: toFltsError(error).code, err: toFltsError(error).message }, 'live_claims_ends_unread'),
    onLook: (lags) => looked(lags),
  });
  const handler = claimHandler(deps, ends, await ends.first(), logger);
  looked = handler.looked;
  let subscription: Subscription;
  try {
    // The promotion subscription's DLQ, which exists already: a subscription's DLQ topic is created with it, and the
    // serve principal may not create others. Nothing is sent there (the handler throws only outages, which are waited out).
    subscription = await bus.subscribe({ group, topics: [topic], fromTimestamp: from, ephemeral: true, dlq: roleDlq(settings, 'serving'), onReadTo: handler.readTo }, handler.handle);
  } catch (error) {
    await handler.stopReading();
    ends.stop();
    unfollow?.();
    throw error;
  }
  logger.info({ topic, from: new Date(from).toISOString() }, 'live_claims_subscribed');
  return {
    group: subscription.group,
    topics: subscription.topics,
    async stop() {
      ends.stop();
      unfollow?.();
      await Promise.all([subscription.stop(), handler.stopReading()]);
      // A replica stopped before its catch-up was over still says what its join passed.
      handler.reportSkipped();
    },
  };
}

/** The earliest stamp of a claim whose actuals may match a forecast this replica remembers. */
function firstRememberedAt(live: LiveMonitor): number {
  return live.since - CLAIM_CLOCK_MARGIN_MS;
}

/** The earliest stamp of a claim a replica joining at `now` reads: one whose rows it may keep, or whose forecasts it holds. */
function firstClaimAt(live: LiveMonitor, settings: Settings, now: number): number {
  const remembered = firstRememberedAt(live);
  return settings.live.earlyActualsPoints > 0 ? Math.min(remembered, now - settings.live.earlyActualsMaxAgeMs) : remembered;
}

/**
 * What the claims published before the replica began have cost so far; once the bound is reached (`cut`), those
 * passed since the last line said so.
 */
interface CatchUp {
  claims: number;
  bytes: number;
  cut: boolean;
  passed?: { claims: number; from: number; to: number };
}

/** A claim published before the replica began, held until its partition's catch-up ends. */
interface Held {
  message: ReceivedMessage;
  /** When it was published, as far as this host can tell (publishedAt). */
  publishedAt: number;
  claim: DataClaim;
  where: { bucket: string; object: string };
  receivedAt: number;
  /** Its object's bytes as the store lists them (0 when it lists none), once asked. */
  bytes?: number;
  /** The order the bus delivered it in, among claims of the same stamp. */
  seq: number;
}

/** Whether `a` was published before `b` (by the bus's order among those of the same stamp). */
const publishedBefore = (a: Held, b: Held): boolean => a.publishedAt < b.publishedAt || (a.publishedAt === b.publishedAt && a.seq < b.seq);
const byPublication = (a: Held, b: Held): number => a.publishedAt - b.publishedAt || a.seq - b.seq;

/** Adds `entry` to the min-heap `heap` (the oldest first); an array sorted oldest first is such a heap already. */
function heapPush(heap: Held[], entry: Held): void {
  let i = heap.push(entry) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!publishedBefore(heap[i], heap[parent])) break;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

/** Takes the oldest of the min-heap `heap`. */
function heapPop(heap: Held[]): Held {
  const oldest = heap[0];
  const last = heap.pop()!;
  if (heap.length === 0) return oldest;
  heap[0] = last;
  for (let i = 0; ; ) {
    const left = 2 * i + 1;
    const right = left + 1;
    let least = i;
    if (left < heap.length && publishedBefore(heap[left], heap[least])) least = left;
    if (right < heap.length && publishedBefore(heap[right], heap[least])) least = right;
    if (least === i) return oldest;
    [heap[i], heap[least]] = [heap[least], heap[i]];
    i = least;
  }
}

interface ClaimHandler {
  handle: MessageHandler;
  /** The bus read a partition to `offset` (onReadTo). */
  readTo: NonNullable<SubscribeOptions['onReadTo']>;
  /** A look where the partitions end, with the group's committed offsets. */
  looked(lags: readonly PartitionLag[]): void;
  /** Ends a read of the held claims begun outside a handler, and waits for it. */
  stopReading(): Promise<void>;
  /** Says what the join passed, the claims still held among them. */
  reportSkipped(): void;
}

function claimHandler(deps: ClaimActualsDeps, ends: PartitionEnds, joined: ReadonlyMap<number, number> | undefined, logger: Logger): ClaimHandler {
  const { settings, store, holder, live, claimReads } = deps;
  const catchUp: CatchUp = { claims: 0, bytes: 0, cut: false };
  const { claimCatchUpMaxClaims: maxClaims, claimCatchUpMaxBytes: maxBytes } = settings.live;
  /** A min-heap by publication (the oldest first), never more than the claims left to read. */
  const held: Held[] = [];
  let seq = 0;
  /** Per partition, the last claim held: one delivered again (its handler failed on an outage) is not held twice. */
  const lastHeld = new Map<number, number>();
  let endUnknownSaid = false;
  /**
   * The partitions not yet past where they ended as the catch-up began (those that held nothing are past it); none
   * once the catch-up is over, or when the bus could not say where they end.
   */
  const catchingUp = new Set([...(joined ?? [])].filter(([, end]) => end > 0).map(([partition]) => partition));
  /** For a read of the held claims begun outside a handler (the bus read the last partition to its end). */
  const stopping = new AbortController();
  /** Reads of the held claims, one at a time: a handler's and one the bus's reading to an end began. */
  let reading: Promise<unknown> = Promise.resolve();
  const oneAtATime = (read: () => Promise<void>): Promise<void> => {
    const done = reading.then(read);
    reading = done.catch(() => {});
    return done;
  };

  /** Counts a claim published before the replica began that is passed unread. */
  function pass(publishedAt: number): void {
    const passed = (catchUp.passed ??= { claims: 0, from: publishedAt, to: publishedAt });
    passed.claims++;
    passed.from = Math.min(passed.from, publishedAt);
    passed.to = Math.max(passed.to, publishedAt);
  }

  /** Passes a claim published before the replica began beyond the bound: counted, the cut logged once. */
  function skipCatchUp(publishedAt: number, where: object): void {
    if (!catchUp.cut) {
      catchUp.cut = true;
      logger.warn({ ...where, published_at: new Date(publishedAt).toISOString(), claims_read: catchUp.claims, bytes_read: catchUp.bytes, max_claims: maxClaims, max_bytes: maxBytes }, 'live_claims_catch_up_cut');
    }
    pass(publishedAt);
  }

  /**
   * Says what was passed, once a partition's catch-up is over (another still catching up says so again at its end)
   * or the follower stops. Claims still held at a stop are passed too: counted, with no cut said of them.
   */
  function reportSkipped(): void {
    for (const entry of held.splice(0)) pass(entry.publishedAt);
    const passed = catchUp.passed;
    if (!passed) return;
    catchUp.passed = undefined;
    logger.warn({ claims: passed.claims, published_from: new Date(passed.from).toISOString(), published_to: new Date(passed.to).toISOString(), claims_read: catchUp.claims, bytes_read: catchUp.bytes }, 'live_claims_catch_up_skipped');
  }

  /** Holds a claim published before the replica began; the oldest held goes once they outnumber the claims left to read. */
  function hold(message: ReceivedMessage, published: number, claim: DataClaim, receivedAt: number): void {
    const offset = Number(message.offset);
    const last = lastHeld.get(message.partition);
    if (last !== undefined && offset <= last) return;
    if (Number.isSafeInteger(offset)) lastHeld.set(message.partition, offset);
    heapPush(held, { message, publishedAt: published, claim, where: { bucket: claim.bucket, object: claim.object }, receivedAt, seq: seq++ });
    while (held.length > Math.max(0, maxClaims - catchUp.claims)) {
      const oldest = heapPop(held);
      skipCatchUp(oldest.publishedAt, oldest.where);
    }
  }

  /**
   * Whether the catch-up is over with this message: every partition is past where it ended when the follower looked
   * before joining (this one once the message is the last it held then, one after it, or one published since the
   * replica began). A bus that could not say leaves each claim read as it comes (the earliest kept, as a bound with no
   * look ahead).
   */
  function joinEnded(message: ReceivedMessage, beforeReplica: boolean): boolean {
    if (!joined) {
      if (!endUnknownSaid) {
        endUnknownSaid = true;
        logger.warn({ partition: message.partition, offset: message.offset }, 'live_claims_catch_up_end_unknown');
      }
      return true;
    }
    const end = joined.get(message.partition);
    const offset = Number(message.offset);
    if (!beforeReplica || end === undefined || !Number.isSafeInteger(offset) || offset >= end - 1) catchingUp.delete(message.partition);
    return catchingUp.size === 0;
  }

  /**
   * The bus read `partition` to `offset` with nothing before it left to deliver: past where it ended, its catch-up is
   * over. The last partition to get there reads the held claims here, as no message may come to read them (a
   * transaction's marker at the end, a partition with none since the group's start). A store outage then leaves those
   * not read held, for the next claim delivered (or the stop) to take up.
   */
  function readTo(position: { topic: string; partition: number; offset: string }): void {
    if (readPast(position.partition, Number(position.offset))) readHeldNow();
  }

  /**
   * A look where the partitions end, a minute apart: a partition whose group committed at or past where it ended is
   * past it too, where nothing told so (a group resumed at its commits, with no start sought; a bus that never calls
   * onReadTo), so no partition holds the claims of the others until the stop.
   */
  function looked(lags: readonly PartitionLag[]): void {
    let over = false;
    for (const lag of lags) over = readPast(lag.partition, lag.committedOffset) || over;
    if (over) readHeldNow();
  }

  /** Whether the catch-up is over now that `partition` is read to `offset` (the next to read), and was not before. */
  function readPast(partition: number, offset: number): boolean {
    const end = joined?.get(partition);
    if (end === undefined || !catchingUp.has(partition) || !(offset >= end)) return false;
    catchingUp.delete(partition);
    return catchingUp.size === 0;
  }

  function readHeldNow(): void {
    oneAtATime(() => readHeld(stopping.signal)).catch((error: unknown) => {
      const flts = toFltsError(error);
      logger.warn({ code: flts.code, err: flts.message, claims_held: held.length }, 'live_claims_catch_up_read_failed');
    });
  }

  /**
   * When the claim was published, as far as this host can tell (0: unknown, a message without a stamp): its stamp, the
   * publisher's clock, but never before a look that saw its partition end at or before it (the bus's order, on this
   * host's clock). A publisher behind, by any amount, is read as publishing at most a look's interval before it did.
   */
  function publishedAt(message: ReceivedMessage): number {
    return message.timestamp > 0 ? Math.max(message.timestamp, ends.publishedNoEarlierThan(message.partition, message.offset)) : 0;
  }

  /**
   * Reads the newest of the claims held within the bound (their bytes asked of the store newest first, the older ones
   * past the bound passed without a store read), in bus order, so the newest are the last kept; then says what was
   * passed. A store outage is thrown with those not read yet still held, for the bus to try the message again.
   */
  async function readHeld(signal: AbortSignal): Promise<void> {
    const served = holder.current();
    if (held.length > 0 && (!served || (live.scorer.memory().points === 0 && settings.live.earlyActualsPoints === 0))) {
      for (const entry of held.splice(0)) logger.debug(entry.where, 'live_claim_nothing_to_score');
    }
    // Oldest first: a sorted array is still a min-heap for claims held after this read.
    held.sort(byPublication);
    let bytes = catchUp.bytes;
    let from = held.length;
    while (from > 0) {
      const entry = held[from - 1];
      try {
        entry.bytes ??= (await store.stat(entry.claim.bucket, entry.claim.object))?.size ?? 0;
      } catch (error) {
        if (isOutage(error) && !signal.aborted) throw error;
        const flts = toFltsError(error);
        logger.warn({ ...entry.where, code: flts.code, err: flts.message }, 'live_claim_skipped');
        held.splice(from - 1, 1);
        from--;
        continue;
      }
      if (entry.bytes > settings.live.claimMaxBytes) {
        logger.warn({ ...entry.where, bytes: entry.bytes, max_bytes: settings.live.claimMaxBytes }, 'live_claim_too_large');
        held.splice(from - 1, 1);
        from--;
        continue;
      }
      if (bytes + entry.bytes > maxBytes) break;
      bytes += entry.bytes;
      from--;
    }
    for (const entry of held.splice(0, from)) skipCatchUp(entry.publishedAt, entry.where);
    // A stop waits for the running handler: those not read by then are passed (said at the stop), not read one by one.
    while (served && held.length > 0 && !signal.aborted) {
      const entry = held[0];
      await scoreClaim(entry.claim, entry.publishedAt, served, entry.receivedAt, signal, undefined, entry.bytes);
      catchUp.claims++;
      catchUp.bytes += entry.bytes ?? 0;
      held.shift();
    }
    reportSkipped();
  }

  const handle: MessageHandler = async (message, { signal }) => {
    const at: ClaimMessage = { topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp };
    let shared = false;
    try {
      await onClaim(message, at, signal, () => (shared = true));
    } finally {
      // Done with the claim without the batch role's read (passed, skipped, held, failed): none is kept waiting for it.
      if (!shared) claimReads?.pass(at);
    }
  };
  return {
    handle,
    readTo,
    looked,
    async stopReading() {
      stopping.abort();
      await reading;
    },
    reportSkipped,
  };

  async function onClaim(message: ReceivedMessage, at: ClaimMessage, signal: AbortSignal, onShared: () => void): Promise<void> {
    // Published before the replica began (by its stamp), read only for the rows it keeps: held, the newest read within
    // the join's bound once the partition's catch-up is over. A message without a stamp (a line written by hand into
    // the file bus) is read, as it may be recent.
    const published = publishedAt(message);
    const beforeReplica = published > 0 && published < firstRememberedAt(live);
    const claim = admit(message, published);
    const receivedAt = Date.now();
    if (claim && beforeReplica) hold(message, published, claim, receivedAt);
    if (joinEnded(message, beforeReplica)) await oneAtATime(() => readHeld(signal));
    if (!claim || beforeReplica) return;
    const served = holder.current();
    // Nothing remembered, nothing to match and nothing kept for a forecast made later: the object is not even read.
    if (!served || (live.scorer.memory().points === 0 && settings.live.earlyActualsPoints === 0)) {
      logger.debug({ bucket: claim.bucket, object: claim.object }, 'live_claim_nothing_to_score');
      return;
    }
    const share = claimReads && ((read: () => Promise<InferenceInput>) => (onShared(), claimReads.read(at, served.run.runId, read)));
    await scoreClaim(claim, published, served, receivedAt, signal, share);
  }

  /** The claim the message carries, unless it is too old for a row of it to be kept or cannot be decoded. */
  function admit(message: ReceivedMessage, published: number): DataClaim | undefined {
    // The bound moves with the clock: a claim that waited past the age of kept rows would keep none.
    if (published > 0 && published < firstClaimAt(live, settings, Date.now())) {
      logger.debug({ offset: message.offset, published_at: published }, 'live_claim_before_replica');
      return undefined;
    }
    try {
      return decodeInferenceClaim(message);
    } catch (error) {
      logger.warn({ offset: message.offset, code: toFltsError(error).code, err: toFltsError(error).message }, 'live_claim_skipped');
      return undefined;
    }
  }

  /** Reads the claim's actuals and scores them; `bytes` given, its size was asked and found within the bound already. */
  async function scoreClaim(claim: DataClaim, published: number, served: ServedModel, receivedAt: number, signal: AbortSignal, share?: (read: () => Promise<InferenceInput>) => Promise<InferenceInput>, bytes?: number): Promise<void> {
    const where = { bucket: claim.bucket, object: claim.object };
    try {
      if (bytes === undefined) {
        const info = await store.stat(claim.bucket, claim.object);
        if (info && info.size > settings.live.claimMaxBytes) {
          logger.warn({ ...where, bytes: info.size, max_bytes: settings.live.claimMaxBytes }, 'live_claim_too_large');
          return;
        }
      }
      const actuals = await readInferenceActuals(store, settings, { plan: served.plan, configHash: served.run.configHash }, claimDataRef(claim), claimIdentifier(claim, settings), share);
      // Over event-loop turns, as POST /actuals is scored: a claim of a million rows leaves requests waiting milliseconds, not a second.
      const { runs, ignored, unmatched, kept } = await live.observeActualsInTurns(actuals, signal, published > 0 ? claimRowsArrivedAt(published, receivedAt) : undefined);
      const points = runs.reduce((sum, run) => sum + run.points, 0);
      logger.info({ ...where, rows: actuals.time.length, points, ignored, unmatched, kept }, 'live_claim_scored');
    } catch (error) {
      if (isOutage(error) && !signal.aborted) throw error;
      const flts = toFltsError(error);
      logger.warn({ ...where, code: flts.code, err: flts.message }, 'live_claim_skipped');
    }
  }
}
