import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/core/config/settings.js';
import type { FltsEvent } from '../../src/core/events.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { recordingStore } from '../../src/core/storage/recording-store.fixture.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';

describe('serve > start in a home of many runs', () => {
  let root: string | undefined;
  let service: InferenceService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
    if (root) rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('reads the pointer and the promoted run, never the other runs or a listing of the registry', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-start-reads-'));
    const inner = createFsStore(root);
    const defaults = defaultSettings();
    const settings = { ...defaults, serve: { ...defaults.serve, port: 0, pollIntervalMs: 0 } };
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
    for (const [at, id] of ids.entries()) await addLoadableRun(inner, settings, fakeRun(id, 'NAIVE', { rmse: 0.1 + at / 100, mae: 0.1, mse: 0.01 }, `2025-01-0${at + 1}T00:00:00.000Z`));
    await promote({ runId: 'r3', source: 'manual', actor: 'ana', reason: 'the one served' }, settings, { store: inner });

    const { store, calls } = recordingStore(inner);
    let loaded: (runId: string) => void = () => undefined;
    const loadedRun = new Promise<string>((resolve) => (loaded = resolve));
    const onEvent = (event: FltsEvent): void => {
      if (event.type === 'serve.model_loaded') loaded(event.runId);
    };
    service = await startInferenceService(settings, { store, onEvent });
    expect(await loadedRun).toBe('r3');

    const runs = calls.filter((call) => call.bucket === settings.store.buckets.runs);
    // Live figures are the runs bucket's too, under live/: this replica reports its own.
    const outside = runs.filter((call) => !call.key?.startsWith('r3/') && !call.key?.startsWith('live/'));
    expect(outside).toEqual([]);
    expect(runs.map((call) => call.key)).toContain('r3/run.json');
  });
});
