import { describe, expect, it } from 'vitest';
import { createNaiveModel } from '../../src/core/models/naive-model.js';
import { createMemorySource, scaledTestFrame, withTestServer, WINDOW } from './serve-fixtures.js';

/**
 * The most CPU time the event loop spent in one turn (ms) while `work` ran: a setImmediate probe reads the
 * thread's CPU clock once a turn. CPU time rather than wall time, so other processes on the machine do not count.
 */
async function longestTurnMs(work: () => Promise<void>): Promise<number> {
  const cpuMs = (): number => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  let longest = 0;
  let last = cpuMs();
  let probing = true;
  const probe = (): void => {
    if (!probing) return;
    const now = cpuMs();
    longest = Math.max(longest, now - last);
    last = now;
    setImmediate(probe);
  };
  setImmediate(probe);
  try {
    await work();
  } finally {
    probing = false;
  }
  return longest;
}

describe('serve > long forecasts share the event loop', () => {
  it('concurrent 10000-row forecasts never hold the loop for long: the answers are built, recorded and sent a slice at a time', async () => {
    const requests = 40;
    // The first pass after `hold` waits for `release`: the other requests queue meanwhile and go on in one batch,
    // so they finish their forecasts in the same turn, as requests under load do.
    let hold = false;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const source = createMemorySource();
    source.runs.set('long', () => {
      // A horizon of 200 keeps the test short (50 passes a request); the rows to answer are what used to block.
      const model = createNaiveModel({ ...WINDOW, outputSeqLen: 200 });
      const predict = model.predict.bind(model);
      return Object.assign(model, {
        async predict(batch: Parameters<typeof predict>[0]) {
          if (hold) {
            hold = false;
            await held;
          }
          return predict(batch);
        },
      });
    });
    source.testFrames.set('hash-long', scaledTestFrame(30));
    source.promote('long');
    // No bound on the rows in flight: all 40 forecasts (400,000 rows) must run at once.
    await withTestServer(source, { holder: { batching: { maxBatch: 64, maxWaitMs: 0 } }, server: { maxQueuedRows: 0 } }, async (server) => {
      const ask = async (): Promise<number> => {
        const response = await fetch(`${server.url}/predict?inference_length=10000`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        await response.arrayBuffer();
        return response.status;
      };
      // Warm-up: the first answer compiles the serializers.
      expect(await ask()).toBe(200);
      const batcher = server.holder.current()?.batcher;
      let statuses: number[] = [];
      const turnMs = await longestTurnMs(async () => {
        hold = true;
        const answers = Promise.all(Array.from({ length: requests }, ask));
        while ((batcher?.queued ?? requests) < requests) await new Promise((resolve) => setImmediate(resolve));
        release();
        statuses = await answers;
      });
      expect(statuses).toEqual(Array.from({ length: requests }, () => 200));
      // The 39 answers of 10000 rows were built and sent in one turn (about half a second); a slice is 10 ms.
      expect(turnMs).toBeLessThan(150);
    });
  }, 60_000);
});
