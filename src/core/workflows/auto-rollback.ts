import type { MessageBus } from '../bus/message-bus.js';
import type { Settings } from '../config/settings.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import { rollback } from './promote.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RollbackAction } from '../live/probation-decider.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';

export interface RollbackActionDeps {
  store: ObjectStore;
  settings: Settings;
  /** When given, `model-selected` is published so every replica switches at once. */
  bus?: MessageBus;
  logger?: Logger;
  onEvent?: EventSink;
  /** Who decides, recorded as the rollback's actor (a replica id or the promoter). */
  actor?: string;
  /** MLflow collaborators of the rollback's marks (a daemon's stop signal, its failure count). */
  tracking?: TrackingDeps;
}

/**
 * The rollback a failed probation performs: the `rollback` workflow, as `flts promote --rollback` runs it (checks,
 * history record, pointers, `model-selected` when a bus is configured, MLflow), with source `auto-rollback`.
 */
export function createRollbackAction(deps: RollbackActionDeps): RollbackAction {
  const { store, settings } = deps;
  return async (request) => {
    const expected = { fromRunId: request.fromRunId, toRunId: request.toRunId };
    const result = await rollback({ source: request.source, actor: deps.actor ?? 'live-accuracy', reason: request.reason, expected }, settings, { store, bus: deps.bus, logger: deps.logger, onEvent: deps.onEvent, tracking: deps.tracking });
    deps.onEvent?.({ type: 'live.rolled_back', runId: request.fromRunId, restoredRunId: result.record.run_id, reason: request.reason });
    return { run_id: result.record.run_id, timestamp: result.record.timestamp };
  };
}
