import type { Subscription } from '../bus/message-bus.js';
import { startInferenceService } from '../serve/start-inference-service.js';
import type { RoleContext, RoleHandle } from './role-registry.js';
import { startServingCompanion } from './serving-companion.js';

/**
 * The serving role: the inference API (as `flts serve`) plus its promotion subscription, in the daemon
 * process. Claims on `inference-data` belong to a batch role registered beside this one.
 */
export async function startServingRole(context: RoleContext): Promise<RoleHandle> {
  // The daemon's logger names the role already; binding it again would write the key twice on every line.
  const service = await startInferenceService(context.settings, { store: context.store, logger: context.logger, onEvent: context.onEvent });
  let companion: Subscription;
  try {
    companion = await startServingCompanion({ settings: context.settings, bus: context.bus, holder: service.holder, logger: context.logger });
  } catch (error) {
    await service.close();
    throw error;
  }
  const live = service.live;
  const unsubscribe = live && context.actuals ? context.actuals.subscribe((actuals) => live.observeActuals(actuals)) : undefined;
  return {
    name: 'serving',
    subscriptions: [companion],
    status: () => ({ url: service.url, runId: service.holder.status().current?.runId ?? null }),
    async stop() {
      unsubscribe?.();
      await companion.stop();
      await service.close();
    },
  };
}
