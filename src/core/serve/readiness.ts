import { httpStatusFor } from '../errors.js';
import { stoppingRefusal } from './error-handler.js';
import type { ModelHolder } from './model-holder.js';

/**
 * Whether the server takes traffic: a model loaded and warm, and no stop begun. `code` is set when a stop has begun
 * (FLTS_SERVE_STOPPING) and only then; `reason` is the public sentence /readyz gives (a degraded state's reason,
 * never a cause's message). `status` is the HTTP status every readiness route answers with.
 */
export type Readiness = { ready: true; status: 200 } | { ready: false; status: number; reason: string; code?: string };

/** Not ready because a stop has begun: what readinessOf answers then, and the daemon's /readyz, which has no model. */
export function stoppingReadiness(): { ready: false; status: number; reason: string; code: string } {
  const refusal = stoppingRefusal();
  return { ready: false, status: httpStatusFor(refusal), reason: refusal.message, code: refusal.code };
}

const NOT_LOADED_YET = 'No model is loaded yet.';

/**
 * The one readiness rule of /readyz, /ready, /v2/health/ready and gRPC ServerReady: were it written out in each, one
 * of them could go on routing traffic to a server the others call unready (one that stops, or lost its model). A
 * daemon's /readyz answers its stop from the same rule (stoppingReadiness); a model is not its to wait for, as its
 * serving role's port says that (and only `flts serve` pods take traffic).
 */
export function readinessOf(holder: Pick<ModelHolder, 'status'>, stopping: boolean): Readiness {
  if (stopping) return stoppingReadiness();
  const status = holder.status();
  if (!status.ready) return { ready: false, status: 503, reason: status.degraded?.reason ?? NOT_LOADED_YET };
  return { ready: true, status: 200 };
}
