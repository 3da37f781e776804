import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import { resolveSettings } from '../config/settings.js';
import { silentLogger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createDaemonMetrics } from './daemon-metrics.js';
import { startServingRole } from './serving-role.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-serving-role-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A store that takes every call and answers none, as an S3 endpoint that accepts connections and then stays silent. */
function silentStore(): { store: ObjectStore; called: Promise<void> } {
  let first: () => void = () => {};
  const called = new Promise<void>((resolve) => (first = resolve));
  const store = new Proxy({ kind: 's3', location: 'http://127.0.0.1:1' } as unknown as ObjectStore, {
    get: (target, name) =>
      name in target
        ? (target as unknown as Record<string | symbol, unknown>)[name]
        : () => {
            first();
            return new Promise(() => {});
          },
  });
  return { store, called };
}

describe('core > daemon > serving role', () => {
  it('a daemon stopped while the role waits for a silent store ends its start, rather than waiting for the store', { timeout: 20_000 }, async () => {
    const { settings } = resolveSettings({ flags: { home, 'serve.port': 0, 'serve.host': '127.0.0.1', 'serve.shutdownWritesTimeoutMs': 100 } });
    const { store, called } = silentStore();
    const bus = createFsBus({ root: path.join(home, 'bus'), pollIntervalMs: 10 });
    const controller = new AbortController();
    const starting = startServingRole({ settings, store, bus, logger: silentLogger, metrics: createDaemonMetrics(), owner: 'test', signal: controller.signal });
    const outcome = starting.then(() => 'started', (error: unknown) => error);
    await called;
    controller.abort(new Error('daemon stopping'));
    expect(await outcome).toMatchObject({ message: 'daemon stopping' });
    await bus.close();
  });
});
