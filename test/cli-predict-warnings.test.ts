import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_FILES } from '../src/core/registry/run-record.js';
import { runKey, runsBucket } from '../src/core/registry/run-store.js';
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

  it('logs the run\'s own lines on stderr at the level asked, the --json document alone on stdout', async () => {
    // A run trained before records were sealed loads as before, said in the log.
    const run = trained.runs[0];
    const bucket = runsBucket(trained.settings);
    const key = runKey(run.run_id, RUN_FILES.record);
    const { record_sha256: _seal, ...unsealed } = JSON.parse((await trained.store.get(bucket, key)).toString('utf8'));
    await trained.store.put(bucket, key, JSON.stringify(unsealed));

    const json = await runCli(['predict', '--home', trained.home, '--run', run.run_id, '--data', data, '--json', '--log-level', 'info']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.json.result).toMatchObject({ run_id: run.run_id, warnings: [expect.objectContaining({ code: 'irregular_time_steps' })] });
    const lines = json.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; runId?: string });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'run_record_unsealed', run_id: run.run_id }));
    // The data's warning stays the report's (result.warnings), not a log line as well.
    expect(json.stderr).not.toContain('irregular_time_steps');

    // At the default level a command's info lines stay out of its output.
    const quiet = await runCli(['predict', '--home', trained.home, '--run', run.run_id, '--data', data]);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('run_record_unsealed');
  });
});

describe('cli > predict with a bus', () => {
  let trained: TrainedHome;
  let data: string;

  beforeAll(async () => {
    trained = await createTrainedHome('flts-predict-notice-', ['NAIVE']);
    data = path.join(trained.home, 'rows.csv');
    writeFileSync(data, readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').split('\n').slice(0, 61).join('\n'));
  }, 60_000);

  afterAll(() => trained?.remove());

  it('says the performance-eval notice it published, as preprocess and promote say theirs; a duplicate publishes none', async () => {
    const args = ['predict', '--home', trained.home, '--run', trained.runs[0].run_id, '--data', data];
    const first = await runCli(args, { env: { FLTS_BUS: 'fs' } });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^published performance-eval: /m);

    const again = await runCli(args, { env: { FLTS_BUS: 'fs' } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Duplicate of an earlier result/m);
    expect(again.stdout).not.toContain('published');
  });
});
