import { encodePromotion } from '../bus/messages.js';
import type { MessageBus } from '../bus/message-bus.js';
import type { Settings } from '../config/settings.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import { rollbackPromotion } from './promote.js';
import type { ObjectStore } from '../storage/object-store.js';
import { trackPromotion } from './sync-runs-to-tracking.js';
import type { RollbackAction } from '../live/probation-decider.js';

export interface RollbackActionDeps {
  store: ObjectStore;
  settings: Settings;
  /** When given, `model-selected` is published so every replica switches at once. */
  bus?: MessageBus;
  logger?: Logger;
  onEvent?: EventSink;
}

/**
 * The rollback a failed probation performs: the same rollback as `flts promote --rollback` (history record,
 * pointers), recorded with source `auto-rollback`, announced on `model-selected` and marked in MLflow.
 */
export function createRollbackAction(deps: RollbackActionDeps): RollbackAction {
  const { store, settings } = deps;
  return async (request) => {
    const result = await rollbackPromotion(settings, { store, onEvent: deps.onEvent }, { source: request.source, reason: request.reason });
    if (deps.bus) await deps.bus.publish(settings.bus.topics.modelSelected, encodePromotion({ ...result.record }));
    await trackPromotion(store, settings, result.record, { logger: deps.logger });
    deps.onEvent?.({ type: 'live.rolled_back', runId: request.fromRunId, restoredRunId: result.record.run_id, reason: request.reason });
    return { run_id: result.record.run_id, timestamp: result.record.timestamp };
  };
}
