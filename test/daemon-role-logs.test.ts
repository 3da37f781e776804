import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCliLogger } from '../src/cli/cli-logger.js';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { startDaemon } from '../src/core/daemon/start-daemon.js';
import { createFsStore } from '../src/core/storage/fs-store.js';

describe('daemon role logs', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-logs-'));
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('name each role once per line: log pipelines that refuse duplicate keys (Elasticsearch) keep every line', async () => {
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['serving', 'batch'], 'daemon.port': 0, 'daemon.host': '127.0.0.1', 'serve.port': 0, 'serve.host': '127.0.0.1' } }).settings;
    const lines: string[] = [];
    let listening!: () => void;
    const served = new Promise<void>((resolve) => (listening = resolve));
    const logger = createCliLogger('info', 'flts-daemon', {
      write: (text: string) => {
        lines.push(text.trim());
        if (text.includes('"msg":"serve_listening"')) listening();
      },
    });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus: createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 }), logger });
    try {
      await served;
      const roleLines = lines.filter((line) => line.includes('"role":'));
      expect(roleLines.some((line) => line.includes('"role":"serving"'))).toBe(true);
      expect(roleLines.filter((line) => line.split('"role":').length > 2)).toEqual([]);
    } finally {
      await daemon.stop();
    }
  });
});
