import os from 'node:os';
import type { Settings } from '../config/settings.js';
import type { ModelType } from '../models/forecast-model.js';
import type { ObjectStore } from '../storage/object-store.js';
import { fakeRun } from './run-record.fixture.js';
import type { RunOwner, RunRecord } from './run-record.js';

/** A RUNNING run that a process on another host trains (`flts train`, a daemon), started at `startedAt` by its clock. */
export function foreignRun(runId: string, startedAt: Date, options: { configHash: string; modelType?: ModelType; owner?: RunOwner }): RunRecord {
  const { metrics: _none, ...run } = fakeRun(runId, options.modelType ?? 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, startedAt.toISOString(), 'RUNNING', options.configHash);
  return { ...run, owner: options.owner ?? { host: `${os.hostname()}-elsewhere`, pid: 4242 } };
}

/** Writes beat `beats` of the run's heartbeat, stamped by a clock that stands still: only the content changes. */
export async function beat(store: ObjectStore, settings: Settings, runId: string, beats: number): Promise<void> {
  await store.put(settings.store.buckets.runs, `${runId}/heartbeat.json`, JSON.stringify({ run_id: runId, owner: { host: 'elsewhere', pid: 4242 }, beats, heartbeat_at: '2020-01-01T00:00:00.000Z' }));
}

/** `store`, recording every heartbeat read through it. */
export function heartbeatReads(store: ObjectStore, reads: string[]): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'get') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<ObjectStore['get']>) => {
        const body = await target.get(...args);
        if (args[1].endsWith('/heartbeat.json')) reads.push(body.toString('utf8'));
        return body;
      };
    },
  });
}
