import type { InputFingerprint, ProcessedSidecar } from '../preprocess/processed-layout.js';
import type { Settings } from '../config/settings.js';
import { orUnlessUnavailable } from '../errors.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RunRecord } from './run-record.js';

/**
 * What a run says of the data it was trained on, wherever that is kept: its run.json (`lineageOf`) or the tags of its
 * MLflow mirror (`mirroredLineage` in mirror-source.ts).
 */
export interface TrainedDataLineage {
  configHash: string;
  /** The processed content's SHA-256 (run.json's `data.processed_sha256`). */
  processedSha256?: string;
  /** The input files' SHA-256, with their sizes where the record keeps them (MLflow tags keep the digest alone). */
  inputs?: { train: { sha256: string; bytes?: number }; test: { sha256: string; bytes?: number } };
}

function lineageOf(run: RunRecord): TrainedDataLineage {
  return { configHash: run.config_hash, processedSha256: run.data?.processed_sha256, inputs: run.data?.fingerprints };
}

/** Input files compared as `sameFingerprint` does, on the digest alone where the size was not kept. */
const sameInput = (trainedOn: { sha256: string; bytes?: number }, input: InputFingerprint): boolean =>
  trainedOn.sha256 === input.sha256 && (trainedOn.bytes === undefined || trainedOn.bytes === input.bytes);

/**
 * Whether a run of `lineage` was trained on the data `sidecar` describes now. config_hash names the preprocessing
 * settings and the input file names, not their rows: new rows under the same names are a new version of the data under
 * the same config_hash, and a run of the old rows is no run of them. Decided by content, never by when the data was
 * written, so a forced preprocess of unchanged inputs (same content, new `created_at`) leaves its runs current:
 * - both record the processed content's SHA-256 (`data.processed_sha256`, the sidecar's `flts.data_sha256`): equal;
 * - else (a run or data from before that was recorded) both record the input files' SHA-256: equal for both files;
 * - else nothing tells them apart (data from another tool, a run recorded before either, a reference trainer's MLflow
 *   run): the run counts, as it always did.
 */
export function trainedOnLineage(lineage: TrainedDataLineage, sidecar: ProcessedSidecar | undefined): boolean {
  if (sidecar === undefined) return true;
  if (lineage.configHash !== sidecar.config_hash) return false;
  const content = sidecar.flts?.data_sha256;
  if (content !== undefined && lineage.processedSha256 !== undefined) return lineage.processedSha256 === content;
  const inputs = sidecar.flts?.fingerprints;
  const trainedOn = lineage.inputs;
  if (inputs && trainedOn) return sameInput(trainedOn.train, inputs.train) && sameInput(trainedOn.test, inputs.test);
  return true;
}

/** Whether `run` was trained on the data `sidecar` describes now (`trainedOnLineage` of its run.json). */
export function trainedOnData(run: RunRecord, sidecar: ProcessedSidecar | undefined): boolean {
  return trainedOnLineage(lineageOf(run), sidecar);
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
  return runsOnData(await currentDataOf(store, settings, configHash), configHash, runs);
}

/** The runs of `configHash` trained on the data `sidecar` describes (every run of it without a sidecar): `runsOnCurrentData` of a sidecar already read. */
export function runsOnData(sidecar: ProcessedSidecar | undefined, configHash: string, runs: readonly RunRecord[]): RunRecord[] {
  return runs.filter((run) => run.config_hash === configHash && trainedOnData(run, sidecar));
}

/** The sidecar of the data `configHash` holds now, the one runs are compared with (undefined when gone or unreadable: every run counts). */
export async function currentDataOf(store: ObjectStore, settings: Settings, configHash: string): Promise<ProcessedSidecar | undefined> {
  return readProcessedSidecar(store, settings, configHash).catch(orUnlessUnavailable(undefined));
}
