import { redactSecrets } from '../redact.js';
import { FltsError, isFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { TrackingSettings } from '../config/specs/tracking.js';
import { createMlflowHttp, trackingCallBudgetMs, type MlflowHttp } from './mlflow-http.js';
import type {
  LogBatchInput,
  MlflowArtifactFile,
  MlflowExperiment,
  MlflowKeyValue,
  MlflowModelVersion,
  MlflowRun,
  MlflowRunStatus,
} from './mlflow-types.js';

/** MLflow's per-request limits of runs/log-batch. */
const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100 } as const;
const SEARCH_PAGE = 1000;

export interface MlflowClientDeps {
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

export type MlflowClient = ReturnType<typeof createMlflowClientFromHttp> & { readonly uri: string; readonly budgetMs: number };

export function isMlflowError(error: unknown, mlflowErrorCode: string): boolean {
  return isFltsError(error) && error.code === 'FLTS_TRACKING_REJECTED' && error.details.mlflowErrorCode === mlflowErrorCode;
}

export function createMlflowClient(tracking: TrackingSettings, deps: MlflowClientDeps = {}): MlflowClient {
  const options = {
    uri: tracking.uri,
    timeoutMs: tracking.timeoutMs,
    retry: { retries: tracking.retries, baseDelayMs: tracking.backoffMs },
    token: tracking.token,
    username: tracking.username,
    password: tracking.password,
    logger: (deps.logger ?? silentLogger).child({ component: 'mlflow' }),
    signal: deps.signal,
  };
  const http = createMlflowHttp(options);
  return { ...createMlflowClientFromHttp(http), uri: redactSecrets(tracking.uri.replace(/\/+$/, '')), budgetMs: trackingCallBudgetMs(options) };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The artifact proxy path of a run: `mlflow-artifacts:/0/<run>/artifacts` -> `0/<run>/artifacts`. */
export function proxiedArtifactRoot(artifactUri: string | undefined): string {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri ?? '');
  if (!match) {
    throw new FltsError('FLTS_TRACKING_REJECTED', `The run's artifact location ${JSON.stringify(artifactUri)} is not served through the tracking server's artifact proxy; start \`mlflow server\` with --serve-artifacts (or an mlflow-artifacts default artifact root).`, {
      details: { artifactUri },
    });
  }
  return match[1].replace(/\/+$/, '');
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function createMlflowClientFromHttp(http: MlflowHttp) {
  async function getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const { experiment } = await http<{ experiment: MlflowExperiment }>({ method: 'GET', path: '/api/2.0/mlflow/experiments/get-by-name', query: { experiment_name: name } });
      return experiment;
    } catch (error) {
      if (isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw error;
    }
  }

  async function getOrCreateExperiment(name: string): Promise<MlflowExperiment> {
    const existing = await getExperimentByName(name);
    if (existing?.lifecycle_stage === 'deleted') {
      await http({ method: 'POST', path: '/api/2.0/mlflow/experiments/restore', json: { experiment_id: existing.experiment_id } });
      return { ...existing, lifecycle_stage: 'active' };
    }
    if (existing) return existing;
    try {
      const { experiment_id } = await http<{ experiment_id: string }>({ method: 'POST', path: '/api/2.0/mlflow/experiments/create', json: { name } });
      return { experiment_id, name };
    } catch (error) {
      // Another writer created it between our lookup and create (MLflow answers RESOURCE_ALREADY_EXISTS,
      // or a bare database constraint error when the two inserts overlap).
      if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
      const created = await getExperimentByName(name);
      if (!created) throw error;
      return created;
    }
  }

  async function searchExperiments(): Promise<MlflowExperiment[]> {
    const out: MlflowExperiment[] = [];
    let pageToken: string | undefined;
    do {
      const page = await http<{ experiments?: MlflowExperiment[]; next_page_token?: string }>({
        method: 'POST',
        path: '/api/2.0/mlflow/experiments/search',
        json: { max_results: SEARCH_PAGE, page_token: pageToken, view_type: 'ACTIVE_ONLY' },
      });
      out.push(...(page.experiments ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async function createRun(input: { experimentId: string; runName: string; startTime: number; tags: readonly MlflowKeyValue[] }): Promise<MlflowRun> {
    const { run } = await http<{ run: MlflowRun }>({
      method: 'POST',
      path: '/api/2.0/mlflow/runs/create',
      json: { experiment_id: input.experimentId, run_name: input.runName, start_time: input.startTime, tags: input.tags },
    });
    return run;
  }

  async function updateRun(runId: string, update: { status: MlflowRunStatus; endTime?: number; runName?: string }): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/runs/update', json: { run_id: runId, status: update.status, end_time: update.endTime, run_name: update.runName } });
  }

  async function deleteRun(runId: string): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/runs/delete', json: { run_id: runId } });
  }

  async function getRun(runId: string): Promise<MlflowRun | undefined> {
    try {
      const { run } = await http<{ run: MlflowRun }>({ method: 'GET', path: '/api/2.0/mlflow/runs/get', query: { run_id: runId } });
      return run;
    } catch (error) {
      if (isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST') || isMlflowError(error, 'INVALID_PARAMETER_VALUE')) return undefined;
      throw error;
    }
  }

  async function logBatch(runId: string, batch: LogBatchInput): Promise<void> {
    const params = chunks(batch.params ?? [], BATCH_LIMITS.params);
    const tags = chunks(batch.tags ?? [], BATCH_LIMITS.tags);
    const metrics = chunks(batch.metrics ?? [], BATCH_LIMITS.metrics);
    for (let i = 0; i < Math.max(params.length, tags.length); i += 1) {
      await http({ method: 'POST', path: '/api/2.0/mlflow/runs/log-batch', json: { run_id: runId, params: params[i] ?? [], tags: tags[i] ?? [] } });
    }
    for (const chunk of metrics) await http({ method: 'POST', path: '/api/2.0/mlflow/runs/log-batch', json: { run_id: runId, metrics: chunk } });
  }

  async function setTag(runId: string, key: string, value: string): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/runs/set-tag', json: { run_id: runId, key, value } });
  }

  async function searchRuns(input: { experimentIds: readonly string[]; filter?: string; orderBy?: readonly string[]; maxResults?: number }): Promise<MlflowRun[]> {
    const limit = input.maxResults ?? Number.POSITIVE_INFINITY;
    const out: MlflowRun[] = [];
    let pageToken: string | undefined;
    do {
      const page = await http<{ runs?: MlflowRun[]; next_page_token?: string }>({
        method: 'POST',
        path: '/api/2.0/mlflow/runs/search',
        json: {
          experiment_ids: input.experimentIds,
          filter: input.filter,
          run_view_type: 'ACTIVE_ONLY',
          max_results: Math.min(SEARCH_PAGE, limit - out.length),
          order_by: input.orderBy,
          page_token: pageToken,
        },
      });
      out.push(...(page.runs ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken && out.length < limit);
    return out;
  }

  async function getMetricHistory(runId: string, metricKey: string): Promise<Array<{ value: number | string; step: number; timestamp: number }>> {
    const { metrics } = await http<{ metrics?: Array<{ value: number | string; step?: number | string; timestamp?: number | string }> }>({
      method: 'GET',
      path: '/api/2.0/mlflow/metrics/get-history',
      query: { run_id: runId, metric_key: metricKey, max_results: 25_000 },
    });
    return (metrics ?? []).map((m) => ({ value: m.value, step: Number(m.step ?? 0), timestamp: Number(m.timestamp ?? 0) }));
  }

  async function uploadArtifact(artifactUri: string | undefined, artifactPath: string, body: Uint8Array): Promise<void> {
    const root = proxiedArtifactRoot(artifactUri);
    await http({ method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(`${root}/${artifactPath}`)}`, body });
  }

  async function listArtifacts(artifactUri: string | undefined, artifactPath = ''): Promise<MlflowArtifactFile[]> {
    const root = proxiedArtifactRoot(artifactUri);
    const { files } = await http<{ files?: MlflowArtifactFile[] }>({
      method: 'GET',
      path: '/api/2.0/mlflow-artifacts/artifacts',
      query: { path: artifactPath ? `${root}/${artifactPath}` : root },
    });
    // The proxy lists names relative to the folder; return run-relative paths like MLflow's own listing.
    return (files ?? []).map((file) => ({ ...file, path: artifactPath ? `${artifactPath}/${file.path}` : file.path }));
  }

  async function getOrCreateRegisteredModel(name: string): Promise<void> {
    try {
      await http({ method: 'GET', path: '/api/2.0/mlflow/registered-models/get', query: { name } });
    } catch (error) {
      if (!isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST')) throw error;
      try {
        await http({ method: 'POST', path: '/api/2.0/mlflow/registered-models/create', json: { name, description: 'Models promoted by flts.' } });
      } catch (createError) {
        if (!isMlflowError(createError, 'RESOURCE_ALREADY_EXISTS')) throw createError;
      }
    }
  }

  async function searchModelVersions(filter: string): Promise<MlflowModelVersion[]> {
    const { model_versions } = await http<{ model_versions?: MlflowModelVersion[] }>({
      method: 'GET',
      path: '/api/2.0/mlflow/model-versions/search',
      query: { filter, max_results: 200 },
    });
    return model_versions ?? [];
  }

  async function createModelVersion(input: { name: string; source: string; runId: string; tags?: readonly MlflowKeyValue[] }): Promise<MlflowModelVersion> {
    const { model_version } = await http<{ model_version: MlflowModelVersion }>({
      method: 'POST',
      path: '/api/2.0/mlflow/model-versions/create',
      json: { name: input.name, source: input.source, run_id: input.runId, tags: input.tags ?? [] },
    });
    return model_version;
  }

  async function setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/registered-models/alias', json: { name, alias, version } });
  }

  async function getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    try {
      const { model_version } = await http<{ model_version: MlflowModelVersion }>({ method: 'GET', path: '/api/2.0/mlflow/registered-models/alias', query: { name, alias } });
      return model_version;
    } catch (error) {
      if (isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST') || isMlflowError(error, 'INVALID_PARAMETER_VALUE')) return undefined;
      throw error;
    }
  }

  return {
    getExperimentByName,
    getOrCreateExperiment,
    searchExperiments,
    createRun,
    updateRun,
    deleteRun,
    getRun,
    logBatch,
    setTag,
    searchRuns,
    getMetricHistory,
    uploadArtifact,
    listArtifacts,
    getOrCreateRegisteredModel,
    searchModelVersions,
    createModelVersion,
    setRegisteredModelAlias,
    getModelVersionByAlias,
  };
}
