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
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  run_id?: string;
  source?: string;
  status?: string;
  aliases?: string[];
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
