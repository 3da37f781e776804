import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClaimReads } from '../batch/claim-reads.js';
import type { InferenceInput } from '../batch/inference-input.js';
import { encodeInferenceClaim } from '../bus/messages.js';
import { resolveSettings } from '../config/settings.js';
import { encodeFrameParquet } from '../data/frame-parquet.js';
import { createLiveScorer, type LiveScorer } from '../live/live-scorer.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import { processedKeys } from '../preprocess/processed-layout.js';
import { CLAIM_CLOCK_MARGIN_MS } from './claim-actuals-follower.js';
import { claimFollowerScene, closeClaimFollowerScenes, matchedOf, partitionedClaims, scoringReplicas, type ClaimFollowerScene, type LoggedLine } from './claim-actuals-follower.fixture.js';
import { countTurns } from '../loop-turns.fixture.js';

/** How long a poll waits for the follower to settle: generous, as a loaded host delivers and reads slowly. */
const SETTLED_MS = 30_000;

const STEP = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const iso = (row: number): string => new Date(T0 + row * STEP).toISOString();
const actualAt = (row: number): number => 100 + row;

/** A raw claimed file of `rows` hourly rows, `down` = 100 + row. */
const claimCsv = (rows: number): string => ['time,down', ...Array.from({ length: rows }, (_, r) => `${iso(r)},${actualAt(r)}`)].join('\n');

/**
 * Publishes as a publisher whose clock reads `at`: the bus stamps a message as the publish starts, so the clock is
 * put back before the publish is awaited: a follower that ran while the publish was awaited read that clock as its own
 * too, took a claim it received then as received at `at`, and aged its rows from there.
 */
async function stampedAt(at: number, publish: () => Promise<void>): Promise<void> {
  const clock = vi.spyOn(Date, 'now').mockReturnValue(at);
  let published: Promise<void>;
  try {
    published = publish();
  } finally {
    clock.mockRestore();
  }
  await published;
}

afterEach(() => vi.restoreAllMocks());
afterAll(closeClaimFollowerScenes);

describe('core > daemon > followClaimActuals', () => {
  let scene: ClaimFollowerScene;
  let scorer: LiveScorer;
  const replicas = scoringReplicas(() => scorer);
  const matched = (): number => matchedOf(scorer);

  beforeAll(async () => {
    scene = await claimFollowerScene({
      // No actuals kept for forecasts made later: a claim is read only while a forecast waits.
      flags: { 'live.claimMaxBytes': 4096, 'live.earlyActualsPoints': 0 },
      objects: { 'day1.csv': claimCsv(10), 'big.csv': claimCsv(400), 'no-down.csv': 'time,up\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,2\n' },
    });
    scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 1000 });
  });

  it('does not read a claim while nothing waits for actuals, then scores remembered forecasts once, skipping what it cannot read without dead-lettering', async () => {
    const { settings, bus, reads, claim } = scene;
    const follower = await scene.join('serve-test-actuals', { live: replicas.at(Date.now()) });
    const warnings = (): string[] => follower.events.map(({ event, fields }) => `${event} ${(fields as { code?: string }).code ?? ''}`.trim());
    try {
      await claim('day1.csv');
      // Nothing remembered yet: the claim is passed over unread.
      await expect.poll(() => scene.lag('serve-test-actuals'), { timeout: SETTLED_MS }).toBe(0);
      expect(reads).toEqual([]);

      // Forecasts of rows 3..5 from origin row 2: 110 for each (errors 7, 6, 5).
      scorer.remember({ identifier: '', runId: 'run-a', origin: T0 + 2 * STEP, targets: ['down'], time: [3, 4, 5].map((r) => T0 + r * STEP), values: [[110, 110, 110]] });
      // A forecast of another series keeps the memory from emptying, so a claim is still read after those points.
      scorer.remember({ identifier: 'another-series', runId: 'run-a', origin: T0, targets: ['down'], time: [T0 + 50 * STEP], values: [[0]] });
      // Malformed, missing, lacking the target, too large, another series: each skipped, the follower goes on.
      await bus.publish(settings.bus.topics.inferenceData, { key: 'inference-claim', value: '{"not":"a claim"}' });
      await claim('gone.csv');
      await claim('no-down.csv');
      await claim('big.csv');
      await claim('day1.csv', 'another-series');
      await claim('day1.csv');
      await expect.poll(matched, { timeout: SETTLED_MS }).toBe(3);
      expect(warnings()).toEqual(['live_claim_skipped FLTS_BUS_MESSAGE_INVALID', 'live_claim_skipped FLTS_STORE_NOT_FOUND', 'live_claim_skipped FLTS_DATA_MISSING_COLUMNS', 'live_claim_too_large']);
      expect(reads).not.toContain('big.csv');
      const down = scorer.figures()[0].targets.down;
      expect(down.rmse).toBeCloseTo(Math.sqrt((49 + 36 + 25) / 3), 10);

      // The same claim again (redelivered, published twice) finds those points scored already.
      await claim('day1.csv');
      await expect.poll(replicas.observed, { timeout: SETTLED_MS }).toBe(3);
      expect(matched()).toBe(3);
      // An observer owns none of these claims: nothing of them is dead-lettered.
      expect(readdirSync(path.join(scene.root, 'bus', 'topics')).filter((name) => name.startsWith('DLQ'))).toEqual([]);
    } finally {
      await follower.stop();
    }
  });

  it('keeps no read of a claim it passed waiting in the reads it shares with a batch role that comes after it', async () => {
    scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 1000 });
    const claimReads = createClaimReads();
    const group = 'serve-test-passed';
    const follower = await scene.join(group, { live: replicas.at(Date.now()), claimReads });
    try {
      // Nothing remembered: the follower passes the claim unread, before the batch role gets to it.
      await scene.claim('day1.csv');
      await expect.poll(() => scene.lag(group), { timeout: SETTLED_MS }).toBe(0);
      const [position] = await scene.bus.lag(group, [scene.topic]);
      const message = { topic: position.topic, partition: position.partition, offset: String(position.committedOffset - 1), timestamp: Date.now() };
      let loads = 0;
      const load = async () => (loads++, {}) as unknown as InferenceInput;
      // The batch role's read is not kept for a follower that will not come back for the claim.
      await claimReads.read(message, 'run-a', load);
      await claimReads.read(message, 'run-a', load);
      expect(loads).toBe(2);
    } finally {
      await follower.stop();
    }
  });
});

describe('core > daemon > followClaimActuals of the processed data', () => {
  it.each([
    ['upper case', 'E'.repeat(64)],
    ["the reference trainer's default", 'default_cfg'],
  ])('skips a claim of the processed root file whose config_hash (%s) names no version, without scoring the rows the root holds', async (_name, configHash) => {
    const scene = await claimFollowerScene({ flags: { 'live.earlyActualsPoints': 0 }, objects: { 'day1.csv': claimCsv(10) } });
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 1000 });
    const replicas = scoringReplicas(() => scorer);
    const processed = scene.settings.store.buckets.processed;
    const rootFile = processedKeys(scene.settings).testParquet;
    // Another version's rows at the root, all 0: scored, they would have been taken for the claim's actuals.
    await scene.store.ensureBucket(processed);
    const time = Float64Array.from({ length: 10 }, (_, r) => T0 + r * STEP);
    await scene.store.put(processed, rootFile, encodeFrameParquet({ time, columns: ['down'], values: { down: new Float64Array(10) } }));
    const follower = await scene.join('serve-no-version', { live: replicas.at(Date.now()) });
    try {
      // Forecasts of rows 3..5 from origin row 2: 110 for each (errors 7, 6, 5 on day1.csv's actuals).
      scorer.remember({ identifier: '', runId: 'run-a', origin: T0 + 2 * STEP, targets: ['down'], time: [3, 4, 5].map((r) => T0 + r * STEP), values: [[110, 110, 110]] });
      await scene.bus.publish(scene.topic, encodeInferenceClaim({ bucket: processed, object: rootFile, size: 0, configHash, identifier: '' }));
      // The claim after it is scored once the follower is past the one naming no version.
      await scene.claim('day1.csv');
      await expect.poll(() => matchedOf(scorer), { timeout: SETTLED_MS }).toBe(3);
      expect(follower.events.map(({ event, fields }) => `${event} ${(fields as { code?: string }).code ?? ''}`)).toEqual(['live_claim_skipped FLTS_DATA_VERSION_GONE']);
      expect(replicas.observed()).toBe(1);
      expect(scene.reads).not.toContain(rootFile);
      expect(scorer.figures()[0].targets.down.rmse).toBeCloseTo(Math.sqrt((49 + 36 + 25) / 3), 10);
    } finally {
      await follower.stop();
    }
  });
});

describe('core > daemon > followClaimActuals ahead of the forecasts', () => {
  it('reads a claim while no forecast waits, keeps its actuals, and a forecast of them made later is scored on them', async () => {
    const scene = await claimFollowerScene({ objects: { 'day1.csv': claimCsv(10) } });
    const monitor = scene.monitor('early-claims');
    const follower = await scene.join('serve-early-actuals', { live: monitor });
    try {
      await scene.claim('day1.csv');
      await expect.poll(() => monitor.status().early_actuals.points, { timeout: SETTLED_MS }).toBe(10);
      // Forecasts of rows 3..5 from origin row 2, made after the claim was read: 110 each (errors 7, 6, 5).
      monitor.scorer.remember({ identifier: '', runId: 'run-a', origin: T0 + 2 * STEP, targets: ['down'], time: [3, 4, 5].map((r) => T0 + r * STEP), values: [[110, 110, 110]] });
      expect(monitor.scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 3, rmse: Math.sqrt((49 + 36 + 25) / 3), mae: 6 }]);
    } finally {
      await follower.stop();
    }
  });
});

describe('core > daemon > followClaimActuals catching up when its group joins', () => {
  it('scores a claim published after the replica began remembering forecasts but before its group joined, and passes unread one published before it started', async () => {
    const scene = await claimFollowerScene({ objects: { 'day1.csv': claimCsv(10) } });
    const { reads, claim } = scene;
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 1000 });
    const replicas = scoringReplicas(() => scorer);
    const matched = (): number => matchedOf(scorer);
    const caughtUp = scene.lag;

    // The replica answered and remembered forecasts of rows 3..5 (110 each) before its follower joined; meanwhile the
    // batch data of day 1 was claimed.
    scorer.remember({ identifier: '', runId: 'run-a', origin: T0 + 2 * STEP, targets: ['down'], time: [3, 4, 5].map((r) => T0 + r * STEP), values: [[110, 110, 110]] });
    // Another series' forecast keeps the memory from emptying, so a claim is still read after those points.
    scorer.remember({ identifier: 'another-series', runId: 'run-a', origin: T0, targets: ['down'], time: [T0 + 50 * STEP], values: [[0]] });
    const remembering = Date.now();
    await claim('day1.csv');

    // The replica that remembered before the claim scores it at its join (before: its group started past it).
    const joined = await scene.join('serve-joined-late-actuals', { live: replicas.at(remembering) });
    try {
      await expect.poll(matched, { timeout: SETTLED_MS }).toBe(3);
      expect(scorer.figures()[0].targets.down.rmse).toBeCloseTo(Math.sqrt((49 + 36 + 25) / 3), 10);
      // A claim published after the join is read as before, and the points it repeats are not scored twice.
      await claim('day1.csv');
      await expect.poll(replicas.observed, { timeout: SETTLED_MS }).toBe(2);
      expect(matched()).toBe(3);
      expect(reads).toEqual(['day1.csv', 'day1.csv']);
    } finally {
      await joined.stop();
    }

    // A replica that keeps no actuals for forecasts made later and started after both claims (by more than the clock
    // margin) has nothing of its to score: its group starts past them, so they are not even delivered (on a topic of
    // 100k claims, a start read and committed them all).
    const keepingNone = resolveSettings({ flags: { 'live.earlyActualsPoints': 0 } }).settings;
    const later = await scene.join('serve-later-actuals', { settings: keepingNone, live: replicas.at(Date.now() + CLAIM_CLOCK_MARGIN_MS + 60_000), levels: ['debug'] });
    const passed = (): string[] => later.events.map((line) => line.event);
    try {
      expect(await caughtUp('serve-later-actuals')).toBe(0);
      // A claim published now is delivered, and passed unread as stamped before that replica's start.
      await claim('day1.csv');
      await expect.poll(() => caughtUp('serve-later-actuals'), { timeout: SETTLED_MS }).toBe(0);
      expect(passed().filter((event) => event === 'live_claim_before_replica')).toHaveLength(1);
    } finally {
      await later.stop();
    }
    expect(reads).toEqual(['day1.csv', 'day1.csv']);
    expect(replicas.observed()).toBe(2);
  });
});

describe('core > daemon > followClaimActuals joining after the claims', () => {
  it('reads the claims published before it started that are recent enough for their rows to be kept, ages those rows from the publication, and scores a forecast made later on them', async () => {
    const scene = await claimFollowerScene({ flags: { 'live.earlyActualsMaxAgeMs': 30 * 60_000 }, objects: { 'day1.csv': claimCsv(10), 'stale.csv': claimCsv(10) } });
    const { reads } = scene;
    /** A claim as the bus stamped it `ago` ms before now: published while no replica ran. */
    const publishedAgo = (ago: number, object: string): Promise<void> => stampedAt(Date.now() - ago, () => scene.claim(object));
    // Two hours ago, past the 30 minutes a kept row waits: a replica running then would have let its rows go.
    await publishedAgo(2 * 3_600_000, 'stale.csv');
    // Twenty minutes ago, well before the clock margin: a replica running then would keep its rows ten minutes more.
    await publishedAgo(20 * 60_000, 'day1.csv');

    let later = 0;
    const monitor = scene.monitor('joined-later', { now: () => new Date(Date.now() + later) });
    const follower = await scene.join('serve-joined-after-claims', { live: monitor });
    try {
      await expect.poll(() => monitor.status().early_actuals.points, { timeout: SETTLED_MS }).toBe(10);
      expect(reads).toEqual(['day1.csv']);
      // Forecasts of rows 3..5 from origin row 2, made once the replica runs: 110 each (errors 7, 6, 5).
      monitor.scorer.remember({ identifier: '', runId: 'run-a', origin: T0 + 2 * STEP, targets: ['down'], time: [3, 4, 5].map((r) => T0 + r * STEP), values: [[110, 110, 110]] });
      expect(monitor.scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 3, rmse: Math.sqrt((49 + 36 + 25) / 3), mae: 6 }]);
      // Aged from the claim's publication, as a replica that read it then would: gone ten minutes on, not thirty.
      later = 9 * 60_000;
      expect(monitor.status().early_actuals).toMatchObject({ points: 10, expired: 0 });
      later = 11 * 60_000;
      expect(monitor.status().early_actuals).toMatchObject({ points: 0, expired: 10 });
    } finally {
      await follower.stop();
    }
  });
});

describe('core > daemon > followClaimActuals over event-loop turns', () => {
  it('scores a large claim in pieces with turns of the event loop between them, to the figures one pass gives', async () => {
    const rows = 20_000;
    const scene = await claimFollowerScene({ objects: { 'large.csv': claimCsv(rows) } });
    const { settings } = scene;
    const live = scene.monitor('r1');
    const twin = createLiveScorer({ windowPoints: settings.live.windowPoints, memoryPoints: settings.live.memoryPoints });
    const time = Array.from({ length: 12_000 }, (_, r) => T0 + r * STEP);
    const forecast = { identifier: '', runId: 'run-a', origin: T0 - STEP, targets: ['down'], time, values: [time.map((_, r) => actualAt(r) + Math.sin(r / 7))] };
    live.scorer.remember(forecast);
    twin.remember(forecast);

    // Turns of the event loop counted from the claim's arrival, and the turn each piece of its rows was scored in.
    let loop: ReturnType<typeof countTurns> | undefined;
    const turns = (): number => loop?.turns() ?? 0;
    const scoredIn: number[] = [];
    const { startScoring, score } = live.scorer;
    vi.spyOn(live.scorer, 'startScoring').mockImplementation((actuals) => {
      const scoring = startScoring(actuals);
      return { ...scoring, scoreRows: (to) => (scoredIn.push(turns()), scoring.scoreRows(to)) };
    });
    vi.spyOn(live.scorer, 'score').mockImplementation((actuals) => (scoredIn.push(turns()), score(actuals)));

    const follower = await scene.join('serve-test-turns', { live });
    try {
      // Each reading of the clock 20 ms on: every look at the turn (10 ms) finds it spent, whatever the machine's speed.
      let clock = 0;
      vi.spyOn(performance, 'now').mockImplementation(() => (clock += 20));
      loop = countTurns();
      await scene.claim('large.csv');
      await expect.poll(() => live.scorer.figures()[0]?.matched_total ?? 0, { timeout: 10_000 }).toBe(12_000);
    } finally {
      loop?.stop();
      await follower.stop();
    }
    // The rows in pieces of 2048: ten pieces over several turns (seen over 5 to 9 on a loaded machine); the follower's
    // former 16k-row slices took 2.
    expect(new Set(scoredIn).size).toBeGreaterThanOrEqual(4);
    twin.score({ identifier: '', time: Float64Array.from({ length: rows }, (_, r) => T0 + r * STEP), values: { down: Float64Array.from({ length: rows }, (_, r) => actualAt(r)) } });
    expect(live.scorer.figures()).toEqual(twin.figures());
  });
});

describe('core > daemon > followClaimActuals bounding what its join reads', () => {
  it('reads the claims published before it began up to the bound on claims or bytes, passes the rest unread with one line saying what, and still reads those published since', async () => {
    const objects = ['c0.csv', 'c1.csv', 'c2.csv', 'c3.csv', 'c4.csv'];
    const scene = await claimFollowerScene({ objects: Object.fromEntries(objects.map((object) => [object, claimCsv(10)])) });
    const { store, reads, claim: publish } = scene;
    const objectBytes = (await store.stat('incoming', 'c0.csv'))!.size;
    // Five claims forty minutes to thirty-six minutes ago, within the hour kept rows wait: each worth reading at a join.
    const publishedFrom = Date.now() - 40 * 60_000;
    for (const [i, object] of objects.entries()) await stampedAt(publishedFrom + i * 60_000, () => publish(object));

    const join = async (flags: Record<string, number>, group: string, late = false): Promise<{ read: string[]; events: LoggedLine[] }> => {
      reads.length = 0;
      const settings = resolveSettings({ flags }).settings;
      const follower = await scene.join(group, { settings, live: scene.monitor(group, { settings }) });
      try {
        // Every claim before the replica delivered (read or passed), then one published since it began: read. (Those
        // of the joins before, published within the clock margin before this one began, are read too, uncounted.)
        await expect.poll(() => scene.lag(group), { timeout: SETTLED_MS }).toBe(0);
        await store.put('incoming', `now-${group}.csv`, claimCsv(10));
        await publish(`now-${group}.csv`);
        await expect.poll(() => reads.includes(`now-${group}.csv`), { timeout: SETTLED_MS }).toBe(true);
        if (late) {
          // A claim stamped before the replica that comes after the follower looked where the log ends: a publisher
          // behind, the bus's order says; read as published since, whatever the bound on those published before.
          await stampedAt(publishedFrom, () => publish('c0.csv'));
          await expect.poll(() => scene.lag(group), { timeout: SETTLED_MS }).toBe(0);
        }
      } finally {
        await follower.stop();
      }
      return { read: reads.filter((object) => objects.includes(object)), events: follower.events };
    };

    // The newest two read, in bus order; the oldest passed as the third came (the cut), said at the partition's end.
    const byClaims = await join({ 'live.claimCatchUpMaxClaims': 2 }, 'serve-bound-claims', true);
    expect(byClaims.read).toEqual(['c3.csv', 'c4.csv', 'c0.csv']);
    expect(byClaims.events.map((entry) => entry.event)).toEqual(['live_claims_catch_up_cut', 'live_claims_catch_up_skipped']);
    expect(byClaims.events[0].fields).toMatchObject({ object: 'c0.csv', claims_read: 0, max_claims: 2 });
    expect(byClaims.events[1].fields).toMatchObject({ claims: 3, claims_read: 2, bytes_read: 2 * objectBytes });
    const { published_from: from, published_to: to } = byClaims.events[1].fields as { published_from: string; published_to: string };
    expect([Date.parse(from), Date.parse(to)]).toEqual([publishedFrom, publishedFrom + 2 * 60_000]);

    // Room for three objects and a half: the newest three are read, the two before them are not, nor the late claim
    // of the join before (past the bound once the three were read).
    const byBytes = await join({ 'live.claimCatchUpMaxBytes': Math.floor(3.5 * objectBytes) }, 'serve-bound-bytes');
    expect(byBytes.read).toEqual(['c2.csv', 'c3.csv', 'c4.csv']);
    expect(byBytes.events.map((entry) => entry.event)).toEqual(['live_claims_catch_up_cut', 'live_claims_catch_up_skipped', 'live_claims_catch_up_skipped']);
    expect(byBytes.events[0].fields).toMatchObject({ object: 'c0.csv', claims_read: 0 });
    expect(byBytes.events[1].fields).toMatchObject({ claims: 2, claims_read: 3, bytes_read: 3 * objectBytes });
    expect(byBytes.events[2].fields).toMatchObject({ claims: 1 });

    // Under the default bounds the join reads them all, and says nothing.
    const unbounded = await join({}, 'serve-bound-none');
    expect(unbounded.read).toEqual([...objects, 'c0.csv']);
    expect(unbounded.events).toEqual([]);
  });
});

describe('core > daemon > followClaimActuals joining after more claims than its bound', () => {
  it('keeps the rows of the newest claims within the bound, and a forecast made later is scored on them', async () => {
    const scene = await claimFollowerScene({ flags: { 'live.claimCatchUpMaxClaims': 2 } });
    // Five claims of four hourly rows each, the later claims the later hours, published forty to thirty-six minutes
    // ago (within the hour kept rows wait), one a minute: the way a feed sends its data.
    const publishedFrom = Date.now() - 40 * 60_000;
    for (let k = 0; k < 5; k++) {
      const rows = [0, 1, 2, 3].map((i) => 4 * k + i);
      await scene.store.put('incoming', `c${k}.csv`, ['time,down', ...rows.map((r) => `${iso(r)},${actualAt(r)}`)].join('\n'));
      await stampedAt(publishedFrom + k * 60_000, () => scene.claim(`c${k}.csv`));
    }
    const monitor = scene.monitor('newest');
    const group = 'serve-catch-up-newest';
    const { events, stop } = await scene.join(group, { live: monitor });
    try {
      await expect.poll(() => scene.lag(group), { timeout: SETTLED_MS }).toBe(0);
      await expect.poll(() => events.some((entry) => entry.event === 'live_claims_catch_up_skipped'), { timeout: SETTLED_MS }).toBe(true);
      expect(monitor.status().early_actuals.points).toBe(8);
      // A forecast of all twenty hours, made once the replica runs, of 110 each: paired with the newest claims' rows
      // 12..19 (errors 2..9), not the oldest claims' rows 0..7 (errors 10..3).
      const time = Array.from({ length: 20 }, (_, r) => T0 + r * STEP);
      monitor.scorer.remember({ identifier: '', runId: 'run-a', origin: T0 - STEP, targets: ['down'], time, values: [time.map(() => 110)] });
      const errors = [2, 3, 4, 5, 6, 7, 8, 9];
      expect(monitor.scorer.scoreEarly()).toEqual([{ run_id: 'run-a', points: 8, rmse: Math.sqrt(errors.reduce((sum, e) => sum + e * e, 0) / 8), mae: 5.5 }]);
      // The three oldest passed unread, the span of their stamps said.
      const skipped = events.find((entry) => entry.event === 'live_claims_catch_up_skipped')!.fields;
      expect(skipped).toMatchObject({ claims: 3, claims_read: 2, published_from: new Date(publishedFrom).toISOString(), published_to: new Date(publishedFrom + 2 * 60_000).toISOString() });
    } finally {
      await stop();
    }
  });
});

/**
 * A claim of ten rows in a scene whose kept rows wait four minutes, and a monitor whose clock can be moved on:
 * `earlyActualsAt(ms)` is what it says of the rows kept `ms` from now.
 */
async function agingScene(replica: string): Promise<{ scene: ClaimFollowerScene; monitor: LiveMonitor; earlyActualsAt(ms: number): ReturnType<LiveMonitor['status']>['early_actuals'] }> {
  const scene = await claimFollowerScene({ flags: { 'live.earlyActualsMaxAgeMs': 4 * 60_000 }, objects: { 'day1.csv': claimCsv(10) } });
  let later = 0;
  const monitor = scene.monitor(replica, { now: () => new Date(Date.now() + later) });
  return { scene, monitor, earlyActualsAt: (ms) => ((later = ms), monitor.status().early_actuals) };
}

describe('core > daemon > followClaimActuals under a publisher clock skewed from its own', () => {
  it.each([
    ['behind by 4.5 minutes', -4.5 * 60_000],
    ['an hour ahead', 3_600_000],
  ])('ages the rows of a claim published as it arrives, by a publisher %s, from their receipt', async (_name, skew) => {
    // Kept rows wait four minutes: aged from the stamp, those of the publisher behind were let go as they came.
    const { scene, monitor, earlyActualsAt } = await agingScene('skewed');
    // Stamped by the skewed clock once the replica runs (before its group joins, so no read sees that clock).
    await stampedAt(Date.now() + skew, () => scene.claim('day1.csv'));
    const group = 'serve-skew';
    const follower = await scene.join(group, { live: monitor });
    try {
      await expect.poll(() => scene.lag(group), { timeout: SETTLED_MS }).toBe(0);
      await expect.poll(() => monitor.status().early_actuals.points + monitor.status().early_actuals.expired, { timeout: SETTLED_MS }).toBe(10);
      // Two minutes after the receipt, kept; five minutes after, let go: neither early by the skew nor an hour late.
      expect(earlyActualsAt(2 * 60_000)).toMatchObject({ points: 10, expired: 0 });
      expect(earlyActualsAt(5 * 60_000)).toMatchObject({ points: 0, expired: 10 });
    } finally {
      await follower.stop();
    }
  });
});

describe('core > daemon > followClaimActuals under a publisher clock behind by more than the margin', () => {
  it('reads a claim published since it looked where the log ends, stamped ten minutes back, and ages its rows from their receipt', async () => {
    // Kept rows wait four minutes: by its stamp the claim is older than any row kept, and older than the replica.
    const { scene, monitor, earlyActualsAt } = await agingScene('far-behind');
    const group = 'serve-far-behind';
    const follower = await scene.join(group, { live: monitor });
    try {
      // Published once the follower runs, by a clock ten minutes behind this host's.
      await stampedAt(Date.now() - 10 * 60_000, () => scene.claim('day1.csv'));
      await expect.poll(() => scene.lag(group), { timeout: SETTLED_MS }).toBe(0);
      // Before, passed unread as published before the replica and too old for its rows to be kept.
      expect(earlyActualsAt(0)).toMatchObject({ points: 10, expired: 0 });
      expect(earlyActualsAt(2 * 60_000)).toMatchObject({ points: 10, expired: 0 });
      expect(earlyActualsAt(5 * 60_000)).toMatchObject({ points: 0, expired: 10 });
    } finally {
      await follower.stop();
    }
  });
});

/** Puts a claimed object of four hourly rows, `4k` to `4k + 3` (`down` = 100 + row). */
async function putRowsOf(scene: ClaimFollowerScene, object: string, k: number): Promise<void> {
  const rows = [0, 1, 2, 3].map((i) => 4 * k + i);
  await scene.store.put('incoming', object, ['time,down', ...rows.map((r) => `${iso(r)},${actualAt(r)}`)].join('\n'));
}

describe('core > daemon > followClaimActuals catching up over several partitions', () => {
  it('reads the newest claims within the bound over every partition, whatever order the partitions deliver them in, once every partition is past its end', async () => {
    const scene = await claimFollowerScene({ flags: { 'live.claimCatchUpMaxClaims': 2 } });
    // Partition 0 holds the older claims (forty and thirty-nine minutes ago), partition 1 the newer (twenty and
    // nineteen); partition 2 only claims from before the group's start, so it delivers none.
    const now = Date.now();
    const claims = [
      { partition: 0, offset: 0, object: 'a0.csv', at: now - 40 * 60_000 },
      { partition: 1, offset: 0, object: 'b0.csv', at: now - 20 * 60_000 },
      { partition: 0, offset: 1, object: 'a1.csv', at: now - 39 * 60_000 },
      { partition: 1, offset: 1, object: 'b1.csv', at: now - 19 * 60_000 },
    ];
    for (const [k, object] of ['a0.csv', 'a1.csv', 'b0.csv', 'b1.csv'].entries()) await putRowsOf(scene, object, k);
    const partitions = partitionedClaims(scene.topic, [2, 2, 5]);
    const monitor = scene.monitor('partitions');
    const { events, stop } = await scene.join('serve-catch-up-partitions', { live: monitor, bus: partitions.bus });
    try {
      // The partitions interleaved, as a consumer's fetches of several partitions hand them over.
      for (const { partition, offset, object, at } of claims) await partitions.deliver(partition, offset, object, at);
      // Partitions 0 and 1 are past their ends; partition 2 is not yet known to be: nothing is read before it is.
      expect(scene.reads).toEqual([]);
      partitions.readTo(2, 5);
      await expect.poll(() => scene.reads.length, { timeout: SETTLED_MS }).toBe(2);
      // Before, the older claim of partition 0 was read as that partition ended, and the newest claim passed.
      expect(scene.reads).toEqual(['b0.csv', 'b1.csv']);
      await expect.poll(() => monitor.status().early_actuals.points, { timeout: SETTLED_MS }).toBe(8);
      await expect.poll(() => events.length, { timeout: SETTLED_MS }).toBe(2);
      expect(events.map((entry) => entry.event)).toEqual(['live_claims_catch_up_cut', 'live_claims_catch_up_skipped']);
      expect(events[1].fields).toMatchObject({ claims: 2, claims_read: 2, published_from: new Date(now - 40 * 60_000).toISOString(), published_to: new Date(now - 39 * 60_000).toISOString() });
    } finally {
      await stop();
    }
  });
});

describe('core > daemon > followClaimActuals catching up over a partition whose end holds no message', () => {
  it('reads the claims held once the bus read the partition to its end, with no message at the offset before it', async () => {
    const scene = await claimFollowerScene();
    for (const [k, object] of ['a0.csv', 'a1.csv'].entries()) await putRowsOf(scene, object, k);
    // Offsets 0 and 1 are claims; 2 is a transaction's marker, never delivered: the partition ends at 3.
    const partitions = partitionedClaims(scene.topic, [3]);
    const monitor = scene.monitor('marker-end');
    const { events, stop } = await scene.join('serve-catch-up-marker', { live: monitor, bus: partitions.bus });
    try {
      // The group starts at offset 0: not past the end.
      partitions.readTo(0, 0);
      await partitions.deliver(0, 0, 'a0.csv', Date.now() - 40 * 60_000);
      await partitions.deliver(0, 1, 'a1.csv', Date.now() - 39 * 60_000);
      expect(scene.reads).toEqual([]);
      // The fetch past the marker: before, the claims waited for a message at offset 2, which never comes.
      partitions.readTo(0, 3);
      await expect.poll(() => scene.reads.length, { timeout: SETTLED_MS }).toBe(2);
      expect(scene.reads).toEqual(['a0.csv', 'a1.csv']);
      await expect.poll(() => monitor.status().early_actuals.points, { timeout: SETTLED_MS }).toBe(8);
      // Read after the catch-up, a claim stamped before the replica is read as it comes.
      await putRowsOf(scene, 'a2.csv', 2);
      await partitions.deliver(0, 3, 'a2.csv', Date.now() - 38 * 60_000);
      expect(scene.reads).toEqual(['a0.csv', 'a1.csv', 'a2.csv']);
      expect(events).toEqual([]);
    } finally {
      await stop();
    }
  });
});

describe('core > daemon > followClaimActuals catching up beside a partition that tells nothing of its end', () => {
  it('reads the claims held once a look where the partitions end finds the group committed past the end of the partition that delivers nothing', async () => {
    const scene = await claimFollowerScene();
    for (const [k, object] of ['a0.csv', 'a1.csv'].entries()) await putRowsOf(scene, object, k);
    // Partition 1's group resumes at what it committed, its end: no message comes there and no start is sought.
    const partitions = partitionedClaims(scene.topic, [2, 4]);
    partitions.commit(1, 4);
    // Only the looks' interval faked: the follower looks every minute, and nothing else here runs on setInterval.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const monitor = scene.monitor('resumed');
    const { events, stop } = await scene.join('serve-catch-up-resumed', { live: monitor, bus: partitions.bus });
    try {
      await partitions.deliver(0, 0, 'a0.csv', Date.now() - 40 * 60_000);
      await partitions.deliver(0, 1, 'a1.csv', Date.now() - 39 * 60_000);
      expect(scene.reads).toEqual([]);
      // The look a minute on: before, the claims waited until the stop.
      await vi.advanceTimersByTimeAsync(60_000);
      await expect.poll(() => monitor.status().early_actuals.points, { timeout: SETTLED_MS }).toBe(8);
      expect(scene.reads).toEqual(['a0.csv', 'a1.csv']);
      expect(events).toEqual([]);
    } finally {
      await stop();
      vi.useRealTimers();
    }
  });
});
