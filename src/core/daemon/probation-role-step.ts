import { createLiveReportReader } from '../live/live-report-reader.js';
import type { ProbationDecision } from '../live/live-reports.js';
import { decideProbation, probationAwaitingDecision } from '../live/probation-decider.js';
import { createRollbackAction } from '../workflows/auto-rollback.js';
import { promotionScope } from '../registry/pointers.js';
import type { RoleContext } from './role-registry.js';
import { roleTracking } from './role-tracking.js';
import { startResyncTimer } from './serial-queue.js';
import { acquireLease } from '../registry/work-lease.js';
import { repeatedStepFailure } from './step-failure.js';

/**
 * One look of the promoter at the promotion under probation: the decision it took, if it took one (none while the
 * points are too few, another promoter holds the lease or nothing is on probation). The look reads the replica
 * reports through one reader kept across looks, so each reads only the reports that changed since the last; `now`
 * is the wall clock the reports' times are compared with (tests pin it).
 */
export type ProbationLook = () => Promise<ProbationDecision | undefined>;

export function createProbationLook(context: RoleContext, now: () => Date = () => new Date()): ProbationLook {
  const { store, settings, bus, logger, metrics } = context;
  const rollback = createRollbackAction({ store, settings, bus, logger, onEvent: context.onEvent, tracking: roleTracking(context, 'promoter', context.signal) });
  const reports = createLiveReportReader(store, settings);
  return async () => {
    const ref = await probationAwaitingDecision(store, settings);
    if (!ref) return undefined;
    const lease = await acquireLease({ store, settings, owner: context.owner, logger, monotonic: context.monotonic }, { step: `probation-${promotionScope(settings)}`, configHash: ref.run_id, modelType: '' }, context.signal);
    if (!lease) return undefined;
    try {
      const decision = await decideProbation({ store, settings, rollback, logger, decidedBy: `promoter ${context.owner}`, readReports: () => reports.read(now()), now, onRollback: () => metrics.countLiveRollback(), onWorseKept: () => metrics.countLiveWorseKept(), onNoBaseline: () => metrics.countLiveNoBaseline() });
      if (decision) metrics.countStep('promoter', 'probation', 'done');
      return decision;
    } finally {
      await lease.release();
    }
  };
}

/**
 * The promoter's share of live probation: every report interval it sums the figures every serving replica
 * wrote for the promotion under probation and takes the one decision for it, under a lease so that two
 * promoters never both decide (a second rollback would walk the history back one run too far).
 */
export function startProbationDecisions(context: RoleContext): void {
  const { settings, logger, metrics } = context;
  if (!settings.live.enabled) return;
  metrics.declareSteps('promoter', 'probation', ['done']);
  const look = createProbationLook(context);
  // A look runs every report interval (5 s by default): an outage fails every one while it lasts.
  startResyncTimer(settings.live.reportIntervalMs, context.signal, async () => void (await look()), (error) => {
    const failure = repeatedStepFailure(error);
    logger[failure.level](failure.fields, 'daemon_probation_failed');
  });
}
