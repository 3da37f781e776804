import { describe, expect, it } from 'vitest';
import type { FltsEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { createModelHolder } from './model-holder.js';
import type { ModelSource } from './model-source.js';

const silent: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent } as unknown as Logger;

describe('core > serve > model-holder', () => {
  it('tells its caller when it starts with no promotion to serve, so a person running it learns why predictions fail', async () => {
    const nothingPromoted: ModelSource = {
      readPointer: async () => undefined,
      loadRun: async () => {
        throw new Error('no run to load');
      },
      loadTestFrame: async () => {
        throw new Error('no test frame');
      },
    };
    const events: FltsEvent[] = [];
    const holder = createModelHolder({ source: nothingPromoted, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silent, onEvent: (event) => events.push(event) });
    await holder.start();
    await holder.stop();
    expect(events).toEqual([{ type: 'serve.waiting_for_promotion' }]);
    expect(holder.status().ready).toBe(false);
  });

  it('says nothing of a start a stop overtook: a server stopped while it read the pointer logs its stop last', async () => {
    let answer: (pointer: undefined) => void = () => {};
    const slowPointer: ModelSource = {
      readPointer: () => new Promise((resolve) => (answer = resolve)),
      loadRun: async () => {
        throw new Error('no run to load');
      },
      loadTestFrame: async () => {
        throw new Error('no test frame');
      },
    };
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
