import type { ForecastMetrics } from '../forecast/metrics.js';
import type { ModelType, TargetForm } from '../models/forecast-model.js';

export type RunStatus = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'KILLED';

/** The window a run's model consumes and produces (serving builds its inputs from this). */
export interface RunWindow {
  features: string[];
  targets: string[];
  inputSeqLen: number;
  outputSeqLen: number;
  /** What LSTM/GRU learned (`WindowSpec.targetForm`; absent: levels). */
  targetForm?: TargetForm;
  /** `WindowSpec.changeWeight` (absent: 1). */
  changeWeight?: number;
  /** `WindowSpec.targetFloors` (absent: runs saved before floors, or no target that never went negative). */
  targetFloors?: Record<string, number>;
}

/** Reference-style flat metric names (what the score uses: scaled, on the processed test file) plus the details. */
export interface RunMetrics {
  test_mse: number;
  test_rmse: number;
  test_mae: number;
  test_r2: number;
  /** Validation loss (MSE, scaled) of the kept epoch; NN models only. */
  val_loss?: number;
  test: ForecastMetrics;
}

export interface RunTimings {
  started_at: string;
  finished_at?: string;
  duration_ms?: number;
  /** Time spent fitting (training loop or Prophet optimisation). */
  fit_ms?: number;
  /** Training windows processed per second of the training loop (NN models). */
  samples_per_sec?: number;
}

/** Lineage of the data a run was trained on, copied from the processed-data sidecar. */
export interface RunDataLineage {
  processed_bucket: string;
  processed_created_at: string;
  train_rows: number;
  test_rows: number;
  train_source_object: string;
  test_source_object: string;
  fingerprints?: { train: { file: string; sha256: string; bytes: number }; test: { file: string; sha256: string; bytes: number } };
  /** The processed content's SHA-256 (the sidecar's `flts.data_sha256`; absent for runs on data preprocessed before it was recorded). */
  processed_sha256?: string;
  /** How test forecasts were produced: the last inputSeqLen training rows are prepended as history. */
  test_windows: 'prepend-train-history';
}

/** The reference's experiment of a model type: "Default" for neural networks, "NonML" otherwise. */
export function runExperiment(modelType: string): string {
  return modelType === 'LSTM' || modelType === 'GRU' ? 'Default' : 'NonML';
}

/** `<run_id>/run.json` in the runs bucket: everything known about one training run. */
export interface RunRecord {
  run_id: string;
  model_type: ModelType;
  /** Reference experiment names: "Default" for neural networks, "NonML" otherwise. */
  experiment: string;
  config_hash: string;
  status: RunStatus;
  error?: { code: string; message: string };
  params: Record<string, string | number | boolean | string[]>;
  window: RunWindow;
  data: RunDataLineage;
  backend?: string;
  seed: number;
  timings: RunTimings;
  best_epoch?: number;
  epochs_run?: number;
  metrics?: RunMetrics;
  /** Object keys inside the run, relative to `<run_id>/`. */
  artifacts: Record<string, string>;
  /**
   * Hex SHA-256 of each file the model predicts from (model files, scaler, intervals; keys relative to `<run_id>/`),
   * as training wrote them; checked wherever the run is loaded. Absent on runs trained before it was kept.
   */
  artifact_sha256?: Record<string, string>;
  /**
   * Hex SHA-256 of the record's own canonical JSON without this field (run-record-seal.ts runRecordDigest), sealed by
   * training on the SUCCESS record and checked wherever the run is loaded or listed (a listing leaves it out, so it is
   * never ranked nor chosen): the artifact digests protect the files, this protects the record that lists them and
   * the metrics it is ranked by. Absent on runs trained before it was kept.
   */
  record_sha256?: string;
  flts_version: string;
  /**
   * Who trained the run, as MLflow names a run's user (settings tracking.user of the training process): the mirror
   * created later, by a sync of another user or once tracking is reachable again, is stamped with it rather than with
   * the syncing process's user. Absent on runs recorded before it was kept, and where training knew no user.
   */
  user?: string;
  /** The process that trains the run (absent on runs recorded before it was kept): a RUNNING run whose process is gone is KILLED. */
  owner?: RunOwner;
}

export interface RunOwner {
  host: string;
  pid: number;
  /**
   * When the process started, as `<boot id>:<start tick>` (Linux): tells the process from a later one given the
   * same pid, such as a restarted container's. Absent where the system does not say.
   */
  started?: string;
  /**
   * The pid namespace the process ran in (Linux: the inode of /proc/self/ns/pid): a pid names the same process
   * only inside one namespace, and containers sharing a host name (the host's network, a fixed `hostname:`) each
   * have their own. Absent where the system does not say.
   */
  pid_namespace?: string;
  /**
   * The Kubernetes pod (its uid) and container the process ran in (settings `instance.*`), absent outside one: a
   * restarted container has a new pid namespace, so its predecessor's pid says nothing, but the kubelet never runs
   * two instances of one container of a pod, so a record of the same pod and container from another namespace is
   * known gone.
   */
  pod_uid?: string;
  container?: string;
  /**
   * The id of the container the process ran in, kept in a file of the container's own filesystem (settings
   * `instance.idFile`, containerInstanceId), absent where none is: it survives a restart of the container in place
   * (Docker's restart policy) and is never another container's, so a record of this id from another pid namespace on
   * this boot is an earlier instance's, known gone.
   */
  instance_id?: string;
}

export const RUN_FILES = {
  record: 'run.json',
  history: 'metrics.json',
  scaler: 'scaler.json',
  lossCurve: 'loss-curve.svg',
  predictions: 'predictions.json',
  intervals: 'intervals.json',
  /** Rewritten while the run trains (see run-heartbeat.ts); not an artifact. */
  heartbeat: 'heartbeat.json',
  /** Which training-data claims the run's SUCCESS notice answered (daemon/answered-claims.ts); not an artifact. */
  answeredClaims: 'answered-claims.json',
  modelDir: 'model',
} as const;

/**
 * Whether training wrote `run` an interval calibration: its record names intervals.json among its artifacts or
 * digests, as every SUCCESS record since calibrations existed does. Such a run without the file lost part of what
 * it predicts from (its bands), where a run trained before calibrations existed never had one.
 */
export function recordsIntervals(run: Pick<RunRecord, 'artifacts' | 'artifact_sha256'>): boolean {
  return Object.hasOwn(run.artifacts ?? {}, 'intervals') || Object.hasOwn(run.artifact_sha256 ?? {}, RUN_FILES.intervals);
}
