import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATASETS } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

const TRAIN_LINES = readFileSync(path.join(DATASETS, 'PobleSec.csv'), 'utf8').trim().split('\n');
const TEST_LINES = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').trim().split('\n');

let home: string;
let env: Record<string, string>;

/** Writes the header and the first `rows` rows of PobleSec as train.csv (the same name every time), 100 test rows as test.csv. */
function writeInputs(rows: number): void {
  writeFileSync(path.join(home, 'data', 'train.csv'), `${TRAIN_LINES.slice(0, rows + 1).join('\n')}\n`);
  writeFileSync(path.join(home, 'data', 'test.csv'), `${TEST_LINES.slice(0, 101).join('\n')}\n`);
}

beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-new-data-'));
  mkdirSync(path.join(home, 'data'));
  env = { FLTS_HOME: home, FLTS_DATA_DIR: path.join(home, 'data'), TRAIN_FILE: 'train.csv', TEST_FILE: 'test.csv' };
});
afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

interface TrainJson {
  configHash: string;
  runs: Array<{ run_id: string; data: { processed_sha256?: string } }>;
  alreadyTrained: Array<{ run_id: string }>;
}

async function preprocess(...flags: string[]): Promise<{ status: string; configHash: string }> {
  const run = await runCli(['preprocess', '--json', ...flags], { env });
  expect(run.exitCode, run.stderr).toBe(0);
  return run.json.result as { status: string; configHash: string };
}

async function trainSkippingTrained(): Promise<TrainJson> {
  const run = await runCli(['train', '--model', 'NAIVE', '--skip-trained', '--json'], { env, timeoutMs: 120_000 });
  expect(run.exitCode, run.stderr).toBe(0);
  return run.json.result as TrainJson;
}

describe('cli > train --skip-trained after new data under the same file names', () => {
  it('trains the new rows (same config_hash), and nothing for a replay or a forced preprocess of the same rows', async () => {
    writeInputs(300);
    const first = await preprocess();
    const trained = await trainSkippingTrained();
    expect(trained.runs).toHaveLength(1);
    expect(trained.runs[0].data.processed_sha256).toMatch(/^[0-9a-f]{64}$/);

    // New rows arrive under the same file name: the same settings, so the same config_hash, but other data.
    writeInputs(360);
    const grown = await preprocess();
    expect(grown).toMatchObject({ status: 'processed', configHash: first.configHash });
    const retrained = await trainSkippingTrained();
    expect(retrained.configHash).toBe(first.configHash);
    expect(retrained.runs).toHaveLength(1);
    expect(retrained.runs[0].data.processed_sha256).not.toBe(trained.runs[0].data.processed_sha256);

    // The same rows again: a replayed train, and a forced preprocess (a new write of the same content).
    expect((await trainSkippingTrained()).runs).toEqual([]);
    expect((await preprocess('--force')).status).toBe('processed');
    const replay = await trainSkippingTrained();
    expect(replay.runs).toEqual([]);
    expect(replay.alreadyTrained.map((run) => run.run_id)).toEqual([retrained.runs[0].run_id]);
  }, 300_000);
});
