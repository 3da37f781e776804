import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrowingDataHome, type GrowingDataHome } from './helpers/growing-data-home.js';
import { runCli } from './helpers/run-cli.js';

let data: GrowingDataHome;
let env: Record<string, string>;

beforeEach(() => {
  data = createGrowingDataHome('flts-cli-new-data-');
  env = data.env;
});
afterEach(() => data.remove());

interface TrainJson {
  config_hash: string;
  runs: Array<{ run_id: string; data: { processed_sha256?: string } }>;
  already_trained: Array<{ run_id: string }>;
}

async function preprocess(...flags: string[]): Promise<{ status: string; config_hash: string }> {
  const run = await runCli(['preprocess', '--json', ...flags], { env });
  expect(run.exitCode, run.stderr).toBe(0);
  return run.json.result as { status: string; config_hash: string };
}

async function trainSkippingTrained(): Promise<TrainJson> {
  const run = await runCli(['train', '--model', 'NAIVE', '--skip-trained', '--json'], { env, timeoutMs: 120_000 });
  expect(run.exitCode, run.stderr).toBe(0);
  return run.json.result as TrainJson;
}

describe('cli > train --skip-trained after new data under the same file names', () => {
  it('trains the new rows (same config_hash), and nothing for a replay or a forced preprocess of the same rows', async () => {
    data.writeInputs(300);
    const first = await preprocess();
    const trained = await trainSkippingTrained();
    expect(trained.runs).toHaveLength(1);
    expect(trained.runs[0].data.processed_sha256).toMatch(/^[0-9a-f]{64}$/);

    // New rows arrive under the same file name: the same settings, so the same config_hash, but other data.
    data.writeInputs(360);
    const grown = await preprocess();
    expect(grown).toMatchObject({ status: 'processed', config_hash: first.config_hash });
    const retrained = await trainSkippingTrained();
    expect(retrained.config_hash).toBe(first.config_hash);
    expect(retrained.runs).toHaveLength(1);
    expect(retrained.runs[0].data.processed_sha256).not.toBe(trained.runs[0].data.processed_sha256);

    // The same rows again: a replayed train, and a forced preprocess (a new write of the same content).
    expect((await trainSkippingTrained()).runs).toEqual([]);
    expect((await preprocess('--force')).status).toBe('processed');
    const replay = await trainSkippingTrained();
    expect(replay.runs).toEqual([]);
    expect(replay.already_trained.map((run) => run.run_id)).toEqual([retrained.runs[0].run_id]);
  }, 300_000);
});

describe('cli > train --model', () => {
  it('takes --model more than once, as a comma list, and trains each type named', async () => {
    data.writeInputs(300);
    await preprocess();
    // Before, a second --model was refused: "--model=mstl cannot also be provided when using --model".
    const run = await runCli(['train', '--model', 'NAIVE', '-m', 'mstl', '--json'], { env, timeoutMs: 120_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    expect((run.json.result as { runs: Array<{ model_type: string }> }).runs.map((trained) => trained.model_type).sort()).toEqual(['MSTL', 'NAIVE']);
  }, 300_000);
});

describe('cli > train with a bus', () => {
  it('says the model-training notices it published, as preprocess says its claims; a run not trained again publishes none', async () => {
    const bus = { ...env, FLTS_BUS: 'fs' };
    data.writeInputs(300);
    expect((await runCli(['preprocess', '--json'], { env: bus })).exitCode).toBe(0);
    const trained = await runCli(['train', '--model', 'NAIVE', '--skip-trained'], { env: bus, timeoutMs: 120_000 });
    expect(trained.exitCode, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/^published model-training: RUNNING, then SUCCESS of the run$/m);
    const again = await runCli(['train', '--model', 'NAIVE', '--skip-trained', '--json'], { env: bus, timeoutMs: 120_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.result).toMatchObject({ runs: [], published: null });
    const without = await runCli(['train', '--model', 'NAIVE', '--json'], { env, timeoutMs: 120_000 });
    expect(without.json.result).toMatchObject({ runs: [expect.anything()], published: null });
  });
});
