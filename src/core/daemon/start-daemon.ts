import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createClaimReads } from '../batch/claim-reads.js';
import type { MessageBus } from '../bus/message-bus.js';
import { ensureTopicsWithinReach } from '../bus/reach.js';
import { pipelineTopics } from '../bus/topics.js';
import type { Settings } from '../config/settings.js';
import { FltsError, toFltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { writeReadyFile } from '../ready-file.js';
import { redactSecrets } from '../redact.js';
import { uniqueLeaseOwner } from '../registry/work-lease.js';
import { deadlineIn, msLeft, retryWithBackoff, UNTIL_AVAILABLE, untilAborted, withTimeout, type RetryPolicy } from '../retry.js';
import { BUS_CLOSE_END_MS, DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS, DAEMON_SHUTDOWN_GRACE_MS } from '../stop-budget.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createDaemonMetrics, type DaemonMetrics } from './daemon-metrics.js';
import { listensBeyondLoopback } from '../serve/access-control.js';
import { assertDistinctPorts, DAEMON_HEALTH_LISTENER, listenOrExplain } from '../serve/listen.js';
import { buildHealthServer, type StartupWait } from './health-server.js';
import { startPromoterRole } from './promoter-role.js';
import { createRoleRegistry, type RoleContext, type RoleHandle, type RoleRegistry } from './role-registry.js';
import { startServingRole } from './serving-role.js';
import { startBatchInferenceRole } from './batch-role.js';
import { startTrainerRole } from './trainer-role.js';
import { createMlflowServers } from '../tracking/mlflow-servers.js';

export interface DaemonDeps {
  store: ObjectStore;
  bus: MessageBus;
  logger?: Logger;
  onEvent?: EventSink;
  /** Roles beyond the built-in ones; see role-registry.ts. */
  registry?: RoleRegistry;
  metrics?: DaemonMetrics;
  /** Aborting it stops the daemon, also while its startup is still waiting for the store or the broker. */
  signal?: AbortSignal;
  /** Aborted when the stop is told to hurry (flts daemon's second signal); see RoleContext.hurried. */
  hurried?: AbortSignal;
  /** What aborted `signal` (flts daemon: the name of the signal it received), said in daemon_stopped as stopped_by. */
  stoppedBy?: () => string | undefined;
  /** How startup retries an unavailable store or broker; tests shorten it. */
  startupRetry?: RetryPolicy;
  /** How long each role gets to stop; see ROLE_STOP_GRACE_MS. Tests shorten it. */
  roleStopGraceMs?: number;
  /** How long the roles stop before the bus closes beside them; see ROLES_FIRST_MS. Tests shorten it. */
  rolesFirstMs?: number;
}

/**
 * How long the roles' stops go before the bus's close begins beside them. Work a role finishes while it stops (a
 * promotion of a resync, say) still publishes its outcome through the bus's producer, which the close ends: with the
 * brokers there the roles are done well within this and the bus closes after them, as a handler's message is
 * committed after its effect; with the brokers away the roles' consumers wait on them until the bus's close ends
 * their connections, at the deadline the roles' stop and the close share (bus.kafka.closeTimeoutMs), this head
 * start within it.
 */
export const ROLES_FIRST_MS = 2_000;

/**
 * How long each role gets to stop, the roles side by side and the bus's close beside them after ROLES_FIRST_MS, both
 * waiting for the brokers until one deadline (bus.kafka.closeTimeoutMs): the whole stop then lasts as long as its slowest part, within
 * DAEMON_SHUTDOWN_GRACE_MS.
 */
export const ROLE_STOP_GRACE_MS = DAEMON_SHUTDOWN_GRACE_MS - BUS_CLOSE_END_MS;

/**
 * A bus close bound past the grace would have the daemon stop regardless while its bus still waits for the brokers,
 * and its process then outlive the grace a deployment gives it (a pod's is derived from this one).
 */
function assertBusCloseFitsGrace(settings: Settings): void {
  if (settings.bus.kind !== 'kafka' || settings.bus.kafka.closeTimeoutMs <= DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS) return;
  throw new FltsError(
    'FLTS_CONFIG_INVALID_VALUE',
    `bus.kafka.closeTimeoutMs is ${settings.bus.kafka.closeTimeoutMs}: the daemon stops within ${DAEMON_SHUTDOWN_GRACE_MS} ms, so its bus may wait for the brokers at most ${DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS} ms (env FLTS_KAFKA_CLOSE_TIMEOUT_MS).`,
    { details: { setting: 'bus.kafka.closeTimeoutMs', value: settings.bus.kafka.closeTimeoutMs, max: DAEMON_MAX_BUS_CLOSE_TIMEOUT_MS } },
  );
}

/**
 * The serving role listens beside the health server, on serve.port and serve.grpcPort. A port two of them shared
 * failed only once that role started, after the health server listened, with "the port is already in use"; the
 * daemon has no flags for serve's ports, so they are named by their settings.
 */
async function assertServingPortsDistinct(settings: Settings, roleNames: readonly string[]): Promise<void> {
  if (!roleNames.includes('serving')) return;
  const health = { setting: 'daemon.port', named: '--port (daemon.port, FLTS_DAEMON_PORT)', port: settings.daemon.port, host: settings.daemon.host };
  const http = { setting: 'serve.port', named: 'serve.port (FLTS_SERVE_PORT)', port: settings.serve.port, host: settings.serve.host };
  const grpc = { setting: 'serve.grpcPort', named: 'serve.grpcPort (FLTS_SERVE_GRPC_PORT)', port: settings.serve.grpcPort, host: settings.serve.host };
  await assertDistinctPorts(health, http, "the health server and the serving role's inference API cannot share a port", 'give one of them another port');
  await assertDistinctPorts(health, grpc, "the health server and the serving role's gRPC service cannot share a port", 'give one of them another port');
  await assertDistinctPorts(grpc, http, "the serving role's gRPC service and its HTTP API listen on the same host and cannot share a port", 'give serve.grpcPort another one');
}

/** The step of a startup attempt under way, for /readyz: what it waits for, never where (an endpoint, a broker, a path). */
type StartupStep = { waiting: 'store' } | { waiting: 'bus' } | { waiting: 'role'; role: string };

/**
 * Why startup waits, as /readyz says it to anyone who reaches the port: the step and the cause's code. The cause's
 * message stays in the log (daemon_startup_retrying): an S3 store's names its endpoint and access key id, a Kafka
 * bus's the brokers' addresses, bootstrap and advertised, a file store's a local path.
 */
function publicStartupWait(step: StartupStep, error: FltsError): StartupWait {
  const what = step.waiting === 'store' ? "the object store's buckets cannot be ensured yet" : step.waiting === 'bus' ? "the message bus's pipeline topics cannot be ensured yet" : `role ${step.role} cannot start yet`;
  const message = `Waiting to start the roles: ${what} (${error.code}). Startup tries again until it succeeds; the daemon_startup_retrying log line gives the cause.`;
  return { ...step, code: error.code, message };
}

/** starting: until every role started (the store or the broker may be awaited); stopping: from the stop's first step. */
export type DaemonState = 'starting' | 'running' | 'stopping';

export interface Daemon {
  /** Base URL of the health and metrics server. */
  url: string;
  app: FastifyInstance;
  roles(): readonly RoleHandle[];
  /** Stops the roles (an in-flight training step is aborted and recorded KILLED; its claim stays uncommitted), the bus and the server. */
  stop(): Promise<void>;
}

/** trainer, promoter, serving and batch (forecasts for `inference-data` claims); other modules may register more. */
export function defaultRoleRegistry(): RoleRegistry {
  return createRoleRegistry({ trainer: startTrainerRole, promoter: startPromoterRole, serving: startServingRole, batch: startBatchInferenceRole });
}

/**
 * Runs the configured roles against the bus and the store until stopped. Each role is level-triggered:
 * messages wake it up, and what it does is decided from durable state (processed-data sidecars, run
 * registry, promotion history), also at startup, so a restart at any point resumes and finishes.
 */
export async function startDaemon(settings: Settings, deps: DaemonDeps): Promise<Daemon> {
  // The caller's logger names the service (flts daemon's does); binding it here again would write the key twice.
  const logger = deps.logger ?? silentLogger;
  const registry = deps.registry ?? defaultRoleRegistry();
  assertBusCloseFitsGrace(settings);
  const roleNames = [...new Set(settings.daemon.roles.map((role) => role.toLowerCase()))];
  if (roleNames.length === 0) throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `daemon.roles is empty: expected one or more of ${registry.names().join(', ')}.`, { details: { setting: 'daemon.roles' } });
  await assertServingPortsDistinct(settings, roleNames);
  const factories = roleNames.map((name) => ({ name, factory: registry.get(name) }));
  const metrics = deps.metrics ?? createDaemonMetrics();
  const controller = new AbortController();
  const handles: RoleHandle[] = [];
  let started = false;
  // What /status says the daemon is doing: its roles list is empty while they start and once they are stopping, which
  // alone read as a daemon with no roles at all.
  let state: DaemonState = 'starting';
  let startupWait: StartupWait | undefined;
  /** The step the startup attempt under way has reached, named on /readyz when the attempt fails. */
  let step: StartupStep = { waiting: 'store' };
  // Stopped before it listened: nothing was bound, and nothing is to be said to listen.
  if (deps.signal?.aborted) throw deps.signal.reason;
  deps.signal?.addEventListener('abort', () => controller.abort(deps.signal?.reason), { once: true });
  // Stopping from the first moment: the abort of deps.signal (SIGTERM) comes a turn or more before the caller's stop().
  const app = await buildHealthServer({
    settings,
    store: deps.store,
    bus: deps.bus,
    metrics,
    roles: () => handles,
    configuredRoles: roleNames,
    started: () => started && !controller.signal.aborted,
    state: () => (controller.signal.aborted ? 'stopping' : state),
    startupWait: () => startupWait,
    stopping: controller.signal,
    logger: logger.child({ component: 'health-server' }),
  });
  await listenOrExplain(app, settings.daemon.host, settings.daemon.port, DAEMON_HEALTH_LISTENER);
  const { port } = app.server.address() as AddressInfo;
  const url = `http://${settings.daemon.host.includes(':') ? `[${settings.daemon.host}]` : settings.daemon.host}:${port}`;
  // Logged as soon as the health server listens, before the roles start (they may wait long for the store or the
  // broker): the port of --port 0 and the reason on /readyz are needed while they do.
  const readyFile = writeReadyFile(settings.instance.readyFile, { command: 'daemon', url, health_url: `${url}/livez` }, logger);
  logger.info({ url, roles: roleNames }, 'daemon_listening');
  // As flts serve says it: without the token /status answers clients on this host, which a proxy here relaying others
  // without a forwarding header cannot be told from.
  if (!settings.serve.adminToken && listensBeyondLoopback(settings.daemon.host)) {
    logger.warn({ host: settings.daemon.host, routes: ['GET /status'], setting: 'FLTS_SERVE_ADMIN_TOKEN' }, 'admin_routes_without_token');
  }
  deps.onEvent?.({ type: 'daemon.listening', url, roles: roleNames });
  /** The roles of a startup attempt still starting, settled once those it started are running or stopped again. */
  let rolesStarting: Promise<unknown> = Promise.resolve();

  /**
   * What ended the daemon, for daemon_stopped as serve_stopped says it: whatever aborted deps.signal (a signal, named
   * by deps.stoppedBy), a startup that failed (its error's code) or a call of stop().
   */
  const stoppedBy = (failure?: unknown): string => (deps.signal?.aborted ? deps.stoppedBy?.() ?? 'abort' : failure !== undefined ? toFltsError(failure).code : 'stop()');

  const stop = async (failure?: unknown): Promise<void> => {
    started = false;
    state = 'stopping';
    controller.abort();
    // One deadline for the whole stop, taken as it begins: the role still starting, the roles leaving their groups and
    // the bus leaving the brokers, so that with the brokers away the stop waits for them bus.kafka.closeTimeoutMs once,
    // and the roles' head start (ROLES_FIRST_MS), the starting one's included, runs within it from the stop's beginning.
    // (The file bus waits for no broker: its close keeps its own pace.)
    const busCloseMs = settings.bus.kind === 'kafka' ? settings.bus.kafka.closeTimeoutMs : 0;
    const leaving = settings.bus.kind === 'kafka' ? deadlineIn(busCloseMs) : undefined;
    const headStart = leaving ? deadlineIn(Math.min(deps.rolesFirstMs ?? ROLES_FIRST_MS, msLeft(leaving))) : undefined;
    const drain = (async () => {
      // A stop during role start-up waits for the role being started, so that every role started is stopped and the
      // bus does not close under a subscribe; on Kafka for the roles' head start only: a subscribe waiting for its
      // join, or for a broker that went away or does not answer, ends only once the bus closes, and a longer wait
      // for it only put off that close (the stop took up to 7 s more than bus.kafka.closeTimeoutMs).
      const startWaitMs = headStart ? msLeft(headStart) : DAEMON_SHUTDOWN_GRACE_MS - (deps.rolesFirstMs ?? ROLES_FIRST_MS) - BUS_CLOSE_END_MS;
      await withTimeout(rolesStarting, startWaitMs).catch(() => logger.warn({ waited_ms: Math.round(startWaitMs) }, 'daemon_role_start_slow'));
      const rolesFirstMs = headStart ? msLeft(headStart) : deps.rolesFirstMs ?? ROLES_FIRST_MS;
      const graceMs = deps.roleStopGraceMs ?? ROLE_STOP_GRACE_MS;
      const stopRole = async (handle: RoleHandle): Promise<void> => {
        const stopped = handle.stop().catch((error: unknown) => logger.error({ role: handle.name, err: error }, 'daemon_role_stop_failed'));
        const inTime = await withTimeout(stopped, graceMs).then(() => true, () => false);
        if (!inTime) logger.warn({ role: handle.name, grace_ms: graceMs }, 'daemon_role_stop_slow');
      };
      // The roles side by side, the bus's close beside them once they are done or ROLES_FIRST_MS passed. The bus stops its subscriptions first, each once its
      // handler is done (one commits only after its effect, and nothing once the bus gave up: what it did not finish
      // is delivered again), and its producer last, so a handler still publishes its outcome. With the brokers away
      // the roles' subscriptions wait on them: the bus's bounded close (bus.kafka.closeTimeoutMs) then ends those
      // connections, which ends the roles' waits too, so the brokers are waited for once, not once per role and
      // once more by the bus.
      const roles = handles.splice(0).reverse();
      const rolesStopped = Promise.all(roles.map(stopRole));
      await withTimeout(rolesStopped, rolesFirstMs).catch(() => undefined);
      const busClosed = deps.bus.close(leaving && { deadline: leaving }).catch((error: unknown) => logger.warn({ err: error }, 'daemon_bus_close_failed'));
      await Promise.all([rolesStopped, busClosed]);
      // A role start the bus's close ended (its subscribe fails once the connections are gone) stops the roles of its
      // attempt: within the second a connect takes to fail, so that none outlives the stop.
      await withTimeout(rolesStarting, BUS_CLOSE_END_MS).catch(() => undefined);
    })();
    // A broker that went away and came back can leave a client's disconnect pending forever; shutdown is bounded
    // so SIGTERM always ends the process (uncommitted work is redelivered and, being idempotent, redone once).
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([drain.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), DAEMON_SHUTDOWN_GRACE_MS)))]);
    clearTimeout(timer);
    if (timedOut) logger.warn({ grace_ms: DAEMON_SHUTDOWN_GRACE_MS }, 'daemon_shutdown_grace_exceeded');
    await app.close();
    readyFile.remove();
    logger.info({ stopped_by: stoppedBy(failure) }, 'daemon_stopped');
  };

  const context: RoleContext = {
    settings,
    store: deps.store,
    bus: deps.bus,
    logger,
    metrics,
    owner: uniqueLeaseOwner(),
    signal: controller.signal,
    ...(deps.hurried ? { hurried: deps.hurried } : {}),
    onEvent: deps.onEvent,
    claimReads: createClaimReads(),
    trackingServers: createMlflowServers(),
    stopGraceMs: deps.roleStopGraceMs ?? ROLE_STOP_GRACE_MS,
  };
  const startRoles = async (): Promise<void> => {
    step = { waiting: 'store' };
    for (const bucket of [settings.store.buckets.runs, settings.store.buckets.promotion, settings.store.buckets.processed]) await deps.store.ensureBucket(bucket);
    step = { waiting: 'bus' };
    // Brokers that answer at their bootstrap address but not at the one they advertise keep kafkajs retrying for
    // minutes: the attempt ends within the services' bound on reaching them, so that the daemon says why it waits
    // (daemon_startup_retrying, /readyz) and tries again, waiting on for the same request.
    await ensureTopicsWithinReach(deps.bus, settings, pipelineTopics(settings));
    // Stopped while the store or the broker was awaited (the wait was left at once, the bus closed): no role starts.
    if (controller.signal.aborted) throw controller.signal.reason;
    const attempt: RoleHandle[] = [];
    const starting = (async () => {
      try {
        for (const { name, factory } of factories) {
          step = { waiting: 'role', role: name };
          attempt.push(await factory({ ...context, logger: logger.child({ role: name }) }));
          logger.info({ role: name }, 'daemon_role_started');
          // Stopped while this role started: the next ones never start, and these must not outlive the stop.
          if (controller.signal.aborted) throw controller.signal.reason;
        }
      } catch (error) {
        // The next attempt starts every role again, so none of this one may stay subscribed.
        for (const handle of attempt.reverse()) await handle.stop().catch(() => undefined);
        throw error;
      }
      handles.push(...attempt);
    })();
    rolesStarting = starting.catch(() => undefined);
    await starting;
  };

  try {
    // A store or broker not there yet is waited for (UNTIL_AVAILABLE) while /readyz answers 503 with the reason:
    // exiting instead would have the orchestrator restart the process in a loop that says less. A refused login,
    // certificate or permission is not retriable and ends the startup: the settings that would fix it (a Secret's
    // password, a CA file) are read once, at process start, so only a restart can pick up the corrected ones, and the
    // orchestrator's restart backoff covers a user the broker has not created yet.
    // A stop ends the wait at once, also mid-attempt: the attempt may be a Kafka connect retrying for half a minute
    // against a broker that is not there, which gives up at its next try (within a second) once stop() has closed the bus.
    // Once the roles start, the stop waits for the one starting instead (bounded by the shutdown grace), since it
    // has to be stopped before the bus closes.
    const starting = retryWithBackoff(startRoles, deps.startupRetry ?? UNTIL_AVAILABLE, {
      isRetriable: (error) => toFltsError(error).retriable,
      signal: controller.signal,
      onRetry: ({ attempt, delayMs, error }) => {
        const cause = toFltsError(error);
        startupWait = publicStartupWait(step, cause);
        // Brokers that answer at their bootstrap address only: the addresses they advertise are what to check.
        const advertised = cause.details?.advertised;
        const { waiting, ...role } = step;
        logger.warn({ attempt, delay_ms: delayMs, waiting, ...role, code: cause.code, err: redactSecrets(cause.message), ...(advertised ? { advertised } : {}) }, 'daemon_startup_retrying');
      },
    });
    await untilAborted(starting, controller.signal);
    startupWait = undefined;
    started = true;
    state = 'running';
  } catch (error) {
    await stop(error);
    throw error;
  }
  return { url, app, roles: () => handles, stop: () => stop() };
}
