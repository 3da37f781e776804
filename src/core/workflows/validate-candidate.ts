import type { Settings } from '../config/settings.js';
import { FltsError, isFltsError } from '../errors.js';
import { predictWindows } from '../forecast/predict-windows.js';
import { sliceWindows } from '../forecast/windows.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import { loadRunForServing } from '../registry/load-run.js';
import type { RunRecord } from '../registry/run-record.js';
import type { ObjectStore } from '../storage/object-store.js';
import { testWindows } from '../train/prepare-windows.js';

/** The most recent test windows a candidate forecasts before promotion: enough to catch broken weights, bounded in time. */
export const CANDIDATE_CHECK_WINDOWS = 256;

export interface CandidateCheck {
  /** Test windows forecast. */
  windows: number;
}

/**
 * Loads the run as serving would, on the serving engine (ONNX Runtime by default, so the check loads no tfjs),
 * and forecasts the last test windows of the processed data it was trained on.
 * A model that cannot be loaded throws its load error; missing processed data FLTS_PROMOTE_NO_TEST_WINDOWS; any
 * NaN or infinite forecast FLTS_PROMOTE_CANDIDATE_INVALID (a run with broken weights would otherwise answer
 * every request with nulls).
 */
export async function validateCandidate(store: ObjectStore, settings: Settings, run: RunRecord): Promise<CandidateCheck> {
  const data = await loadProcessedData(store, settings, { configHash: run.config_hash }).catch((error: unknown) => {
    if (isFltsError(error) && (error.code === 'FLTS_DATA_NOT_PROCESSED' || error.code === 'FLTS_STORE_NOT_FOUND')) {
      throw new FltsError('FLTS_PROMOTE_NO_TEST_WINDOWS', `Run ${run.run_id} cannot be checked: ${error.message}`, { details: { runId: run.run_id, configHash: run.config_hash }, cause: error });
    }
    throw error;
  });
  const all = testWindows(data, run.window);
  const windows = sliceWindows(all, Math.max(0, all.size - CANDIDATE_CHECK_WINDOWS), all.size, run.window);
  if (windows.size === 0) {
    throw new FltsError('FLTS_PROMOTE_NO_TEST_WINDOWS', `Run ${run.run_id} cannot be checked: its processed test data yields no window.`, { details: { runId: run.run_id, configHash: run.config_hash } });
  }
  const { model } = await loadRunForServing(store, settings, run.run_id, { engine: settings.serve.engine });
  try {
    const forecasts = await predictWindows(model, windows);
    const bad = forecasts.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new FltsError('FLTS_PROMOTE_CANDIDATE_INVALID', `Run ${run.run_id} (${run.model_type}) forecasts ${forecasts[bad]} on its test windows (value ${bad} of ${forecasts.length}); it is not promoted.`, {
        details: { runId: run.run_id, modelType: run.model_type, index: bad, value: String(forecasts[bad]), windows: windows.size },
      });
    }
    return { windows: windows.size };
  } finally {
    model.dispose();
  }
}
