import { singleLine } from '../core/clip-text.js';
import { redactSecrets } from '../core/redact.js';
import type { MirrorPendingResult } from '../core/registry/mirror-pending-runs.js';
import type { GuardedTracking } from '../core/tracking/guard-tracking.js';

/**
 * What `flts train` says of the MLflow mirror after its runs: nothing when it went through or is off; a line when
 * MLflow was not reached, or when it went away after the runs just trained were mirrored, while older runs were being
 * caught up (the sync is `ok`, with `interrupted`: the catch-up resumes at the next sync, nothing is lost).
 * `trained`: how many runs this call trained (none when every model type was trained already).
 */
export function trackingSyncLine(tracking: GuardedTracking<MirrorPendingResult>, trained: number): string | undefined {
  if (tracking.status === 'unavailable') return `mlflow: not mirrored now (${tracking.message}); the next sync catches up.`;
  if (tracking.status !== 'ok' || !tracking.value.interrupted) return undefined;
  // The message of a failed call may quote the tracking URI, credentials included, or text the server sent.
  const why = singleLine(redactSecrets(tracking.value.interrupted.message));
  const mirrored = trained > 0 ? `the ${trained === 1 ? 'run' : `${trained} runs`} just trained ${trained === 1 ? 'was' : 'were'} mirrored, but ` : '';
  return `mlflow: ${mirrored}catching up older runs stopped (${why}); it resumes at the next sync.`;
}
