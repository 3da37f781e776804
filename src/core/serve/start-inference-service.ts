import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Settings } from '../config/settings.js';
import { FltsError, toFltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { untilAborted, withTimeout } from '../retry.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createMeteredBodyBudget } from './body-budget.js';
import { buildServer } from './build-server.js';
import { createMeteredAdmission } from './forecast-admission.js';
import { assertDistinctPorts, listenOrExplain } from './listen.js';
import { createModelHolder, type ModelHolder } from './model-holder.js';
import type { GrpcInferenceServer } from './oip-grpc-server.js';
import type { ModelSource } from './model-source.js';
import { createPredictionLog, type PredictionLog } from './prediction-log.js';
import { startLogRetention, type LogRetention } from './prediction-log-retention.js';
import { listensBeyondLoopback } from './access-control.js';
import { createPredictionRecorder } from './prediction-recorder.js';
import { requestsInFlightOf } from './requests-in-flight.js';
import { createSyncPredictionLog } from './sync-prediction-log.js';
import { createRegistryModelSource } from './registry-model-source.js';
import { createServeMetrics, type ServeMetrics } from './serve-metrics.js';
import type { PromotionFollowing } from './promotion-following.js';
import { createLiveMonitor, type LiveMonitor } from './live-monitor.js';
import { servingReplicaId } from './replica-id.js';
import { openServedModel } from './served-model.js';
import { servingLiveness, type Liveness } from './liveness.js';
import type { MonotonicClock } from '../registry/run-liveness.js';
import type { RollbackAction } from '../live/probation-decider.js';

export interface InferenceServiceDeps {
  store: ObjectStore;
  logger?: Logger;
  onEvent?: EventSink;
  /** Defaults to the run registry in `store`. */
  source?: ModelSource;
  /** The topic its owner follows promotions on (a bus is configured), for the log line of a holder that waits for one. */
  promotionTopic?: string;
  /** Whether its owner follows promotions on the bus (promotionTopic), for /healthz. */
  promotions?: PromotionFollowing;
  /**
   * When given, this service decides the probation of each promotion itself and rolls back through it (an
   * embedded `flts serve`); otherwise it only reports its live figures for the promoter to decide.
   */
  rollback?: RollbackAction;
  /** The clock of the prediction log's retention (which day folders are old). */
  now?: () => Date;
  /** The clock of the served model's forward passes, which /livez reads (default performance.now); tests pin it. */
  monotonic?: MonotonicClock;
  /** The registry /metrics exports; given when the bus was made first and reports to it (its `bus`). */
  metrics?: ServeMetrics;
  /**
   * Ends the start when aborted: what started is closed and the start rejects with the signal's reason. The first
   * reads (the prediction log's bucket, the promotion pointer or pinned run) wait on the store, which may not answer
   * for a long time.
   */
  signal?: AbortSignal;
}

export interface InferenceService {
  url: string;
  app: FastifyInstance;
  holder: ModelHolder;
  /** Live accuracy, unless FLTS_LIVE_SCORING=false. */
  live?: LiveMonitor;
  /** The Open Inference Protocol over gRPC, when serve.grpcPort is set. */
  grpc?: { url: string; port: number };
  /** The prediction log's retention sweeps (none run with serve.predictionLog.retentionDays = 0). */
  retention: LogRetention;
  /**
   * Begins the stop: readiness (/readyz, /ready, /v2/health/ready, gRPC ServerReady) answers not ready (503
   * FLTS_SERVE_STOPPING) from now, and every answer not yet begun closes its connection after it, while the service
   * still serves. Its owner calls it first, before its own steps (leaving the promotion group), so that a load balancer
   * stops routing here meanwhile; close() begins it too. Idempotent.
   */
  beginStop(): void;
  /** Whether the service can still forecast, as its /livez says it (liveness.ts); a daemon's serving role says it on the daemon's /livez. */
  liveness(): Liveness;
  /**
   * Stops listening (in-flight requests finish within `drainMs`, default serve.requestTimeoutMs; those still running
   * then are cut, counted and logged), stops reloads and retention, writes buffered prediction logs and the live state
   * within serve.shutdownWritesTimeoutMs, and says what was drained, cut and not written.
   */
  close(options?: CloseOptions): Promise<ServiceStopReport>;
}

export interface CloseOptions {
  /** How long requests in flight may still run (default serve.requestTimeoutMs). */
  drainMs?: number;
  /**
   * Aborted when its owner is told to hurry (flts serve's second signal): the HTTP requests and gRPC calls still in
   * flight are cut then, as at the end of the drain; the last writes keep their own bound.
   */
  cut?: AbortSignal;
}

/** What a stopping service could not write to the store within serve.shutdownWritesTimeoutMs (nothing: 0 and []). */
export interface ServiceStopReport {
  /** Prediction records appended and not written: their write failed, or was still running when the time ran out. */
  unwrittenRecords: number;
  /** The last writes still running when the time ran out (`prediction-log`, `live-state`). */
  unfinished: string[];
  /** HTTP requests in flight as the stop began that were answered (or left by their client) within the drain. */
  requestsDrained: number;
  /** HTTP requests still running at the end of the drain, whose connections were closed unanswered. */
  requestsCut: number;
  /** gRPC calls still open at the end of their grace (arriving, running or answered and not yet taken), reset unanswered. */
  grpcCallsCut: number;
  /** gRPC calls open as the stop began that ended within their grace (answered, or left by their client), as requestsDrained. */
  grpcCallsDrained: number;
}

/** The error a stop that left writes undone ends with (exit code 6): what was lost, and why. */
export function unwrittenAtStop(report: ServiceStopReport, timeoutMs: number, location: string): FltsError {
  const lost = [...(report.unwrittenRecords > 0 ? [`${report.unwrittenRecords} prediction record${report.unwrittenRecords === 1 ? '' : 's'}`] : []), ...(report.unfinished.includes('live-state') ? ['the live state'] : [])];
  // A write that ended without being taken was refused (its warning is logged); one still running ran out of time.
  const refused = report.unwrittenRecords > 0 && !report.unfinished.includes('prediction-log');
  const timedOut = report.unfinished.length > 0;
  const within = `within ${timeoutMs} ms (serve.shutdownWritesTimeoutMs)`;
  const why = refused && timedOut ? `it refused some and did not take the rest ${within}` : refused ? 'it refused them (the warnings logged before say why)' : `it did not take them ${within}`;
  return new FltsError('FLTS_STORE_UNAVAILABLE', `Stopped without writing ${lost.join(' and ') || 'the last writes'} to the store at ${location}: ${why}.`, {
    details: { unwrittenRecords: report.unwrittenRecords, unfinished: report.unfinished },
  });
}

/**
 * The names of `steps` not settled within `timeoutMs`. A step that fails has ended: it reports its own failure.
 * A store that does not answer holds a write for its idle timeout (10 s) each time it is tried, and a stop waited
 * on every one in turn (a flush already running, the last flush, the live state): 25 s and more, past the 30 s a
 * Kubernetes pod is given. The writes still running are left to the store's close.
 */
async function unfinishedWithin(steps: Record<string, Promise<unknown> | undefined>, timeoutMs: number): Promise<string[]> {
  const running = new Set(Object.keys(steps).filter((name) => steps[name] !== undefined));
  const all = Promise.allSettled(Object.entries(steps).map(([name, step]) => step?.finally(() => running.delete(name))));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  return [...running];
}

/** serve.grpcPort equal to serve.port, refused before anything starts: gRPC and the HTTP API bind the same host. */
export async function assertServePortsDistinct(serve: Pick<Settings['serve'], 'host' | 'port' | 'grpcPort'>): Promise<void> {
  await assertDistinctPorts(
    { setting: 'serve.grpcPort', named: '--grpc-port (serve.grpcPort, FLTS_SERVE_GRPC_PORT)', port: serve.grpcPort, host: serve.host },
    { setting: 'serve.port', named: '--port (serve.port, FLTS_SERVE_PORT)', port: serve.port, host: serve.host },
    'gRPC and the HTTP API listen on the same host and cannot share a port',
    'give --grpc-port another one',
  );
}

/**
 * `flts serve` as a library call: listens at once (so liveness answers while the model loads), then loads
 * the pinned run or follows the promotion pointer. A pinned run that cannot be loaded is an error, one the registry
 * does not have is refused before listening; a broken pointer is not (the service waits, unready, and keeps polling).
 */
export async function startInferenceService(settings: Settings, deps: InferenceServiceDeps): Promise<InferenceService> {
  deps.signal?.throwIfAborted();
  await assertServePortsDistinct(settings.serve);
  // A step the start waits for, left (not stopped) once the start is aborted.
  const orAborted = <T>(step: Promise<T>): Promise<T> => (deps.signal ? untilAborted(step, deps.signal) : step);
  const logger = deps.logger ?? silentLogger;
  const serve = settings.serve;
  const metrics = deps.metrics ?? createServeMetrics();
  const source = deps.source ?? createRegistryModelSource(deps.store, settings, logger);
  const batching = { maxBatch: serve.batchMaxSize, maxWaitMs: serve.batchMaxWaitMs, ...(deps.monotonic ? { now: deps.monotonic } : {}) };
  // One bound for every protocol, which shadow forecasts also stay under.
  const admission = createMeteredAdmission(serve.maxQueuedRows, metrics);
  let live: LiveMonitor | undefined;
  const holder = createModelHolder({
    source,
    pinnedRunId: serve.runId || undefined,
    pollIntervalMs: serve.pollIntervalMs,
    ...(deps.promotionTopic ? { promotionTopic: deps.promotionTopic } : {}),
    retryFailedMs: serve.retryFailedMs,
    batching,
    metrics,
    logger,
    onEvent: (event) => {
      deps.onEvent?.(event);
      // A new served run may start (or end) a probation: look now rather than at the next report.
      if (event.type === 'serve.model_loaded') void live?.tick();
    },
  });
  if (settings.live.enabled) {
    live = createLiveMonitor({
      settings,
      holder,
      loadShadow: (runId) => openServedModel(source, runId, { batching }),
      admission,
      store: deps.store,
      replica: servingReplicaId(settings),
      rollback: deps.rollback,
      onRollback: () => {
        metrics.live.countRollback();
        // The server that rolled back serves the restored run at once, without waiting for a poll (or with none).
        void holder.reloadFromPointer({ force: true }).catch((error: unknown) => logger.warn({ err: error }, 'live_rollback_reload_failed'));
      },
      onWorseKept: () => metrics.live.countWorseKept(),
      onNoBaseline: () => metrics.live.countNoBaseline(),
      logger,
    });
  }
  // A store not there yet is waited for like the promotion pointer (the first write creates the bucket);
  // what waiting cannot fix (a bucket name S3 refuses, a pinned run the registry does not have) fails the start
  // before anything listens. Both reads side by side: a store that does not answer holds each for its timeout.
  const bucketReady = serve.predictionLog.enabled
    ? deps.store.ensureBucket(settings.store.buckets.inferenceLogs).catch((error: unknown) => {
        if (!toFltsError(error).retriable) throw error;
        logger.warn({ err: toFltsError(error).message }, 'prediction_log_bucket_unavailable');
      })
    : undefined;
  await orAborted(Promise.all([bucketReady, holder.checkPinnedRun()]));
  let predictionLog: PredictionLog | undefined;
  if (serve.predictionLog.enabled) {
    const logOptions = {
      store: deps.store,
      bucket: settings.store.buckets.inferenceLogs,
      identifier: settings.identifier,
      flushIntervalMs: serve.predictionLog.flushIntervalMs,
      maxBuffered: serve.predictionLog.maxBuffered,
      logger,
    };
    predictionLog = serve.predictionLog.durability === 'sync' ? createSyncPredictionLog(logOptions) : createPredictionLog(logOptions);
  }
  // One recorder for every protocol: an Open Inference Protocol prediction, over HTTP or gRPC, is logged,
  // scored and counted like one from POST /predict.
  const recorder = createPredictionRecorder({ metrics, predictionLog, live, logger, identifier: settings.identifier });
  // Batch records share the bucket, so the sweep runs whether or not this server logs its own predictions.
  const retention = startLogRetention({ store: deps.store, bucket: settings.store.buckets.inferenceLogs, retentionDays: serve.predictionLog.retentionDays, now: deps.now, logger });
  // One bound on request bytes held for HTTP bodies and gRPC ModelInfer messages together.
  const bodyBudget = createMeteredBodyBudget(serve.maxBodyBytesInFlight, serve.bodyLimitBytes, metrics);
  let stopping = false;
  const app = await buildServer({
    holder,
    metrics,
    recorder,
    admission,
    live,
    promotions: deps.promotions,
    logger,
    identifier: settings.identifier,
    modelName: serve.modelName,
    inferenceLength: serve.inferenceLength,
    bodyLimitBytes: serve.bodyLimitBytes,
    bodyBudget,
    limits: serve,
    access: { adminToken: serve.adminToken, apiToken: serve.apiToken },
    reloadMinIntervalMs: serve.reloadMinIntervalMs,
    retention,
    isStopping: () => stopping,
    monotonic: deps.monotonic,
  });
  const liveness = (): Liveness => servingLiveness(holder, serve.requestTimeoutMs, deps.monotonic);
  let grpcServer: GrpcInferenceServer | undefined;
  const inFlight = requestsInFlightOf(app.server);
  /** The requests in flight as the stop began (before close(), with an owner that begins it first), then at close(). */
  let atStop: Set<ServerResponse> = new Set();
  const beginStop = (): void => {
    if (stopping) return;
    stopping = true;
    atStop = new Set(inFlight.snapshot());
    grpcServer?.beginStop();
    inFlight.closeConnectionsAfterAnswers();
  };
  const close = async (options: CloseOptions = {}): Promise<ServiceStopReport> => {
    beginStop();
    const drainMs = options.drainMs ?? serve.requestTimeoutMs;
    const retentionStopped = retention.stop();
    for (const response of inFlight.snapshot()) atStop.add(response);
    // Requests in flight are answered first: their records are among the last ones written. Within the drain only:
    // past it the process's owner (the daemon's role grace, a pod's grace period) ends the process, and its requests
    // were reset with no word of them anywhere. Cut here, they are counted and said.
    const httpClosed = app.close();
    // gRPC keeps its own grace (SERVE_GRPC_STOP_GRACE_MS, within serve's stop budget) unless the owner bounds the drain
    // (the daemon's serving role).
    const grpcClosed = grpcServer?.close(options.drainMs, options.cut);
    const draining = withTimeout(httpClosed, drainMs);
    const drainedInTime = await (options.cut ? untilAborted(draining, options.cut) : draining).then(
      () => true,
      () => false,
    );
    // Told before the cut: the connections' close ends every answer left, and empties the tracker.
    const requestsDrained = [...atStop].filter((response) => drainedInTime || !inFlight.has(response)).length;
    // Those the stop refuses are answered all the same (the cut leaves them): not cut.
    const requestsCut = drainedInTime ? 0 : inFlight.toCut().length;
    if (!drainedInTime) {
      app.server.closeAllConnections();
      await httpClosed;
    }
    const { callsCut: grpcCallsCut, callsDrained: grpcCallsDrained } = (await grpcClosed) ?? { callsCut: 0, callsDrained: 0 };
    if (requestsCut > 0 || grpcCallsCut > 0) {
      logger.warn(
        { requests_cut: requestsCut, requests_drained: requestsDrained, drain_ms: drainMs, ...(grpcServer ? { grpc_calls_cut: grpcCallsCut, grpc_calls_drained: grpcCallsDrained } : {}) },
        'serve_stop_requests_cut',
      );
    }
    const unfinished = await unfinishedWithin(
      { retention: retentionStopped, 'live-state': live?.stop(), holder: holder.stop(), 'prediction-log': predictionLog && recorder.settled().then(() => predictionLog.close()) },
      serve.shutdownWritesTimeoutMs,
    );
    const report = { unwrittenRecords: predictionLog?.unwritten ?? 0, unfinished: unfinished.filter((step) => step === 'prediction-log' || step === 'live-state'), requestsDrained, requestsCut, grpcCallsCut, grpcCallsDrained };
    if (report.unwrittenRecords > 0 || report.unfinished.length > 0) {
      logger.error({ unwritten_records: report.unwrittenRecords, unfinished: report.unfinished, timeout_ms: serve.shutdownWritesTimeoutMs, store: deps.store.location }, 'serve_stop_unwritten');
    }
    return report;
  };
  try {
    deps.signal?.throwIfAborted();
    await listenOrExplain(app, serve.host, serve.port);
  } catch (error) {
    await close();
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = serve.host.includes(':') ? `[${serve.host}]` : serve.host;
  const url = `http://${host}:${port}`;
  let grpc: InferenceService['grpc'];
  if (serve.grpcPort !== null) {
    try {
      // gRPC is loaded only when its port is configured.
      const { startGrpcInferenceServer } = await import('./oip-grpc-server.js');
      grpcServer = await startGrpcInferenceServer(
        { holder, metrics, modelName: serve.modelName, inferenceLength: serve.inferenceLength, live, identifier: settings.identifier, logger, recorder, admission, bodyBudget, isStopping: () => stopping, liveness: () => liveness() },
        { host: serve.host, port: serve.grpcPort, maxMessageBytes: serve.bodyLimitBytes, requestTimeoutMs: serve.requestTimeoutMs, minBodyBytesPerSec: serve.minBodyBytesPerSec, minBodyRateWindowMs: serve.minBodyRateWindowMs, bodyIdleTimeoutMs: serve.bodyIdleTimeoutMs, headersTimeoutMs: serve.headersTimeoutMs, keepAliveTimeoutMs: serve.keepAliveTimeoutMs, maxConnections: serve.maxConnections, apiToken: serve.apiToken, httpPort: port, logger },
      );
    } catch (error) {
      await close();
      throw error;
    }
    grpc = { url: `grpc://${host}:${grpcServer.port}`, port: grpcServer.port };
  }
  deps.onEvent?.({ type: 'serve.listening', url, ...(grpc ? { grpcUrl: grpc.url } : {}) });
  logger.info({ url, grpc_url: grpc?.url }, 'serve_listening');
  // Without the token the admin routes answer clients on this host, which a proxy here relaying others without a
  // forwarding header (nginx's default proxy_pass adds none) cannot be told from: said once, where the operator looks.
  if (!serve.adminToken && listensBeyondLoopback(serve.host)) {
    logger.warn({ host: serve.host, routes: ['POST /reload_latest', 'POST /prune_logs'], setting: 'FLTS_SERVE_ADMIN_TOKEN' }, 'admin_routes_without_token');
  }
  // Without the API token the scoring routes answer anyone who reaches the port, and POST /actuals feeds the live
  // probation that can roll a promotion back: open by design on loopback, said once when other hosts reach it.
  if (!serve.apiToken && listensBeyondLoopback(serve.host)) {
    const routes = ['POST /predict', ...(live ? ['POST /actuals'] : []), `POST /v2/models/${serve.modelName}/infer`, ...(grpc ? ['gRPC ModelInfer'] : [])];
    logger.warn({ host: serve.host, routes, setting: 'FLTS_SERVE_API_TOKEN' }, 'scoring_routes_without_token');
  }
  try {
    // A read the store never answers keeps running until the store is closed; the holder's stop waits for it no
    // longer than serve.shutdownWritesTimeoutMs.
    await orAborted(holder.start());
  } catch (error) {
    await close();
    throw error;
  }
  live?.start();
  return { url, app, holder, live, ...(grpc ? { grpc } : {}), retention, beginStop, liveness, close };
}
