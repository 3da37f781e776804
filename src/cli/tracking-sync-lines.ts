import { singleLine } from '../core/clip-text.js';
import type { TrackingSettings } from '../core/config/specs/tracking.js';
import { redactSecrets } from '../core/redact.js';
import type { MirrorPendingResult } from '../core/registry/mirror-pending-runs.js';
import type { GuardedTracking } from '../core/tracking/guard-tracking.js';
import type { TrackingSyncResult } from '../core/workflows/sync-runs-to-tracking.js';
import { experimentDeleted } from '../core/tracking/mlflow-client.js';

/**
 * What `flts train` says of the MLflow mirror after its runs: nothing when it went through or is off; a line when
 * MLflow was not reached, or when it went away after the runs just trained were mirrored, while older runs were being
 * caught up (the sync is `ok`, with `interrupted`: the catch-up resumes at the next sync, nothing is lost); and a line
 * per experiment an operator deleted in MLflow, whose runs are kept back until it is restored or another is named
 * (deletedExperimentLines); and a line when it wrote the promotion mark of the run in service, which its promotion
 * had left out.
 * `trained`: how many runs this call trained (none when every model type was trained already).
 */
export function trackingSyncLines(tracking: GuardedTracking<TrackingSyncResult>, trained: number, experiments: TrackingSettings['experiments']): string[] {
  if (tracking.status === 'unavailable') {
    // The message may quote what the server sent: line breaks and terminal sequences print as spaces, not as themselves.
    const why = singleLine(tracking.message);
    // Refused credentials are not caught up by the next sync alone: say which were sent, as `flts eval` does.
    if (tracking.hint) return [`mlflow: not mirrored now (${why}); the next sync catches up once MLflow accepts the credentials. ${tracking.hint}`];
    return [`mlflow: not mirrored now (${why}); the next sync catches up.`];
  }
  if (tracking.status !== 'ok') return [];
  const lines = [...deletedExperimentLines(tracking.value, experiments), ...promotionMarkLines(tracking.value)];
  if (!tracking.value.interrupted) return lines;
  // The message of a failed call may quote the tracking URI, credentials included, or text the server sent.
  const why = singleLine(redactSecrets(tracking.value.interrupted.message));
  const mirrored = trained > 0 ? `the ${trained === 1 ? 'run' : `${trained} runs`} just trained ${trained === 1 ? 'was' : 'were'} mirrored, but ` : '';
  return [`mlflow: ${mirrored}catching up older runs stopped (${why}); it resumes at the next sync.`, ...lines];
}

/**
 * One line per deleted experiment: the runs this sync parked in it and those parked before that still wait, counted
 * together, the settings that name it, and what to do, in the words of the mirror's own refusal (experimentDeleted),
 * so that the command and the log never tell two remedies. Without it a user sees runs that never reach MLflow and
 * no reason why.
 */
function deletedExperimentLines(result: MirrorPendingResult, experiments: TrackingSettings['experiments']): string[] {
  const byId = new Map<string, { name: string; runs: number }>();
  const count = (experimentId: string, name: string, runs: number): void => {
    const entry = byId.get(experimentId) ?? { name, runs: 0 };
    entry.runs += runs;
    byId.set(experimentId, entry);
  };
  for (const experiment of result.waiting ?? []) count(experiment.experimentId, experiment.experimentName, experiment.runs);
  for (const run of result.parked ?? []) count(run.experimentId, run.experimentName, 1);
  return [...byId].map(([experimentId, { name, runs }]) => {
    const keys = Object.entries(experiments).filter(([, named]) => named === name).map(([kind]) => `tracking.experiments.${kind}`);
    const settings = keys.length > 0 ? ` (${keys.join(', ')})` : '';
    const why = singleLine(experimentDeleted({ experiment_id: experimentId, name }).message);
    return `mlflow: ${runs === 1 ? '1 run' : `${runs} runs`} not mirrored${settings}: ${why}`;
  });
}

/** The promotion mark the sync wrote for the run in service, which its promotion had left out (promotion-mark.ts). */
function promotionMarkLines(result: TrackingSyncResult): string[] {
  const marked = result.promotionMarked;
  if (!marked) return [];
  const mark = marked.marker === 'alias' ? `${marked.registeredModel} version ${marked.version} is now '${marked.alias}'` : `its MLflow run ${marked.mlflowRunId} is tagged '${marked.tag}'`;
  return [`mlflow: run ${marked.runId}, in service, marked as its promotion had not: ${mark}.`];
}
