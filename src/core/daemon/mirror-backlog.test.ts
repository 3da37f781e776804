import { describe, expect, it } from 'vitest';
import { createMirrorBacklog } from './mirror-backlog.js';

describe('core > daemon > mirror backlog', () => {
  it('counts each run from when it was trained or first found unmirrored until a sync takes it, whatever the syncs that left it', () => {
    let clock = 0;
    const backlog = createMirrorBacklog(() => clock);
    expect(backlog.status()).toEqual({ runs: 0, oldest_age_seconds: null });
    backlog.trained('run-a');
    clock = 10_000;
    // A sync finds two more unmirrored (an outage's backlog), and leaves run-a too.
    backlog.beginSync().done({ deferred: ['run-a', 'run-b'], failed: [{ runId: 'run-c', code: 'FLTS_TRACKING_REJECTED', message: 'refused' }] });
    clock = 70_000;
    expect(backlog.status()).toEqual({ runs: 3, oldest_age_seconds: 70 });
    // The next sync mirrors run-a and run-c: run-b waits since it was first found.
    backlog.beginSync().done({ deferred: ['run-b'], failed: [] });
    clock = 100_000;
    expect(backlog.status()).toEqual({ runs: 1, oldest_age_seconds: 90 });
    backlog.beginSync().done({ deferred: [], failed: [] });
    expect(backlog.status()).toEqual({ runs: 0, oldest_age_seconds: null });
  });

  it('keeps a run trained while a sync ran, which that sync may have looked too early to see', () => {
    let clock = 0;
    const backlog = createMirrorBacklog(() => clock);
    const sync = backlog.beginSync();
    clock = 1_000;
    backlog.trained('run-late');
    sync.done({ deferred: [], failed: [] });
    clock = 31_000;
    expect(backlog.status()).toEqual({ runs: 1, oldest_age_seconds: 30 });
  });
  it('ages a run a sync finds from its record\'s finished_at (the trainer\'s clock), so a restart does not reset the lag; one without it from first seen', async () => {
    let clock = 0;
    let wall = Date.parse('2026-01-01T02:00:00.000Z');
    const records: Record<string, string | undefined> = { 'run-old': '2026-01-01T00:00:00.000Z', 'run-unfinished': undefined, 'run-ahead': '2026-01-01T03:00:00.000Z' };
    const backlog = createMirrorBacklog(() => clock, { finishedAt: async (runId) => records[runId], wall: () => wall });
    // A process started just now: its first sync finds a run finished two hours ago by the trainer's clock.
    await backlog.beginSync().done({ deferred: ['run-old', 'run-unfinished'], failed: [] });
    clock = 30_000;
    wall += 30_000;
    expect(backlog.status()).toEqual({ runs: 2, oldest_age_seconds: 7_230 });
    // Mirrored: the one left has no finished_at and counts from when this process first saw it.
    await backlog.beginSync().done({ deferred: ['run-unfinished'], failed: [] });
    expect(backlog.status()).toEqual({ runs: 1, oldest_age_seconds: 30 });
    // A trainer whose clock is ahead of this one's: its run counts as just finished, never as a negative age.
    await backlog.beginSync().done({ deferred: ['run-ahead'], failed: [] });
    expect(backlog.status()).toEqual({ runs: 1, oldest_age_seconds: 0 });
  });
});
