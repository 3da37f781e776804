import { sameFingerprint } from '../preprocess/input-fingerprint.js';
import type { ProcessedSidecar } from '../preprocess/processed-layout.js';
import type { Settings } from '../config/settings.js';
import { orUnlessUnavailable } from '../errors.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RunRecord } from './run-record.js';

/**
 * Whether `run` was trained on the data `sidecar` describes now. config_hash names the preprocessing settings and the
 * input file names, not their rows: new rows under the same names are a new version of the data under the same
 * config_hash, and a run of the old rows is no run of them. Decided by content, never by when the data was written,
 * so a forced preprocess of unchanged inputs (same content, new `created_at`) leaves its runs current:
 * - both record the processed content's SHA-256 (`data.processed_sha256`, the sidecar's `flts.data_sha256`): equal;
 * - else (a run or data from before that was recorded) both record the input files' SHA-256: equal for both files;
 * - else nothing tells them apart (data from another tool, a run recorded before either): the run counts, as it
 *   always did.
 */
export function trainedOnData(run: RunRecord, sidecar: ProcessedSidecar | undefined): boolean {
  if (sidecar === undefined) return true;
  if (run.config_hash !== sidecar.config_hash) return false;
  const content = sidecar.flts?.data_sha256;
  if (content !== undefined && run.data?.processed_sha256 !== undefined) return run.data.processed_sha256 === content;
  const inputs = sidecar.flts?.fingerprints;
  const trainedOn = run.data?.fingerprints;
  if (inputs && trainedOn) return sameFingerprint(trainedOn.train, inputs.train) && sameFingerprint(trainedOn.test, inputs.test);
  return true;
}

/** The newest SUCCESS run of `modelType` trained on the data `sidecar` describes (any SUCCESS of it without a sidecar). */
export function currentRun(runs: readonly RunRecord[], modelType: string, sidecar: ProcessedSidecar | undefined): RunRecord | undefined {
  return runs.filter((run) => run.model_type === modelType && run.status === 'SUCCESS' && trainedOnData(run, sidecar)).at(-1);
}

/**
 * The runs of `configHash` trained on the data it holds now (every run when its processed data is gone or unreadable):
 * what a promotion of that config_hash chooses among. Runs of rows it held before were scored on other data, and
 * serve what new rows replaced.
 */
export async function runsOnCurrentData(store: ObjectStore, settings: Settings, configHash: string, runs: readonly RunRecord[]): Promise<RunRecord[]> {
  const sidecar = await readProcessedSidecar(store, settings, configHash).catch(orUnlessUnavailable(undefined));
  return runs.filter((run) => run.config_hash === configHash && trainedOnData(run, sidecar));
}
