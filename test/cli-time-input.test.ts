import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/core/config/settings.js';
import { loadProcessedData } from '../src/core/preprocess/processed-data.js';
import { createFsStore } from '../src/core/storage/fs-store.js';
import { runCli } from './helpers/run-cli.js';
import { createTrainedHome, DATASETS, type TrainedHome } from './helpers/poblesec-slice.js';

const TRAIN = path.join(DATASETS, 'PobleSec.csv');
const TEST = path.join(DATASETS, 'PobleSec_test.csv');

const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-time-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/**
 * The first `rows` rows of a PobleSec file, written to the temporary directory with the time column as is
 * (`iso`) or as epoch seconds (`s`), and without the rows at `drop` (row indices after the header).
 */
function slice(file: string, rows: number, name: string, options: { time?: 'iso' | 's'; drop?: number[] } = {}): string {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const kept = lines.slice(0, rows).filter((_, i) => !options.drop?.includes(i));
  const body = kept.map((line) => {
    if (options.time !== 's') return line;
    const comma = line.indexOf(',');
    return `${Date.parse(`${line.slice(0, comma).replace(' ', 'T')}Z`) / 1000}${line.slice(comma)}`;
  });
  const out = path.join(dir, name);
  writeFileSync(out, `${[header, ...body].join('\n')}\n`);
  return out;
}

/** The warnings about the data as read: 400 rows are also fewer than SNAIVE's day, which preprocess-workflow.test.ts covers. */
const dataWarnings = (result: { warnings: Array<{ code: string }> }) => result.warnings.filter((warning) => warning.code !== 'too_few_training_rows');

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe.skipIf(!existsSync(TRAIN))('cli > time input: epoch units and uneven steps', () => {
  it('preprocess reads a time column of epoch seconds as the same times as ISO text', async () => {
    // Before, a numeric time column was refused (FLTS_DATA_INVALID_TIMESTAMPS, exit 3).
    const homes = ['iso', 's'].map((unit) => path.join(dir, `home-pre-${unit}`));
    const runs = await Promise.all(
      (['iso', 's'] as const).map((unit, i) => runCli(['preprocess', '--home', homes[i], '--train', slice(TRAIN, 400, `train-${unit}.csv`, { time: unit }), '--test', slice(TEST, 150, `test-${unit}.csv`, { time: unit }), '--json'])),
    );
    for (const run of runs) {
      expect(run.exitCode, run.stdout).toBe(0);
      expect(dataWarnings(run.json.result)).toEqual([]);
    }
    const [iso, seconds] = await Promise.all(homes.map((home) => loadProcessedData(createFsStore(path.join(home, 'store')), resolveSettings({ flags: { home } }).settings)));
    expect(Array.from(seconds.train.time)).toEqual(Array.from(iso.train.time));
    expect(iso.train.time[0]).toBe(Date.UTC(2018, 1, 5, 23, 40));
    for (const column of iso.columns) expect(Array.from(seconds.test.values[column]), column).toEqual(Array.from(iso.test.values[column]));
    expect(iso.sidecar.flts?.time_steps?.train).toEqual({ step_ms: 120_000, gaps: 0, short_steps: 0, largest_gap: null });
  });

  it('preprocess warns of gaps in a file, with their count and the largest, in text, JSON and the sidecar', async () => {
    const home = path.join(dir, 'home-gaps');
    const args = ['preprocess', '--home', home, '--train', slice(TRAIN, 400, 'train-gaps.csv', { drop: [...range(100, 10), 300] }), '--test', slice(TEST, 150, 'test-gaps-none.csv')];
    const json = await runCli([...args, '--json']);
    expect(json.exitCode).toBe(0);
    const largest = { after_row: 99, from: '2018-02-06T02:58:00', to: '2018-02-06T03:20:00', ms: 11 * 120_000 };
    expect(dataWarnings(json.json.result)).toEqual([
      {
        code: 'irregular_time_steps',
        message:
          'The rows of train-gaps.csv are not evenly spaced: 2 gaps (steps longer than the usual 2 min), the largest 22 min from 2018-02-06T02:58:00 to 2018-02-06T03:20:00 (after row 99 in time order). The models take consecutive rows as 2 min apart.',
        details: { file: 'train-gaps.csv', step_ms: 120_000, gaps: 2, short_steps: 0, largest_gap: largest },
      },
    ]);
    expect(json.json.result.inputs.train.time_steps).toEqual({ step_ms: 120_000, gaps: 2, short_steps: 0, largest_gap: largest });
    const settings = resolveSettings({ flags: { home } }).settings;
    expect((await loadProcessedData(createFsStore(path.join(home, 'store')), settings)).sidecar.flts?.time_steps?.train?.gaps).toBe(2);
    // Cached: the warning is read back from the sidecar.
    const text = await runCli(args);
    expect(text.stdout).toMatch(/^cached/m);
    expect(text.stdout).toContain('warning: The rows of train-gaps.csv are not evenly spaced: 2 gaps (steps longer than the usual 2 min), the largest 22 min');
  });

  describe('predict', () => {
    let trained: TrainedHome;
    beforeAll(async () => {
      trained = await createTrainedHome('flts-time-input-predict-', ['LSTM']);
    }, 120_000);
    afterAll(() => trained?.remove());

    it('forecasts from epoch seconds exactly what it forecasts from ISO text, and warns of a gap', async () => {
      // Before, the file of epoch seconds was refused (FLTS_DATA_INVALID_TIMESTAMPS, exit 3).
      const predict = (data: string, out: string) => runCli(['predict', '--home', trained.home, '--data', data, '--out', path.join(dir, out), '--json']);
      // Two at a time, their start-ups overlapping; the second of each forecast (the same as the first's) comes after it.
      const [iso, gapped] = await Promise.all([predict(slice(TEST, 60, 'predict-iso.csv'), 'iso.csv'), predict(slice(TEST, 60, 'predict-gaps.csv', { drop: range(30, 5) }), 'gaps.csv')]);
      const [seconds, text] = await Promise.all([
        predict(slice(TEST, 60, 'predict-s.csv', { time: 's' }), 's.csv'),
        runCli(['predict', '--home', trained.home, '--data', path.join(dir, 'predict-gaps.csv')]),
      ]);
      expect([iso.exitCode, seconds.exitCode]).toEqual([0, 0]);
      expect(seconds.json.result.prediction_hash).toBe(iso.json.result.prediction_hash);
      expect(readFileSync(path.join(dir, 's.csv'), 'utf8')).toBe(readFileSync(path.join(dir, 'iso.csv'), 'utf8'));
      // Said as none, as preprocess says it: before, the field was left out.
      expect(iso.json.result.warnings).toEqual([]);

      expect(gapped.exitCode).toBe(0);
      expect(gapped.json.result.warnings).toEqual([expect.objectContaining({ code: 'irregular_time_steps', details: expect.objectContaining({ gaps: 1, largest_gap: expect.objectContaining({ after_row: 29, ms: 6 * 120_000 }) }) })]);
      expect(text.stdout).toMatch(/^warning: The rows of .*predict-gaps\.csv are not evenly spaced: 1 gap \(steps longer than the usual 2 min\), the largest 12 min/m);
    });
  });
});
