import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/core/retry.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { createSliceHome, type SliceHome } from '../helpers/poblesec-slice.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

const BUCKET = 'inference-logs';
const today = (): string => new Date().toISOString().slice(0, 10).replace(/-/g, '');

async function seedDays(home: SliceHome, days: Record<string, readonly string[]>): Promise<void> {
  for (const [scope, dates] of Object.entries(days)) {
    for (const day of dates) await home.store.put(BUCKET, `${scope}/${day}/000000000-a.jsonl`, '{}\n');
  }
}

async function daysOf(home: SliceHome, scope: string): Promise<string[]> {
  return (await home.store.listFolders(BUCKET, `${scope}/`)).map((folder) => folder.slice(scope.length + 1, -1));
}

describe('serve > prediction log retention', () => {
  let home: SliceHome | undefined;
  let service: InferenceService | undefined;
  let serve: ServeProcess | undefined;

  afterEach(async () => {
    await service?.close();
    await serve?.stop();
    home?.remove();
    service = serve = home = undefined;
  });

  it('a server started with a retention sweeps the old day folders of every identifier at start, on its clock', async () => {
    home = createSliceHome('flts-retention-', { 'serve.port': 0, 'serve.pollIntervalMs': 0, 'serve.predictionLog.retentionDays': 7 });
    await seedDays(home, { default: ['20261120', '20261127', '20261128', '20261204', '20261205'], 'site-b': ['20250101', '20261205'] });
    service = await startInferenceService(home.settings, { store: home.store, now: () => new Date('2026-12-05T08:00:00Z') });
    expect(await service.retention.lastSweep).toEqual({ days: ['default/20261120', 'default/20261127', 'site-b/20250101'], objects: 3, complete: true });
    expect(await daysOf(home, 'default')).toEqual(['20261128', '20261204', '20261205']);
    expect(await daysOf(home, 'site-b')).toEqual(['20261205']);
  });

  it('keeps every folder with the default retention (0)', async () => {
    home = createSliceHome('flts-retention-', { 'serve.port': 0, 'serve.pollIntervalMs': 0 });
    await seedDays(home, { default: ['20000101', today()] });
    service = await startInferenceService(home.settings, { store: home.store });
    expect(service.retention.lastSweep).toBeUndefined();
    expect(await daysOf(home, 'default')).toEqual(['20000101', today()]);
  });

  it('POST /prune_logs sweeps at once, with the days it is given, for admin clients only', async () => {
    home = createSliceHome('flts-retention-', { 'serve.port': 0, 'serve.pollIntervalMs': 0 });
    await seedDays(home, { default: ['20261120', '20261201', '20261204', '20261205'], 'site-b': ['20261130'] });
    service = await startInferenceService(home.settings, { store: home.store, now: () => new Date('2026-12-05T08:00:00Z') });
    const off = await service.app.inject({ method: 'POST', url: '/prune_logs', remoteAddress: '127.0.0.1' });
    expect(off.statusCode).toBe(400);
    expect(off.json()).toMatchObject({ code: 'FLTS_REQUEST_INVALID' });
    expect((await service.app.inject({ method: 'POST', url: '/prune_logs?retention_days=0', remoteAddress: '127.0.0.1' })).json()).toMatchObject({ code: 'FLTS_REQUEST_INVALID' });
    expect((await service.app.inject({ method: 'POST', url: '/prune_logs?retention_days=3', remoteAddress: '10.1.2.3' })).statusCode).toBe(403);
    expect(await daysOf(home, 'default')).toEqual(['20261120', '20261201', '20261204', '20261205']);
    const pruned = await service.app.inject({ method: 'POST', url: '/prune_logs?retention_days=3', remoteAddress: '127.0.0.1' });
    expect(pruned.statusCode).toBe(200);
    expect(pruned.json()).toEqual({ complete: true, days: ['default/20261120', 'default/20261201', 'site-b/20261130'], objects: 3 });
    expect(await daysOf(home, 'default')).toEqual(['20261204', '20261205']);
  });

  it('flts serve with FLTS_PREDICTION_LOG_RETENTION_DAYS deletes the folders older than that, not today\'s', async () => {
    home = createSliceHome('flts-retention-');
    await seedDays(home, { default: ['20000101', '20000102', today()], 'site-a': ['20000101'] });
    serve = await startServe([], { FLTS_HOME: home.home, FLTS_SERVE_POLL_INTERVAL_MS: '0', FLTS_PREDICTION_LOG_RETENTION_DAYS: '30' });
    const swept = await pollUntil(50, AbortSignal.timeout(20_000), async () => (await daysOf(home as SliceHome, 'site-a')).length === 0 && (await daysOf(home as SliceHome, 'default')).length === 1);
    expect(swept).toBe(true);
    expect(await daysOf(home, 'default')).toEqual([today()]);
    expect(await serve.stop()).toBe(0);
  });
});
