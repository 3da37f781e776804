import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCliLogger } from '../src/cli/cli-logger.js';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import { resolveSettings } from '../src/core/config/settings.js';
import { createRoleRegistry } from '../src/core/daemon/role-registry.js';
import { startDaemon } from '../src/core/daemon/start-daemon.js';
import { createFsStore } from '../src/core/storage/fs-store.js';

describe('the daemon log lines', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-daemon-log-'));
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('name the service once per line with the logger `flts daemon` gives it', async () => {
    const lines: string[] = [];
    const logger = createCliLogger('info', 'flts-daemon', { write: (line: string) => void lines.push(line) });
    const settings = resolveSettings({ flags: { home, 'daemon.roles': ['idle'], 'daemon.port': 0, 'daemon.host': '127.0.0.1' } }).settings;
    const registry = createRoleRegistry({ idle: async () => ({ name: 'idle', subscriptions: [], status: () => ({}), stop: async () => {} }) });
    const bus = createFsBus({ root: path.join(home, 'bus') });
    const daemon = await startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, registry });
    await daemon.stop();
    const messages = lines.map((line) => JSON.parse(line).msg);
    expect(messages).toEqual(expect.arrayContaining(['daemon_listening', 'daemon_role_started', 'daemon_stopped']));
    for (const line of lines) expect(line.split('"service":').length - 1, line).toBe(1);
  });
});
