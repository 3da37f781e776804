
/**
 * How a long-running command (serve, daemon) is stopped: the first SIGINT or SIGTERM from the moment it listens,
 * which is before its start-up, since that may wait long for a store or a broker and a stop then must end the wait.
 * The second, while the stop waits for requests in flight, asks it to cut them now (`hurried`): its bounded steps (the
 * last writes, leaving the brokers) still run, so the stop ends soon and still says what it did. The third has the
 * signal's default action: the process ends at once, as Ctrl-C pressed again ends most servers.
 */
export interface StopSignals {
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** The name of the first signal, once it came. */
  stopped: Promise<string>;
  /** The same, at once: known before `signal` aborts, so that what the abort sets going can say what stopped it. */
  stoppedBy(): string | undefined;
  /** Aborted by the second signal. */
  hurried: AbortSignal;
  /** The name of the second signal, once it came. */
  hurriedBy(): string | undefined;
}

export function listenForStop(): StopSignals {
  const aborter = new AbortController();
  const hurry = new AbortController();
  let first: string | undefined;
  let second: string | undefined;
  let resolveStopped: (name: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve));
  const onSignal = (name: NodeJS.Signals): void => {
    if (first === undefined) {
      first = name;
      aborter.abort();
      resolveStopped(name);
      return;
    }
    second = name;
    // Let go before aborting: what the abort sets going is the stop's own, and a third signal ends the process.
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    hurry.abort();
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return { signal: aborter.signal, stopped, stoppedBy: () => first, hurried: hurry.signal, hurriedBy: () => second };
}

/** What `starting` resolves to, or undefined when it failed because a stop came meanwhile: a start cut short is no failure. */
export function unlessStopped<T>(starting: Promise<T>, stop: StopSignals): Promise<T | undefined> {
  return starting.catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
    return undefined;
  });
}

/**
 * Runs `end` (a close after the command's work) and waits for it until it settles or the first SIGINT or SIGTERM
 * comes, and returns that signal's name when one came first: the stop is taken, not left to its default action, and
 * what `end` began goes on unwaited (its failure then unreported). Listens only meanwhile, so a later signal has its
 * default again.
 */
export async function unlessStoppedMeanwhile(end: () => Promise<unknown>): Promise<NodeJS.Signals | undefined> {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  for (const name of STOP_SIGNALS) process.once(name, onSignal);
  try {
    const ended = end().then(() => undefined);
    // Its failure is the caller's while it is waited for, and nobody's once a stop came first.
    ended.catch(() => {});
    return await Promise.race([ended, stopped]);
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
  }
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
 * Runs a write that a stop must not cut in two (a promotion's history record and pointers, an output file): refused
 * with the stop's error when the command was stopped already, else run to its end, a stop meanwhile ending the command
 * only once it is written.
 */
export type Uninterrupted = <W>(write: () => Promise<W>) => Promise<W>;

/** Where a stop found the writes run through `uninterrupted`: none begun, one under way, or some done and none under way. */
export type WritesAtStop = 'none' | 'writing' | 'written';

/**
 * `work`, ended by the first SIGINT or SIGTERM with `stopped(signal, writes)`, the command's coded error, at once: work that
 * takes the signal (a forecast between chunks) stops at its next turn, and a wait that does not (a store or an MLflow
 * server that does not answer) is left behind, since the command's error ends the process. Without it such a command
 * ended on Ctrl-C by the signal's default action: nothing said, no --json document, exit 130.
 * A write that `work` runs through `uninterrupted` is the exception: a stop during it ends the command once the write
 * is done, and a write that fails then ends it with the write's own error.
 * The signal handed to `work` is aborted once this returns, however it ends: what the work still waits on with it (a
 * branch of a Promise.all another branch failed, a retry's sleep) ends then, not when the process does.
 */
export async function untilSignalled<T>(stopped: (signal: NodeJS.Signals, writes: WritesAtStop) => Error, work: (signal: AbortSignal, uninterrupted: Uninterrupted) => Promise<T>): Promise<T> {
  let writing = 0;
  let written = false;
  const aborter = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => aborter.abort(stopped(signal, writing > 0 ? 'writing' : written ? 'written' : 'none'));
  for (const name of STOP_SIGNALS) process.once(name, onSignal);
  let endNow: () => void = () => {};
  const onAbort = (): void => {
    if (writing === 0) endNow();
  };
  const aborted = new Promise<never>((_, reject) => {
    endNow = () => reject(aborter.signal.reason);
    aborter.signal.addEventListener('abort', onAbort, { once: true });
  });
  const uninterrupted: Uninterrupted = async (write) => {
    // Checked and counted in one turn: a stop either comes first (nothing of this write done) or waits for it.
    aborter.signal.throwIfAborted();
    writing++;
    let succeeded = false;
    try {
      const result = await write();
      succeeded = written = true;
      return result;
    } finally {
      writing--;
      if (succeeded && writing === 0 && aborter.signal.aborted) endNow();
    }
  };
  try {
    return await Promise.race([work(aborter.signal, uninterrupted), aborted]);
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, onSignal);
    aborter.signal.removeEventListener('abort', onAbort);
    if (!aborter.signal.aborted) aborter.abort(new DOMException('The command\'s work is over.', 'AbortError'));
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
