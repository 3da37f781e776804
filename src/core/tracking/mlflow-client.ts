import { redactSecrets } from '../redact.js';
import { FltsError, isFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { TrackingSettings } from '../config/specs/tracking.js';
import { createMlflowHttp, notMlflowAnswer, trackingCallBudgetMs, type MlflowHttp, type MlflowRequest } from './mlflow-http.js';
import { createMlflowServers, type MlflowServers, type MlflowServerState } from './mlflow-servers.js';
import type {
  LogBatchInput,
  MlflowArtifactFile,
  MlflowExperiment,
  MlflowKeyValue,
  MlflowLoggedModel,
  MlflowLoggedModelStatus,
  MlflowModelVersion,
  MlflowRun,
  MlflowRunStatus,
} from './mlflow-types.js';

/** MLflow's per-request limits of runs/log-batch. */
const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100 } as const;
const SEARCH_PAGE = 1000;
/** Versions of one registered model and run asked for: a run is versioned once per promotion. */
const MODEL_VERSIONS_PAGE = 200;
/**
 * Pages one listing may take: 100 pages of 1000 are more runs than the experiments flts mirrors into hold, and a
 * proxy or a broken server handing out page tokens forever stops here instead of holding the command for good.
 */
export const MAX_SEARCH_PAGES = 100;
/**
 * Call budgets one listing may take, all its pages together: a listing a healthy server answers takes a few pages
 * of well under a second each, while a server answering each page just under the time limit would otherwise hold
 * the command for MAX_SEARCH_PAGES budgets.
 */
export const LISTING_CALL_BUDGETS = 3;

export interface MlflowClientDeps {
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** The clock of budgets and deadlines (default `Date.now`); injected by tests. */
  readonly now?: () => number;
  /**
   * Where what is learnt of the server (an outage, its lack of logged models) is kept and told from, shared with the
   * other clients made with the same MlflowServers (the clients of one sync, of one daemon); default: this client's own.
   */
  readonly servers?: MlflowServers;
}

export type MlflowClient = ReturnType<typeof createMlflowClientFromHttp> & {
  readonly uri: string;
  readonly budgetMs: number;
  /** What is known of the server at `uri`, shared with the clients of the same MlflowServers. */
  readonly server: MlflowServerState;
};

export function isMlflowError(error: unknown, mlflowErrorCode: string): boolean {
  return isFltsError(error) && error.code === 'FLTS_TRACKING_REJECTED' && error.details.mlflowErrorCode === mlflowErrorCode;
}

/** The time one call of a client built from `tracking` may take, its retries and their backoff included. */
export function trackingBudgetMs(tracking: TrackingSettings): number {
  return trackingCallBudgetMs({ timeoutMs: tracking.timeoutMs, retry: { retries: tracking.retries, baseDelayMs: tracking.backoffMs } });
}

export function createMlflowClient(tracking: TrackingSettings, deps: MlflowClientDeps = {}): MlflowClient {
  const options = {
    uri: tracking.uri,
    timeoutMs: tracking.timeoutMs,
    retry: { retries: tracking.retries, baseDelayMs: tracking.backoffMs },
    token: tracking.token,
    username: tracking.username,
    password: tracking.password,
    caFile: tracking.caFile,
    clientCertFile: tracking.clientCertFile,
    insecureTls: tracking.insecureTls,
    logger: (deps.logger ?? silentLogger).child({ component: 'mlflow' }),
    signal: deps.signal,
    now: deps.now,
    maxResponseBytes: tracking.maxResponseMb * 1024 * 1024,
  };
  const uri = redactSecrets(tracking.uri.replace(/\/+$/, ''));
  const server = (deps.servers ?? createMlflowServers()).of(uri);
  const http = createMlflowHttp({ ...options, server });
  const budgetMs = trackingBudgetMs(tracking);
  return { ...createMlflowClientFromHttp(http, uri, LISTING_CALL_BUDGETS * budgetMs, deps.now ?? Date.now, options.logger, server), uri, budgetMs, server };
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isKeyValues = (value: unknown): boolean => value === undefined || (Array.isArray(value) && value.every((pair) => isObject(pair) && typeof pair.key === 'string'));

/*
 * What the answers must hold before anything reads them: a field MLflow always sends, missing or of another type,
 * means the URL is not MLflow (or a proxy rewrote the answer), which is reported as such rather than failing
 * later on an undefined property. Each returns what is wrong, or undefined.
 */
function experimentProblem(value: unknown): string | undefined {
  return isObject(value) && typeof value.experiment_id === 'string' ? undefined : 'an experiment without a string experiment_id';
}

function runProblem(value: unknown): string | undefined {
  if (!isObject(value) || !isObject(value.info)) return 'a run without info';
  if (typeof value.info.run_id !== 'string' || typeof value.info.experiment_id !== 'string') return 'a run without a string run_id and experiment_id';
  const data = value.data;
  if (data !== undefined && (!isObject(data) || !isKeyValues(data.params) || !isKeyValues(data.tags) || !isKeyValues(data.metrics))) return 'a run whose data is not lists of {key, value}';
  return undefined;
}

function loggedModelProblem(value: unknown): string | undefined {
  if (!isObject(value) || !isObject(value.info)) return 'a logged model without info';
  return typeof value.info.model_id === 'string' && typeof value.info.experiment_id === 'string' ? undefined : 'a logged model without a string model_id and experiment_id';
}

function modelVersionProblem(value: unknown): string | undefined {
  return isObject(value) && typeof value.version === 'string' ? undefined : 'a model version without a string version';
}

function listProblem(value: unknown, item: (entry: unknown) => string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return 'a list that is not an array';
  for (const entry of value) {
    const problem = item(entry);
    if (problem) return `a list holding ${problem}`;
  }
  return undefined;
}

const tokenProblem = (body: Json): string | undefined =>
  body.next_page_token === undefined || typeof body.next_page_token === 'string' ? undefined : 'a next_page_token that is not a string';

const anyObject = (value: unknown): string | undefined => (isObject(value) ? undefined : 'an entry that is not an object');

/** MLflow leaves out `data` of a run without params, metrics or tags. */
const withData = (run: MlflowRun): MlflowRun => (run.data ? run : { ...run, data: {} });

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

/** The refusal of a run of `experiment`, which an operator deleted: reason `experiment_deleted`. */
export function experimentDeleted(experiment: MlflowExperiment): FltsError {
  const { experiment_id: experimentId, name } = experiment;
  return new FltsError(
    'FLTS_TRACKING_REJECTED',
    `MLflow experiment ${JSON.stringify(name)} (id ${experimentId}) is deleted, and flts does not restore it: runs of its model types are not mirrored. ` +
      `Restore it (\`mlflow experiments restore --experiment-id ${experimentId}\`) to mirror into it again, purge it (\`mlflow gc --experiment-ids ${experimentId}\`) to have flts create it anew, or name another experiment (tracking.experiments.*).`,
    { details: { reason: 'experiment_deleted', experimentId, experimentName: name } },
  );
}

/** Logged models of one run asked for: flts logs one, and a few more are writers that raced (settled to the oldest). */
const LOGGED_MODELS_PAGE = 50;
/** Params one request of the logged-model endpoints carries, as MLflow's own client sends them. */
const LOGGED_MODEL_PARAMS_BATCH = 100;

/**
 * A refusal that says the server has no logged-model endpoints (MLflow before 3.0, or a proxy that routes only the
 * older API): a 404 or 405 that is not MLflow's RESOURCE_DOES_NOT_EXIST for an id it does know the route of.
 */
function endpointMissing(error: unknown): boolean {
  if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') return false;
  const { status, mlflowErrorCode } = error.details;
  if (mlflowErrorCode === 'ENDPOINT_NOT_FOUND') return true;
  return (status === 404 || status === 405) && mlflowErrorCode !== 'RESOURCE_DOES_NOT_EXIST';
}

function createMlflowClientFromHttp(http: MlflowHttp, uri: string, listingBudgetMs: number, now: () => number, logger: Logger, server: MlflowServerState) {
  /** `http`, and the answer checked: `problem` names what no MLflow answer lacks. */
  async function checked<T>(req: MlflowRequest, problem: (body: Json) => string | undefined): Promise<T> {
    const body = await http<Json>(req);
    const found = problem(body);
    if (found) throw notMlflowAnswer(uri, req, 'wrong_shape', `HTTP 200 with ${found}`);
    return body as T;
  }

  /** A listing that passed its deadline, `cause` the page call it cut short, if any. */
  function listingTooSlow(req: MlflowRequest, pages: number, elapsedMs: number, cause?: unknown): FltsError {
    return new FltsError(
      'FLTS_TRACKING_UNAVAILABLE',
      `MLflow tracking server ${uri} did not finish listing ${req.method} ${req.path} within ${(listingBudgetMs / 1000).toFixed(1)} s (${LISTING_CALL_BUDGETS} call budgets): ${pages} page(s) read, the next one not.`,
      { cause, details: { uri, path: req.path, reason: 'listing_deadline', pages, elapsedMs, listingBudgetMs } },
    );
  }

  /** A listing that passed the deadline its caller set, sooner than its own: reason `deadline`, as a page call cut at one. */
  function listingPastCallerDeadline(req: MlflowRequest, pages: number, elapsedMs: number, cause?: unknown): FltsError {
    return new FltsError('FLTS_TRACKING_UNAVAILABLE', `MLflow tracking server ${uri} did not finish listing ${req.method} ${req.path} by the deadline its caller set: ${pages} page(s) read, the next one not.`, {
      cause,
      details: { uri, path: req.path, reason: 'deadline', pages, elapsedMs },
    });
  }

  /**
   * Every page of a search: a token seen before, or more than MAX_SEARCH_PAGES pages, is a listing that never
   * ends, reported rather than followed; all pages together end by the listing's deadline (LISTING_CALL_BUDGETS),
   * each page call cut short at it. Items are appended one by one, since spreading a page of
   * hundreds of thousands into push() overflows the stack.
   */
  async function allPages<T>(
    req: MlflowRequest,
    limit: number,
    page: (token: string | undefined, taken: number, deadline: number) => Promise<{ items: readonly T[]; next?: string }>,
    callerDeadline?: number,
  ): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    const started = now();
    const own = started + listingBudgetMs;
    // The caller's deadline (a sync's budget) binds when it comes first, and is reported as its own (reason `deadline`).
    const byCaller = callerDeadline !== undefined && callerDeadline < own;
    const deadline = byCaller ? callerDeadline : own;
    const tooSlow = byCaller ? listingPastCallerDeadline : listingTooSlow;
    let token: string | undefined;
    for (let pages = 1; ; pages += 1) {
      if (now() >= deadline) throw tooSlow(req, pages - 1, now() - started);
      let answer: { items: readonly T[]; next?: string };
      try {
        answer = await page(token, out.length, deadline);
      } catch (error) {
        // A page call that gave up because the listing's deadline left it no more time, not its own budget.
        if (isFltsError(error) && error.code === 'FLTS_TRACKING_UNAVAILABLE' && error.details.reason === 'deadline') throw tooSlow(req, pages - 1, now() - started, error);
        throw error;
      }
      const { items, next } = answer;
      for (const item of items) if (out.length < limit) out.push(item);
      token = next || undefined;
      if (!token || out.length >= limit) return out;
      if (seen.has(token)) throw notMlflowAnswer(uri, req, 'endless_listing', `page ${pages} hands back a page token already followed`);
      if (pages >= MAX_SEARCH_PAGES) throw notMlflowAnswer(uri, req, 'endless_listing', `still a next page after ${MAX_SEARCH_PAGES} pages`);
      seen.add(token);
    }
  }

  async function getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const { experiment } = await checked<{ experiment: MlflowExperiment }>({ method: 'GET', path: '/api/2.0/mlflow/experiments/get-by-name', query: { experiment_name: name } }, (body) => experimentProblem(body.experiment));
      return experiment;
    } catch (error) {
      if (isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw error;
    }
  }

  /** Experiment `experimentId`, deleted or not; undefined when MLflow has none of that id (never created, or purged). */
  async function getExperiment(experimentId: string): Promise<MlflowExperiment | undefined> {
    try {
      const { experiment } = await checked<{ experiment: MlflowExperiment }>({ method: 'GET', path: '/api/2.0/mlflow/experiments/get', query: { experiment_id: experimentId } }, (body) => experimentProblem(body.experiment));
      return experiment;
    } catch (error) {
      if (isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST') || isMlflowError(error, 'INVALID_PARAMETER_VALUE')) return undefined;
      throw error;
    }
  }

  /**
   * The active experiment `name`, created when MLflow has none of that name. One an operator deleted is not restored
   * behind their back (MLflow's own clients refuse to log to it as well): FLTS_TRACKING_REJECTED, reason
   * `experiment_deleted`, until they restore it or purge it (`mlflow gc`), which frees the name.
   */
  async function getOrCreateExperiment(name: string): Promise<MlflowExperiment> {
    const existing = await getExperimentByName(name);
    if (existing?.lifecycle_stage === 'deleted') throw experimentDeleted(existing);
    if (existing) return existing;
    try {
      const { experiment_id } = await checked<{ experiment_id: string }>({ method: 'POST', path: '/api/2.0/mlflow/experiments/create', json: { name } }, (body) =>
        typeof body.experiment_id === 'string' ? undefined : 'no string experiment_id',
      );
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
    const search = { method: 'POST', path: '/api/2.0/mlflow/experiments/search' } as const;
    return allPages<MlflowExperiment>(search, Number.POSITIVE_INFINITY, async (pageToken, _taken, deadline) => {
      const page = await checked<{ experiments?: MlflowExperiment[]; next_page_token?: string }>(
        { ...search, deadline, page: { key: 'experiments', maxEntries: SEARCH_PAGE }, json: { max_results: SEARCH_PAGE, page_token: pageToken, view_type: 'ACTIVE_ONLY' } },
        (body) => listProblem(body.experiments, experimentProblem) ?? tokenProblem(body),
      );
      return { items: page.experiments ?? [], next: page.next_page_token };
    });
  }

  async function createRun(input: { experimentId: string; runName: string; startTime: number; tags: readonly MlflowKeyValue[] }): Promise<MlflowRun> {
    const { run } = await checked<{ run: MlflowRun }>(
      {
        method: 'POST',
        path: '/api/2.0/mlflow/runs/create',
        // user_id beside the tag, as MLflow's own client sends it: the server's runs table still reads it.
        json: { experiment_id: input.experimentId, run_name: input.runName, start_time: input.startTime, tags: input.tags, user_id: input.tags.find((tag) => tag.key === 'mlflow.user')?.value },
      },
      (body) => runProblem(body.run),
    );
    return withData(run);
  }

  async function updateRun(runId: string, update: { status: MlflowRunStatus; endTime?: number; runName?: string }): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/runs/update', json: { run_id: runId, status: update.status, end_time: update.endTime, run_name: update.runName } });
  }

  async function deleteRun(runId: string): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/runs/delete', json: { run_id: runId } });
  }

  /** `deadline` (on the client's clock) ends the call when it comes before the call's own budget, with reason `deadline`. */
  async function getRun(runId: string, options: { deadline?: number } = {}): Promise<MlflowRun | undefined> {
    try {
      const { run } = await checked<{ run: MlflowRun }>({ method: 'GET', path: '/api/2.0/mlflow/runs/get', query: { run_id: runId }, deadline: options.deadline }, (body) => runProblem(body.run));
      return withData(run);
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

  type RunSearch = { experimentIds: readonly string[]; filter?: string; orderBy?: readonly string[]; viewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' };

  /** One page of a search of runs, of at most `maxResults` (up to SEARCH_PAGE); `deadline` when the page belongs to a listing. */
  async function runsPage(input: RunSearch, maxResults: number, pageToken: string | undefined, deadline?: number): Promise<{ runs: MlflowRun[]; next?: string }> {
    const page = await checked<{ runs?: MlflowRun[]; next_page_token?: string }>(
      {
        method: 'POST',
        path: '/api/2.0/mlflow/runs/search',
        deadline,
        page: { key: 'runs', maxEntries: maxResults },
        json: {
          experiment_ids: input.experimentIds,
          filter: input.filter,
          run_view_type: input.viewType ?? 'ACTIVE_ONLY',
          max_results: maxResults,
          order_by: input.orderBy,
          page_token: pageToken,
        },
      },
      (body) => listProblem(body.runs, runProblem) ?? tokenProblem(body),
    );
    return { runs: page.runs ?? [], next: page.next_page_token };
  }

  /**
   * `viewType` DELETED_ONLY: the runs deleted (and not yet garbage-collected) in MLflow; ACTIVE_ONLY by default.
   * `deadline` (on the client's clock) ends the search when it comes before the listing's own, with reason `deadline`.
   */
  async function searchRuns(input: RunSearch & { maxResults?: number; deadline?: number }): Promise<MlflowRun[]> {
    const limit = input.maxResults ?? Number.POSITIVE_INFINITY;
    const search = { method: 'POST', path: '/api/2.0/mlflow/runs/search' } as const;
    const runs = await allPages<MlflowRun>(
      search,
      limit,
      async (pageToken, taken, deadline) => {
        const page = await runsPage(input, Math.min(SEARCH_PAGE, limit - taken), pageToken, deadline);
        return { items: page.runs, next: page.next };
      },
      input.deadline,
    );
    return runs.map(withData);
  }

  /**
   * One page of a search of runs (`maxResults`, up to and by default SEARCH_PAGE of them), from `pageToken`, and the
   * token of the next page if any: for a listing its caller reads a page at a time, within a time of its own, and
   * takes up again later. `deadline` (on the client's clock) ends the call when it comes before the call's own budget,
   * with reason `deadline`: a caller whose time runs out mid-page is not held for the rest of the page's budget.
   */
  async function searchRunsPage(input: RunSearch & { pageToken?: string; deadline?: number; maxResults?: number }): Promise<{ runs: MlflowRun[]; nextPageToken?: string }> {
    const page = await runsPage(input, Math.max(1, Math.min(SEARCH_PAGE, input.maxResults ?? SEARCH_PAGE)), input.pageToken, input.deadline);
    return { runs: page.runs.map(withData), nextPageToken: page.next || undefined };
  }

  async function getMetricHistory(runId: string, metricKey: string): Promise<Array<{ value: number | string; step: number; timestamp: number }>> {
    const { metrics } = await checked<{ metrics?: Array<{ value: number | string; step?: number | string; timestamp?: number | string }> }>(
      { method: 'GET', path: '/api/2.0/mlflow/metrics/get-history', query: { run_id: runId, metric_key: metricKey, max_results: 25_000 } },
      (body) => listProblem(body.metrics, anyObject),
    );
    return (metrics ?? []).map((m) => ({ value: m.value, step: Number(m.step ?? 0), timestamp: Number(m.timestamp ?? 0) }));
  }

  async function uploadArtifact(artifactUri: string | undefined, artifactPath: string, body: Uint8Array): Promise<void> {
    const root = proxiedArtifactRoot(artifactUri);
    await http({ method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${encodePath(`${root}/${artifactPath}`)}`, body });
  }

  async function listArtifacts(artifactUri: string | undefined, artifactPath = ''): Promise<MlflowArtifactFile[]> {
    const root = proxiedArtifactRoot(artifactUri);
    const { files } = await checked<{ files?: MlflowArtifactFile[] }>(
      { method: 'GET', path: '/api/2.0/mlflow-artifacts/artifacts', query: { path: artifactPath ? `${root}/${artifactPath}` : root } },
      (body) => listProblem(body.files, (file) => (isObject(file) && typeof file.path === 'string' ? undefined : 'a file without a string path')),
    );
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
    const { model_versions } = await checked<{ model_versions?: MlflowModelVersion[] }>(
      { method: 'GET', path: '/api/2.0/mlflow/model-versions/search', query: { filter, max_results: MODEL_VERSIONS_PAGE }, page: { key: 'model_versions', maxEntries: MODEL_VERSIONS_PAGE } },
      (body) => listProblem(body.model_versions, modelVersionProblem),
    );
    return model_versions ?? [];
  }

  /** `modelId`: the logged model the version is of (MLflow 3), whose `models:/<id>` is then its source. */
  async function createModelVersion(input: { name: string; source: string; runId: string; modelId?: string; tags?: readonly MlflowKeyValue[]; description?: string }): Promise<MlflowModelVersion> {
    const { model_version } = await checked<{ model_version: MlflowModelVersion }>(
      {
        method: 'POST',
        path: '/api/2.0/mlflow/model-versions/create',
        json: { name: input.name, source: input.source, run_id: input.runId, model_id: input.modelId, tags: input.tags ?? [], description: input.description },
      },
      (body) => modelVersionProblem(body.model_version),
    );
    return model_version;
  }

  async function deleteModelVersion(name: string, version: string): Promise<void> {
    try {
      await http({ method: 'DELETE', path: '/api/2.0/mlflow/model-versions/delete', json: { name, version } });
    } catch (error) {
      if (!isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST')) throw error;
    }
  }

  async function setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/registered-models/alias', json: { name, alias, version } });
  }

  async function getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    try {
      const { model_version } = await checked<{ model_version: MlflowModelVersion }>({ method: 'GET', path: '/api/2.0/mlflow/registered-models/alias', query: { name, alias } }, (body) =>
        modelVersionProblem(body.model_version),
      );
      return model_version;
    } catch (error) {
      if (isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST') || isMlflowError(error, 'INVALID_PARAMETER_VALUE')) return undefined;
      throw error;
    }
  }

  /** Whether the server has MLflow 3's logged models: unknown until a call of theirs answers. */
  let loggedModels: boolean | undefined;

  /**
   * A call of the logged-model endpoints, or undefined when the server has none: the mirror then logs its model into
   * the run alone, as it did before MLflow 3. Found once per client (a sync), told once per server state (a process's
   * sync or daemon). An answer of theirs (the server upgraded) lets the backfill of logged models ask again.
   */
  async function ofLoggedModels<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (loggedModels === false) return undefined;
    try {
      const answer = await call();
      loggedModels = true;
      server.loggedModelsUnsupportedTold = false;
      if (server.backfill === 'unsupported') server.backfill = undefined;
      return answer;
    } catch (error) {
      if (loggedModels === true || !endpointMissing(error)) throw error;
      loggedModels = false;
      if (!server.loggedModelsUnsupportedTold) {
        server.loggedModelsUnsupportedTold = true;
        logger.warn({ uri, err: (error as FltsError).message }, 'mlflow_logged_models_unsupported');
      }
      return undefined;
    }
  }

  /** Logged models of `experimentIds` that `filter` selects, oldest first, one page; undefined on a server without them. */
  async function searchLoggedModels(input: { experimentIds: readonly string[]; filter: string }): Promise<MlflowLoggedModel[] | undefined> {
    return ofLoggedModels(async () => {
      const { models } = await checked<{ models?: MlflowLoggedModel[] }>(
        {
          method: 'POST',
          path: '/api/2.0/mlflow/logged-models/search',
          page: { key: 'models', maxEntries: LOGGED_MODELS_PAGE },
          json: { experiment_ids: input.experimentIds, filter: input.filter, max_results: LOGGED_MODELS_PAGE, order_by: [{ field_name: 'creation_timestamp', ascending: true }] },
        },
        (body) => listProblem(body.models, loggedModelProblem),
      );
      return models ?? [];
    });
  }

  /** A new logged model, PENDING, with its params and tags; undefined on a server without logged models. */
  async function createLoggedModel(input: {
    experimentId: string;
    name: string;
    modelType: string;
    sourceRunId: string;
    params: readonly MlflowKeyValue[];
    tags: readonly MlflowKeyValue[];
  }): Promise<MlflowLoggedModel | undefined> {
    const [first = [], ...rest] = chunks(input.params, LOGGED_MODEL_PARAMS_BATCH);
    const created = await ofLoggedModels(async () => {
      const { model } = await checked<{ model: MlflowLoggedModel }>(
        {
          method: 'POST',
          path: '/api/2.0/mlflow/logged-models',
          json: { experiment_id: input.experimentId, name: input.name, model_type: input.modelType, source_run_id: input.sourceRunId, params: first, tags: input.tags },
        },
        (body) => loggedModelProblem(body.model),
      );
      return model;
    });
    if (!created) return undefined;
    for (const params of rest) await http({ method: 'POST', path: `/api/2.0/mlflow/logged-models/${encodeURIComponent(created.info.model_id)}/params`, json: { model_id: created.info.model_id, params } });
    return created;
  }

  async function finalizeLoggedModel(modelId: string, status: MlflowLoggedModelStatus): Promise<void> {
    await http({ method: 'PATCH', path: `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`, json: { model_id: modelId, status } });
  }

  async function deleteLoggedModel(modelId: string): Promise<void> {
    try {
      await http({ method: 'DELETE', path: `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}` });
    } catch (error) {
      if (!isMlflowError(error, 'RESOURCE_DOES_NOT_EXIST')) throw error;
    }
  }

  /** Records `models` as outputs of run `runId` (MLflow refuses one it already has). */
  async function logOutputs(runId: string, models: ReadonlyArray<{ modelId: string; step: number }>): Promise<void> {
    await http({ method: 'POST', path: '/api/2.0/mlflow/runs/outputs', json: { run_id: runId, models: models.map((model) => ({ model_id: model.modelId, step: model.step })) } });
  }

  return {
    getExperiment,
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
    searchRunsPage,
    getMetricHistory,
    uploadArtifact,
    listArtifacts,
    getOrCreateRegisteredModel,
    searchModelVersions,
    createModelVersion,
    deleteModelVersion,
    setRegisteredModelAlias,
    getModelVersionByAlias,
    searchLoggedModels,
    createLoggedModel,
    finalizeLoggedModel,
    deleteLoggedModel,
    logOutputs,
  };
}
