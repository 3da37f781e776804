import { deadlineIn, msLeft } from '../retry.js';
import { DAEMON_STOP_MARGIN_MS } from '../stop-budget.js';
import { STEP_RESULTS } from './daemon-metrics.js';
import type { RoleContext, RoleHandle } from './role-registry.js';
import { startServingCompanion, type ServingCompanion } from './serving-companion.js';

/**
 * The serving role: the inference API (as `flts serve`) plus its promotion subscription, in the daemon
 * process. Claims on `inference-data` belong to a batch role (in this process or another); this role only reads
 * them for their actual values, through its companion, as a `flts serve` replica does (beside a batch role in this
 * process, from that role's read of the claim: `claimReads`).
 */
export async function startServingRole(context: RoleContext): Promise<RoleHandle> {
  // The daemon's logger names the role already; binding it again would write the key twice on every line.
  // The inference API's routes, swagger and model loading load with this role, not in every daemon.
  const [{ startInferenceService }, { createServeMetrics }, { createPromotionFollowing }] = await Promise.all([
    import('../serve/start-inference-service.js'),
    import('../serve/serve-metrics.js'),
    import('../serve/promotion-following.js'),
  ]);
  const topic = context.settings.bus.topics.modelSelected;
  const metrics = createServeMetrics();
  // /healthz `promotions` as flts serve gives it: the gauge on the role's own /metrics, and the crashes of its group's
  // consumer as the daemon's bus reports them, to the daemon's metrics.
  const promotions = createPromotionFollowing(topic, { metrics: { setFollowingPromotions: metrics.setFollowingPromotions, watchConsumers: context.metrics.watchConsumers } });
  // A daemon stopped while this role waits for a silent store (its first pointer read) ends the start at once.
  const service = await startInferenceService(context.settings, { store: context.store, logger: context.logger, onEvent: context.onEvent, signal: context.signal, metrics, promotionTopic: topic, promotions }).catch((error: unknown) => {
    promotions.stop();
    throw error;
  });
  context.metrics.declareSteps('serving', 'reload', STEP_RESULTS);
  let companion: ServingCompanion;
  try {
    companion = await startServingCompanion({ settings: context.settings, bus: context.bus, holder: service.holder, logger: context.logger, live: service.live, store: context.store, claimReads: context.claimReads, countStep: (result) => context.metrics.countStep('serving', 'reload', result) });
  } catch (error) {
    promotions.stop();
    await service.close();
    throw error;
  }
  // The companion returns once its group has joined: the role follows promotions from its start.
  promotions.joined(companion.group);
  // Not ready from the daemon's first step of a stop (its abort of the roles' signal), not only from this role's
  // stop(), which the daemon calls once a role still starting beside this one is done: a load balancer that saw this
  // replica ready meanwhile kept routing requests to it. Removed at stop(), so a start attempted again adds no other.
  const beginStop = (): void => service.beginStop();
  context.signal.addEventListener('abort', beginStop, { once: true });
  if (context.signal.aborted) beginStop();
  return {
    name: 'serving',
    subscriptions: companion.actuals ? [companion, companion.actuals] : [companion],
    status: () => {
      const runId = service.holder.status().current?.runId ?? null;
      // Every listener the role opened, named as flts serve names them (url, grpc_url); runId is the name before /status
      // spoke snake_case as the rest of flts's JSON: deprecated, kept one release.
      return { url: service.url, grpc_url: service.grpc?.url ?? null, run_id: runId, runId };
    },
    liveness() {
      const liveness = service.liveness();
      if (liveness.live) return undefined;
      const { live: _live, ...failure } = liveness;
      return failure;
    },
    async stop() {
      // The drain ends where the role's grace still leaves room for the last writes: a drain left to the request
      // timeout (30 s) outlived the grace, and the daemon then exited under requests it neither answered nor counted.
      // At least half the grace drains, however long the writes may take.
      const graceMs = context.stopGraceMs;
      const drainBy = graceMs === undefined ? undefined : deadlineIn(Math.max(graceMs / 2, graceMs - context.settings.serve.shutdownWritesTimeoutMs - DAEMON_STOP_MARGIN_MS));
      // Not ready from the first moment: leaving the promotion group may take the bus's close timeout, and a load
      // balancer that saw this replica ready meanwhile kept sending it requests the close would then refuse or cut.
      context.signal.removeEventListener('abort', beginStop);
      service.beginStop();
      // Leaving the group is no crash of its consumer: /healthz keeps saying following until the service closes.
      promotions.stop();
      await companion.stop();
      const report = await service.close({ ...(drainBy ? { drainMs: msLeft(drainBy) } : {}), ...(context.hurried ? { cut: context.hurried } : {}) });
      context.logger.info({ requests_drained: report.requestsDrained, requests_cut: report.requestsCut, ...(service.grpc ? { grpc_calls_cut: report.grpcCallsCut, grpc_calls_drained: report.grpcCallsDrained } : {}) }, 'serve_stopped');
    },
  };
}

/**
 * Where a daemon's serving role listens, named as `flts serve` names its own listeners (url, grpc_url): its HTTP API
 * and, when on, its gRPC service; nulls without that role (or a role registered in its place that says neither).
 */
export function servingListeners(roles: readonly RoleHandle[]): { servingUrl: string | null; grpcUrl: string | null } {
  const status = roles.find((role) => role.name === 'serving')?.status();
  return { servingUrl: typeof status?.url === 'string' ? status.url : null, grpcUrl: typeof status?.grpc_url === 'string' ? status.grpc_url : null };
}
