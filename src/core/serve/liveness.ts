import type { MonotonicClock } from '../registry/run-liveness.js';
import type { ModelHolder } from './model-holder.js';

/**
 * Whether the process can still do its work, as /livez says it (and the kubelet restarts it on): `code` and `reason`
 * name what has held past its bound, built of numbers and codes only, as /readyz's reasons are. Waiting for the store,
 * a promotion, the brokers or MLflow is never a liveness failure: a restart mends none of them, and readiness says them.
 */
export type Liveness = { live: true } | { live: false; code: string; reason: string; stalled_ms: number; bound_ms: number };

/**
 * A forward pass of the served model under way for longer than `boundMs`: on the inference thread a pass that never
 * returns leaves the main thread answering HTTP while every forecast queues behind it, and nothing but a restart ends
 * it (the thread is restarted only when it exits). The bound is serve.requestTimeoutMs: past it, every client waiting
 * for that pass has had its connection closed for silence, so the process answers no forecast at all. A pass on the
 * calling thread that never returns blocks the event loop, and the probe's own timeout says that.
 */
export function servingLiveness(holder: Pick<ModelHolder, 'current'>, boundMs: number, now: MonotonicClock = () => performance.now()): Liveness {
  const since = holder.current()?.batcher.runningSince;
  if (since === undefined) return { live: true };
  const stalledMs = Math.round(now() - since);
  if (stalledMs <= boundMs) return { live: true };
  return {
    live: false,
    code: 'FLTS_SERVE_INFERENCE_STALLED',
    reason: `A forward pass of the served model has run for ${stalledMs} ms, past serve.requestTimeoutMs (${boundMs} ms): forecasts wait behind it.`,
    stalled_ms: stalledMs,
    bound_ms: boundMs,
  };
}
