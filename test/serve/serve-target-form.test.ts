import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/core/config/settings.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { getJson } from '../../src/core/storage/json-objects.js';
import type { PredictionsArtifact } from '../../src/core/train/predictions-artifact.js';
import { createTrainedHome, rawTestRows } from '../helpers/poblesec-slice.js';
import { postJson } from './serve-fixtures.js';

/** Raw test rows per request: each request's last inputSeqLen rows are one of the run's test windows. */
const REQUEST_ROWS = [12, 20, 31];

describe('serve > a run trained on the window target form', () => {
  let store: ObjectStore;
  let settings: Settings;
  let remove: (() => void) | undefined;
  let run: RunRecord;
  let service: InferenceService | undefined;

  beforeAll(async () => {
    let runs: RunRecord[];
    ({ store, settings, remove, runs } = await createTrainedHome('flts-serve-window-', ['GRU'], {
      'training.targetForm': 'window',
      'data.sampleTestRows': 40,
      'serve.port': 0,
      'serve.pollIntervalMs': 0,
      'serve.predictionLog.enabled': false,
      'live.enabled': false,
    }));
    [run] = runs;
    service = await startInferenceService(settings, { store });
  }, 180_000);

  afterAll(async () => {
    await service?.close();
    remove?.();
  });

  it("answers POST /predict with the run's own test forecasts for the same windows", async () => {
    expect(run.window.targetForm).toBe('window');
    const own = await getJson<PredictionsArtifact>(store, settings.store.buckets.runs, `${run.run_id}/predictions.json`);
    const { horizon } = own;
    for (const rows of REQUEST_ROWS) {
      const { status, json } = await postJson(`${service!.url}/predict`, { data: rawTestRows(rows), index_col: 'time' });
      expect(status).toBe(200);
      expect(json.predictions).toHaveLength(horizon);
      // The test window whose first forecast step is the request's first forecast row.
      const first = own.times.indexOf(Date.parse(`${json.predictions[0].ts}Z`));
      expect(first % horizon).toBe(0);
      json.predictions.forEach((served: Record<string, number>, step: number) => {
        for (const target of own.targets) {
          const expected = own.predicted[target][first + step];
          // float32 rounding: serving's fused kernels and training's tfjs sum in another order, and the standardised
          // inputs folded into the first layer make the sums larger than the forecast (2e-5 here, 5e-7 without).
          expect(Math.abs(served[target] - expected) / Math.abs(expected)).toBeLessThan(1e-4);
        }
      });
    }
  });
});
