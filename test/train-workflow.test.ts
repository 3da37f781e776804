import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../src/core/bus/fs-bus.js';
import type { MessageBus } from '../src/core/bus/message-bus.js';
import { decodeTrainingEvent } from '../src/core/bus/messages.js';
import { FltsError } from '../src/core/errors.js';
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { FltsEvent } from '../src/core/events.js';
import type { RunRecord } from '../src/core/registry/run-record.js';
import { listRunRecords, processStartOf, readRunRecord, saveRunRecord } from '../src/core/registry/run-store.js';
import { preprocess } from '../src/core/workflows/preprocess.js';
import { trainModels } from '../src/core/workflows/train.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { readTopics } from './helpers/read-topic.js';

let slice: SliceHome;
let bus: MessageBus;

beforeEach(() => {
  // 1,500 sampled rows: SNAIVE reads one day (720 rows) and trains.
  slice = createSliceHome('flts-train-workflow-', { 'data.sampleTrainRows': 1500 });
  bus = createFsBus({ root: path.join(slice.home, 'bus'), pollIntervalMs: 10 });
});
afterEach(async () => {
  await bus.close();
  slice.remove();
});

describe('workflows > trainModels', () => {
  it('trains every model despite a failing one, announces each outcome on model-training, then rethrows the failure', async () => {
    const { store } = slice;
    // A learning rate that breaks the network's weights at its first steps: LSTM fails while training, SNAIVE trains.
    const settings = { ...slice.settings, training: { ...slice.settings.training, learningRate: 1e300 } };
    const { configHash } = await preprocess(settings, { store });
    const finished: string[] = [];
    const failure = await trainModels({ models: ['LSTM', 'SNAIVE'] }, settings, { store, bus, onRunFinished: (type, status) => finished.push(`${type} ${status}`) }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(FltsError);
    expect((failure as FltsError).code).toBe('FLTS_TRAIN_DIVERGED');
    const runs = await listRunRecords(store, settings, { configHash });
    const lstm = runs.find((run) => run.model_type === 'LSTM')!;
    const snaive = runs.find((run) => run.model_type === 'SNAIVE')!;
    expect([lstm.status, snaive.status]).toEqual(['FAILED', 'SUCCESS']);
    expect((failure as FltsError).details).toMatchObject({ succeeded: [snaive.run_id], failed: [lstm.run_id] });
    // Both models may train at once (training.parallelModels): each keeps its own order.
    expect([...finished].sort()).toEqual(['LSTM FAILED', 'SNAIVE SUCCESS']);

    const events = (await readTopics(bus, [settings.bus.topics.modelTraining], 4)).map((message) => ({ key: message.key, event: decodeTrainingEvent(message) }));
    const ofModel = (type: string) => events.filter(({ event }) => event.modelType === type);
    expect(['LSTM', 'SNAIVE'].flatMap((type) => ofModel(type).map(({ key, event }) => `${key} ${event.status} ${event.modelType} ${event.experiment} ${event.configHash === configHash}`))).toEqual([
      'null RUNNING LSTM Default true',
      'failed-LSTM FAILED LSTM Default true',
      'null RUNNING SNAIVE NonML true',
      'trained-SNAIVE SUCCESS SNAIVE NonML true',
    ]);
    expect(['LSTM', 'SNAIVE'].flatMap((type) => ofModel(type).map(({ event }) => ('runId' in event ? event.runId : undefined)))).toEqual([undefined, lstm.run_id, undefined, snaive.run_id]);
  });

  // Prophet's optimiser gives up on the first 400 rows of PobleSec at the default settings: the failure came as
  // FLTS_TRAIN_FAILED, kind internal (exit 1, a fault of flts), with a hint to read the run.json.
  it("fails a Prophet fit the series defeats with the data's and the settings' code, and keeps the run of the type that trained", async () => {
    const { store } = slice;
    const settings = { ...slice.settings, data: { ...slice.settings.data, sampleTrainRows: 400 } };
    const { configHash } = await preprocess(settings, { store });
    const failure = await trainModels({ models: ['PROPHET', 'NAIVE'] }, settings, { store }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: 'FLTS_TRAIN_OPTIMIZER_FAILED', kind: 'usage' });
    expect((failure as FltsError).message).toMatch(/^Prophet's optimiser found no fit for target "down" over \d+ training rows \(.*\)\. Train the other model types without PROPHET/);
    const runs = await listRunRecords(store, settings, { configHash });
    expect(runs.map((run) => `${run.model_type} ${run.status}`).sort()).toEqual(['NAIVE SUCCESS', 'PROPHET FAILED']);
  });

  it('refuses a model type the training rows cannot carry before recording a run of it, and trains the others', async () => {
    const { store } = slice;
    // A window longer than the 1,500 sampled rows: LSTM can make no window; SNAIVE reads one day and trains.
    const settings = { ...slice.settings, training: { ...slice.settings.training, inputSeqLen: 2000 } };
    const { configHash } = await preprocess(settings, { store });
    const events: FltsEvent[] = [];
    const failure = await trainModels({ models: ['LSTM', 'SNAIVE'] }, settings, { store, bus, onEvent: (event) => events.push(event) }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { modelType: 'LSTM', rows: 1500, needed: 2002, setting: 'data.sampleTrainRows' } });
    expect((failure as FltsError).message).toMatch(/^LSTM needs at least 2002 training rows .* has 1500\..*SAMPLE_TRAIN_ROWS.*INPUT_SEQ_LEN/);
    const runs = await listRunRecords(store, settings, { configHash });
    expect(runs.map((run) => `${run.model_type} ${run.status}`)).toEqual(['SNAIVE SUCCESS']);
    // Told before any model trains, as a warning.
    const warning = events.findIndex((event) => event.type === 'log' && event.level === 'warn' && event.message.startsWith('LSTM needs at least 2002'));
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(warning).toBeLessThan(events.findIndex((event) => event.type === 'train.start'));
    const announced = (await readTopics(bus, [settings.bus.topics.modelTraining], 2)).map((message) => decodeTrainingEvent(message));
    expect(announced.map((event) => `${event.modelType} ${event.status}`)).toEqual(['SNAIVE RUNNING', 'SNAIVE SUCCESS']);
  });

  it('refuses at once, recording nothing, when no requested type can train on the rows', async () => {
    const { store } = slice;
    const settings = { ...slice.settings, training: { ...slice.settings.training, inputSeqLen: 2000 } };
    const { configHash } = await preprocess(settings, { store });
    const failure = await trainModels({ models: ['LSTM', 'NAIVE'] }, settings, { store }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { refused: [{ modelType: 'LSTM' }, { modelType: 'NAIVE' }] } });
    expect((failure as FltsError).message).toMatch(/LSTM needs .* NAIVE needs .*\(2 of 2 models not trained\)$/);
    expect(await listRunRecords(store, settings, { configHash })).toEqual([]);
    expect(await store.list(settings.store.buckets.runs, 'leases/')).toEqual([]);
  });

  it('trains on the processed data of another bucket when the request names one, and records where it came from', async () => {
    const { settings, store } = slice;
    const elsewhere = { ...settings, store: { ...settings.store, buckets: { ...settings.store.buckets, processed: 'claimed-elsewhere' } } };
    const { configHash } = await preprocess(elsewhere, { store });
    const result = await trainModels({ models: ['SNAIVE'], configHash, processedBucket: 'claimed-elsewhere' }, settings, { store });
    expect(result.runs.map((run) => [run.status, run.data.processed_bucket])).toEqual([['SUCCESS', 'claimed-elsewhere']]);
    expect(result.tracking).toEqual({ status: 'disabled' });
  });

  it('records as KILLED a run left RUNNING by a process that died, leaving runs of live or unknown processes alone', async () => {
    const { settings, store } = slice;
    const { configHash } = await preprocess(settings, { store });
    const trained = await trainModels({ models: ['SNAIVE'] }, settings, { store });
    const template = trained.runs[0];
    expect(template.owner).toEqual({ host: os.hostname(), pid: process.pid, started: expect.stringMatching(/^[0-9a-f-]+:\d+$/), pid_namespace: expect.stringMatching(/^\d+$/) });
    // A pid that was in use and is no more: a process that exited.
    const exited = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
    // Unsealed, as training leaves a record until it succeeds.
    const running = (runId: string, owner: RunRecord['owner']): RunRecord => ({ ...template, run_id: runId, status: 'RUNNING', metrics: undefined, record_sha256: undefined, timings: { started_at: template.timings.started_at }, owner });
    await saveRunRecord(store, settings, running('killedbysigkill', { host: os.hostname(), pid: deadPid }));
    await saveRunRecord(store, settings, running('stillgoing', { host: os.hostname(), pid: process.ppid }));
    await saveRunRecord(store, settings, running('elsewhere', { host: `${os.hostname()}-other`, pid: deadPid }));
    await saveRunRecord(store, settings, running('before-owners', undefined));
    // The same pid, started at another time: an earlier process given this pid (a restarted container's), or a
    // process the pid went to since.
    const bootId = template.owner!.started!.split(':')[0];
    await saveRunRecord(store, settings, running('samepid', { host: os.hostname(), pid: process.pid, started: `${bootId}:1` }));
    await saveRunRecord(store, settings, running('pidreused', { host: os.hostname(), pid: process.ppid, started: `${bootId}:1` }));
    await saveRunRecord(store, settings, running('parentgoing', { host: os.hostname(), pid: process.ppid, started: processStartOf(process.ppid) }));

    const events: FltsEvent[] = [];
    // The live ones are SNAIVE runs of this data too: trained beside them, not refused, to see them left alone.
    await trainModels({ models: ['SNAIVE'], inProgress: 'train' }, settings, { store, onEvent: (event) => events.push(event) });
    const status = Object.fromEntries((await listRunRecords(store, settings, { configHash })).map((run) => [run.run_id, run.status]));
    expect(status).toMatchObject({ killedbysigkill: 'KILLED', stillgoing: 'RUNNING', elsewhere: 'RUNNING', 'before-owners': 'RUNNING', samepid: 'KILLED', pidreused: 'KILLED', parentgoing: 'RUNNING' });
    expect((await readRunRecord(store, settings, 'killedbysigkill')).error?.message).toContain(`pid ${deadPid}`);
    expect(events).toContainEqual({ type: 'log', level: 'warn', message: expect.stringContaining('killedbysigkill was left RUNNING') });
  });
});
