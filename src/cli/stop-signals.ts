/**
 * How a long-running command (serve, daemon) is stopped: the first SIGINT or SIGTERM from the moment it listens,
 * which is before its start-up, since that may wait long for a store or a broker and a stop then must end the wait.
 */
export interface StopSignals {
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** The name of the first signal, once it came. */
  stopped: Promise<string>;
}

export function listenForStop(): StopSignals {
  const aborter = new AbortController();
  const stopped = new Promise<string>((resolve) => {
    for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => (aborter.abort(), resolve(name)));
  });
  return { signal: aborter.signal, stopped };
}

/** What `starting` resolves to, or undefined when it failed because a stop came meanwhile: a start cut short is no failure. */
export function unlessStopped<T>(starting: Promise<T>, stop: StopSignals): Promise<T | undefined> {
  return starting.catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
    return undefined;
  });
}

/**
 * Aborts a command's work (a training, a backtest, a load test) on the first of `signals` while it runs, with
 * `reason` when given, so that it ends with its own coded error rather than the signal's silent exit; `release()`
 * stops listening once the work is done, leaving later signals their default.
 */
export function abortOnSignals(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'], reason?: (signal: NodeJS.Signals) => unknown): { signal: AbortSignal; release(): void } {
  const aborter = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => aborter.abort(reason?.(signal));
  for (const name of signals) process.once(name, onSignal);
  return { signal: aborter.signal, release: () => signals.forEach((name) => process.off(name, onSignal)) };
}

/**
 * `work`, ended by the first SIGINT or SIGTERM with `stopped(signal)`, the command's coded error, at once: work that
 * takes the signal (a forecast between chunks) stops at its next turn, and a wait that does not (a store or an MLflow
 * server that does not answer) is left behind, since the command's error ends the process. Without it such a command
 * ended on Ctrl-C by the signal's default action: nothing said, no --json document, exit 130.
 */
export async function untilSignalled<T>(stopped: (signal: NodeJS.Signals) => Error, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = abortOnSignals(['SIGINT', 'SIGTERM'], stopped);
  const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }));
  try {
    return await Promise.race([work(abort.signal), aborted]);
  } finally {
    abort.release();
  }
}
