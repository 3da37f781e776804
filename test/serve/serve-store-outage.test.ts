import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import type { FltsEvent } from '../../src/core/events.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';
import { readJsonResponse } from './serve-fixtures.js';

/** A store whose every call fails as an unreachable S3 endpoint does, while `down` is true. */
function outageStore(inner: ObjectStore): { store: ObjectStore; setDown(down: boolean): void } {
  let down = false;
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://127.0.0.1:1 is unavailable (ECONNREFUSED).'));
        return value.apply(target, args);
      };
    },
  });
  return { store, setDown: (value) => (down = value) };
}

describe('serve > the store unavailable at startup', () => {
  let root: string;
  let fsStore: ObjectStore;
  let settings: Settings;
  let service: InferenceService | undefined;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-outage-'));
    fsStore = createFsStore(root);
    const defaults = defaultSettings();
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, pollIntervalMs: 0 } };
    await addLoadableRun(fsStore, settings, fakeRun('good', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'));
    await promote({ runId: 'good', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store: fsStore });
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  const readyz = async () => readJsonResponse(await fetch(`${service!.url}/readyz`));

  it('listens, says on /readyz that the pointer cannot be read, and serves the promoted run once the store answers', async () => {
    const { store, setDown } = outageStore(fsStore);
    setDown(true);
    service = await startInferenceService(settings, { store });

    const waiting = await readyz();
    expect(waiting.status).toBe(503);
    expect(waiting.json).toMatchObject({ status: 'not_ready', degraded: true, degraded_code: 'FLTS_STORE_UNAVAILABLE' });
    expect(waiting.json.reason).toContain('The promotion pointer cannot be read');

    setDown(false);
    await service.holder.reloadFromPointer();
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', run_id: 'good', degraded: false });
  });

  it('waits for a pinned run while the store is unavailable, instead of exiting', async () => {
    const { store, setDown } = outageStore(fsStore);
    setDown(true);
    let loaded: (runId: string) => void = () => undefined;
    const loadedRun = new Promise<string>((resolve) => (loaded = resolve));
    const onEvent = (event: FltsEvent): void => {
      if (event.type === 'serve.model_loaded') loaded(event.runId);
    };
    service = await startInferenceService({ ...settings, serve: { ...settings.serve, runId: 'good' } }, { store, onEvent });

    const waiting = await readyz();
    expect(waiting.status).toBe(503);
    expect(waiting.json).toMatchObject({ degraded: true, degraded_code: 'FLTS_STORE_UNAVAILABLE', pinned_run_id: 'good' });

    setDown(false);
    expect(await loadedRun).toBe('good');
    expect((await readyz()).json).toMatchObject({ status: 'ready', run_id: 'good', degraded: false });
  });

  it('still refuses at once a pinned run that does not exist', async () => {
    await expect(startInferenceService({ ...settings, serve: { ...settings.serve, runId: 'missing' } }, { store: fsStore })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
  });
});
