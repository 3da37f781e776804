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
});
