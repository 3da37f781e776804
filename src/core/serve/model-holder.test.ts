import { describe, expect, it } from 'vitest';
import type { FltsEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { createModelHolder } from './model-holder.js';
import type { ModelSource } from './model-source.js';

const silent: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent } as unknown as Logger;

/** A store with no promotion in it: the holder waits. */
function emptySource(extra: Partial<ModelSource> = {}): ModelSource {
  return {
    readPointer: async () => undefined,
    loadRun: async () => {
      throw new Error('no run to load');
    },
    loadTestFrame: async () => {
      throw new Error('no test frame');
    },
    ...extra,
  };
}

describe('core > serve > model-holder', () => {
  it('tells its caller when it starts with no promotion to serve, so a person running it learns why predictions fail', async () => {
    const nothingPromoted = emptySource();
    const events: FltsEvent[] = [];
    const holder = createModelHolder({ source: nothingPromoted, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silent, onEvent: (event) => events.push(event) });
    await holder.start();
    await holder.stop();
    expect(events).toEqual([{ type: 'serve.waiting_for_promotion' }]);
    expect(holder.status().ready).toBe(false);
  });

  it('names on its waiting line where it looks for a promotion, since when, and how it will learn of one', async () => {
    const nothingPromoted = emptySource({ pointerLocation: { bucket: 'flts-promotion', keys: ['site-a/current.json', 'current.json', 'global/current.json'] } });
    const warned: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const logger = { ...silent, warn: (fields: Record<string, unknown>, msg?: string) => void warned.push({ fields, msg: msg ?? '' }), child: () => logger } as unknown as Logger;
    const before = Date.now();
    const holder = createModelHolder({ source: nothingPromoted, pollIntervalMs: 60_000, promotionTopic: 'model-selected', batching: { maxBatch: 1, maxWaitMs: 0 }, logger });
    await holder.start();
    await holder.stop();
    const waiting = warned.filter((line) => line.msg === 'serve_waiting_for_promotion');
    expect(waiting).toHaveLength(1);
    const { waiting_since: since, ...fields } = waiting[0].fields;
    expect(fields).toEqual({
      bucket: 'flts-promotion',
      pointers: ['site-a/current.json', 'current.json', 'global/current.json'],
      learns_by: 'bus+poll',
      promotion_topic: 'model-selected',
      poll_interval_ms: 60_000,
    });
    expect(Date.parse(since as string)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it('says a waiting holder with neither a bus nor a poll learns of a promotion only when told to reload', async () => {
    const nothingPromoted = emptySource();
    const warned: Array<Record<string, unknown>> = [];
    const logger = { ...silent, warn: (fields: Record<string, unknown>, msg?: string) => void (msg === 'serve_waiting_for_promotion' && warned.push(fields)), child: () => logger } as unknown as Logger;
    const holder = createModelHolder({ source: nothingPromoted, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger });
    await holder.start();
    await holder.stop();
    expect(warned).toEqual([expect.objectContaining({ learns_by: 'reload_only', promotion_topic: null, poll_interval_ms: null, bucket: null })]);
  });

  it('says nothing of a start a stop overtook: a server stopped while it read the pointer logs its stop last', async () => {
    let answer: (pointer: undefined) => void = () => {};
    const slowPointer = emptySource({ readPointer: () => new Promise((resolve) => (answer = resolve)) });
    const warned: string[] = [];
    const logger = { ...silent, warn: (_obj: object, msg?: string) => void warned.push(msg ?? ''), child: () => logger } as unknown as Logger;
    const events: FltsEvent[] = [];
    const holder = createModelHolder({ source: slowPointer, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger, onEvent: (event) => events.push(event) });
    const starting = holder.start();
    await new Promise((resolve) => setImmediate(resolve));
    const stopping = holder.stop();
    answer(undefined);
    await Promise.all([starting, stopping]);
    // Before, the start went on after the stop and said it waited for a promotion, after serve_stopped.
    expect(warned).toEqual([]);
    expect(events).toEqual([]);
  });
});
