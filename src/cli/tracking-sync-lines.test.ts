import { describe, expect, it } from 'vitest';
import type { MirrorPendingResult } from '../core/registry/mirror-pending-runs.js';
import { trackingSyncLines } from './tracking-sync-lines.js';

const synced = (extra: Partial<MirrorPendingResult> = {}): MirrorPendingResult => ({ pending: [], mirrored: [], found: [], tagged: [], failed: [], deferred: [], ...extra });
const uri = 'http://127.0.0.1:19401';
const experiments = { neural: 'flts-neural', statistical: 'NonML' };
/** The one line said of `tracking`, if any, for the cases that say one at most. */
const trackingSyncLine = (tracking: Parameters<typeof trackingSyncLines>[0], trained: number): string | undefined => {
  const lines = trackingSyncLines(tracking, trained, experiments);
  expect(lines.length).toBeLessThanOrEqual(1);
  return lines[0];
};

describe('cli > tracking-sync-lines', () => {
  it('says the runs just trained were mirrored and the catch-up of older runs resumes at the next sync, when MLflow went away during it', () => {
    // Before: a sync `ok` with `interrupted` printed nothing, though the older runs were left for the next sync.
    const interrupted = { step: 'listing' as const, code: 'FLTS_TRACKING_UNAVAILABLE', message: 'MLflow tracking server http://user:secret@mlflow:5000 failed POST /api/2.0/mlflow/runs/search:\nECONNREFUSED' };
    const line = trackingSyncLine({ status: 'ok', uri, value: synced({ interrupted, deferred: ['old1', 'old2'] }) }, 2);
    expect(line).toBe('mlflow: the 2 runs just trained were mirrored, but catching up older runs stopped (MLflow tracking server http://***@mlflow:5000 failed POST /api/2.0/mlflow/runs/search: ECONNREFUSED); it resumes at the next sync.');
    expect(trackingSyncLine({ status: 'ok', uri, value: synced({ interrupted }) }, 1)).toMatch(/^mlflow: the run just trained was mirrored, but catching up older runs stopped \(/);
    // Every model type trained already: only the catch-up ran.
    expect(trackingSyncLine({ status: 'ok', uri, value: synced({ interrupted }) }, 0)).toMatch(/^mlflow: catching up older runs stopped \(.*\); it resumes at the next sync\.$/);
  });

  it('says when the sync wrote the promotion mark of the run in service that its promotion left out', () => {
    const promotionMarked = { runId: 'r1', marker: 'alias' as const, mlflowRunId: 'm1', registeredModel: 'flts-global', version: '3', alias: 'champion' };
    expect(trackingSyncLine({ status: 'ok', uri, value: { ...synced(), promotionMarked } }, 1)).toBe("mlflow: run r1, in service, marked as its promotion had not: flts-global version 3 is now 'champion'.");
    const tagged = { runId: 'r1', marker: 'tag' as const, mlflowRunId: 'm1', tag: 'promoted', reason: 'no registry' };
    expect(trackingSyncLine({ status: 'ok', uri, value: { ...synced(), promotionMarked: tagged } }, 1)).toBe("mlflow: run r1, in service, marked as its promotion had not: its MLflow run m1 is tagged 'promoted'.");
  });

  it('says nothing of a sync that went through or is off, and keeps the line of an unreachable MLflow', () => {
    expect(trackingSyncLine({ status: 'ok', uri, value: synced({ deferred: ['old1'] }) }, 1)).toBeUndefined();
    expect(trackingSyncLine({ status: 'disabled' }, 1)).toBeUndefined();
    expect(trackingSyncLine({ status: 'unavailable', uri, code: 'FLTS_TRACKING_UNAVAILABLE', message: 'no answer', elapsedMs: 5 }, 1)).toBe('mlflow: not mirrored now (no answer); the next sync catches up.');
  });

  it('prints what the server sent in its refusal as one line of text, never its terminal sequences or line breaks', () => {
    const refused = { status: 'unavailable' as const, uri, code: 'FLTS_TRACKING_REJECTED', message: 'MLflow rejected POST /api/2.0/mlflow/experiments/search (HTTP 400): bad \u001b[2J\u001b[31mRED\u001b[0m\nfake line', elapsedMs: 5 };
    expect(trackingSyncLine(refused, 1)).toBe('mlflow: not mirrored now (MLflow rejected POST /api/2.0/mlflow/experiments/search (HTTP 400): bad  [2J [31mRED [0m fake line); the next sync catches up.');
  });

  it('says which credentials MLflow refused, rather than only that the next sync catches up, which it cannot until they change', () => {
    const refused = { status: 'unavailable' as const, uri, code: 'FLTS_TRACKING_REJECTED', message: 'MLflow rejected POST /api/2.0/mlflow/experiments/search (HTTP 401)', elapsedMs: 5, hint: 'flts sent the bearer token of MLFLOW_TRACKING_TOKEN.' };
    expect(trackingSyncLine(refused, 1)).toBe(
      'mlflow: not mirrored now (MLflow rejected POST /api/2.0/mlflow/experiments/search (HTTP 401)); the next sync catches up once MLflow accepts the credentials. flts sent the bearer token of MLFLOW_TRACKING_TOKEN.',
    );
  });

  it('says, per deleted experiment, how many runs it keeps back, the setting that names it and how to restore it', () => {
    // Before: parked and waiting runs printed nothing, so runs never reached MLflow with no reason given.
    const value = synced({
      failed: [{ runId: 'new1', code: 'FLTS_TRACKING_REJECTED', message: 'deleted' }],
      parked: [
        { runId: 'new1', reason: 'experiment_deleted', experimentName: 'flts-neural', experimentId: '12' },
        { runId: 'new2', reason: 'experiment_deleted', experimentName: 'NonML', experimentId: '7' },
      ],
      waiting: [{ experimentName: 'flts-neural', experimentId: '12', runs: 2 }],
    });
    expect(trackingSyncLines({ status: 'ok', uri, value }, 2, experiments)).toEqual([
      'mlflow: 3 runs not mirrored (tracking.experiments.neural): MLflow experiment "flts-neural" (id 12) is deleted, and flts does not restore it: runs of its model types are not mirrored. ' +
        'Restore it (`mlflow experiments restore --experiment-id 12`) to mirror into it again, purge it (`mlflow gc --experiment-ids 12`) to have flts create it anew, or name another experiment (tracking.experiments.*).',
      'mlflow: 1 run not mirrored (tracking.experiments.statistical): MLflow experiment "NonML" (id 7) is deleted, and flts does not restore it: runs of its model types are not mirrored. ' +
        'Restore it (`mlflow experiments restore --experiment-id 7`) to mirror into it again, purge it (`mlflow gc --experiment-ids 7`) to have flts create it anew, or name another experiment (tracking.experiments.*).',
    ]);
    // One experiment for both kinds of model: both settings name it. Runs waiting alone (nothing trained now) are said too.
    const shared = trackingSyncLines({ status: 'ok', uri, value: synced({ waiting: [{ experimentName: 'flts', experimentId: '3', runs: 1 }] }) }, 0, { neural: 'flts', statistical: 'flts' });
    expect(shared).toHaveLength(1);
    expect(shared[0]).toMatch(/^mlflow: 1 run not mirrored \(tracking\.experiments\.neural, tracking\.experiments\.statistical\): MLflow experiment "flts" \(id 3\) is deleted, .*`mlflow experiments restore --experiment-id 3`/);
  });

  it('says the deleted experiments after an interrupted catch-up', () => {
    const interrupted = { step: 'mirror' as const, code: 'FLTS_TRACKING_UNAVAILABLE', message: 'ECONNREFUSED' };
    const lines = trackingSyncLines({ status: 'ok', uri, value: synced({ interrupted, waiting: [{ experimentName: 'NonML', experimentId: '7', runs: 4 }] }) }, 1, experiments);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^mlflow: the run just trained was mirrored, but catching up older runs stopped \(ECONNREFUSED\)/);
    expect(lines[1]).toMatch(/^mlflow: 4 runs not mirrored \(tracking\.experiments\.statistical\): MLflow experiment "NonML" \(id 7\) is deleted/);
  });
});
