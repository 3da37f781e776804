import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { addLoadableRun, fixtureCalibration } from '../workflows/loadable-run.fixture.js';
import { loadRunForServing } from './load-run.js';
import { canonicalJson } from './run-record-seal.js';
import { silentLogger } from '../logger.js';
import type { MstlArtifact } from '../models/mstl-model.js';
import { fitProphetModel } from '../models/prophet-model.js';
import { buildRecurrentNetwork } from '../models/recurrent-model.js';
import type { ObjectStore } from '../storage/object-store.js';
import { exportRun } from './export-run.js';
import { MODEL_ARTIFACT_FILES, readRunNetworkWeights, saveModelJson, saveNetwork } from './run-artifacts.js';
import { fakeRun } from './run-record.fixture.js';
import { MAX_RUN_JSON_BYTES, readRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-load-run-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };
const lstm = fakeRun('lstm', 'LSTM', metrics, '2025-01-01T00:00:00.000Z');
const naive = fakeRun('naive', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z');
const mstl = fakeRun('mstl', 'MSTL', metrics, '2025-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
const mstlArtifact: MstlArtifact = { format: 'flts-mstl-v1', period: 24, cadenceMs: HOUR, profiles: { down: Array.from({ length: 24 }, (_, i) => i / 100) }, window: mstl.window };

beforeEach(async () => {
  await addLoadableRun(store, settings, lstm);
  await addLoadableRun(store, settings, naive);
  await addLoadableRun(store, settings, mstl);
  await saveModelJson(store, settings, 'mstl', MODEL_ARTIFACT_FILES.MSTL, mstlArtifact);
  // A calibration is optional and the fixture writes none: one a test wrote goes with it.
  for (const run of ['lstm', 'naive', 'mstl']) await store.delete('runs', `${run}/intervals.json`);
});

/** Rewrites one JSON file of a run with `edit` applied. */
async function editJson(key: string, edit: (value: any) => void): Promise<void> {
  const value = JSON.parse((await store.get('runs', key)).toString('utf8'));
  edit(value);
  await store.put('runs', key, JSON.stringify(value));
}

async function truncate(key: string, bytes: number): Promise<void> {
  await store.put('runs', key, (await store.get('runs', key)).subarray(0, bytes));
}

describe('core > registry > loadRunForServing on damaged run files', () => {
  it('loads the intact runs', async () => {
    expect((await loadRunForServing(store, settings, 'lstm')).run.run_id).toBe('lstm');
    expect((await loadRunForServing(store, settings, 'naive')).run.run_id).toBe('naive');
    expect((await loadRunForServing(store, settings, 'mstl')).run.run_id).toBe('mstl');
    // The fixture's scaler leaves values as they are: training floors a counter at 0.
    await editJson('naive/run.json', (v) => (v.window.targetFloors = { down: 0 }));
    expect((await loadRunForServing(store, settings, 'naive')).run.window.targetFloors).toEqual({ down: 0 });
  });

  it('refuses weights cut short as FLTS_RUN_CORRUPT, on the tfjs path and the plain-weights path alike', async () => {
    await truncate('lstm/model/weights.bin', 20);
    await expect(loadRunForServing(store, settings, 'lstm')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('lstm/model/model.json does not load with its weights') });
    await expect(readRunNetworkWeights(store, settings, await readRunRecord(store, settings, 'lstm'))).rejects.toMatchObject({
      code: 'FLTS_RUN_CORRUPT',
      message: expect.stringMatching(/weights\.bin has 20 bytes where model\.json lists \d+/),
    });
  });

  it.each([
    ['lstm/model/model.json', 'truncated', /model\.json is not valid JSON/],
    ['lstm/scaler.json', '{}', /scaler\.json lacks columns, offset or scale/],
    ['lstm/intervals.json', '{"errors": 1}', /intervals\.json is not an interval calibration/],
    ['naive/model/naive.json', '{}', /naive\.json has no window/],
    ['naive/scaler.json', '{"columns": ["down"], "off', /scaler\.json is not valid JSON/],
  ])('refuses %s when it is %s', async (key, body, message) => {
    if (body === 'truncated') await truncate(key, 40);
    else await store.put('runs', key, body);
    await expect(loadRunForServing(store, settings, key.split('/')[0])).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });

  // Each of these was FLTS_INTERNAL (or, for the horizon of 0, a predict that never ended) before they were checked.
  it.each([
    ['naive/model/naive.json', 'a horizon of 0', (v: any) => (v.window.outputSeqLen = 0), /naive\.json has a window that is not its run's/],
    ['naive/model/naive.json', 'a window of -1 rows', (v: any) => (v.window.inputSeqLen = -1), /naive\.json has a window that is not its run's/],
    ['naive/run.json', 'a horizon of 2^31', (v: any) => (v.window.outputSeqLen = 2 ** 31), /window\.outputSeqLen is over 10000/],
    ['mstl/model/mstl.json', 'a period of 2^31', (v: any) => (v.period = 2 ** 31), /mstl\.json has no 2147483648 finite seasonal values for target "down"/],
    ['mstl/model/mstl.json', 'a cadence of 0', (v: any) => (v.cadenceMs = 0), /mstl\.json has no cadence between 1 ms and a day/],
    ['mstl/model/mstl.json', 'a profile of text', (v: any) => (v.profiles.down = 'x'), /mstl\.json has no 24 finite seasonal values/],
    ['naive/scaler.json', 'a scale of 0', (v: any) => (v.scale = [0]), /scaler\.json has an offset or a scale that is not a finite number \(or a scale of 0\)/],
    ['naive/scaler.json', 'an offset of null', (v: any) => (v.offset = [null]), /scaler\.json has an offset or a scale that is not a finite number/],
    ['naive/intervals.json', 'errors of text', (v: any) => (v.errors = { down: [['x']] }), /intervals\.json has errors that are not steps of numbers/],
    ['mstl/intervals.json', 'a season without its target', (v: any) => (v.season = { period: 24, cadenceMs: HOUR, profiles: {} }), /intervals\.json has no 24 finite seasonal values/],
    ['lstm/model/model.json', 'a negative weight size', (v: any) => (v.weightsManifest[0].weights[0].shape = [-1, 16]), /model\.json lists weight "\S+" without a shape of non-negative integer sizes/],
    ['lstm/model/model.json', 'a weight size of text', (v: any) => (v.weightsManifest[0].weights[0].shape = 'x'), /without a shape of non-negative integer sizes/],
    ['naive/run.json', 'a floor far above 0', (v: any) => (v.window.targetFloors = { down: 1e300 }), /run\.json has window\.targetFloors\.down 1e\+300, not where 0 falls on its scaler \(0\)/],
    ['naive/run.json', 'a floor of null', (v: any) => (v.window.targetFloors = { down: null }), /run\.json has window\.targetFloors\.down null/],
    ['lstm/run.json', 'a window of another width', (v: any) => (v.window.features = ['down', 'up']), /model\.json reads 2 x 1 values and writes 1 where its run's window reads 2 x 2 and writes 1/],
  ])('refuses %s with %s as FLTS_RUN_CORRUPT', async (key, _damage, edit, message) => {
    if (!(await store.exists('runs', key))) await store.put('runs', key, JSON.stringify({ format: 'flts-conformal-v1', errors: { down: [[0.1]] }, floors: { down: 0 } }));
    await editJson(key, edit);
    await expect(loadRunForServing(store, settings, key.split('/')[0])).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });

  it('refuses floors training did not write in an export too, where they would be built into the graph', async () => {
    await editJson('lstm/run.json', (v) => (v.window.targetFloors = { down: 1e300 }));
    await expect(exportRun(store, settings, 'lstm')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/lstm\/run\.json has window\.targetFloors\.down 1e\+300/) });
  });

  it('refuses a damaged model.json on the plain-weights path as on the tfjs path', async () => {
    await editJson('lstm/model/model.json', (v) => (v.weightsManifest[0].weights[0].shape = [-1, 16]));
    await expect(readRunNetworkWeights(store, settings, lstm)).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/without a shape of non-negative integer sizes/) });
    await addLoadableRun(store, settings, lstm);
    await editJson('lstm/run.json', (v) => (v.window.outputSeqLen = 3));
    await expect(readRunNetworkWeights(store, settings, await readRunRecord(store, settings, 'lstm'))).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/writes 1 where its run's window reads 2 x 1 and writes 3/) });
    // Serving's plain-weights path sized its buffers by the record's window: 2^31 rows failed as FLTS_INTERNAL.
    await editJson('lstm/run.json', (v) => Object.assign(v.window, { outputSeqLen: 1, inputSeqLen: 2 ** 31 }));
    await expect(readRunNetworkWeights(store, settings, await readRunRecord(store, settings, 'lstm'))).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/reads 2 x 1 values and writes 1 where its run's window reads 2147483648 x 1/) });
  });

  it('takes a directory in place of a run file for a missing file, not a failure of flts', async () => {
    rmSync(path.join(root, 'runs', 'naive', 'scaler.json'));
    mkdirSync(path.join(root, 'runs', 'naive', 'scaler.json'));
    await expect(loadRunForServing(store, settings, 'naive')).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING' });
    rmSync(path.join(root, 'runs', 'naive', 'scaler.json'), { recursive: true });
  });
});

describe('core > registry > loadRunForServing of a run trained with an interval calibration', () => {
  // As training writes them: the record names intervals.json among its artifacts, and with digests hashes it too.
  const banded = fakeRun('banded', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z');
  const sealed = fakeRun('sealed', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z');
  beforeEach(async () => {
    // Whatever a failed test left in the file's place (a directory is not written over).
    for (const runId of ['banded', 'sealed']) rmSync(path.join(root, 'runs', runId, 'intervals.json'), { recursive: true, force: true });
    await addLoadableRun(store, settings, banded, { intervals: true });
    await addLoadableRun(store, settings, sealed, { intervals: true, digests: true });
  });

  it('loads its calibration as training wrote it, and a run trained before calibrations existed without one', async () => {
    for (const runId of ['banded', 'sealed']) expect((await loadRunForServing(store, settings, runId)).intervals).toEqual(fixtureCalibration(banded.window));
    // The record of a run trained before calibrations names none, and it is served without bands as before.
    expect((await loadRunForServing(store, settings, 'naive')).intervals).toBeUndefined();
  });

  // Each was served without bands, as if the run never had any: the loader took them for a missing, optional file.
  it.each([
    ['deleted', async (file: string) => rmSync(file)],
    ['a directory', async (file: string) => (rmSync(file), mkdirSync(file))],
    ['a FIFO without a writer', async (file: string) => (rmSync(file), await promisify(execFile)('mkfifo', [file]))],
  ])('refuses its intervals.json %s as FLTS_MODEL_ARTIFACT_MISSING, with digests or without', async (_what, replace) => {
    for (const runId of ['banded', 'sealed']) {
      const file = path.join(root, 'runs', runId, 'intervals.json');
      await replace(file);
      await expect(loadRunForServing(store, settings, runId)).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING', message: expect.stringContaining(`${runId}/intervals.json`) });
      rmSync(file, { recursive: true, force: true });
    }
  });

  it('refuses an intervals.json cut short, or of another run, as FLTS_RUN_CORRUPT', async () => {
    await truncate('banded/intervals.json', 40);
    await expect(loadRunForServing(store, settings, 'banded')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/banded\/intervals\.json is not valid JSON/) });
    await editJson('sealed/intervals.json', (v) => (v.errors.down[0][19] = 3));
    await expect(loadRunForServing(store, settings, 'sealed')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('sealed/intervals.json does not have the SHA-256') });
  });

  // On a run without digests (trained before they were kept) only the content tells: each of these loaded and was
  // served as bands upside down, bands without their floor, no band at all, or (smoothing) FLTS_INTERNAL at the first request.
  it.each([
    ['a negative ratio', (v: any) => (v.errors.down[0] = [-0.5, 0.1]), /at step 1 that are not finite ratios of 0 or more in ascending order/],
    ['ratios out of order', (v: any) => (v.errors.down[0] = [0.5, 0.1]), /at step 1 that are not finite ratios of 0 or more in ascending order/],
    ['an infinite ratio', (v: any) => (v.errors.down[0] = ['INFINITE']), /at step 1 that are not finite ratios of 0 or more in ascending order/],
    ['no errors for its target', (v: any) => (v.errors = {}), /has no errors for target "down"/],
    ['errors of a target not its run\'s', (v: any) => (v.errors.up = v.errors.down), /has errors of "up", which is not a target of its run/],
    ['no step of errors', (v: any) => (v.errors.down = []), /has 0 steps of errors for target "down" where its run forecasts 1/],
    ['no floor for its target', (v: any) => (v.floors = {}), /has no floor of 0 or more for target "down"/],
    ['a negative floor', (v: any) => (v.floors.down = -1), /has no floor of 0 or more for target "down"/],
    ['a lower bound above 0', (v: any) => (v.lowerBounds = { down: 1e6 }), /has a lower bound 1000000 for "down" where training bounds only its run's targets, at 0/],
    ['a negative growth', (v: any) => (v.growth = { fitEnd: 0, perHour: { down: -1 } }), /has a negative growth/],
    ['a scale flts does not compute', (v: any) => (v.scale = 'sideways'), /has a scale "sideways" that flts does not compute/],
    ['a smoothing scale without its season', (v: any) => (v.scale = 'smoothing'), /has a smoothing scale without the season it takes out/],
  ])('refuses an intervals.json with %s as FLTS_RUN_CORRUPT on a run without digests', async (_damage, edit, message) => {
    await editJson('banded/intervals.json', edit);
    // JSON has no Infinity: a number too large for a double reads as one.
    await store.put('runs', 'banded/intervals.json', (await store.get('runs', 'banded/intervals.json')).toString('utf8').replace('"INFINITE"', '1e999'));
    await expect(loadRunForServing(store, settings, 'banded')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });
});

/** Records in the run's run.json the SHA-256 of `files` (relative to the run) as they are now, as training does. */
async function recordDigests(runId: string, files: string[]): Promise<void> {
  const digests: Record<string, string> = {};
  for (const file of files) digests[file] = createHash('sha256').update(await store.get('runs', `${runId}/${file}`)).digest('hex');
  await editJson(`${runId}/run.json`, (v) => (v.artifact_sha256 = digests));
}

/** Flips one bit of a float32 weight: the file keeps its size and its numbers stay finite. */
async function flipBit(key: string): Promise<void> {
  const bytes = Buffer.from(await store.get('runs', key));
  bytes[5] ^= 0x01;
  await store.put('runs', key, bytes);
}

describe('core > registry > loadRunForServing checks the digests its run recorded', () => {
  const LSTM_FILES = ['intervals.json', 'model/model.json', 'model/weights.bin', 'scaler.json'];

  beforeEach(async () => {
    await store.put('runs', 'lstm/intervals.json', JSON.stringify({ format: 'flts-conformal-v1', errors: { down: [[0.1]] }, floors: { down: 0 } }));
    await recordDigests('lstm', LSTM_FILES);
    await recordDigests('naive', ['model/naive.json', 'scaler.json']);
  });

  it('loads a run whose files are those it recorded', async () => {
    expect((await loadRunForServing(store, settings, 'lstm')).run.artifact_sha256).toHaveProperty(['model/weights.bin']);
    expect((await loadRunForServing(store, settings, 'naive')).run.run_id).toBe('naive');
  });

  it('refuses weights with one bit flipped, naming the file, on the tfjs path and in an export alike', async () => {
    await flipBit('lstm/model/weights.bin');
    const damaged = { code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('runs/lstm/model/weights.bin does not have the SHA-256 its run recorded') };
    await expect(loadRunForServing(store, settings, 'lstm')).rejects.toMatchObject(damaged);
    await expect(exportRun(store, settings, 'lstm')).rejects.toMatchObject(damaged);
  });

  it("refuses another run's weights of the same shape, and a scaler or a calibration edited into other valid numbers", async () => {
    const other = fakeRun('other', 'LSTM', metrics, '2025-01-01T00:00:00.000Z');
    await addLoadableRun(store, settings, { ...other, seed: 8 });
    const otherNetwork = buildRecurrentNetwork('LSTM', other.window, { hiddenSize: 4, numLayers: 1 }, 8);
    await saveNetwork(store, settings, 'other', otherNetwork);
    otherNetwork.dispose();
    await store.put('runs', 'lstm/model/weights.bin', await store.get('runs', 'other/model/weights.bin'));
    await expect(loadRunForServing(store, settings, 'lstm')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('lstm/model/weights.bin does not have the SHA-256') });

    await addLoadableRun(store, settings, naive);
    await recordDigests('naive', ['model/naive.json', 'scaler.json']);
    await editJson('naive/scaler.json', (v) => (v.scale = [2]));
    await expect(loadRunForServing(store, settings, 'naive')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('naive/scaler.json does not have the SHA-256') });

    await addLoadableRun(store, settings, lstm);
    await store.put('runs', 'lstm/intervals.json', JSON.stringify({ format: 'flts-conformal-v1', errors: { down: [[0.1]] }, floors: { down: 0 } }));
    await recordDigests('lstm', LSTM_FILES);
    await editJson('lstm/intervals.json', (v) => (v.errors.down = [[0.2]]));
    await expect(loadRunForServing(store, settings, 'lstm')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('lstm/intervals.json does not have the SHA-256') });
  });

  it('loads a run recorded without digests as before, whatever its weights hold', async () => {
    await addLoadableRun(store, settings, lstm);
    await flipBit('lstm/model/weights.bin');
    expect((await loadRunForServing(store, settings, 'lstm')).run.artifact_sha256).toBeUndefined();
  });

  it.each([
    ['not an object', 'x', /artifact_sha256 is not an object/],
    ['a digest that is not hex', { 'scaler.json': 'abc' }, /artifact_sha256 of "scaler\.json" is not a hex SHA-256/],
  ])('refuses a run.json whose artifact_sha256 is %s', async (_what, value, message) => {
    await editJson('naive/run.json', (v) => (v.artifact_sha256 = value));
    await expect(loadRunForServing(store, settings, 'naive')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });
});

describe('core > registry > loadRunForServing checks the seal of its run.json', () => {
  const sealedNaive = fakeRun('sealed', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z');
  const sealedLstm = fakeRun('sealed-lstm', 'LSTM', metrics, '2025-01-01T00:00:00.000Z');
  const editedRecord = { code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('run.json does not have the SHA-256 its training sealed it with') };

  beforeEach(async () => {
    await addLoadableRun(store, settings, sealedNaive, { digests: true });
    await addLoadableRun(store, settings, sealedLstm, { digests: true });
  });

  it('loads a sealed run as training wrote it, and as any writer indents it or orders its keys', async () => {
    expect((await loadRunForServing(store, settings, 'sealed')).run.record_sha256).toMatch(/^[0-9a-f]{64}$/);
    await editJson('sealed/run.json', (v) => {
      const reordered = Object.fromEntries(Object.entries(v).reverse());
      for (const key of Object.keys(v)) delete v[key];
      Object.assign(v, reordered);
    });
    expect((await loadRunForServing(store, settings, 'sealed')).run.run_id).toBe('sealed');
    expect((await exportRun(store, settings, 'sealed-lstm')).runId).toBe('sealed-lstm');
  });

  // Each of these loaded as it was edited, and forecast with it, before records were sealed.
  it.each([
    ['a scaler edited, with the digest of the scaler recorded anew', async () => {
      await editJson('sealed/scaler.json', (v) => (v.scale = [2]));
      const digest = createHash('sha256').update(await store.get('runs', 'sealed/scaler.json')).digest('hex');
      await editJson('sealed/run.json', (v) => (v.artifact_sha256['scaler.json'] = digest));
    }],
    ['the digest of its scaler taken out, so that any scaler loads', () => editJson('sealed/run.json', (v) => delete v.artifact_sha256['scaler.json'])],
    ['a floor on its scaled values added', () => editJson('sealed/run.json', (v) => (v.window.targetFloors = { down: 0 }))],
    ['a recorded param edited', () => editJson('sealed/run.json', (v) => (v.params.seed = 8))],
    ['its seal replaced by one of another content', () => editJson('sealed/run.json', (v) => (v.record_sha256 = 'a'.repeat(64)))],
  ])('refuses a sealed run with %s as FLTS_RUN_CORRUPT', async (_edit, edit) => {
    await edit();
    await expect(loadRunForServing(store, settings, 'sealed')).rejects.toMatchObject(editedRecord);
  });

  it('refuses an edited record in an export too', async () => {
    await editJson('sealed-lstm/run.json', (v) => (v.window.targetFloors = { down: 0 }));
    await expect(exportRun(store, settings, 'sealed-lstm')).rejects.toMatchObject(editedRecord);
  });

  it('refuses a seal that is not a hex SHA-256 as a damaged record', async () => {
    await editJson('sealed/run.json', (v) => (v.record_sha256 = 'abc'));
    await expect(loadRunForServing(store, settings, 'sealed')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/run\.json record_sha256 is not a hex SHA-256/) });
  });

  it('loads a run trained before records were sealed as before, said once in the log', async () => {
    await editJson('sealed/run.json', (v) => delete v.record_sha256);
    const said: Array<{ obj: object; msg?: string }> = [];
    const logger = { ...silentLogger, info: (obj: object, msg?: string) => said.push({ obj, msg }) };
    expect((await loadRunForServing(store, settings, 'sealed', { logger })).run.record_sha256).toBeUndefined();
    expect((await loadRunForServing(store, settings, 'sealed', { logger })).run.run_id).toBe('sealed');
    expect(said).toEqual([{ obj: { run_id: 'sealed', key: 'runs/sealed/run.json' }, msg: 'run_record_unsealed' }]);
  });
});

describe('core > registry > loadRunForServing on artifacts of another format', () => {
  it.each([
    ['naive/model/naive.json', 'flts-naive-v9', /naive\.json has format "flts-naive-v9" where flts reads "flts-naive-v1"/],
    ['mstl/model/mstl.json', 'flts-mstl-v2', /mstl\.json has format "flts-mstl-v2" where flts reads "flts-mstl-v1"/],
    ['mstl/model/mstl.json', 7, /mstl\.json has format 7 where/],
    ['lstm/model/model.json', 'graph-model', /model\.json has format "graph-model" where flts reads "layers-model"/],
    ['naive/intervals.json', 'flts-conformal-v9', /intervals\.json has format "flts-conformal-v9" where flts reads "flts-conformal-v1"/],
  ])('refuses %s of format %s as FLTS_RUN_CORRUPT', async (key, format, message) => {
    if (!(await store.exists('runs', key))) await store.put('runs', key, JSON.stringify({ format: 'flts-conformal-v1', errors: { down: [[0.1]] }, floors: { down: 0 } }));
    await editJson(key, (v) => (v.format = format));
    await expect(loadRunForServing(store, settings, key.split('/')[0])).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });

  it('refuses a model.json of another format on the plain-weights path too', async () => {
    await editJson('lstm/model/model.json', (v) => (v.format = 'graph-model'));
    await expect(readRunNetworkWeights(store, settings, lstm)).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/has format "graph-model"/) });
  });

  it('reads artifacts that name no format, as other writers save them', async () => {
    for (const key of ['naive/model/naive.json', 'mstl/model/mstl.json', 'lstm/model/model.json']) await editJson(key, (v) => delete v.format);
    for (const run of ['naive', 'mstl', 'lstm']) expect((await loadRunForServing(store, settings, run)).run.run_id).toBe(run);
  });
});

describe('core > registry > run JSON files past the size a run may have', () => {
  /** `store`, saying that `key` is `size` bytes, and recording every key read whole. */
  function inflated(key: string, size: number): { store: ObjectStore; reads: string[] } {
    const reads: string[] = [];
    const proxy = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'stat') return async (bucket: string, asked: string) => ({ ...(await target.stat(bucket, asked))!, ...(asked === key ? { size } : {}) });
        if (name === 'get') return (bucket: string, asked: string) => (reads.push(asked), target.get(bucket, asked));
        return Reflect.get(target, name, receiver);
      },
    });
    return { store: proxy, reads };
  }

  it.each(['naive/run.json', 'naive/scaler.json', 'naive/model/naive.json', 'lstm/model/model.json', 'mstl/model/mstl.json'])('refuses %s of 2 GB as FLTS_RUN_CORRUPT without reading it', async (key) => {
    const { store: big, reads } = inflated(key, 2 ** 31);
    await expect(loadRunForServing(big, settings, key.split('/')[0])).rejects.toMatchObject({
      code: 'FLTS_RUN_CORRUPT',
      message: expect.stringContaining(`runs/${key} is 2147483648 bytes, over the ${MAX_RUN_JSON_BYTES} a run's JSON file may have`),
    });
    expect(reads).not.toContain(key);
  });
});

/** A Prophet run fitted on three days of an hourly daily cycle, with its artifact, as training saves it. */
async function addProphetRun(): Promise<void> {
  const prophet = fakeRun('prophet', 'PROPHET', metrics, '2025-01-01T00:00:00.000Z');
  await addLoadableRun(store, settings, prophet);
  const hours = 72;
  const train = { time: Float64Array.from({ length: hours }, (_, i) => Date.UTC(2025, 0, 1) + i * HOUR), columns: ['down'], values: { down: Float64Array.from({ length: hours }, (_, i) => 0.5 + 0.3 * Math.sin((2 * Math.PI * i) / 24)) } };
  const { model, artifact } = fitProphetModel(train, prophet.window, settings.training.prophet, 42);
  model.dispose();
  await saveModelJson(store, settings, 'prophet', MODEL_ARTIFACT_FILES.PROPHET, artifact);
}

describe('core > registry > loadRunForServing of a Prophet run', () => {
  beforeEach(addProphetRun);

  it('loads it, and refuses an artifact of another format', async () => {
    expect((await loadRunForServing(store, settings, 'prophet')).model.modelType).toBe('PROPHET');
    await editJson('prophet/model/prophet.json', (v) => (v.format = 'flts-prophet-v9'));
    await expect(loadRunForServing(store, settings, 'prophet')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/prophet\.json has format "flts-prophet-v9"/) });
  });

  // A prior scale raised in the artifact alone loosened the bounds its fitted parameters are checked by to nothing.
  it("refuses an artifact whose options are not those its run recorded for its fit", async () => {
    let fitted: unknown;
    await editJson('prophet/model/prophet.json', (v) => (fitted = v.options.changepointPriorScale));
    await editJson('prophet/run.json', (v) => (v.params.changepoint_prior_scale = fitted));
    expect((await loadRunForServing(store, settings, 'prophet')).model.modelType).toBe('PROPHET');
    await editJson('prophet/model/prophet.json', (v) => (v.options.changepointPriorScale = 1e300));
    await expect(loadRunForServing(store, settings, 'prophet')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/has options\.changepointPriorScale 1e\+300, where its run recorded changepoint_prior_scale/) });
  });

  // Serving sized its first inputs by this window: 2^31 rows failed as FLTS_INTERNAL ("Array buffer allocation failed").
  it('refuses a record whose window is longer than any Prophet run is trained with', async () => {
    await editJson('prophet/run.json', (v) => (v.window.inputSeqLen = 2 ** 31));
    await expect(loadRunForServing(store, settings, 'prophet')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/run\.json has window\.inputSeqLen over 10000/) });
  });
});

describe('core > registry > loadRunForServing of a damaged Prophet artifact', () => {
  beforeEach(addProphetRun);

  // Each was FLTS_TRAIN_FAILED (exit 1) or a panic of augurs' WebAssembly printed with its stack before it was checked.
  it.each([
    ['no times', (v: any) => (v.series[0].ds = []), /has no times \(ds\) of two finite numbers or more for target "down"/],
    ['no values', (v: any) => (v.series[0].y = []), /has no values \(y\) of numbers, one per time, for target "down"/],
    ['a slope of text', (v: any) => (v.series[0].params.k = 'x'), /has fitted parameters that are not finite numbers/],
    ['a slope of null', (v: any) => (v.series[0].params.k = null), /has fitted parameters that are not finite numbers/],
    ['a changepoint range of 2', (v: any) => (v.options.changepointRange = 2), /has options\.changepointRange 2, which no Prophet setting takes/],
    ['2^31 changepoints', (v: any) => (v.options.nChangepoints = 2 ** 31), /has options\.nChangepoints 2147483648/],
    ['a seasonality mode of its own', (v: any) => (v.options.seasonalityMode = 'sideways'), /has options\.seasonalityMode "sideways"/],
    ['no options', (v: any) => (v.options = null), /prophet\.json has no options/],
    ['a seed of text', (v: any) => (v.seed = 'x'), /has no seed of an integer from 0 to 4294967295/],
    ['a seed past 32 bits', (v: any) => (v.seed = 2 ** 32), /has no seed of an integer from 0 to 4294967295/],
    ['a shift of text', (v: any) => (v.series[0].shift = 'x'), /has a shift of "x" where training writes 1 or none for target "down"/],
    // These loaded, and forecast Infinity (or a number no fit reaches) for every time.
    ['a shift of 1e308', (v: any) => (v.series[0].shift = 1e308), /has a shift of 1e\+308 where training writes 1 or none/],
    ['a slope of 1e308', (v: any) => (v.series[0].params.k = 1e308), /has params\.k 1e\+308, past the [\d.e+]+ in size a fit of its series reaches at its params\.sigmaObs [\d.e-]+ for target "down"/],
    ['a slope of -1e30', (v: any) => (v.series[0].params.k = -1e30), /has params\.k -1e\+30, past the/],
    ['an offset of 1e308', (v: any) => (v.series[0].params.m = 1e308), /has params\.m 1e\+308, past the/],
    ['a changepoint delta of 1e308', (v: any) => (v.series[0].params.delta[3] = 1e308), /has params\.delta\[3\] 1e\+308, past the [\d.e+]+ the sizes of the deltas of a fit of its series sum to/],
    ['a seasonal beta of -1e308', (v: any) => (v.series[0].params.beta[5] = -1e308), /has params\.beta\[5\] -1e\+308, past the [\d.e+]+ the squares of the betas/],
    ['a noise of 1e308', (v: any) => (v.series[0].params.sigmaObs = 1e308), /has params\.k [-\d.e]+, past the [\d.e-]+ in size a fit of its series reaches at its params\.sigmaObs 1e\+308/],
    ['a value of 1e308', (v: any) => (v.series[0].y[7] = 1e308), /does not rebuild the model \(forecasts [-\d.e+]+ from its series \(y\) and params for target "down"\)/],
    // These were FLTS_TRAIN_FAILED, or augurs' "attempted to take ownership of Rust value while it was borrowed".
    ['a noise of 0', (v: any) => (v.series[0].params.sigmaObs = 0), /has params\.sigmaObs 0, not above 0 as a fit's noise is, for target "down"/],
    ['a time with a fraction', (v: any) => (v.series[0].ds[3] += 0.5), /has times \(ds\) that are not whole seconds of a date for target "down"/],
    ['a time past 64 bits', (v: any) => (v.series[0].ds = v.series[0].ds.map((time: number) => time * 1e10)), /has times \(ds\) that are not whole seconds of a date/],
    // These loaded and forecast from the arrays as they were.
    ['a changepoint delta short', (v: any) => v.series[0].params.delta.pop(), /does not rebuild the model \(has params\.delta of 24 numbers where its series takes 25 for target "down"\)/],
    ['a changepoint delta extra', (v: any) => v.series[0].params.delta.push(0), /has params\.delta of 26 numbers where its series takes 25 for target "down"/],
    ['no seasonal betas', (v: any) => (v.series[0].params.beta = []), /has params\.beta of 0 numbers where its series takes 8 for target "down"/],
    // These loaded (and forecast as before: a forecast does not read the trend the fit saw), though no fit writes them.
    ['a trend point of 1e308', (v: any) => (v.series[0].params.trend[5] = 1e308), /has params\.trend\[5\] 1e\+308, past the [\d.e+-]+ in size the trend of its params\.k, params\.m and params\.delta reaches for target "down"/],
    ['a trend point of -1e308', (v: any) => (v.series[0].params.trend[0] = -1e308), /has params\.trend\[0\] -1e\+308, past the/],
    ['a trend point short', (v: any) => v.series[0].params.trend.pop(), /has params\.trend of 71 numbers where its series takes 72 for target "down"/],
    // The load places each coefficient on its seasonal feature by these keys.
    ['featureKeys of text', (v: any) => (v.series[0].featureKeys = 'x'), /has featureKeys that are not strings for target "down"/],
    ['a featureKey short', (v: any) => v.series[0].featureKeys.pop(), /has 7 featureKeys where its params\.beta has 8 numbers for target "down"/],
    ['a featureKey of no feature', (v: any) => (v.series[0].featureKeys[0] = 'x'), /has featureKeys that are not the seasonal features its series takes for target "down"/],
  ])('refuses one with %s as FLTS_RUN_CORRUPT', async (_damage, edit, message) => {
    await editJson('prophet/model/prophet.json', edit);
    await expect(loadRunForServing(store, settings, 'prophet')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });
});

describe('core > registry > canonicalJson, which run records are sealed by', () => {
  it('gives a value the text of its JSON read back, whatever its key order, indentation or values JSON has no form for', () => {
    const record = { b: [1, undefined, Number.NaN, -0, Infinity], a: { d: 'x\u2028', c: new Date(0), skipped: undefined }, e: [, 2] };
    const readBack = JSON.parse(JSON.stringify(record, null, 2));
    expect(canonicalJson(record)).toBe(canonicalJson(readBack));
    expect(canonicalJson(readBack)).toBe('{"a":{"c":"1970-01-01T00:00:00.000Z","d":"x\u2028"},"b":[1,null,null,0,null],"e":[null,2]}');
  });
});
