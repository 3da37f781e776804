import { describe, expect, it } from 'vitest';
import type { MirrorPendingResult } from '../core/registry/mirror-pending-runs.js';
import { trackingSyncLine } from './tracking-sync-lines.js';

const synced = (extra: Partial<MirrorPendingResult> = {}): MirrorPendingResult => ({ pending: [], mirrored: [], found: [], tagged: [], failed: [], deferred: [], ...extra });
const uri = 'http://127.0.0.1:19401';

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

  it('says nothing of a sync that went through or is off, and keeps the line of an unreachable MLflow', () => {
    expect(trackingSyncLine({ status: 'ok', uri, value: synced({ deferred: ['old1'] }) }, 1)).toBeUndefined();
    expect(trackingSyncLine({ status: 'disabled' }, 1)).toBeUndefined();
    expect(trackingSyncLine({ status: 'unavailable', uri, code: 'FLTS_TRACKING_UNAVAILABLE', message: 'no answer', elapsedMs: 5 }, 1)).toBe('mlflow: not mirrored now (no answer); the next sync catches up.');
  });
});
