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
export function abortOnSignals(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'], reason?: () => unknown): { signal: AbortSignal; release(): void } {
  const aborter = new AbortController();
  const onSignal = (): void => aborter.abort(reason?.());
  for (const name of signals) process.once(name, onSignal);
  return { signal: aborter.signal, release: () => signals.forEach((name) => process.off(name, onSignal)) };
}
