import { createLiveReportReader } from '../live/live-report-reader.js';
import { decideProbation, probationAwaitingDecision } from '../live/probation-decider.js';
import { createRollbackAction } from '../workflows/auto-rollback.js';
import { promotionScope } from '../registry/pointers.js';
import type { RoleContext } from './role-registry.js';
import { roleTracking } from './role-tracking.js';
import { startResyncTimer } from './serial-queue.js';
import { acquireLease } from '../registry/work-lease.js';

/**
 * The promoter's share of live probation: every report interval it sums the figures every serving replica
 * wrote for the promotion under probation and takes the one decision for it, under a lease so that two
 * promoters never both decide (a second rollback would walk the history back one run too far).
 */
export function startProbationDecisions(context: RoleContext): void {
  const { store, settings, bus, logger, metrics } = context;
  if (!settings.live.enabled) return;
  metrics.declareSteps('promoter', 'probation', ['done']);
  const rollback = createRollbackAction({ store, settings, bus, logger, onEvent: context.onEvent, tracking: roleTracking(context, 'promoter', context.signal) });
  // Kept across looks: each reads only the replica reports that changed since the last.
  const reports = createLiveReportReader(store, settings);
  const step = async (): Promise<void> => {
    const ref = await probationAwaitingDecision(store, settings);
    if (!ref) return;
    const lease = await acquireLease({ store, settings, owner: context.owner, logger, monotonic: context.monotonic }, { step: `probation-${promotionScope(settings)}`, configHash: ref.run_id, modelType: '' }, context.signal);
    if (!lease) return;
    try {
      const decision = await decideProbation({ store, settings, rollback, logger, decidedBy: `promoter ${context.owner}`, readReports: () => reports.read(), onRollback: () => metrics.countLiveRollback(), onWorseKept: () => metrics.countLiveWorseKept(), onNoBaseline: () => metrics.countLiveNoBaseline() });
      if (decision) metrics.countStep('promoter', 'probation', 'done');
    } finally {
      await lease.release();
    }
  };
  startResyncTimer(settings.live.reportIntervalMs, context.signal, step, (error) => logger.error({ err: error }, 'daemon_probation_failed'));
}
