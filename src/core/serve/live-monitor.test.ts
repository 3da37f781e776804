import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createLiveScorer } from '../live/live-scorer.js';
import { createLiveMonitor, intervalsByTarget } from './live-monitor.js';
import type { ModelHolder } from './model-holder.js';
import type { ServedModel } from './served-model.js';
import { countTurns } from '../loop-turns.fixture.js';
import { FltsError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

describe('core > serve > live-monitor intervals', () => {
  const rows = [
    { down: { '0.8': [9, 11] as [number, number], '0.95': [8, 12] as [number, number] }, up: { '0.8': [1, 3] as [number, number], '0.95': [0, 4] as [number, number] } },
    null,
  ];

  it('lays the served rows out per target and level, with NaN bounds past the model horizon', () => {
    const byTarget = intervalsByTarget(['down', 'up'], rows)!;
    expect(byTarget).toHaveLength(2);
    expect(byTarget[0]).toEqual([
      { level: '0.8', lower: [9, Number.NaN], upper: [11, Number.NaN] },
      { level: '0.95', lower: [8, Number.NaN], upper: [12, Number.NaN] },
    ]);
    expect(byTarget[1]?.[0]).toEqual({ level: '0.8', lower: [1, Number.NaN], upper: [3, Number.NaN] });
    expect(intervalsByTarget(['down'], undefined)).toBeUndefined();
    expect(intervalsByTarget(['down'], [null, null])).toBeUndefined();
  });

  it('scores coverage per level on rows that have intervals and leaves the others out of it', () => {
    const scorer = createLiveScorer({ windowPoints: 100, memoryPoints: 100 });
    scorer.remember({ identifier: '', runId: 'run-a', origin: 0, targets: ['down', 'up'], time: [1, 2], values: [[10, 10], [2, 2]], intervals: intervalsByTarget(['down', 'up'], rows) });
    // down 11.5 is outside the 80 % band [9, 11] and inside the 95 % band [8, 12]; row 2 has no band.
    scorer.score({ identifier: '', time: [1, 2], values: { down: [11.5, 50], up: [2, 2] } });
    const down = scorer.figures().find((run) => run.run_id === 'run-a')!.targets.down;
    expect(down.points).toBe(2);
    expect(down.coverage).toEqual({ '0.8': 0, '0.95': 1 });
  });
});

describe('core > serve > live-monitor logs', () => {
  it('names a shadow run\'s part without a second `role` key under the daemon\'s serving-role logger', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) });
    const daemonLogger = pino({ base: null }, sink).child({ role: 'serving' });
    const settings = defaultSettings();
    settings.live.shadowRunId = 'run-challenger';
    const monitor = createLiveMonitor({
      settings,
      holder: {} as ModelHolder,
      loadShadow: async () => ({ retire: () => {}, disposed: false }) as unknown as ServedModel,
      replica: 'r1',
      logger: daemonLogger,
    });
    await monitor.tick();
    await new Promise((resolve) => setImmediate(resolve));
    await monitor.stop();
    const loaded = lines.find((line) => line.includes('live_shadow_loaded'));
    expect(loaded).toBeDefined();
    expect(loaded!.match(/"role":/g)).toHaveLength(1);
    expect(JSON.parse(loaded!)).toMatchObject({ role: 'serving', shadow: 'challenger', run_id: 'run-challenger' });
  });
});

describe('core > serve > live-monitor stop', () => {
  it('waits for a shadow run still loading, retires it unused and does not log it loaded', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) });
    const settings = defaultSettings();
    settings.live.shadowRunId = 'run-challenger';
    let finish: ((model: ServedModel) => void) | undefined;
    const retire = vi.fn();
    const monitor = createLiveMonitor({
      settings,
      holder: {} as ModelHolder,
      loadShadow: () => new Promise<ServedModel>((resolve) => (finish = resolve)),
      replica: 'r1',
      logger: pino({ base: null }, sink),
    });
    await monitor.tick();
    expect(finish).toBeDefined();
    let stopped = false;
    const stopping = monitor.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    // Before, stop() was done here, and the load ended after it with a live_shadow_loaded line (after serve_stopped).
    expect(stopped).toBe(false);
    finish!({ retire, disposed: false } as unknown as ServedModel);
    await stopping;
    expect(retire).toHaveBeenCalledOnce();
    expect(lines.filter((line) => line.includes('live_shadow_loaded'))).toEqual([]);
  });

  it('names the code of a look the store failed, as every other failure line does', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) });
    const down = async (): Promise<never> => {
      throw new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://127.0.0.1:9 did not answer for 10 s.');
    };
    const store = new Proxy({} as ObjectStore, { get: (_target, property) => (property === 'kind' ? 's3' : property === 'location' ? 'http://127.0.0.1:9' : down) });
    const monitor = createLiveMonitor({ settings: defaultSettings(), holder: {} as ModelHolder, store, loadShadow: async () => ({}) as ServedModel, replica: 'r1', logger: pino({ base: null }, sink) });
    await monitor.tick();
    const failed = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'live_tick_failed');
    expect(failed).toEqual([expect.objectContaining({ code: 'FLTS_STORE_UNAVAILABLE', err: 'S3 endpoint http://127.0.0.1:9 did not answer for 10 s.' })]);
  });

  it('stops without a shadow load the store holds up, past a bound, and says nothing of it when it fails later', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) });
    const settings = defaultSettings();
    settings.live.shadowRunId = 'run-challenger';
    let fail: ((error: Error) => void) | undefined;
    const monitor = createLiveMonitor({
      settings,
      holder: {} as ModelHolder,
      loadShadow: () => new Promise<ServedModel>((_, reject) => (fail = reject)),
      replica: 'r1',
      logger: pino({ base: null }, sink),
      shadowLoadStopWaitMs: 20,
    });
    await monitor.tick();
    expect(fail).toBeDefined();
    // Before, stop() waited for the load for good: a store that held it up held the stop up with it.
    await monitor.stop();
    fail!(new Error('store gone'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((line) => line.includes('live_shadow_load'))).toEqual([]);
  });
});

/** Turns of the event loop that ran while `work` was awaited, every look at the turn finding it spent (`turnSpent`). */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  // Each reading of the clock 20 ms on: every look at the turn (10 ms) finds it spent, whatever the machine's speed.
  let clock = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => (clock += 20));
  const loop = countTurns();
  const result = await work();
  loop.stop();
  return { result, turns: loop.turns() };
}

describe('core > serve > live-monitor actuals in turns', () => {
  afterEach(() => vi.restoreAllMocks());

  it('scores a large body of actuals across event-loop turns, to the counts and figures one pass gives', async () => {
    const monitor = createLiveMonitor({ settings: defaultSettings(), holder: {} as ModelHolder, loadShadow: async () => ({}) as ServedModel, replica: 'r1', logger: pino({ level: 'silent' }) });
    const twin = createLiveScorer({ windowPoints: defaultSettings().live.windowPoints, memoryPoints: defaultSettings().live.memoryPoints });
    const rows = 20_000;
    const time = Array.from({ length: rows }, (_, i) => i * 60_000);
    const forecast = { identifier: '', runId: 'run-a', origin: -60_000, targets: ['down'], time: time.slice(0, 12_000), values: [time.slice(0, 12_000).map((_, i) => 10 + Math.sin(i / 7))] };
    monitor.scorer.remember(forecast);
    twin.remember(forecast);
    // Every 1000th actual absurd: left unscored and counted as ignored.
    const down = Float64Array.from(time, (_, i) => (i % 1000 === 999 ? 1e140 : 10.3 + Math.cos(i / 5)));
    const actuals = { identifier: '', time: Float64Array.from(time), values: { down } };
    const { result, turns } = await turnsDuring(() => monitor.observeActualsInTurns(actuals));
    // One piece of 2048 rows a turn: ten pieces, nine turns between them (counted from the turn the scoring began in).
    expect(turns).toBeGreaterThanOrEqual(8);
    const runs = twin.score(actuals);
    // The 8,000 actuals past the forecast's last timestamp matched no remembered point: kept for a forecast made later.
    expect(result).toEqual({ runs, ignored: twin.ignored().out_of_range, unmatched: rows - 12_000, kept: rows - 12_000 });
    expect(result.ignored).toBe(12);
    expect(result.runs[0].points).toBe(12_000 - 12);
    expect(monitor.scorer.figures()).toEqual(twin.figures());
  });
});
