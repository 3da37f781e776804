import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { readRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { syntheticProcessedData } from './synthetic-data.fixture.js';
import { trainRun } from './train-run.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-heartbeat-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const { settings } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '50' } });
const data = syntheticProcessedData(300, 60);

describe('core > train > run heartbeat', () => {
  it('beats while the run is RUNNING, a beat in flight at the end lands before the final record, never after it, and the heartbeat goes with the run\'s end', async () => {
    const base = createFsStore(root);
    const log: string[] = [];
    let heartbeats = 0;
    let releaseBeat!: () => void;
    const beatHeld = new Promise<void>((resolve) => (releaseBeat = resolve));
    const store: ObjectStore = {
      ...base,
      delete: async (bucket, key) => {
        if (key.endsWith('/heartbeat.json')) log.push('heartbeat removed');
        await base.delete(bucket, key);
      },
      put: async (bucket, key, body, options) => {
        const file = key.split('/').slice(1).join('/');
        if (file === 'heartbeat.json') {
          const n = ++heartbeats;
          log.push(`beat ${n}`);
          // The third beat is still being written when the run ends: a slow store.
          if (n === 3) await beatHeld;
          await base.put(bucket, key, body, options);
          log.push(`beat ${n} written`);
          return;
        }
        if (file === 'scaler.json') {
          // The run is still RUNNING while the timer beats (the first beat is written before its record).
          await expect.poll(() => heartbeats, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
          setImmediate(releaseBeat);
        }
        if (file === 'run.json') log.push(`record ${JSON.parse(String(body)).status}`);
        await base.put(bucket, key, body, options);
      },
    };
    const record = await trainRun('NAIVE', data, settings, { store });
    expect(record.status).toBe('SUCCESS');
    // The first beat lands before the RUNNING record; the timer's next beats may come before that record on a slow host.
    expect(log.slice(0, 2)).toEqual(['beat 1', 'beat 1 written']);
    const final = log.indexOf('record SUCCESS');
    expect(log.indexOf('record RUNNING')).toBeGreaterThan(1);
    expect(log.indexOf('record RUNNING')).toBeLessThan(final);
    expect(log.indexOf('beat 3 written')).toBeGreaterThan(-1);
    expect(log.indexOf('beat 3 written')).toBeLessThan(final);
    expect(log.slice(final)).toEqual(['record SUCCESS', 'heartbeat removed']);
    expect(await readRunRecord(base, settings, record.run_id)).toEqual(record);
    expect((await base.list(settings.store.buckets.runs, `${record.run_id}/`)).map((info) => info.key)).not.toContain(`${record.run_id}/heartbeat.json`);
  });
});
