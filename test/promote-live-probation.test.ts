import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../src/core/config/settings.js';
import { writeLiveReport, type LiveReport } from '../src/core/live/live-reports.js';
import { runPreprocess } from '../src/core/preprocess/run-preprocess.js';
import { appendHistory } from '../src/core/registry/promotion-history.js';
import { readRunRecord } from '../src/core/registry/run-store.js';
import { buildPromotionRecord } from '../src/core/workflows/promote.js';
import type { ObjectStore } from '../src/core/storage/object-store.js';
import { trainModels } from '../src/core/workflows/train.js';
import { createSliceHome } from './helpers/poblesec-slice.js';
import { runCli } from './helpers/run-cli.js';

describe('flts promote > says when a live probation starts', () => {
  let home: string;
  let remove: (() => void) | undefined;
  let first: string;
  let second: string;
  let store: ObjectStore;
  let settings: Settings;
  const promote = (args: string[], env: Record<string, string> = {}) => runCli(['promote', ...args, '--force', '--home', home], { env: { FLTS_LIVE_PROBATION_POINTS: '40', ...env } });

  beforeAll(async () => {
    const slice = createSliceHome('flts-promote-probation-', { 'data.sampleTestRows': 60 });
    ({ home, remove, store, settings } = slice);
    await runPreprocess(slice.settings, { store: slice.store });
    first = (await trainModels({ models: ['NAIVE'] }, slice.settings, { store: slice.store })).runs[0].run_id;
    second = (await trainModels({ models: ['NAIVE'] }, slice.settings, { store: slice.store })).runs[0].run_id;
  }, 120_000);

  afterAll(() => remove?.());

  const NO_SERVER = 'live probation waits for a server: no server reports live scoring yet (a replica serving with FLTS_LIVE_SCORING on reports every FLTS_LIVE_REPORT_INTERVAL_MS); serving replicas will compare';
  /** A serving replica's live report, as its monitor writes it. */
  const liveReport = (replica: string, extra: Partial<LiveReport> = {}): LiveReport => ({ replica, updated_at: new Date().toISOString(), served_run_id: first, runs: [], probation: null, memory: { points: 0, forgotten: 0 }, ...extra });

  /** How the line words the decision: the margin is the record's, the rollback the deciding process's to make. */
  const decided = (margin: string) => `then judged worse if its RMSE exceeds the previous run's by more than ${margin}%, and a worse run is rolled back unless the deciding process (the promoter, or an embedded server) has FLTS_LIVE_ROLLBACK off`;

  const manual = (args: string[]) => runCli(['promote-manual', '--yes', '--force', '--reason', 'by hand', ...args, '--home', home], { env: { FLTS_LIVE_PROBATION_POINTS: '40' } });

  it('says so on a promotion that replaces a run, with where to watch it, and carries it in --json', async () => {
    // A first promotion has nothing to compare with: no probation.
    const initial = await promote(['--run', first, '--json']);
    expect(initial.exitCode, initial.stderr).toBe(0);
    expect(initial.json.result.live_probation).toBeNull();

    const text = await promote(['--run', second]);
    expect(text.exitCode, text.stderr).toBe(0);
    // No server has reported live scoring: the probation waits for one (this command's settings cannot tell).
    const lines = text.stdout.split('\n').filter((line) => line.startsWith('live probation'));
    expect(lines).toEqual([
      `${NO_SERVER} run ${second} with run ${first} forecasting in shadow over 40 matched points, ${decided('10')}; watch it in /healthz live.probation or with \`flts eval --live\`.`,
    ]);

    const json = await promote(['--run', first, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.json.result.live_probation).toEqual({ run_id: first, previous_run_id: second, points: 40, margin: 0.1, rollback: true, serving_replicas: [] });

    // Pinned by the promotion: decided and reported, never rolled back, whoever decides.
    const pinned = await promote(['--run', second, '--pin']);
    expect(pinned.stdout).toContain(`${NO_SERVER} run ${second} with run ${first} forecasting in shadow over 40 matched points, then judged worse if its RMSE exceeds the previous run's by more than 10%, decided and reported, never rolled back automatically (pinned);`);
    // This command's FLTS_LIVE_ROLLBACK decides nothing (the decider's own does): it does not change what is said.
    const rollbackOff = await promote(['--run', first, '--json'], { FLTS_LIVE_ROLLBACK: 'false' });
    expect(rollbackOff.json.result.live_probation).toMatchObject({ run_id: first, rollback: true });
    const rollbackOffText = await promote(['--run', second], { FLTS_LIVE_ROLLBACK: 'false' });
    expect(rollbackOffText.stdout).toContain(`over 40 matched points, ${decided('10')};`);
  });

  it('says how many serving replicas run the probation, from their live reports: a stopped one does not count', async () => {
    await writeLiveReport(store, settings, liveReport('host-7'));
    await writeLiveReport(store, settings, liveReport('host-8', { stopped_at: new Date().toISOString() }));
    // Gone for longer than a heartbeat: no more serving.
    await writeLiveReport(store, settings, liveReport('host-9', { updated_at: new Date(Date.now() - 3_600_000).toISOString() }));
    expect((await promote(['--run', first])).exitCode).toBe(0);
    const text = await promote(['--run', second]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout.split('\n').filter((line) => line.startsWith('live probation'))).toEqual([
      `live probation starts on 1 serving replica: they compare run ${second} with run ${first} forecasting in shadow over 40 matched points, ${decided('10')}; watch it in /healthz live.probation or with \`flts eval --live\`.`,
    ]);
    const json = await promote(['--run', first, '--json']);
    expect(json.json.result.live_probation).toMatchObject({ run_id: first, previous_run_id: second, serving_replicas: ['host-7'] });
    for (const replica of ['host-7', 'host-8', 'host-9']) await store.delete(settings.store.buckets.runs, `live/global/replicas/${replica}.json`);
  });

  it('says nothing of a probation on a rollback or on nothing changed', async () => {
    expect((await promote(['--run', first])).exitCode).toBe(0);
    expect((await promote(['--run', second])).exitCode).toBe(0);
    const rollback = await promote(['--rollback']);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.stdout).not.toContain('live probation');
    const unchanged = await promote(['--run', first, '--json']);
    expect(unchanged.json.result).toMatchObject({ changed: false, live_probation: null });
  });

  it('says so from the record, whatever this command\'s own FLTS_LIVE_SCORING: the record fixes the probation all the same', async () => {
    expect((await promote(['--run', first])).exitCode).toBe(0);
    const off = await promote(['--run', second, '--json'], { FLTS_LIVE_SCORING: 'false' });
    expect(off.exitCode, off.stderr).toBe(0);
    expect(off.json.result.record.probation).toEqual({ points: 40, margin: 0.1 });
    expect(off.json.result.live_probation).toEqual({ run_id: second, previous_run_id: first, points: 40, margin: 0.1, rollback: true, serving_replicas: [] });
    // A record written before records carried the probation's terms says nothing of one: none is announced.
    const { probation: _terms, ...older } = buildPromotionRecord(await readRunRecord(store, settings, first), settings, { source: 'manual', actor: 'ops', reason: 'older flts', action: 'promote', previousRunId: second });
    await appendHistory(store, settings, older);
    const caughtUp = await promote(['--run', first]);
    expect(caughtUp.exitCode, caughtUp.stderr).toBe(0);
    expect(caughtUp.stdout).not.toContain('live probation');
  });

  it("names the probation's own size and margin, saved in the record, not this command's settings", async () => {
    expect((await promote(['--run', first])).exitCode).toBe(0);
    // Another process, with other settings, promoted and stopped before its pointers: this command finishes that
    // promotion, and its probation runs under the terms that process fixed (every replica pairs up to 25 points).
    const elsewhere = { ...settings, live: { ...settings.live, probationPoints: 25, rollbackMargin: 0.2 } };
    await appendHistory(store, settings, buildPromotionRecord(await readRunRecord(store, settings, second), elsewhere, { source: 'manual', actor: 'ops', reason: 'from another host', action: 'promote', previousRunId: first }));
    const text = await promote(['--run', second]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout.split('\n').filter((line) => line.startsWith('live probation'))).toEqual([
      `${NO_SERVER} run ${second} with run ${first} forecasting in shadow over 25 matched points, ${decided('20')}; watch it in /healthz live.probation or with \`flts eval --live\`.`,
    ]);
    // This command's own promotion fixes its settings' terms.
    const own = await promote(['--run', first, '--json']);
    expect(own.json.result.record.probation).toEqual({ points: 40, margin: 0.1 });
    expect(own.json.result.live_probation).toMatchObject({ points: 40, margin: 0.1 });
  });

  it('says so on a promotion by promote-manual as well, in the same words as flts promote', async () => {
    expect((await promote(['--run', first])).exitCode).toBe(0);
    const text = await manual(['--run', second]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout.split('\n').filter((line) => line.startsWith('live probation'))).toEqual([
      `${NO_SERVER} run ${second} with run ${first} forecasting in shadow over 40 matched points, ${decided('10')}; watch it in /healthz live.probation or with \`flts eval --live\`.`,
    ]);
    const json = await manual(['--run', first, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.json.result.live_probation).toEqual({ run_id: first, previous_run_id: second, points: 40, margin: 0.1, rollback: true, serving_replicas: [] });
    const unchanged = await manual(['--run', first]);
    expect(unchanged.exitCode, unchanged.stderr).toBe(0);
    expect(unchanged.stdout).not.toContain('live probation');
  });
});
