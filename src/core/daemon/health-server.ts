import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type RouteHandlerMethod } from 'fastify';
import type { MessageBus } from '../bus/message-bus.js';
import type { Settings } from '../config/settings.js';
import { silentLogger, type Logger } from '../logger.js';
import { withTimeout } from '../retry.js';
import { installAccessControl } from '../serve/access-control.js';
import { answerHalfClosedClients, capConnections, checkingIntervalOf, connectionOptions, watchBodies } from '../serve/connection-limits.js';
import { answerConnect, answerUnmetExpectation, installErrorHandlers, installRequestHeadChecks, maskAnswers, replyWithError, stoppingRefusal } from '../serve/error-handler.js';
import { countEachRequestOnce } from '../serve/request-counting.js';
import { stoppingReadiness } from '../serve/readiness.js';
import { requestsInFlightOf } from '../serve/requests-in-flight.js';
import { createRouteTable } from '../serve/route-table.js';
import { ABANDONED_STATUS } from '../serve/serve-metrics.js';
import { resetUnreadAnswers } from '../serve/unread-answers.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { CurrentWork, DaemonMetrics } from './daemon-metrics.js';
import type { RoleHandle } from './role-registry.js';

/** No route of the health port reads a body: one sent anyway is refused (404, 405) before it is read. */
const HEALTH_BODY_LIMIT = 1024 * 1024;

/** What startup waits for, as /readyz says it: the step, the role being started, the cause's code and a public sentence. */
export interface StartupWait {
  waiting: 'store' | 'bus' | 'role';
  role?: string;
  code: string;
  message: string;
}

export interface HealthServerDeps {
  settings: Settings;
  store: ObjectStore;
  bus: MessageBus;
  metrics: DaemonMetrics;
  /** The roles running now (empty while starting or stopping). */
  roles: () => readonly RoleHandle[];
  /** The roles this daemon was asked to run, named in flts_daemon_ready also while they are not started; default: the running ones. */
  configuredRoles?: readonly string[];
  /** True once every configured role started, false again while stopping. */
  started: () => boolean;
  /** Starting, running or stopping, for /status; default: running once started, else starting. */
  state?: () => string;
  /**
   * Why the roles are not started yet, while startup waits for the store, the broker or a role: sent as it is by
   * /readyz, which anyone may call, so built of a step, a role name and an error code only, never of the cause's
   * message (an endpoint, an access key id, a broker's address, a path), which the log has.
   */
  startupWait?: () => StartupWait | undefined;
  /**
   * Aborted as the daemon's stop begins: from then /readyz answers 503 FLTS_SERVE_STOPPING at once, as the serving
   * role's own readiness does, and every answer closes its connection.
   */
  stopping?: AbortSignal;
  /** Bound of each check /readyz and /metrics make of the broker and the store; READINESS_CHECK_MS unless a test shortens it. */
  probeTimeoutMs?: number;
  /** Where refused calls of /status are logged (auth_refused); none by default. */
  logger?: Logger;
}

/**
 * How long /readyz (and /metrics) wait for the broker's and the store's answer. Well below the kubelet's timeout of
 * the readiness probe (timeoutSeconds 3 in the Helm chart, which refuses less than 2): a broker or store slow to answer is said
 * as a coded 503 the kubelet reads, not a probe timed out that says nothing. The margin is the event loop's lag under
 * a training step and the answer's way back.
 */
export const READINESS_CHECK_MS = 1_500;

async function probe(check: () => Promise<unknown>, ms: number): Promise<boolean> {
  try {
    await withTimeout(check(), ms);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fills the lag gauges from the broker: one lag query per subscription, all at once, so a slow broker costs a
 * scrape one timeout, not one per subscription (a trainer of three model types has three).
 */
async function refreshLag(deps: HealthServerDeps, ms: number): Promise<void> {
  const subscriptions = deps.roles().flatMap((role) => role.subscriptions);
  await Promise.all(
    subscriptions.map(async (subscription) => {
      const lags = await withTimeout(deps.bus.lag(subscription.group, [...subscription.topics]), ms).catch(() => []);
      for (const lag of lags) deps.metrics.setLag(subscription.group, lag.topic, lag.partition, lag.lag);
    }),
  );
}

interface Readiness {
  roles: boolean;
  bus: boolean;
  store: boolean;
}

/** Roles started and the broker and the store answering NOW: computed per call, never cached (reference F5). */
async function checkReadiness(deps: HealthServerDeps, ms: number): Promise<Readiness> {
  const firstGroup = deps.roles().flatMap((role) => role.subscriptions)[0];
  const [bus, store] = await Promise.all([
    probe(() => (firstGroup ? deps.bus.lag(firstGroup.group, [...firstGroup.topics]) : deps.bus.ensureTopics([deps.settings.bus.topics.modelTraining])), ms),
    probe(() => deps.store.list(deps.settings.store.buckets.runs, 'leases/'), ms),
  ]);
  return { roles: deps.started(), bus, store };
}

/** Why roles still starting are not running yet when their subscribe waits for its group to join. */
function joiningStartup(deps: HealthServerDeps): { startup?: { waiting: 'group_join'; groups: string[]; message: string } } {
  const groups = [...(deps.bus.joining?.() ?? [])];
  if (groups.length === 0) return {};
  const sessionMs = deps.settings.bus.kafka.sessionTimeoutMs;
  const message = `Waiting for consumer group ${groups.join(', ')} to let this member in: a member that did not leave it (a process killed) is dropped once it has been silent for bus.kafka.sessionTimeoutMs (${sessionMs} ms).`;
  return { startup: { waiting: 'group_join', groups, message } };
}

/**
 * A step in progress as /status shows it: snake_case, as the rest of flts's JSON (/healthz, every --json). configHash
 * and modelType are the names it had before; deprecated, kept one release for the readers that use them.
 */
function statusOfWork(work: CurrentWork): Record<string, string> {
  return { role: work.role, step: work.step, config_hash: work.configHash, model_type: work.modelType, since: work.since, configHash: work.configHash, modelType: work.modelType };
}

/**
 * The code of a started daemon's 503 for a check that failed or got no answer within its bound (the store's first:
 * without it no role gets anywhere), with a sentence that names no endpoint.
 */
function failedCheck(components: Readiness, ms: number): { code?: string; reason?: string } {
  if (!components.roles) return {};
  if (!components.store) return { code: 'FLTS_STORE_UNAVAILABLE', reason: `The object store failed a listing or gave no answer within ${ms} ms.` };
  if (!components.bus) return { code: 'FLTS_BUS_UNAVAILABLE', reason: `The message bus failed its check or gave no answer within ${ms} ms.` };
  return {};
}

const isReady = (readiness: Readiness): boolean => readiness.roles && readiness.bus && readiness.store;

/**
 * /livez (alive and able to work: 503 when a role says it is stuck), /healthz (always 200 while the port answers), /readyz (roles started and the broker and the store answer NOW: computed per request,
 * never cached at startup, reference F5; while startup waits for them, also the reason), /metrics (Prometheus, with the
 * same readiness as flts_daemon_ready, since a scraper never sees /readyz) and /status (roles and current work), an admin
 * route: the bearer token FLTS_SERVE_ADMIN_TOKEN, or loopback clients only without one. Connections are bounded by
 * the serve API's settings (request, headers and keep-alive timeouts, the connection cap), and a client that pipelines
 * more than 100 requests or does not take its answers is reset, as on the serve API's port. Every request answered is
 * counted in flts_daemon_http_requests_total, those refused before any route under route "unmatched", as the serve API
 * counts its own in flts_http_requests_total.
 * Built, not listening: the caller listens.
 */
export async function buildHealthServer(deps: HealthServerDeps): Promise<FastifyInstance> {
  // A request is counted once, as on the serve API: when its answer is sent, when Node answers it (its body too slow
  // to arrive), or as abandoned (499) when its connection closes first (a client that gave up on a slow /metrics, a
  // request read after the one too many of a connection reset for pipelining).
  const counting = countEachRequestOnce({
    answered: (route, method, status) => deps.metrics.countHttpRequest(route, method, status),
    refused: (status, method) => deps.metrics.countHttpRequest('unmatched', method, status),
    abandoned: (route, method) => deps.metrics.countHttpRequest(route, method, ABANDONED_STATUS),
  });
  // Probes and scrapes are small and quick; a client that opens many connections and stalls them is held to the
  // serve API's limits, so it cannot take every file descriptor the daemon's roles need.
  const app = Fastify({
    logger: false,
    // A request that reaches a closing server is refused by the onRequest hook below, coded as the serve API's.
    return503OnClosing: false,
    // What the router refuses before any route (a path that is not valid percent-encoding) is coded as the rest.
    frameworkErrors: (error, request, reply) => replyWithError(error, request, reply, HEALTH_BODY_LIMIT, silentLogger),
    // What Node refuses before any route is counted as the serve API counts it (route "unmatched").
    ...connectionOptions(deps.settings.serve, counting.onRefused),
  });
  capConnections(app, deps.settings.serve, (what) => deps.metrics.countConnectionCapClose(what));
  maskAnswers(app, true);
  answerHalfClosedClients(app.server);
  watchBodies(app.server, deps.settings.serve, HEALTH_BODY_LIMIT);
  // Said keep-alive while the daemon stops, an answer left its client to send the next probe on a connection the
  // server's close then reset; a request that reaches fastify once its close began is refused coded (below), not
  // with fastify's bare 503.
  const inFlight = requestsInFlightOf(app.server);
  deps.stopping?.addEventListener('abort', () => inFlight.closeConnectionsAfterAnswers(), { once: true });
  if (deps.stopping?.aborted) inFlight.closeConnectionsAfterAnswers();
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    inFlight.closeConnectionsAfterAnswers();
    done();
  });
  // Each /metrics or /readyz asks the store and the broker: a client pipelining thousands of them on one connection
  // without reading the answers held the event loop, and so the roles, for minutes.
  const unread = resetUnreadAnswers(app.server, { stallMs: deps.settings.serve.requestTimeoutMs, checkEveryMs: checkingIntervalOf(deps.settings.serve) });
  app.addHook('onClose', async () => unread.stop());
  // A refusal of the head checks or of no route is counted by these hooks.
  counting.install(app);
  // The one too many and the requests read after it, in the same chunk, still reach fastify: their connection is gone
  // (reset before fastify hears of the request), so no hook or route runs for them and nothing is asked. Synchronous,
  // with `done`, as on the serve API: it runs on every request, and an async hook costs each a promise and a microtask turn.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.socket.destroyed) reply.hijack();
    else if (closing) return done(stoppingRefusal());
    done();
  });
  // As the serve API does: unheard, Node would close a CONNECT's connection without a word, answer an Expect other
  // than 100-continue with an empty 417, and (told not to check, by connectionOptions) take HTTP/1.1 without a Host.
  // The Host check's hook comes before the not-found one, as on the serve API: a request without a Host (or with two)
  // is refused for that whatever its target, not answered 404, or 204 to `OPTIONS *`.
  app.server.on('connect', (request: IncomingMessage, socket: Socket) => {
    answerConnect(request, socket);
    deps.metrics.countHttpRequest('unmatched', request.method, 405);
  });
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    answerUnmetExpectation(request, response);
    deps.metrics.countHttpRequest('unmatched', request.method, 417);
  });
  // No route reads a body: a client waiting for 100 Continue is answered without it, rather than told to send a body
  // that is then dropped or refused (Node sends 100 Continue as the request arrives unless someone else handles it; the
  // serve API defers it to the route's reading of the body).
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => app.server.emit('request', request, response));
  installRequestHeadChecks(app);
  // Other methods on these paths are 405 with Allow, as on the serve API's port, not 404.
  const routes = createRouteTable(app);
  installErrorHandlers(app, HEALTH_BODY_LIMIT, silentLogger, routes, 'this port serves GET /livez, /healthz, /readyz, /metrics and /status');
  installAccessControl(app, { adminToken: deps.settings.serve.adminToken }, { '/status': 'admin' }, deps.logger);
  const ms = deps.probeTimeoutMs ?? READINESS_CHECK_MS;
  const get = (url: string, handler: RouteHandlerMethod): void => routes.route({ method: 'GET', url, handler });
  get('/healthz', async () => ({ status: 'ok', service: 'flts-daemon', roles: deps.roles().map((role) => role.name) }));
  // Liveness that means something: 503 once a running role says it can no longer do its work (role-registry.ts,
  // RoleHandle.liveness), never for the store, the broker, MLflow or a promotion awaited (readiness says those), nor
  // while starting or stopping.
  get('/livez', async (_request, reply) => {
    for (const role of deps.roles()) {
      const failure = role.liveness?.();
      if (failure) return reply.code(503).send({ status: 'not_live', role: role.name, ...failure });
    }
    return { status: 'live' };
  });
  get('/readyz', async (_request, reply) => {
    // Not asked of the store and the broker: the bus is closing, and a probe of it would hold the answer that takes
    // this daemon out of a load balancer's rotation for the probe's timeout.
    // The serving role's own readiness rule for a stop, so that its port and this one say the same from the same moment.
    if (deps.stopping?.aborted) {
      const stopping = stoppingReadiness();
      return reply.code(stopping.status).send({ status: 'not_ready', state: 'stopping', code: stopping.code, reason: stopping.reason, components: { roles: false } });
    }
    const components = await checkReadiness(deps, ms);
    const ready = isReady(components);
    const waiting = deps.startupWait?.();
    const startup = waiting && !components.roles ? { startup: waiting } : components.roles ? {} : joiningStartup(deps);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', components, ...failedCheck(components, ms), ...startup });
  });
  get('/metrics', async (_request, reply) => {
    // Stopping, the closing bus is not asked either (see /readyz): the lag gauges keep their last values.
    const stopping = deps.stopping?.aborted === true;
    const readiness = stopping ? undefined : (await Promise.all([refreshLag(deps, ms), checkReadiness(deps, ms)]))[1];
    deps.metrics.setReady(deps.configuredRoles ?? deps.roles().map((role) => role.name), readiness !== undefined && isReady(readiness));
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  get('/status', async () => ({
    state: deps.state?.() ?? (deps.started() ? 'running' : 'starting'),
    configured_roles: deps.configuredRoles ?? deps.roles().map((role) => role.name),
    roles: deps.roles().map((role) => ({ name: role.name, groups: role.subscriptions.map((s) => s.group), ...role.status() })),
    current_work: deps.metrics.currentWork().map(statusOfWork),
  }));
  routes.addMethodNotAllowedRoutes();
  return app;
}
