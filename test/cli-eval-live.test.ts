import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLiveReport, type LiveReport } from '../src/core/live/live-reports.js';
import { createSliceHome, type SliceHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

describe('cli > eval --live names what it ranks', () => {
  let slice: SliceHome;

  beforeAll(async () => {
    slice = createSliceHome('flts-eval-live-', { identifier: 'plant-7', 'live.probationPoints': 100 });
    const report: LiveReport = {
      replica: 'host-1',
      updated_at: new Date().toISOString(),
      served_run_id: 'run-a',
      runs: [
        { run_id: 'run-a', matched_total: 400, targets: { down: { rmse: 2, mae: 1, points: 400 } as never } },
        { run_id: 'run-b', matched_total: 3, targets: { down: { rmse: 1, mae: 1, points: 3 } as never } },
      ],
      probation: null,
      memory: { points: 0, forgotten: 0 },
    };
    await writeLiveReport(slice.store, slice.settings, report);
  });

  afterAll(() => slice?.remove());

  it('heads the ranked lines with the scope and where the figures come from, as --json names its scope', async () => {
    const args = ['eval', '--live', '--home', slice.home,];
    const env = { IDENTIFIER: 'plant-7', FLTS_LIVE_PROBATION_POINTS: '100' };
    const text = await runCli(args, { env });
    expect(text.exitCode, text.stderr).toBe(0);
    const [first, ...rows] = text.stdout.trim().split('\n');
    expect(first).toContain('scope plant-7');
    expect(first).toContain("each replica's rolling window");
    expect(first).toContain('runs under 100 points ranked last, FLTS_LIVE_PROBATION_POINTS');
    expect(rows.map((row) => row.trim().split(/\s+/).slice(0, 2))).toEqual([['1', 'run-a'], ['2', 'run-b']]);

    const json = await runCli([...args, '--json'], { env });
    expect(json.json.result.scope).toBe('plant-7');
    // No promotion fixed terms here: the local setting judges, and --json says so.
    expect(json.json.result.terms).toEqual({ points: 100, margin: 0.1, source: 'settings', run_id: null });
  });

  it('--identifier names the scope as promote --identifier does, over IDENTIFIER', async () => {
    const env = { FLTS_LIVE_PROBATION_POINTS: '100' };
    const ranked = (result: Awaited<ReturnType<typeof runCli>>) => ({ scope: result.json.result.scope, runs: (result.json.result.rows as { run_id: string }[]).map((row) => row.run_id) });
    const flagged = await runCli(['eval', '--live', '--identifier', 'plant-7', '--home', slice.home, '--json'], { env });
    expect(flagged.exitCode, flagged.stderr).toBe(0);
    expect(ranked(flagged)).toEqual({ scope: 'plant-7', runs: ['run-a', 'run-b'] });
    // The flag wins over the environment, as it does for every setting.
    const both = await runCli(['eval', '--live', '--identifier', 'plant-7', '--home', slice.home, '--json'], { env: { ...env, IDENTIFIER: 'plant-9' } });
    expect(ranked(both)).toEqual({ scope: 'plant-7', runs: ['run-a', 'run-b'] });
    // Without it, the default scope, where no replica reported.
    const global = await runCli(['eval', '--live', '--home', slice.home, '--json'], { env });
    expect(ranked(global)).toEqual({ scope: 'global', runs: [] });
  });

  it('refuses --identifier without --live: the other rankings are of no scope', async () => {
    const result = await runCli(['eval', '--identifier', 'plant-7', '--home', slice.home, '--json']);
    expect(result.exitCode).not.toBe(0);
    expect(result.json.error.code).toBe('FLTS_USAGE_INVALID_FLAG');
    expect(result.json.error.details).toEqual({ flag: 'identifier' });
  });
});
