import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readRunHeartbeat, startRunHeartbeat } from './run-heartbeat.js';

const { settings } = resolveSettings({ env: { FLTS_DAEMON_HEARTBEAT_MS: '100' } });
const owner = { host: 'here', pid: 1 };

/** Just enough of a store for heartbeats: writes wait for `hold` when it is set, and are logged when done. */
function memoryStore(log: string[]): { store: ObjectStore; hold: { next?: Promise<void> } } {
  const objects = new Map<string, Buffer>();
  const hold: { next?: Promise<void> } = {};
  const store = {
    put: async (_bucket: string, key: string, body: string | Buffer) => {
      const waitFor = hold.next;
      hold.next = undefined;
      await waitFor;
      objects.set(key, Buffer.from(body));
      log.push(`beat ${JSON.parse(String(body)).beats}`);
    },
    delete: async (_bucket: string, key: string) => {
      objects.delete(key);
      log.push('removed');
    },
    get: async (_bucket: string, key: string) => {
      const body = objects.get(key);
      if (!body) throw new FltsError('FLTS_STORE_NOT_FOUND', `${key} is missing`);
      return body;
    },
  } as unknown as ObjectStore;
  return { store, hold };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('core > registry > run-heartbeat', () => {
  it('beats every heartbeatMs with a changing body, writes none once stop() has resolved (waiting for one in flight), and is gone once removed', async () => {
    const log: string[] = [];
    const { store, hold } = memoryStore(log);
    expect(await readRunHeartbeat(store, settings, 'r1')).toBeUndefined();
    const heartbeat = await startRunHeartbeat(store, settings, 'r1', { owner, now: () => new Date(0) });
    expect(log).toEqual(['beat 0']);
    const first = await readRunHeartbeat(store, settings, 'r1');
    await vi.advanceTimersByTimeAsync(100);
    expect(log).toEqual(['beat 0', 'beat 1']);
    // The writer's clock stands still; the body changes all the same.
    expect(await readRunHeartbeat(store, settings, 'r1')).not.toBe(first);

    let release!: () => void;
    hold.next = new Promise<void>((resolve) => (release = resolve));
    await vi.advanceTimersByTimeAsync(100);
    const stopped = heartbeat.stop().then(() => log.push('stopped'));
    release();
    await stopped;
    await vi.advanceTimersByTimeAsync(1000);
    expect(log).toEqual(['beat 0', 'beat 1', 'beat 2', 'stopped']);
    await heartbeat.remove();
    expect(await readRunHeartbeat(store, settings, 'r1')).toBeUndefined();
    expect(log.at(-1)).toBe('removed');
  });

  it('says a beat an outage failed by its code and reason, without the stack it repeated every beat, and keeps any other failure whole', async () => {
    const warnings: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
    const logger = { ...silentLogger, warn: (fields: object, msg?: string) => void warnings.push({ fields: fields as Record<string, unknown>, msg }) } as Logger;
    const failures: unknown[] = [new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://s3:9000 did not answer for 10 s.'), new Error('a bug')];
    let beats = 0;
    const store = {
      put: async () => {
        if (beats++ > 0) throw failures.shift();
      },
    } as unknown as ObjectStore;
    const heartbeat = await startRunHeartbeat(store, settings, 'r1', { owner, logger });
    await vi.advanceTimersByTimeAsync(200);
    await heartbeat.stop();
    expect(warnings.map(({ msg }) => msg)).toEqual(['train_heartbeat_failed', 'train_heartbeat_failed']);
    expect(warnings[0]!.fields).toEqual({ run_id: 'r1', code: 'FLTS_STORE_UNAVAILABLE', reason: 'S3 endpoint http://s3:9000 did not answer for 10 s.' });
    expect(warnings[1]!.fields).toEqual({ run_id: 'r1', err: expect.objectContaining({ message: 'a bug' }) });
  });
});
