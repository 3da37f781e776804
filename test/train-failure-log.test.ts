import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliLogger } from '../src/cli/cli-logger.js';
import { deliverWithRetries } from '../src/core/bus/delivery.js';
import type { OutgoingMessage, ReceivedMessage } from '../src/core/bus/message-bus.js';
import { FltsError } from '../src/core/errors.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { trainModels } from '../src/core/workflows/train.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';

const claim: ReceivedMessage = { topic: 'training-data', partition: 0, offset: '0', key: null, value: '{"bucket": "processed-data"}', headers: {}, timestamp: 0 };
const occurrences = (text: string, part: string): number => text.split(part).length - 1;

describe('a failed training in the log and the DLQ', () => {
  let slice: SliceHome;
  let failure: FltsError;

  beforeAll(async () => {
    // A window longer than the sampled rows: LSTM fails before fitting, as any model failure reaches the trainer.
    slice = createSliceHome('flts-train-failure-log-', { 'data.sampleTrainRows': 1500, 'training.inputSeqLen': 2000 });
    await preprocess(slice.settings, { store: slice.store });
    failure = (await trainModels({ models: ['LSTM'] }, slice.settings, { store: slice.store }).catch((error: unknown) => error)) as FltsError;
  });

  afterAll(() => slice?.remove());

  it('says the message once in the dead-letter log line and once in the DLQ envelope, with every cause in the stack', async () => {
    expect(failure).toBeInstanceOf(FltsError);
    expect(failure.cause).toBeInstanceOf(Error);
    const lines: string[] = [];
    const logger = createCliLogger('info', 'flts-daemon', { write: (line: string) => void lines.push(line) });
    const dead: OutgoingMessage[] = [];
    const result = await deliverWithRetries(claim, () => Promise.reject(failure), {
      policy: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 4 },
      signal: new AbortController().signal,
      logger,
      dlqOperation: 'train',
      publishDlq: async (_topic, message) => void dead.push(message),
    });
    expect(result.outcome).toBe('dead-lettered');

    const logged = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'bus_message_dead_lettered');
    expect(logged.err.message).toBe(failure.message);
    expect(occurrences(logged.err.message, failure.message)).toBe(1);
    expect(logged.err.stack).toMatch(/caused by: FltsError/);
    expect(occurrences(JSON.parse(dead[0].value).error, failure.message)).toBe(1);
  });

  it('keeps every message of a chain that says something new, and stops at a cause that loops', () => {
    const inner = new Error('disk full');
    const outer = new FltsError('FLTS_STORE_UNAVAILABLE', 'store write failed', { cause: inner });
    (inner as { cause?: unknown }).cause = outer;
    const lines: string[] = [];
    createCliLogger('info', undefined, { write: (line: string) => void lines.push(line) }).error({ err: outer }, 'failed');
    expect(JSON.parse(lines[0]).err.message).toBe('store write failed: disk full');
  });
});
