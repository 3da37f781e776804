/**
 * Runs tasks one at a time in arrival order. Trainers of several model types share one process's CPU:
 * fitting two models at once only makes both slower, so a daemon trains one model at a time.
 */
export interface SerialQueue {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(task) {
      const result = tail.then(task, task);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

/** Calls `tick` every `intervalMs` (0 = never) until the signal aborts; a failing tick is only reported. */
export function startResyncTimer(intervalMs: number, signal: AbortSignal, tick: () => Promise<void>, onError: (error: unknown) => void): void {
  if (intervalMs <= 0) return;
  let running = false;
  const timer = setInterval(() => {
    if (running || signal.aborted) return;
    running = true;
    tick()
      .catch(onError)
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
