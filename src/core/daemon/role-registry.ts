import type { ClaimReads } from '../batch/claim-reads.js';
import type { MessageBus, MessageHandler, Subscription } from '../bus/message-bus.js';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import type { MonotonicClock } from '../registry/run-liveness.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MlflowServers } from '../tracking/mlflow-servers.js';
import type { DaemonMetrics } from './daemon-metrics.js';

/** What every role gets from the daemon. */
export interface RoleContext {
  settings: Settings;
  store: ObjectStore;
  bus: MessageBus;
  logger: Logger;
  metrics: DaemonMetrics;
  /** Unique per process: owner of the work leases this daemon takes. */
  owner: string;
  /** Aborted when the daemon shuts down. */
  signal: AbortSignal;
  /** Aborted when its stop is told to hurry (flts daemon's second signal): the serving role cuts its requests in flight. */
  hurried?: AbortSignal;
  /**
   * This process's monotonic clock (default `performance.now`), which alone decides when another process's lease or
   * run is stale: every such decision of every role reads this one clock, never the wall clock (tests pin it).
   */
  monotonic?: MonotonicClock;
  /**
   * This process's wall clock in ms (default `Date.now`), only where an age is measured from a time another process
   * recorded (a run's finished_at); tests pin it.
   */
  wall?: () => number;
  onEvent?: EventSink;
  /** Where the batch and serving roles of this process meet: one read of a claimed object for both. */
  claimReads?: ClaimReads;
  /** What the roles' MLflow clients learn of the tracking server, over every sync and promotion of this daemon. */
  trackingServers?: MlflowServers;
  /** How long each role's stop is given before the daemon goes on without it (ROLE_STOP_GRACE_MS unless a test shortens it). */
  stopGraceMs?: number;
}

/** A running role: its subscriptions (for lag and readiness) and how to stop it. */
export interface RoleHandle {
  readonly name: string;
  readonly subscriptions: readonly Subscription[];
  /** Extra facts for /status (e.g. the serving URL). */
  status(): Record<string, unknown>;
  /**
   * Why the role can no longer do its work, when a restart is what mends it (its step stuck past the step's own
   * bound), for the daemon's /livez; undefined while it can. Never for a store, broker or MLflow awaited.
   */
  liveness?(): { code: string; reason: string; [field: string]: unknown } | undefined;
  stop(): Promise<void>;
}

export type RoleFactory = (context: RoleContext) => Promise<RoleHandle>;

/**
 * The roles a daemon can run, by name. The built-in ones are trainer, promoter and serving; another
 * module adds its own (e.g. batch inference on `inference-data` claims) with `register` and it is then
 * selectable with `--roles` / FLTS_DAEMON_ROLES like the others.
 */
export interface RoleRegistry {
  register(name: string, factory: RoleFactory): void;
  get(name: string): RoleFactory;
  names(): string[];
}

export function createRoleRegistry(initial: Record<string, RoleFactory> = {}): RoleRegistry {
  const factories = new Map(Object.entries(initial));
  return {
    register(name, factory) {
      factories.set(name.toLowerCase(), factory);
    },
    get(name) {
      const factory = factories.get(name.toLowerCase());
      if (!factory) {
        throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `Daemon role ${JSON.stringify(name)} is unknown: expected one of ${[...factories.keys()].join(', ')} (setting daemon.roles, env FLTS_DAEMON_ROLES).`, {
          details: { setting: 'daemon.roles', value: name, accepted: [...factories.keys()] },
        });
      }
      return factory;
    },
    names: () => [...factories.keys()],
  };
}

/**
 * A role's handler whose work the daemon's stop aborts (a training step, a promotion). The daemon aborts that work
 * before it stops the roles' subscriptions one by one, so the failure would reach a bus still consuming, which
 * retries it at once and, within seconds, dead-letters and commits the message: a claim a SIGTERM interrupted would
 * be lost instead of picked up again. Such a failure is held until the handler's own subscription stops, and the bus
 * then leaves the message uncommitted.
 */
export function abandonedOnStop(daemon: AbortSignal, handler: MessageHandler): MessageHandler {
  return async (message, context) => {
    try {
      await handler(message, context);
    } catch (error) {
      if (daemon.aborted && !context.signal.aborted) await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      throw error;
    }
  };
}
