import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { startDaemon } from '../src/core/daemon/start-daemon.js';
import { pollUntil } from '../src/core/retry.js';
import { createFsStore } from '../src/core/storage/fs-store.js';

describe('daemon > prediction log retention', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-retention-'));
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('a batch role (no serving role beside it) sweeps the day folders older than the retention', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['batch'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'serve.predictionLog.retentionDays': 30 } }).settings;
    const store = createFsStore(path.join(home, 'store'));
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    for (const day of ['20000101', today]) await store.put('inference-logs', `default/${day}/batch-r1-abc.jsonl`, '{}\n');
    const daemon = await startDaemon(settings, { store, bus: createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 }) });
    try {
      const swept = await pollUntil(20, AbortSignal.timeout(20_000), async () => !(await store.exists('inference-logs', 'default/20000101/batch-r1-abc.jsonl')));
      expect(swept).toBe(true);
      expect(await store.listFolders('inference-logs', 'default/')).toEqual([`default/${today}/`]);
    } finally {
      await daemon.stop();
    }
  });
});
