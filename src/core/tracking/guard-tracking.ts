import { redactSecrets } from '../redact.js';
import type { Settings } from '../config/settings.js';
import { toFltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { TrackingDeps } from './tracking-deps.js';

export type GuardedTracking<T> =
  | { status: 'disabled' }
  | { status: 'ok'; uri: string; value: T }
  /** `hint`: which credentials were sent, when MLflow refused them (401, 403): the next sync cannot catch up until they change. */
  | { status: 'unavailable'; uri: string; code: string; message: string; elapsedMs: number; hint?: string };

/**
 * Runs a tracking action so that it can never fail its caller: off when no tracking URI is set, and any
 * error (a dead server after its bounded retries, a refusal, a bug) comes back as a reported outcome.
 */
export async function guardTracking<T>(settings: Settings, deps: TrackingDeps, action: () => Promise<T>, context: { runId?: string } = {}): Promise<GuardedTracking<T>> {
  if (!settings.tracking.uri) return { status: 'disabled' };
  const started = Date.now();
  const uri = redactSecrets(settings.tracking.uri);
  try {
    return { status: 'ok', uri, value: await action() };
  } catch (error) {
    // Left because the caller stopped (a daemon's SIGTERM, Ctrl-C): no failure of the server, and the bare
    // AbortError it is thrown as would read as FLTS_INTERNAL.
    if (deps.signal?.aborted) {
      const message = 'Stopped before the MLflow tracking server answered.';
      (deps.logger ?? silentLogger).info({ uri, run_id: context.runId }, 'mlflow_tracking_step_stopped');
      return { status: 'unavailable', uri, code: 'FLTS_TRACKING_UNAVAILABLE', message, elapsedMs: Date.now() - started };
    }
    const flts = toFltsError(error);
    (deps.logger ?? silentLogger).warn({ code: flts.code, err: redactSecrets(flts.message), uri, run_id: context.runId }, 'mlflow_tracking_step_skipped');
    deps.onEvent?.({ type: 'tracking.unavailable', runId: context.runId, code: flts.code, message: redactSecrets(flts.message) });
    const refusedCredentials = flts.details.credentials !== undefined;
    return { status: 'unavailable', uri, code: flts.code, message: redactSecrets(flts.message), elapsedMs: Date.now() - started, ...(refusedCredentials ? { hint: flts.hint } : {}) };
  }
}
