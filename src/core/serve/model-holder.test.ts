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
});
