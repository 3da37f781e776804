import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import type { MessageBus } from '../src/core/bus/message-bus.js';
import { decodeTrainingEvent } from '../src/core/bus/messages.js';
import type { Settings } from '../src/core/config/settings.js';
import type { FltsEvent } from '../src/core/events.js';
import type { RunRecord } from '../src/core/registry/run-record.js';
import { runRecordDigest } from '../src/core/registry/run-record-seal.js';
import { listRunRecords, runKey, runsBucket } from '../src/core/registry/run-store.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { trainModels } from '../src/core/workflows/train.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { readTopics } from './helpers/read-topic.js';

let slice: SliceHome;
let bus: MessageBus;

beforeEach(() => {
  slice = createSliceHome('flts-train-parallel-', { 'training.epochs': 3, 'training.engine': 'onnx' });
  bus = createFsBus({ root: path.join(slice.home, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  slice.remove();
});

function atOnce(settings: Settings, parallelModels: number): Settings {
  return { ...settings, training: { ...settings.training, parallelModels } };
}

/**
 * Every stored file of a run with its identity taken out; the epoch log keeps its losses but not its durations.
 */
async function artefacts(settings: Settings, run: RunRecord): Promise<Record<string, string>> {
  const bucket = runsBucket(settings);
  const files = (await slice.store.list(bucket, `${run.run_id}/`)).map((info) => info.key.slice(run.run_id.length + 1));
  const out: Record<string, string> = {};
  for (const name of files.sort()) {
    const body = Buffer.from(await slice.store.get(bucket, runKey(run.run_id, name))).toString(name.endsWith('.json') || name.endsWith('.svg') ? 'utf8' : 'base64');
    if (name === 'run.json') {
      // The seal covers the run's id and timings too: checked here, then compared without them.
      const record = JSON.parse(body) as RunRecord;
      expect(record.record_sha256).toBe(runRecordDigest(record));
      const { run_id: _id, timings: _timings, record_sha256: _seal, ...rest } = record;
      out[name] = JSON.stringify(rest);
    } else out[name] = name === 'metrics.json' ? JSON.stringify((JSON.parse(body) as { epochs: Array<Record<string, number>> }).epochs.map(({ epoch, loss, val_loss }) => ({ epoch, loss, val_loss }))) : withoutRunId(body, run.run_id);
  }
  return out;
}

describe('workflows > trainModels side by side', () => {
  it('trains model types at the same time with the same artefacts and metrics as one after another, each model keeping its own event order', async () => {
    const { settings, store } = slice;
    await preprocess(settings, { store });
    const models = ['LSTM', 'GRU', 'NAIVE'] as const;

    // Side by side first: the two networks also select the process's tfjs backend at the same time.
    const events: FltsEvent[] = [];
    const parallel = await trainModels({ models: [...models] }, atOnce(settings, 2), { store, bus, onEvent: (event) => events.push(event) });
    const sequential = await trainModels({ models: [...models] }, atOnce(settings, 1), { store });

    expect(parallel.runs.map((run) => run.model_type)).toEqual([...models]);
    expect(parallel.runs.map((run) => run.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(parallel.runs.slice(0, 2).map((run) => run.backend)).toEqual(sequential.runs.slice(0, 2).map((run) => run.backend));
    expect(parallel.runs[0].backend).toMatch(/^(node|wasm)\+onnx$/);
    // What progress announces is what the run records (the engine is chosen after the backend).
    for (const run of parallel.runs.slice(0, 2)) expect(events.find((e) => e.type === 'train.start' && e.runId === run.run_id)).toMatchObject({ backend: run.backend });
    for (const [k, run] of parallel.runs.entries()) expect(await artefacts(settings, run)).toEqual(await artefacts(settings, sequential.runs[k]));

    // The two networks were in training at once: GRU started before LSTM finished.
    const lstm = parallel.runs[0].run_id;
    const gru = parallel.runs[1].run_id;
    const position = (match: (event: FltsEvent) => boolean): number => events.findIndex(match);
    expect(position((e) => e.type === 'train.start' && e.runId === gru)).toBeLessThan(position((e) => e.type === 'train.done' && e.runId === lstm));
    for (const runId of [lstm, gru]) {
      const own = events.filter((e) => 'runId' in e && e.runId === runId).map((e) => (e.type === 'train.epoch_end' ? `epoch ${e.epoch}` : e.type));
      expect(own.filter((e) => e !== 'train.batch_end' && e !== 'train.predict')).toEqual(['train.start', 'epoch 1', 'epoch 2', 'epoch 3', 'train.done']);
    }

    const messages = (await readTopics(bus, [settings.bus.topics.modelTraining], 2 * models.length)).map((message) => decodeTrainingEvent(message));
    for (const type of models) expect(messages.filter((m) => m.modelType === type).map((m) => m.status)).toEqual(['RUNNING', 'SUCCESS']);
  });

  it('stops every model in training on abort and starts no other', async () => {
    const { settings, store } = slice;
    const { configHash } = await preprocess(settings, { store });
    // Long enough that neither network can finish before the other has started.
    const long = { ...atOnce(settings, 2), training: { ...atOnce(settings, 2).training, epochs: 500, earlyStopping: false } };
    const abort = new AbortController();
    const batches = new Set<string>();
    const stopped = await trainModels({ models: ['LSTM', 'GRU', 'NAIVE'] }, long, {
      store,
      signal: abort.signal,
      onEvent: (event) => {
        if (event.type !== 'train.batch_end') return;
        batches.add(event.runId);
        // Both networks are in training before the abort.
        if (batches.size === 2) abort.abort();
      },
    }).catch((error: unknown) => error);

    expect((stopped as { code?: string }).code).toBe('FLTS_TRAIN_ABORTED');
    const runs = await listRunRecords(store, settings, { configHash });
    expect(runs.map((run) => `${run.model_type} ${run.status}`).sort()).toEqual(['GRU KILLED', 'LSTM KILLED']);
    // The error names both runs it left KILLED, in request order (before, only the first one stopped).
    const [lstm, gru] = ['LSTM', 'GRU'].map((type) => runs.find((run) => run.model_type === type)!.run_id);
    expect(stopped).toMatchObject({ details: { killed: [lstm, gru], notStarted: ['NAIVE'], succeeded: [] } });
    expect((stopped as Error).message).toContain(`Run ${lstm} was stopped and is recorded as KILLED. Run ${gru} was stopped and is recorded as KILLED.`);
  });

  it('an abort while a model fits: that run ends KILLED at its next check, and the models not started are named, not passed over', async () => {
    const { settings, store } = slice;
    const { configHash } = await preprocess(settings, { store });
    const abort = new AbortController();
    const stopped = await trainModels({ models: ['NAIVE', 'SNAIVE', 'LSTM'] }, atOnce(settings, 1), {
      store,
      signal: abort.signal,
      onEvent: (event) => {
        if (event.type === 'train.start' && event.modelType === 'NAIVE') abort.abort();
      },
    }).catch((error: unknown) => error);

    const runs = await listRunRecords(store, settings, { configHash });
    expect(runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['NAIVE KILLED']);
    expect(stopped).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', details: { notStarted: ['SNAIVE', 'LSTM'], succeeded: [] } });
    expect((stopped as Error).message).toMatch(/KILLED.*SNAIVE, LSTM never started.*finished: none/);
  });

  it('an abort of the one model in training: the outcome after the run\'s sentence begins a sentence of its own', async () => {
    const { settings, store } = slice;
    await preprocess(settings, { store });
    const abort = new AbortController();
    const stopped = await trainModels({ models: ['NAIVE'] }, atOnce(settings, 1), {
      store,
      signal: abort.signal,
      onEvent: (event) => {
        if (event.type === 'train.start') abort.abort();
      },
    }).catch((error: unknown) => error);

    expect(stopped).toMatchObject({ code: 'FLTS_TRAIN_ABORTED', details: { notStarted: [], succeeded: [] } });
    expect((stopped as Error).message).toMatch(/^Run \S+ was stopped and is recorded as KILLED\. Finished: none\.$/);
  });
});

/** `text` without the run's id, whole or as the 8 characters a chart's title shows. */
function withoutRunId(text: string, runId: string): string {
  return text.split(runId).join('<run>').split(runId.slice(0, 8)).join('<run>');
}
