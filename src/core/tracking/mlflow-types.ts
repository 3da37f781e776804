/** MLflow REST shapes (API 2.0) as flts uses them; fields MLflow omits when empty are optional. */
export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MlflowKeyValue {
  key: string;
  value: string;
}

export interface MlflowMetric {
  key: string;
  /** MLflow's JSON carries NaN and infinities as the strings "NaN", "Infinity", "-Infinity". */
  value: number | string;
  timestamp: number;
  step: number;
  /** MLflow 3: the logged model the point is also recorded for (its Models tab reads them there). */
  model_id?: string;
}

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
}

export interface MlflowRunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  /** Who created the run (flts sends its mlflow.user tag's value). */
  user_id?: string;
  status: MlflowRunStatus;
  start_time?: number | string;
  end_time?: number | string;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: { metrics?: MlflowMetric[]; params?: MlflowKeyValue[]; tags?: MlflowKeyValue[] };
  /** MLflow 3: the logged models the run produced. */
  outputs?: { model_outputs?: Array<{ model_id: string; step?: number | string }> };
}

/** MLflow 3's status of a logged model: PENDING until its files are all uploaded, then READY. */
export type MlflowLoggedModelStatus = 'LOGGED_MODEL_PENDING' | 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED';

/** MLflow 3's logged model: a model of its own, with its own artifact location, linked to the run that made it. */
export interface MlflowLoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name?: string;
    artifact_uri?: string;
    status?: MlflowLoggedModelStatus | string;
    source_run_id?: string;
    model_type?: string;
    creation_timestamp_ms?: number | string;
    tags?: MlflowKeyValue[];
  };
  data?: { params?: MlflowKeyValue[]; metrics?: MlflowMetric[] };
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  run_id?: string;
  source?: string;
  status?: string;
  aliases?: string[];
  /** MLflow 3: the logged model the version is of. */
  model_id?: string;
}

export interface MlflowArtifactFile {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

export interface LogBatchInput {
  metrics?: readonly MlflowMetric[];
  params?: readonly MlflowKeyValue[];
  tags?: readonly MlflowKeyValue[];
}

/** MLflow sends int64 values as strings and non-finite doubles as words; both become numbers here. */
export function mlflowNumber(value: number | string | undefined | null): number {
  if (value === undefined) return Number.NaN;
  if (value === null) return Number.NaN;
  return typeof value === 'number' ? value : Number(value);
}

export function encodeMetricValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

export function toRecord(pairs: readonly MlflowKeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((pairs ?? []).map((pair) => [pair.key, pair.value]));
}
