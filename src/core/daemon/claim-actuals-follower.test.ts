import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { encodeInferenceClaim } from '../bus/messages.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { createFeaturePlan } from '../forecast/feature-plan.js';
import { createLiveScorer, type LiveScorer } from '../live/live-scorer.js';
import type { Logger } from '../logger.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import type { ModelHolder } from '../serve/model-holder.js';
import type { ServedModel } from '../serve/served-model.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { followClaimActuals } from './claim-actuals-follower.js';

const STEP = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const iso = (row: number): string => new Date(T0 + row * STEP).toISOString();
const actualAt = (row: number): number => 100 + row;

/** A raw claimed file of `rows` hourly rows, `down` = 100 + row. */
const claimCsv = (rows: number): string => ['time,down', ...Array.from({ length: rows }, (_, r) => `${iso(r)},${actualAt(r)}`)].join('\n');

describe('core > daemon > followClaimActuals', () => {
  let root: string;
  let bus: MessageBus;
  let store: ObjectStore;
  let settings: Settings;
  let scorer: LiveScorer;
  let observed: number;
  const reads: string[] = [];
  const warnings: string[] = [];
  const warn = (obj: object, event?: string): void => void warnings.push(`${event} ${(obj as { code?: string }).code ?? ''}`.trim());
  const logger: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn, error: warn, child: () => logger };
  // A served run that reads `down` unscaled, with an input window of 2 rows.
  const plan = createFeaturePlan({ inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] }, { method: 'MinMaxScaler', columns: [], offset: [], scale: [] });
  const holder = { current: () => ({ plan, run: { runId: 'run-a', modelType: 'NAIVE', configHash: 'cfg1' } }) as unknown as ServedModel } as unknown as ModelHolder;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-claim-actuals-'));
    bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
    const fsStore = createFsStore(path.join(root, 'store'));
    store = {
      ...fsStore,
      get: async (bucket, key) => {
        reads.push(key);
        return fsStore.get(bucket, key);
      },
    };
    await store.ensureBucket('incoming');
    await store.put('incoming', 'day1.csv', claimCsv(10));
    await store.put('incoming', 'big.csv', claimCsv(400));
    await store.put('incoming', 'no-down.csv', 'time,up\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,2\n');
    settings = resolveSettings({ flags: { 'live.claimMaxBytes': 4096 } }).settings;
    scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 1000 });
    observed = 0;
  });
  afterAll(async () => {
    await bus?.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  const live = (): LiveMonitor =>
    ({
      scorer,
      observeActuals: (actuals: Parameters<LiveMonitor['observeActuals']>[0]) => {
        observed++;
        return scorer.score(actuals);
      },
    }) as unknown as LiveMonitor;
  const claim = (object: string, identifier = ''): Promise<void> => bus.publish(settings.bus.topics.inferenceData, encodeInferenceClaim({ bucket: 'incoming', object, size: 0, configHash: 'cfg1', identifier }));
  const matched = (): number => scorer.figures().find((run) => run.run_id === 'run-a')?.matched_total ?? 0;

  it('does not read a claim while nothing waits for actuals, then scores remembered forecasts once, skipping what it cannot read without dead-lettering', async () => {
    const subscription = await followClaimActuals({ settings, bus, store, holder, live: live(), logger }, 'serve-test-actuals');
    try {
      await claim('day1.csv');
      // Nothing remembered yet: the claim is passed over unread.
      await expect.poll(async () => (await bus.lag('serve-test-actuals', [settings.bus.topics.inferenceData]))[0]?.lag, { timeout: 5_000 }).toBe(0);
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
      await expect.poll(matched, { timeout: 5_000 }).toBe(3);
      expect(warnings).toEqual(['live_claim_skipped FLTS_BUS_MESSAGE_INVALID', 'live_claim_skipped FLTS_STORE_NOT_FOUND', 'live_claim_skipped FLTS_REQUEST_INVALID', 'live_claim_too_large']);
      expect(reads).not.toContain('big.csv');
      const down = scorer.figures()[0].targets.down;
      expect(down.rmse).toBeCloseTo(Math.sqrt((49 + 36 + 25) / 3), 10);

      // The same claim again (redelivered, published twice) finds those points scored already.
      await claim('day1.csv');
      await expect.poll(() => observed, { timeout: 5_000 }).toBe(3);
      expect(matched()).toBe(3);
      // An observer owns none of these claims: nothing of them is dead-lettered.
      expect(readdirSync(path.join(root, 'bus', 'topics')).filter((name) => name.startsWith('DLQ'))).toEqual([]);
    } finally {
      await subscription.stop();
    }
  });
});
