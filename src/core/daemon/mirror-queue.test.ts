import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { syncRunsToTracking } from '../workflows/sync-runs-to-tracking.js';
import { createMirrorQueue } from './mirror-queue.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-mirror-queue-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A mirror that waits until the test lets each run through, recording the runs it was called with. */
function gatedMirror() {
  const calls: string[] = [];
  const signals: AbortSignal[] = [];
  const gates = new Map<string, () => void>();
  const mirror = (runId: string, signal: AbortSignal): Promise<void> => {
    calls.push(runId);
    signals.push(signal);
    return new Promise<void>((resolve) => gates.set(runId, resolve));
  };
  const started = async (runId: string): Promise<void> => {
    while (!gates.has(runId)) await new Promise((resolve) => setImmediate(resolve));
  };
  return { calls, signals, mirror, started, release: (runId: string) => gates.get(runId)!() };
}

describe('core > daemon > mirror queue', () => {
  it('mirrors one run at a time in arrival order, each run once however often it is handed over', async () => {
    const gated = gatedMirror();
    const queue = createMirrorQueue(gated.mirror, { signal: new AbortController().signal, onError: () => undefined });
    expect(queue.add('a')).toBe(true);
    expect(queue.add('b')).toBe(true);
    await gated.started('a');
    expect(queue.add('a')).toBe(false);
    expect(queue.add('b')).toBe(false);
    expect(gated.calls).toEqual(['a']);
    gated.release('a');
    await gated.started('b');
    gated.release('b');
    await queue.idle();
    expect(gated.calls).toEqual(['a', 'b']);
    // Once idle, a run handed over again starts a new round.
    expect(queue.add('c')).toBe(true);
    await gated.started('c');
    gated.release('c');
    await queue.idle();
    expect(gated.calls).toEqual(['a', 'b', 'c']);
  });

  it('holds at most its capacity behind the mirror under way; the runs it refuses are left to the next sync', async () => {
    const gated = gatedMirror();
    const queue = createMirrorQueue(gated.mirror, { signal: new AbortController().signal, onError: () => undefined, capacity: 2 });
    expect(['a', 'b', 'c', 'd'].map((runId) => queue.add(runId))).toEqual([true, true, true, false]);
    for (const runId of ['a', 'b', 'c']) {
      await gated.started(runId);
      gated.release(runId);
    }
    await queue.idle();
    expect(gated.calls).toEqual(['a', 'b', 'c']);
  });

  it('a run the full queue refuses is mirrored with the backlog of the next mirror, as the trainer mirrors runs', async () => {
    const settings = resolveSettings({ flags: { 'tracking.uri': 'http://127.0.0.1:19601' } }).settings;
    const store = createFsStore(mkdtempSync(path.join(root, 'refused-')));
    const mlflow = new MemoryMlflow();
    const record = (runId: string, at: number) => saveRunRecord(store, settings, fakeRun(runId, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
    const gated = gatedMirror();
    const queue = createMirrorQueue(
      async (runId, signal) => {
        await gated.mirror(runId, signal);
        await syncRunsToTracking(store, settings, { runIds: [runId] }, { client: mlflow.client, signal });
      },
      { signal: new AbortController().signal, onError: () => undefined, capacity: 1 },
    );
    await record('a', 0);
    queue.add('a');
    await gated.started('a');
    await record('b', 1);
    expect(queue.add('b')).toBe(true);
    // Trained while one mirror is under way and one waits: not queued, and recorded in the registry all the same.
    await record('c', 2);
    expect(queue.add('c')).toBe(false);
    gated.release('a');
    await gated.started('b');
    gated.release('b');
    await queue.idle();

    expect(gated.calls).toEqual(['a', 'b']);
    expect(mlflow.created.sort()).toEqual(['a', 'b', 'c']);
  });

  it('stops without waiting for a mirror that does not end at its abort, drops the runs queued, and takes no more', async () => {
    const gated = gatedMirror();
    const queue = createMirrorQueue(gated.mirror, { signal: new AbortController().signal, onError: () => undefined });
    queue.add('a');
    queue.add('b');
    await gated.started('a');
    // The mirror of 'a' never ends: the stop aborts it and gives up waiting after its bound.
    await queue.stop(20);
    expect(gated.signals[0].aborted).toBe(true);
    expect(queue.add('c')).toBe(false);
    gated.release('a');
    await queue.idle();
    expect(gated.calls).toEqual(['a']);
  });

  it('reports what a mirror throws and goes on with the next run', async () => {
    const errors: Array<[string, unknown]> = [];
    const mirrored: string[] = [];
    const queue = createMirrorQueue(
      async (runId) => {
        if (runId === 'a') throw new Error('store away');
        mirrored.push(runId);
      },
      { signal: new AbortController().signal, onError: (runId, error) => errors.push([runId, error]) },
    );
    queue.add('a');
    queue.add('b');
    await queue.idle();
    expect(errors.map(([runId, error]) => [runId, (error as Error).message])).toEqual([['a', 'store away']]);
    expect(mirrored).toEqual(['b']);
  });
});
