import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliLogger } from '../src/cli/cli-logger.js';
import { createProgressLog } from '../src/cli/progress-log.js';
import type { FltsEvent } from '../src/core/events.js';
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

  it('says the message once in the dead-letter log line (warn, no stack: a refusal of the input) and once in the DLQ envelope, with every cause in the stack at debug', async () => {
    expect(failure).toBeInstanceOf(FltsError);
    expect(failure.cause).toBeInstanceOf(Error);
    const lines: string[] = [];
    const logger = createCliLogger('debug', 'flts-daemon', { write: (line: string) => void lines.push(line) });
    const dead: OutgoingMessage[] = [];
    const result = await deliverWithRetries(claim, () => Promise.reject(failure), {
      policy: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 4 },
      signal: new AbortController().signal,
      logger,
      dlqOperation: 'train',
      publishDlq: async (_topic, message) => void dead.push(message),
    });
    expect(result.outcome).toBe('dead-lettered');

    const entries = lines.map((line) => JSON.parse(line));
    const logged = entries.find((entry) => entry.msg === 'bus_message_dead_lettered');
    expect(logged).toMatchObject({ level: 40, code: failure.code, reason: failure.message });
    expect(logged.err).toBeUndefined();
    expect(occurrences(JSON.stringify(logged), failure.message)).toBe(1);
    const stack = entries.find((entry) => entry.msg === 'bus_handler_failure_stack');
    expect(stack).toMatchObject({ level: 20 });
    expect(stack.err.stack).toMatch(/caused by: FltsError/);
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

  it('under --json logs no done line for a run refused before its fit began, whose coded error tells it', async () => {
    // A network too large for memory is refused once its run is recorded, before any training: its run ends FAILED unstarted.
    const large = createSliceHome('flts-train-failure-progress-', { 'data.sampleTrainRows': 1500, 'training.hiddenSize': 2048, 'training.numLayers': 8, 'training.batchSize': 1024 });
    try {
      await preprocess(large.settings, { store: large.store });
      const events: FltsEvent[] = [];
      const lines: string[] = [];
      const progress = createProgressLog(createCliLogger('info', undefined, { write: (line: string) => void lines.push(line) }));
      const refused = await trainModels({ models: ['LSTM'] }, large.settings, { store: large.store, onEvent: (event) => (events.push(event), progress(event)) }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'FLTS_MODEL_TOO_LARGE', details: { status: 'FAILED', runId: expect.any(String) } });
      expect(events.map((event) => event.type)).toEqual(['train.done']);
      // Before: train_model_done with model_type and duration_ms null, a done line for a model that never started.
      expect(lines.map((line) => JSON.parse(line).msg)).not.toContain('train_model_done');
    } finally {
      large.remove();
    }
  });
});
