import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../config/settings.js';
import type { FltsEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { loadProcessedData } from './processed-data.js';
import { EARLIER_VERSIONS_KEPT } from './processed-layout.js';
import { runPreprocess } from './run-preprocess.js';

const BUCKET = 'processed-data';
const TEST_FROM = 100;

/** `rows` rows two minutes apart from 2018-02-05 00:00, the first `from` steps later. */
function csv(rows: number, shift = 0, from = 0): string {
  const lines = ['time,down,up'];
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2018, 1, 5) + (from + i) * 120_000).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${t},${100 + ((i * 37 + shift) % 50)},${i % 7 === 3 ? '' : i % 11}`);
  }
  return `${lines.join('\n')}\n`;
}

let dir: string;
let store: ObjectStore;

function settingsFor(flags: Record<string, unknown> = {}): Settings {
  return resolveSettings({ flags: { 'data.dataDir': dir, 'data.trainFile': 'train.csv', 'data.testFile': 'test.csv', ...flags } }).settings;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-preprocess-'));
  writeFileSync(path.join(dir, 'train.csv'), csv(60));
  // After every training file below (at most 66 rows): a test file that follows the training data.
  writeFileSync(path.join(dir, 'test.csv'), csv(20, 5, TEST_FROM));
  store = createFsStore(path.join(dir, 'store'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > preprocess > run-preprocess', () => {
  it('processes, then reports cached for the same settings and bytes', async () => {
    const events: FltsEvent[] = [];
    const first = await runPreprocess(settingsFor(), { store, onEvent: (e) => events.push(e) });
    expect(first.status).toBe('processed');
    expect(first.train).toEqual({ rows: 60, columns: 8 });
    expect(first.test).toEqual({ rows: 20, columns: 8 });
    expect(first.inputs.train).toMatchObject({ file: 'train.csv', rows: 60, columns: 2 });
    expect(first.fingerprints.train.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.outputKeys).toEqual(expect.arrayContaining(['processed_data.parquet', `${first.configHash}/scaler.json`, `${first.configHash}/test_processed_data.meta.json`]));
    // Each file as its parse begins and ends, then the write, so a long run says where it is.
    expect(events.map((e) => e.type)).toEqual(['preprocess.reading', 'preprocess.read', 'preprocess.reading', 'preprocess.read', 'preprocess.writing', 'preprocess.done']);
    expect(events.slice(0, 5)).toEqual([
      { type: 'preprocess.reading', role: 'train', file: 'train.csv', bytes: first.inputs.train.bytes, files: 2 },
      { type: 'preprocess.read', role: 'train', file: 'train.csv', rows: 60, columns: 2, filesDone: 1, files: 2 },
      { type: 'preprocess.reading', role: 'test', file: 'test.csv', bytes: first.inputs.test.bytes, files: 2 },
      { type: 'preprocess.read', role: 'test', file: 'test.csv', rows: 20, columns: 2, filesDone: 2, files: 2 },
      { type: 'preprocess.writing', configHash: first.configHash, trainRows: 60, testRows: 20, columns: 8 },
    ]);

    const second = await runPreprocess(settingsFor(), { store, onEvent: (e) => events.push(e) });
    expect(second).toMatchObject({ status: 'cached', configHash: first.configHash, train: first.train, test: first.test, columns: first.columns });
    expect(events.at(-1)).toEqual({ type: 'preprocess.cached', configHash: first.configHash, status: 'cached', durationMs: expect.any(Number) });
  });

  it('trains on a file that repeats timestamps: one row per time, the merge reported and recorded', async () => {
    const lines = csv(60).trimEnd().split('\n');
    // The last ten minutes exported twice, the copy with other values.
    const repeated = lines.slice(-5).map((line) => line.replace(/,(\d+),/, (_, down: string) => `,${Number(down) + 10},`));
    writeFileSync(path.join(dir, 'train.csv'), `${[...lines, ...repeated].join('\n')}\n`);
    const result = await runPreprocess(settingsFor(), { store });
    expect(result.inputs.train).toMatchObject({ rows: 60, mergedRows: 5 });
    expect(result.inputs.test).toMatchObject({ rows: 20, mergedRows: 0 });
    // The same warning as `flts predict` gives for the file (before, a log line only; predict refused the file).
    expect(result.warnings.filter((warning) => warning.code === 'repeated_timestamps')).toEqual([
      { code: 'repeated_timestamps', message: expect.stringMatching(/^The rows of train\.csv repeat a timestamp: 5 row\(s\) were merged/), details: { file: 'train.csv', merged_rows: 5 } },
    ]);
    expect(result.train.rows).toBe(60);
    const sidecar = JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString());
    expect(sidecar.flts.merged_rows).toBe(5);
    const processed = await loadProcessedData(store, settingsFor());
    const down = processed.columns.indexOf('down');
    const scaled = (value: number) => (value - processed.scaler.offset[down]) / processed.scaler.scale[down];
    const original = Number(lines.at(-1)?.split(',')[1]);
    expect(processed.train.values.down.at(-1)).toBeCloseTo(scaled(original + 5), 10);
  });

  it('keeps infinite cells out of the processed data: imputed like empty ones, counted in the result and the sidecar', async () => {
    const lines = csv(60).trimEnd().split('\n');
    lines[10] = lines[10].replace(/,(\d+),/, ',inf,');
    lines[20] = lines[20].replace(/,(\d+),/, ',1e400,');
    writeFileSync(path.join(dir, 'train.csv'), `${lines.join('\n')}\n`);
    const result = await runPreprocess(settingsFor(), { store });
    expect(result.inputs.train).toMatchObject({ rows: 60, infiniteCells: 2 });
    const sidecar = JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString());
    expect(sidecar.flts.infinite_cells).toBe(2);
    const processed = await loadProcessedData(store, settingsFor());
    expect(processed.train.values.down.every(Number.isFinite)).toBe(true);
    expect(processed.scaler.scale.every(Number.isFinite)).toBe(true);
  });

  it('counts the test rows that are not after the last training time, and none for a test file that follows it', async () => {
    const following = await runPreprocess(settingsFor(), { store });
    expect(following.inputs.test.rowsNotAfterTrain).toBe(0);
    expect(following.warnings.map((warning) => warning.code)).not.toContain('test_overlaps_train');
    const sidecar = JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString());
    // Recorded when 0 too, so a cached run takes it at its word rather than reading the files again.
    expect(sidecar.flts.test_rows_not_after_train).toBe(0);
  });

  // A split that repeats the boundary row is common and keeps working; its warning was given by the run that
  // processed the files and not by the next one, which found them cached.
  it('warns of test rows at or before the last training time on every run, cached, unchanged or processed', async () => {
    const lines = csv(80).trimEnd().split('\n');
    writeFileSync(path.join(dir, 'test.csv'), `${[lines[0], ...lines.slice(60, 80)].join('\n')}\n`);
    const warning = {
      code: 'test_overlaps_train',
      message: '1 row(s) of test.csv are not after the last time of train.csv: held-out metrics (eval, backtest) will include rows the models trained on.',
      details: { file: 'test.csv', train_file: 'train.csv', rows_not_after_train: 1 },
    };
    const processed = await runPreprocess(settingsFor(), { store });
    const cached = await runPreprocess(settingsFor(), { store });
    expect([processed, cached].map((run) => [run.status, run.inputs.test.rowsNotAfterTrain])).toEqual([['processed', 1], ['cached', 1]]);
    expect(processed.test.rows).toBe(20);
    expect(processed.warnings).toContainEqual(warning);
    expect(cached.warnings).toContainEqual(warning);
    // Other bytes of the same rows: found unchanged by their rows, then by their input alias.
    writeFileSync(path.join(dir, 'test.csv'), `${[lines[0], ...lines.slice(60, 80)].join('\r\n')}\r\n`);
    for (const status of ['unchanged', 'unchanged']) {
      const unchanged = await runPreprocess(settingsFor(), { store });
      expect(unchanged).toMatchObject({ status, inputs: { test: { rowsNotAfterTrain: 1 } } });
      expect(unchanged.warnings).toContainEqual(warning);
    }
  });

  // A test file lying inside the training period went through: eval scored in-sample rows, and backtest put rows
  // whose times run backwards after the training tail.
  it('refuses a test file none of whose rows comes after the last training time, naming both time ranges, before writing', async () => {
    writeFileSync(path.join(dir, 'test.csv'), csv(20, 5, 40));
    const inside = await runPreprocess(settingsFor(), { store }).catch((error: unknown) => error);
    expect(inside).toMatchObject({
      code: 'FLTS_DATA_TEST_OVERLAPS_TRAIN',
      message: 'test.csv (2018-02-05T01:20:00 to 2018-02-05T01:58:00) has no row after the last time of train.csv (2018-02-05T00:00:00 to 2018-02-05T01:58:00): all 20 of its rows lie at or before the end of the training data.',
      details: { train_file: 'train.csv', test_file: 'test.csv', train_to: '2018-02-05T01:58:00', test_from: '2018-02-05T01:20:00' },
    });
    expect(await store.list(BUCKET, '')).toEqual([]);
    // Swapped files: the test file entirely before the training data.
    const swapped = await runPreprocess(settingsFor({ 'data.trainFile': 'test.csv', 'data.testFile': 'train.csv' }), { store }).catch((error: unknown) => error);
    expect(swapped).toMatchObject({ code: 'FLTS_DATA_TEST_OVERLAPS_TRAIN' });
  });

  /**
   * The stored version of the files processed first, made to claim a test file lying inside the training period as its
   * input (its fingerprint), as an older flts left one: a cached run that read the files would refuse it. `older`
   * leaves out the count of test rows not after training, as sidecars written before it was always recorded do.
   */
  async function claimInsideTestFile(configHash: string, older: boolean): Promise<void> {
    const inside = csv(20, 5, 40);
    writeFileSync(path.join(dir, 'test.csv'), inside);
    const fingerprint = { file: 'test.csv', sha256: createHash('sha256').update(inside).digest('hex'), bytes: Buffer.byteLength(inside) };
    for (const key of ['processed_data.meta.json', `${configHash}/processed_data.meta.json`]) {
      const sidecar = JSON.parse((await store.get(BUCKET, key)).toString());
      const flts = { ...sidecar.flts, fingerprints: { ...sidecar.flts.fingerprints, test: fingerprint } };
      if (older) delete flts.test_rows_not_after_train;
      await store.put(BUCKET, key, JSON.stringify({ ...sidecar, flts }));
    }
  }

  // A version stored before test files were checked against the training period records nothing of its test rows, as
  // one whose test file followed its training file did: found by its input bytes, it was reused unchecked.
  it('refuses a stored version of a test file inside the training period, found by its bytes, as it refuses processing one', async () => {
    const first = await runPreprocess(settingsFor(), { store });
    await claimInsideTestFile(first.configHash, true);
    expect(await runPreprocess(settingsFor(), { store }).catch((error: unknown) => error)).toMatchObject({ code: 'FLTS_DATA_TEST_OVERLAPS_TRAIN', details: { test_file: 'test.csv', test_from: '2018-02-05T01:20:00' } });
    // An input alias records the count, 0 included, and one without it (written before) is checked again.
    const lines = csv(20, 5, TEST_FROM).trimEnd().split('\n');
    writeFileSync(path.join(dir, 'test.csv'), `${lines.join('\r\n')}\r\n`);
    expect(await runPreprocess(settingsFor(), { store })).toMatchObject({ status: 'unchanged' });
    const [alias] = await store.list(BUCKET, `${first.configHash}/inputs/`);
    const recorded = JSON.parse((await store.get(BUCKET, alias.key)).toString());
    expect(recorded.inputs.test.rows_not_after_train).toBe(0);
    delete recorded.inputs.test.rows_not_after_train;
    await store.put(BUCKET, alias.key, JSON.stringify(recorded));
    expect(await runPreprocess(settingsFor(), { store })).toMatchObject({ status: 'unchanged', inputs: { test: { rowsNotAfterTrain: 0 } } });
  });

  // Every cached run read both input files again when the sidecar recorded no count, which it did for every test file
  // following its training file (80 ms on PobleSec, tens of seconds for a 1 GB input).
  it('takes the count a version records, 0 included, at its word when cached: the input files are not read again', async () => {
    const first = await runPreprocess(settingsFor(), { store });
    await claimInsideTestFile(first.configHash, false);
    // Read, the test file lying inside the training period would be refused.
    const cached = await runPreprocess(settingsFor(), { store });
    expect(cached).toMatchObject({ status: 'cached', inputs: { test: { rowsNotAfterTrain: 0 } }, timings: { readMs: 0 } });
    expect(cached.inputs.test).not.toHaveProperty('rows');
  });

  // Refused before (FLTS_DATA_OUT_OF_RANGE), stopping a site's whole preprocess and training for one glitch row.
  it('processes a training column that, scaled, float32 cannot tell apart, and warns of it on every run, cached too', async () => {
    const counter = (text: string) => text.replace(/^([^,\n]+),(\d+),/gm, (_, time: string, down: string) => `${time},${1e9 + (Number(down) % 20)},`);
    const lines = counter(csv(60)).trimEnd().split('\n');
    lines[5] = lines[5].replace(/,\d+,/, ',0,');
    writeFileSync(path.join(dir, 'train.csv'), `${lines.join('\n')}\n`);
    writeFileSync(path.join(dir, 'test.csv'), counter(csv(20, 5, TEST_FROM)));
    const processed = await runPreprocess(settingsFor(), { store });
    const warning = {
      code: 'scaled_values_indistinct',
      message: expect.stringMatching(/^Column 'down' of the training data spans 0 to 1000000019: 20 of its 21 distinct values \(1000000000 to 1000000019\), scaled by the MinMaxScaler fitted on the training data \(offset 0, scale 1000000019\), are all 1 in the float32 the models compute in, so the models see them as one value\. /),
      details: { column: 'down', method: 'MinMaxScaler', offset: 0, scale: 1000000019, min: 0, max: 1000000019, distinct_values: 21, indistinct_values: 20, from: 1e9, to: 1000000019, float32: 1 },
    };
    expect(processed).toMatchObject({ status: 'processed', train: { rows: 60 } });
    expect(processed.warnings).toEqual([warning]);
    const sidecar = JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString());
    expect(sidecar.flts.scaled_values_indistinct).toEqual([warning.details]);
    const cached = await runPreprocess(settingsFor(), { store });
    expect(cached.status).toBe('cached');
    expect(cached.warnings).toEqual([warning]);
    // Other bytes of the same rows: found unchanged by their rows, then by their input alias.
    writeFileSync(path.join(dir, 'train.csv'), `${lines.join('\r\n')}\r\n`);
    for (const status of ['unchanged', 'unchanged']) {
      const unchanged = await runPreprocess(settingsFor(), { store });
      expect(unchanged.status).toBe(status);
      expect(unchanged.warnings).toEqual([warning]);
    }
  });

  // A cached run warned again of uneven steps alone: the sidecar kept only the sums of rows out of order and merged,
  // which name no file, and the README says a cached run warns again.
  it('warns of rows out of time order and of repeated timestamps on every run, cached and unchanged too', async () => {
    const lines = csv(60).trimEnd().split('\n');
    [lines[10], lines[11]] = [lines[11], lines[10]];
    writeFileSync(path.join(dir, 'train.csv'), `${[...lines, lines[20]].join('\n')}\n`);
    const processed = await runPreprocess(settingsFor(), { store });
    const codes = (run: { warnings: Array<{ code: string; details?: unknown }> }) => run.warnings.map((warning) => [warning.code, warning.details]);
    expect(codes(processed)).toEqual([
      ['unordered_rows', { file: 'train.csv', unordered_rows: 2 }],
      ['repeated_timestamps', { file: 'train.csv', merged_rows: 1 }],
    ]);
    const cached = await runPreprocess(settingsFor(), { store });
    expect(cached.status).toBe('cached');
    expect(cached.warnings).toEqual(processed.warnings);
    // Other bytes of the same rows: found unchanged by their rows, then by their input alias.
    writeFileSync(path.join(dir, 'train.csv'), `${[...lines, lines[20]].join('\r\n')}\r\n`);
    for (const status of ['unchanged', 'unchanged']) {
      const unchanged = await runPreprocess(settingsFor(), { store });
      expect(unchanged.status).toBe(status);
      expect(unchanged.warnings).toEqual(processed.warnings);
    }
  });

  it('names why it looked for a file the user did not name: the other one of the pair was given alone', async () => {
    // Before: "Data file PobleSec_test.csv not found" after `--train train.csv` alone, naming a dataset never given.
    const alone = await runPreprocess(settingsFor({ 'data.testFile': '' }), { store }).catch((error: unknown) => error);
    expect(alone).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', message: expect.stringContaining('PobleSec_test.csv not found (the test file of dataset PobleSec: --train was given without --test)') });
    expect((alone as { hint: string }).hint).toContain('Give both --train and --test');
    const both = await runPreprocess(settingsFor({ 'data.testFile': 'absent.csv' }), { store }).catch((error: unknown) => error);
    expect((both as Error).message).toMatch(/^Data file absent\.csv not found; looked in /);
  });

  it('says a dataset name was given with its extension instead of naming a doubled file name alone', async () => {
    // Before: "Data file train.csv.csv not found; looked in ..." for `--dataset train.csv`, a name the user never typed.
    writeFileSync(path.join(dir, 'train_test.csv'), csv(20, 5, TEST_FROM));
    const named = await runPreprocess(settingsFor({ 'data.trainFile': '', 'data.testFile': '', 'data.datasetName': 'train.csv' }), { store }).catch((error: unknown) => error);
    expect(named).toMatchObject({
      code: 'FLTS_DATA_FILE_NOT_FOUND',
      message: expect.stringContaining('(--dataset takes the name without its extension: --dataset train reads train.csv and train_test.csv)'),
      hint: "Give --dataset (DATASET_NAME) the dataset's name alone: --dataset train.",
      details: { file: 'train.csv.csv', dataset: 'train.csv', datasetWithoutExtension: 'train' },
    });
    // The name it suggests is the one that works.
    expect((await runPreprocess(settingsFor({ 'data.trainFile': '', 'data.testFile': '', 'data.datasetName': 'train' }), { store })).status).toBe('processed');
    // A file named with --train keeps its plain message: no dataset name was given.
    const file = await runPreprocess(settingsFor({ 'data.trainFile': 'absent.csv' }), { store }).catch((error: unknown) => error);
    expect((file as Error).message).not.toContain('--dataset takes');
  });

  it('names the dataset of the data directory a misspelt --dataset most likely meant', async () => {
    // Before: "Data file exmple.csv not found; looked in <dir>" alone, with example.csv beside it.
    writeFileSync(path.join(dir, 'example.csv'), csv(60));
    writeFileSync(path.join(dir, 'example_test.csv'), csv(20, 5, TEST_FROM));
    const named = await runPreprocess(settingsFor({ 'data.trainFile': '', 'data.testFile': '', 'data.datasetName': 'exmple' }), { store }).catch((error: unknown) => error);
    expect(named).toMatchObject({
      code: 'FLTS_DATA_FILE_NOT_FOUND',
      message: expect.stringContaining('(no dataset exmple: did you mean --dataset example?)'),
      hint: "Give --dataset (DATASET_NAME) a dataset of the directories looked in: --dataset example.",
      details: { dataset: 'exmple', similarDataset: 'example' },
    });
    // The name it suggests is the one that works; a name near none (nor a file named with --train) gets no guess.
    expect((await runPreprocess(settingsFor({ 'data.trainFile': '', 'data.testFile': '', 'data.datasetName': 'example' }), { store })).status).toBe('processed');
    const far = await runPreprocess(settingsFor({ 'data.trainFile': '', 'data.testFile': '', 'data.datasetName': 'elsewhere' }), { store }).catch((error: unknown) => error);
    expect((far as Error).message).not.toContain('did you mean');
    const file = await runPreprocess(settingsFor({ 'data.trainFile': 'exmple.csv' }), { store }).catch((error: unknown) => error);
    expect((file as Error).message).not.toContain('did you mean');
  });

  it('says which directory looked in is not there at all', async () => {
    // Before: "looked in <dir>/sets" alone for a misspelt FLTS_DATA_DIR, as if that directory held other files.
    const absent = path.join(dir, 'sets');
    const missing = await runPreprocess(settingsFor({ 'data.dataDir': absent }), { store }).catch((error: unknown) => error);
    expect(missing).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { searched: [absent], missingDirectories: [absent] } });
    expect((missing as Error).message).toBe(`Data file train.csv not found; looked in ${absent} (no such directory)`);
    // A directory that is there but lacks the file is named plainly.
    const there = await runPreprocess(settingsFor({ 'data.trainFile': 'absent.csv' }), { store }).catch((error: unknown) => error);
    expect((there as Error).message).toBe(`Data file absent.csv not found; looked in ${dir}`);
    expect((there as { details: object }).details).not.toHaveProperty('missingDirectories');
  });

  it('recomputes when a file changes under the same name (same config_hash)', async () => {
    const first = await runPreprocess(settingsFor(), { store });
    writeFileSync(path.join(dir, 'train.csv'), csv(61));
    const second = await runPreprocess(settingsFor(), { store });
    expect(second.configHash).toBe(first.configHash);
    expect(second.status).toBe('processed');
    expect(second.train.rows).toBe(61);
  });

  // Only the latest version of a config_hash was kept: coming back to earlier rows under the same file names
  // recomputed them, dated now.
  it('reuses the earlier version when the inputs come back after other rows under the same names, with its created_at', async () => {
    const clock = (minute: number) => ({ store, now: () => new Date(Date.UTC(2026, 0, 1, 0, minute)) });
    const a = await runPreprocess(settingsFor(), clock(1));
    writeFileSync(path.join(dir, 'train.csv'), csv(61));
    const b = await runPreprocess(settingsFor(), clock(2));
    expect(b).toMatchObject({ status: 'processed', configHash: a.configHash });
    writeFileSync(path.join(dir, 'train.csv'), csv(60));
    const again = await runPreprocess(settingsFor(), clock(3));
    expect(again).toMatchObject({ status: 'reused', configHash: a.configHash, createdAt: a.createdAt, train: a.train, fingerprints: a.fingerprints });
    // The root and <config_hash>/ are the first version again, read by training as it was written.
    const latest = await loadProcessedData(store, settingsFor());
    expect(latest.train.time.length).toBe(60);
    expect(latest.sidecar.flts?.created_at).toBe(a.createdAt);
    expect((await loadProcessedData(store, settingsFor(), { configHash: a.configHash })).sidecar.flts?.created_at).toBe(a.createdAt);
    expect(await runPreprocess(settingsFor(), clock(4))).toMatchObject({ status: 'cached', createdAt: a.createdAt });
    // And back to the second rows, which the return to the first kept in turn.
    writeFileSync(path.join(dir, 'train.csv'), csv(61));
    expect(await runPreprocess(settingsFor(), clock(5))).toMatchObject({ status: 'reused', createdAt: b.createdAt, train: { rows: 61 } });
  });

  it('finds an earlier version by its rows too: other bytes that make them are reused, not recomputed', async () => {
    const a = await runPreprocess(settingsFor(), { store });
    writeFileSync(path.join(dir, 'train.csv'), csv(61));
    await runPreprocess(settingsFor(), { store });
    writeFileSync(path.join(dir, 'train.csv'), csv(60).replaceAll('\n', '\r\n'));
    const crlf = await runPreprocess(settingsFor(), { store });
    expect(crlf).toMatchObject({ status: 'reused', createdAt: a.createdAt });
    expect(crlf.fingerprints.train.sha256).not.toBe(a.fingerprints.train.sha256);
  });

  // Bytes that make the stored rows were parsed and transformed again on every run, to find the rows unchanged.
  it('knows input bytes found to make a stored version from their SHA-256 the next time: unchanged without parsing them', async () => {
    const lines = csv(60).trimEnd().split('\n');
    writeFileSync(path.join(dir, 'train.csv'), `${lines.filter((_, i) => i !== 30).join('\n')}\n`);
    const first = await runPreprocess(settingsFor(), { store });
    writeFileSync(path.join(dir, 'train.csv'), `${lines.filter((_, i) => i !== 30).join('\r\n')}\r\n`);
    const events: FltsEvent[] = [];
    const parsed = await runPreprocess(settingsFor(), { store, onEvent: (e) => events.push(e) });
    expect(parsed).toMatchObject({ status: 'unchanged', createdAt: first.createdAt });
    expect(events.filter((e) => e.type === 'preprocess.read')).toHaveLength(2);
    expect(parsed.warnings).toEqual([expect.objectContaining({ code: 'irregular_time_steps' })]);

    events.length = 0;
    const known = await runPreprocess(settingsFor(), { store, onEvent: (e) => events.push(e) });
    expect(known).toMatchObject({ status: 'unchanged', createdAt: first.createdAt, train: first.train, fingerprints: parsed.fingerprints, warnings: parsed.warnings, trainStepMs: 120_000 });
    expect(events.map((e) => e.type)).toEqual(['preprocess.cached']);
    expect(known.inputs.train.timeSteps).toEqual(parsed.inputs.train.timeSteps);

    // What another flts version found is not taken for this one's: parsed again.
    const [alias] = await store.list(BUCKET, `${first.configHash}/inputs/`);
    await store.put(BUCKET, alias.key, JSON.stringify({ ...JSON.parse((await store.get(BUCKET, alias.key)).toString()), version: '0.0.0-other' }));
    events.length = 0;
    expect(await runPreprocess(settingsFor(), { store, onEvent: (e) => events.push(e) })).toMatchObject({ status: 'unchanged' });
    expect(events.filter((e) => e.type === 'preprocess.read')).toHaveLength(2);
  });

  it('keeps a bounded number of earlier versions of one config_hash, the newest', async () => {
    const versions = [];
    for (let rows = 60; rows < 60 + EARLIER_VERSIONS_KEPT + 2; rows++) {
      writeFileSync(path.join(dir, 'train.csv'), csv(rows));
      versions.push(await runPreprocess(settingsFor(), { store, now: () => new Date(Date.UTC(2026, 0, 1, 0, rows)) }));
      if (rows === 60) {
        // Other bytes of the first rows: an input alias, which goes with the version it names.
        writeFileSync(path.join(dir, 'train.csv'), csv(rows).replaceAll('\n', '\r\n'));
        expect((await runPreprocess(settingsFor(), { store })).status).toBe('unchanged');
      }
    }
    const configHash = versions[0].configHash;
    expect(await store.listFolders(BUCKET, `${configHash}/earlier/`)).toHaveLength(EARLIER_VERSIONS_KEPT);
    expect(await store.list(BUCKET, `${configHash}/inputs/`)).toEqual([]);
    // The oldest went: recomputed, dated now. The next is still kept.
    writeFileSync(path.join(dir, 'train.csv'), csv(61));
    expect(await runPreprocess(settingsFor(), { store })).toMatchObject({ status: 'reused', createdAt: versions[1].createdAt });
    writeFileSync(path.join(dir, 'train.csv'), csv(60));
    const oldest = await runPreprocess(settingsFor(), { store });
    expect(oldest.status).toBe('processed');
    expect(oldest.createdAt).not.toBe(versions[0].createdAt);
    expect(await store.listFolders(BUCKET, `${configHash}/earlier/`)).toHaveLength(EARLIER_VERSIONS_KEPT);
  });

  it('recomputes when forced, logging force_reprocess with the config_hash it replaces as the reference does', async () => {
    const first = await runPreprocess(settingsFor(), { store });
    const infos: Array<{ fields: Record<string, unknown>; msg?: string }> = [];
    const logger = { trace() {}, debug() {}, warn() {}, error() {}, info: (fields: Record<string, unknown>, msg?: string) => void infos.push({ fields, msg }), child: () => logger } as unknown as Logger;
    expect((await runPreprocess(settingsFor({ 'data.forceReprocess': true }), { store, logger })).status).toBe('processed');
    expect(infos.filter((line) => line.msg === 'force_reprocess').map((line) => line.fields)).toEqual([{ event: 'force_reprocess', reason: 'forceReprocess', prev_config_hash: first.configHash, config_hash: first.configHash }]);
    // The same rows again: nothing earlier to keep.
    expect(await store.listFolders(BUCKET, `${first.configHash}/earlier/`)).toEqual([]);
  });

  it('restores the root from the versioned copy when a root output was deleted, and recomputes when the copy lost one', async () => {
    const first = await runPreprocess(settingsFor(), { store });
    await store.delete(BUCKET, 'test_processed_data.parquet');
    expect((await runPreprocess(settingsFor(), { store })).status).toBe('reused');
    expect(await store.exists(BUCKET, 'test_processed_data.parquet')).toBe(true);
    await store.delete(BUCKET, `${first.configHash}/scaler.json`);
    expect((await runPreprocess(settingsFor(), { store })).status).toBe('processed');
  });

  it('a new seed is a cache miss under random sampling only', async () => {
    const random = { 'data.sampleTrainRows': 30, 'data.sampleStrategy': 'random' };
    await runPreprocess(settingsFor({ ...random, 'data.sampleSeed': 1 }), { store });
    expect((await runPreprocess(settingsFor({ ...random, 'data.sampleSeed': 1 }), { store })).status).toBe('cached');
    const reseeded = await runPreprocess(settingsFor({ ...random, 'data.sampleSeed': 2 }), { store });
    expect(reseeded.status).toBe('processed');
    expect(reseeded.train.rows).toBe(30);
    await runPreprocess(settingsFor({ 'data.sampleSeed': 1 }), { store });
    expect((await runPreprocess(settingsFor({ 'data.sampleSeed': 2 }), { store })).status).toBe('cached');
  });

  it('never trusts a sidecar without fingerprints (written by the reference system)', async () => {
    const first = await runPreprocess(settingsFor(), { store });
    const sidecar = JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString());
    delete sidecar.flts;
    await store.put(BUCKET, 'processed_data.meta.json', JSON.stringify(sidecar));
    // Its own versioned copy, fingerprints and all, is what the root is made of again.
    const second = await runPreprocess(settingsFor(), { store });
    expect(second).toMatchObject({ status: 'reused', configHash: first.configHash, createdAt: first.createdAt });
    expect(JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString()).flts.fingerprints).toEqual(first.fingerprints);
    await store.delete(BUCKET, `${first.configHash}/processed_data.meta.json`);
    await store.put(BUCKET, 'processed_data.meta.json', JSON.stringify(sidecar));
    expect(await runPreprocess(settingsFor(), { store })).toMatchObject({ status: 'processed', configHash: first.configHash });
  });

  it('writes reference sidecars and loads any processed version back', async () => {
    const first = await runPreprocess(settingsFor(), { store, now: () => new Date(Date.UTC(2025, 10, 4, 12, 0, 0)) });
    const sidecar = JSON.parse((await store.get(BUCKET, 'processed_data.meta.json')).toString());
    expect(sidecar).toMatchObject({
      identifier: '',
      source_bucket: 'dataset',
      train_source_object: 'train.csv',
      test_source_object: 'test.csv',
      config: first.config,
      config_hash: first.configHash,
      created_at: '2025-11-04T12:00:00Z',
      scaler_type: 'MinMaxScaler',
      output_object: 'processed_data.parquet',
      row_count: 60,
      column_names: first.columns,
      flts: { sample_seed: 42, time_column: 'time', fingerprints: first.fingerprints, imputed_cells: 9 + 3 },
    });
    const second = await runPreprocess(settingsFor({ 'preprocess.hashSalt': 'other' }), { store });
    expect(second.configHash).not.toBe(first.configHash);

    const latest = await loadProcessedData(store, settingsFor());
    expect(latest.configHash).toBe(second.configHash);
    const earlier = await loadProcessedData(store, settingsFor(), { configHash: first.configHash });
    expect(earlier.configHash).toBe(first.configHash);
    expect(earlier.columns).toEqual(first.columns);
    expect(earlier.train.time.length).toBe(60);
    expect(earlier.test.time[0]).toBe(Date.UTC(2018, 1, 5) + TEST_FROM * 120_000);
    expect(earlier.scaler.columns).toEqual(first.columns);
    // the test set is on the training scale: values come back through the same scaler
    const downIndex = earlier.scaler.columns.indexOf('down');
    expect(earlier.scaler.offset[downIndex]).toBe(100);

    await expect(loadProcessedData(store, settingsFor(), { configHash: 'f'.repeat(64) })).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_PROCESSED' });
    await expect(loadProcessedData(store, settingsFor(), { configHash: '../x' })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    await expect(loadProcessedData(createFsStore(path.join(dir, 'empty')), settingsFor())).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_PROCESSED' });
  });

  it('names the store it found no processed data in, for a command run from another directory or home than preprocess', async () => {
    const empty = createFsStore(path.join(dir, 'elsewhere'));
    await expect(loadProcessedData(empty, settingsFor())).rejects.toMatchObject({
      code: 'FLTS_DATA_NOT_PROCESSED',
      message: `No processed data for the latest version in bucket '${BUCKET}' of the store at ${empty.location} (processed_data.meta.json is missing).`,
      details: { bucket: BUCKET, key: 'processed_data.meta.json', store: empty.location },
    });
  });

  it('rejects a test file without the training columns', async () => {
    writeFileSync(path.join(dir, 'test.csv'), 'time,down\n2018-02-06 00:00:00,1\n');
    await expect(runPreprocess(settingsFor(), { store })).rejects.toMatchObject({ code: 'FLTS_DATA_MISSING_COLUMNS', message: expect.stringContaining('up'), hint: expect.stringContaining('same columns') });
  });

  describe('a preprocess killed while replacing the latest files', () => {
    /** What SIGKILL leaves after the new version's root train Parquet was renamed into place, before its sidecars. */
    async function tornLatest(): Promise<{ old: Awaited<ReturnType<typeof runPreprocess>>; fresh: Awaited<ReturnType<typeof runPreprocess>> }> {
      const old = await runPreprocess(settingsFor(), { store });
      const oldSidecars = await Promise.all(['processed_data.meta.json', 'test_processed_data.meta.json'].map((key) => store.get(BUCKET, key)));
      const fresh = await runPreprocess(settingsFor({ 'data.sampleTrainRows': 30 }), { store });
      expect(fresh.configHash).not.toBe(old.configHash);
      await store.put(BUCKET, 'test_processed_data.parquet', await store.get(BUCKET, `${old.configHash}/test_processed_data.parquet`));
      await store.put(BUCKET, 'processed_data.meta.json', oldSidecars[0]);
      await store.put(BUCKET, 'test_processed_data.meta.json', oldSidecars[1]);
      return { old, fresh };
    }

    it('training on the latest reads one version, the one the sidecar names', async () => {
      const { old } = await tornLatest();
      const data = await loadProcessedData(store, settingsFor());
      expect(data.configHash).toBe(old.configHash);
      expect(data.train.time.length).toBe(60);
      expect(data.sidecar.row_count).toBe(60);
    });

    it('without a versioned copy the mix is refused, not read as one version', async () => {
      const { old } = await tornLatest();
      await store.delete(BUCKET, `${old.configHash}/processed_data.meta.json`);
      await expect(loadProcessedData(store, settingsFor())).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_PROCESSED', message: expect.stringMatching(/mixed.*processed_data\.parquet.*preprocess.*again/) });
    });

    it('is not "cached": running the old settings again rewrites the latest files from its versioned copy', async () => {
      const { old } = await tornLatest();
      const again = await runPreprocess(settingsFor(), { store });
      expect(again).toMatchObject({ status: 'reused', configHash: old.configHash, createdAt: old.createdAt });
      await store.delete(BUCKET, `${old.configHash}/processed_data.meta.json`);
      expect((await loadProcessedData(store, settingsFor())).train.time.length).toBe(60);
    });
  });
});
