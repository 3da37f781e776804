import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { silentLogger, type Logger } from '../logger.js';
import { installAccessControl, type AccessTokens, type RouteAccess } from './access-control.js';
import type { LiveMonitor } from './live-monitor.js';
import { answerHalfClosedClients, capConnections, checkingIntervalOf, connectionOptions, DEFAULT_CONNECTION_LIMITS, watchBodies, type ConnectionLimits } from './connection-limits.js';
import { createMeteredBodyBudget, type BodyBudget } from './body-budget.js';
import { DEFAULT_SLOW_HEAD_GRACE_MS } from './connection-cap.js';
import { closeListenerGently } from './listener-close.js';
import { countEachRequestOnce } from './request-counting.js';
import { createMeteredAdmission, DEFAULT_MAX_QUEUED_ROWS, type ForecastAdmission } from './forecast-admission.js';
import { answerConnect, answerUnmetExpectation, deferContinue, expectsContinueOnly, installErrorHandlers, installJsonParser, installRequestHeadChecks, maskAnswers, replyWithError, stoppingRefusal } from './error-handler.js';
import type { ModelHolder } from './model-holder.js';
import { publishedDocumentOptions } from './openapi-document.js';
import type { PredictionLog } from './prediction-log.js';
import type { LogRetention } from './prediction-log-retention.js';
import { createPredictionRecorder, type PredictionRecorder } from './prediction-recorder.js';
import { installRequestValidators } from './request-validators.js';
import { requestsInFlightOf } from './requests-in-flight.js';
import { createRouteTable } from './route-table.js';
import { registerActualsRoutes } from './actuals-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import { servingLiveness } from './liveness.js';
import type { MonotonicClock } from '../registry/run-liveness.js';
import { registerKserveRoutes } from './kserve-routes.js';
import { registerLogRoutes } from './log-routes.js';
import { registerMetricsRoutes } from './metrics-routes.js';
import { registerPredictRoutes } from './predict-routes.js';
import { resetUnreadAnswers } from './unread-answers.js';
import { errorResponseSchema } from './schemas/common.js';
import type { ServeContext } from './serve-context.js';
import { createServeMetrics, type ServeMetrics } from './serve-metrics.js';
import type { PromotionFollowing } from './promotion-following.js';

export interface BuildServerDeps {
  /** The served model; the caller starts and stops it (`holder.start()` / `holder.stop()`). */
  holder: ModelHolder;
  /** Defaults to a fresh registry with process metrics; pass the one given to the holder to see reload metrics. */
  metrics?: ServeMetrics;
  /** Whether its owner follows promotions on a bus, for /healthz; none without a bus. */
  promotions?: PromotionFollowing;
  /** Live accuracy: scores served forecasts against later actuals; the caller starts and stops it. */
  live?: LiveMonitor;
  /** Optional JSONL prediction log; the caller closes it. */
  predictionLog?: PredictionLog;
  /**
   * What each prediction leaves behind, shared with the gRPC server of the same service; built from `metrics`,
   * `predictionLog`, `live`, `logger` and `identifier` when not given.
   */
  recorder?: PredictionRecorder;
  /** The bound on forecast rows in flight, shared with the gRPC server of the same service; built from `maxQueuedRows` when not given. */
  admission?: ForecastAdmission;
  /** serve.maxQueuedRows, when `admission` is not given (default the setting's). */
  maxQueuedRows?: number;
  logger?: Logger;
  identifier?: string;
  modelName?: string;
  /** Default forecast rows per request (0 = the model horizon). */
  inferenceLength?: number;
  bodyLimitBytes?: number;
  /** serve.maxBodyBytesInFlight: request body bytes held at once (null or not given: 8 x the body limit; 0 = no bound). */
  maxBodyBytesInFlight?: number | null;
  /** The bound on request body bytes in flight, shared with the gRPC server of the same service; built from `maxBodyBytesInFlight` when not given. */
  bodyBudget?: BodyBudget;
  /** Bearer tokens of the admin and prediction routes (none: admin routes answer local clients only). */
  access?: AccessTokens;
  /** Least time from the end of one reload forced through POST /reload_latest to the start of the next (default 2 s). */
  reloadMinIntervalMs?: number;
  /** Connection timeouts and cap; each defaults to the setting's default (docs/config.md). */
  limits?: Partial<ConnectionLimits>;
  /** The prediction log's retention: adds the admin route POST /prune_logs. The caller stops it. */
  retention?: LogRetention;
  /**
   * True once its owner began stopping it (readiness answers 503 FLTS_SERVE_STOPPING from then): told at once, where
   * fastify's preClose runs some turns after close(), and before it, while the owner leaves its promotion group.
   */
  isStopping?: () => boolean;
  /** The clock /livez reads the served model's forward passes by (the batching's `now`; default performance.now). */
  monotonic?: MonotonicClock;
}

/** Routes that are not public; the Open Inference Protocol's infer route is a prediction route like /predict. */
const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  '/predict': 'predict',
  '/actuals': 'predict',
  '/v2/models/:name/infer': 'predict',
  '/v2/models/:name/versions/:version/infer': 'predict',
  '/reload_latest': 'admin',
  '/prune_logs': 'admin',
};

/**
 * The inference API as a fastify instance that is not yet listening: reference routes (/predict, /healthz,
 * /ready, /stats), POST /actuals, /readyz, Prometheus /metrics, the Open Inference Protocol under /v2 and /openapi.json.
 */
export async function buildServer(deps: BuildServerDeps): Promise<FastifyInstance> {
  const bodyLimit = deps.bodyLimitBytes ?? 8 * 1024 * 1024;
  const logger = (deps.logger ?? silentLogger).child({ component: 'inference-api' });
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...deps.limits };
  const metrics = deps.metrics ?? createServeMetrics();
  const counting = countEachRequestOnce({
    answered: (route, method, status, seconds) => metrics.observeRequest(route, method, status, seconds),
    refused: (status, method) => metrics.countRefusedRequest(method, status),
    abandoned: (route, method) => metrics.countAbandonedRequest(route, method),
  });
  const app = Fastify({
    logger: false,
    bodyLimit,
    // A request reaching a server that has stopped listening (on a connection it was closing) is refused below, coded
    // and counted: fastify's own 503 carried no code, no Retry-After, and reached no metric.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    frameworkErrors: (error, request, reply) => replyWithError(error, request, reply, bodyLimit, logger),
    ...connectionOptions(limits, counting.onRefused),
  });
  capConnections(app, limits, (what) => metrics.countConnectionCapClose(what));
  maskAnswers(app, false);
  const listener = closeListenerGently(app.server, {
    silentGraceMs: limits.slowHeadGraceMs ?? DEFAULT_SLOW_HEAD_GRACE_MS,
    onListenerClosed: ({ accepted, waitedMs, queueEmpty }) => {
      // Clients were still connecting as it closed: those in the queue then were reset (no load balancer routed them elsewhere).
      if (!queueEmpty) logger.warn({ accepted_while_closing: accepted, waited_ms: waitedMs }, 'serve_stop_listener_busy');
    },
  });
  answerHalfClosedClients(app.server);
  watchBodies(app.server, limits, bodyLimit);
  const unread = resetUnreadAnswers(app.server, {
    stallMs: limits.requestTimeoutMs,
    checkEveryMs: checkingIntervalOf(limits),
    onReset: (socket, reason, amount) =>
      reason === 'pipelined'
        ? logger.warn({ remote: socket.remoteAddress, requests_in_flight: amount }, 'http_too_many_pipelined')
        : logger.warn({ remote: socket.remoteAddress, [reason === 'unsent' ? 'unsent_bytes' : 'unacknowledged_bytes']: amount }, 'http_answer_not_taken'),
  });
  app.server.on('connect', (request: IncomingMessage, socket: Socket) => {
    answerConnect(request, socket);
    metrics.countRefusedRequest(request.method, 405);
  });
  // Node sends 100 Continue itself as a request arrives; handled here, it is sent once the route reads the body.
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!expectsContinueOnly(request)) {
      answerUnmetExpectation(request, response);
      metrics.countRefusedRequest(request.method, 417);
      return;
    }
    deferContinue(request, response);
    app.server.emit('request', request, response);
  });
  app.server.on('checkExpectation', (request, response) => {
    answerUnmetExpectation(request, response);
    metrics.countRefusedRequest(request.method, 417);
  });
  const inFlight = requestsInFlightOf(app.server);
  // Set as fastify stops routing (its preClose): the listener is closing (it still accepts what waits in its queue,
  // listener-close.ts), and what reaches the server now is refused, coded, once it no longer listens.
  let refusing = false;
  const recorder = deps.recorder ?? createPredictionRecorder({ metrics, predictionLog: deps.predictionLog, live: deps.live, logger, identifier: deps.identifier ?? '' });
  metrics.live.attach(deps.live?.metrics);
  const context: ServeContext = {
    holder: deps.holder,
    metrics,
    recorder,
    admission: deps.admission ?? createMeteredAdmission(deps.maxQueuedRows ?? DEFAULT_MAX_QUEUED_ROWS, metrics),
    live: deps.live,
    promotions: deps.promotions,
    logger,
    routes: createRouteTable(app),
    identifier: deps.identifier ?? '',
    modelName: deps.modelName ?? 'flts',
    inferenceLength: deps.inferenceLength ?? 0,
    bodyLimit,
    reloadMinIntervalMs: deps.reloadMinIntervalMs ?? 2000,
    retention: deps.retention,
    isStopping: () => refusing || (deps.isStopping?.() ?? false),
    liveness: () => servingLiveness(deps.holder, limits.requestTimeoutMs, deps.monotonic),
  };

  installRequestHeadChecks(app);
  const bodyBudget = deps.bodyBudget ?? createMeteredBodyBudget(deps.maxBodyBytesInFlight, bodyLimit, metrics);
  installJsonParser(app, bodyLimit, bodyBudget);
  installRequestValidators(app);
  installAccessControl(app, deps.access ?? {}, ROUTE_ACCESS, logger);
  installErrorHandlers(app, bodyLimit, logger, context.routes);
  app.addSchema(errorResponseSchema);
  await app.register(
    swagger,
    publishedDocumentOptions({ title: 'flts inference API', version: '1', description: 'Forecasts from the promoted (or pinned) flts run. Errors: docs/errors.md.' }, ROUTE_ACCESS, deps.access),
  );
  // A body-less POST is an empty request, like `{}`; a JSON `null` body is not a request object and is refused.
  // This hook and the three below run on every request and are synchronous, with `done`: as async functions each cost
  // the request a promise and a turn of the microtask queue (bench/results-serving.md).
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
    done();
  });
  counting.install(app);
  // A request read after the one too many of a connection reset for pipelining, in the same chunk (up to 64 KB: over
  // 1,300 small GETs), still reaches fastify: it is counted (above) as abandoned, and no route runs for it.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.socket.destroyed) reply.hijack();
    else if (refusing) {
      metrics.countRefusedAtStop();
      // Its client only asked too late: a cut of the requests in flight (a second signal) answers it all the same.
      inFlight.refusedAtStop(reply.raw);
      if (listener.isClosed()) return done(stoppingRefusal());
      // Refused once the listener is closed: a client refused at once connects again at once, to the same listener
      // when nothing routes it elsewhere yet, and clients that keep coming back never let its accept queue empty.
      // Held, they wait a few turns of the loop, and their next connection is refused by the kernel, unaccepted.
      void listener.listenerClosed.then(() => {
        // Its client gone meanwhile: nothing to send, as above.
        if (request.raw.socket.destroyed) reply.hijack();
        done(stoppingRefusal());
      });
      return;
    }
    done();
  });
  app.addHook('preClose', (done) => {
    refusing = true;
    // A no-op after an owner's own stop, which began it earlier; a server closed by itself begins it here.
    inFlight.closeConnectionsAfterAnswers();
    done();
  });
  app.addHook('onClose', async () => {
    recorder.stats.close();
    unread.stop();
  });

  registerPredictRoutes(context);
  registerActualsRoutes(context);
  registerHealthRoutes(context);
  registerMetricsRoutes(app, context);
  registerKserveRoutes(context);
  registerLogRoutes(context);
  context.routes.addMethodNotAllowedRoutes();
  return app;
}
