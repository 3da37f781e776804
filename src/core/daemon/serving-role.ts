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
  const { startInferenceService } = await import('../serve/start-inference-service.js');
  // A daemon stopped while this role waits for a silent store (its first pointer read) ends the start at once.
  const service = await startInferenceService(context.settings, { store: context.store, logger: context.logger, onEvent: context.onEvent, signal: context.signal });
  context.metrics.declareSteps('serving', 'reload', STEP_RESULTS);
  let companion: ServingCompanion;
  try {
    companion = await startServingCompanion({ settings: context.settings, bus: context.bus, holder: service.holder, logger: context.logger, live: service.live, store: context.store, claimReads: context.claimReads, countStep: (result) => context.metrics.countStep('serving', 'reload', result) });
  } catch (error) {
    await service.close();
    throw error;
  }
  return {
    name: 'serving',
    subscriptions: companion.actuals ? [companion, companion.actuals] : [companion],
    status: () => ({ url: service.url, runId: service.holder.status().current?.runId ?? null }),
    async stop() {
      await companion.stop();
      await service.close();
    },
  };
}
