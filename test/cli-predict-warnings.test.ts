import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainedHome, DATASETS, type TrainedHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

describe('cli > predict over rows with a gap', () => {
  let trained: TrainedHome;
  let data: string;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-predict-warnings-', ['NAIVE']);
    // 60 test rows with ten left out in the middle: one 22-minute gap in a 2-minute series.
    const lines = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').split('\n');
    data = path.join(trained.home, 'gap.csv');
    writeFileSync(data, [...lines.slice(0, 31), ...lines.slice(41, 71)].join('\n'));
  }, 60_000);

  afterAll(() => trained?.remove());

  it('says the warning once, on stdout, with no log line repeating it on stderr', async () => {
    const run = await runCli(['predict', '--home', trained.home, '--run', trained.runs[0].run_id, '--data', data]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^warning: The rows of .*gap\.csv are not evenly spaced: 1 gap/m);
    expect(run.stderr).not.toContain('irregular_time_steps');

    const json = await runCli(['predict', '--home', trained.home, '--run', trained.runs[0].run_id, '--data', data, '--json']);
    expect(json.json.result.warnings).toEqual([expect.objectContaining({ code: 'irregular_time_steps' })]);
  });
});
