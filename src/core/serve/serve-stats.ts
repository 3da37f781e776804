import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The reference API's JSON counters (its `/metrics` object), kept for dashboards and scripts written
 * against it; served at `/stats` because `/metrics` is Prometheus text here.
 */
export interface ServeStats {
  requestStarted(): void;
  requestFinished(durationMs: number, waitMs: number, error?: { status: number; code: string }): void;
  snapshot(): Record<string, number | string | null>;
  close(): void;
}

export function createServeStats(): ServeStats {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let active = 0;
  let completed = 0;
  let error500 = 0;
  let lastErrorType: string | null = null;
  let last = { duration: 0, wait: 0 };
  let max = { duration: 0, wait: 0 };
  let total = { duration: 0, wait: 0 };
  return {
    requestStarted() {
      active++;
    },
    requestFinished(durationMs, waitMs, error) {
      active = Math.max(0, active - 1);
      if (error) {
        lastErrorType = error.code;
        if (error.status >= 500) error500++;
        return;
      }
      completed++;
      last = { duration: durationMs, wait: waitMs };
      max = { duration: Math.max(max.duration, durationMs), wait: Math.max(max.wait, waitMs) };
      total = { duration: total.duration + durationMs, wait: total.wait + waitMs };
    },
    snapshot() {
      const avg = (sum: number): number => (completed > 0 ? sum / completed : 0);
      const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
      return {
        mode: 'batched',
        queue_length: 0,
        workers: 1,
        active,
        active_jobs: active,
        completed,
        error_500_total: error500,
        last_error_type: lastErrorType,
        last_inference_duration_ms: last.duration,
        max_exec_ms: max.duration,
        avg_exec_ms: avg(total.duration),
        last_wait_ms: last.wait,
        max_wait_ms: max.wait,
        avg_wait_ms: avg(total.wait),
        served_cached: 0,
        event_loop_lag_last_ms: ms(loopDelay.percentile(50)),
        event_loop_lag_max_ms: ms(loopDelay.max),
        event_loop_lag_avg_ms: ms(loopDelay.mean),
      };
    },
    close() {
      loopDelay.disable();
    },
  };
}
