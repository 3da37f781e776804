/** Where kafkajs 2.2.4 arms the negative timer; a negative timer armed anywhere else is still reported. */
const REQUEST_QUEUE_FRAME = /[\\/]kafkajs[\\/]src[\\/]network[\\/]requestQueue[\\/]/;
/** Frames between this filter and kafkajs' call: the filter, Node's Timeout constructor, setTimeout, kafkajs. */
const FRAMES_NEEDED = 10;

/**
 * kafkajs 2.2.4 (its latest release) arms a timer at a negative delay whenever a connection's request queue has
 * nothing pending: `RequestQueue.scheduleCheckPendingRequests` passes `throttledUntil - Date.now()` to setTimeout,
 * and `throttledUntil` is -1 until a broker throttles, so after the first answer on every connection the delay is
 * about minus the epoch time in ms (tulios/kafkajs#1751; the fix, #1755, is unreleased). Node 24 reports it as a
 * TimeoutNegativeWarning on stderr, while the timer fires after 1 ms, as kafkajs means it to, and does nothing with
 * an empty queue. No kafkajs option reaches that code (it runs on every fulfilled request, whatever the timeouts,
 * retries or socket factory), so the warning is dropped here, where flts builds its kafkajs clients, for the CLI,
 * the daemon and library users alike.
 *
 * Only that warning raised from kafkajs' request queue is dropped: the 'warning' listeners (Node's own printer
 * included) still see every other warning. Removing Node's printer instead would hide them all. Node reports a
 * negative timer once per process, so one that flts or a library user arms after kafkajs' would not be reported
 * with or without this filter. Installing twice keeps one filter.
 */
export function ignoreKafkajsNegativeTimeouts(target: NodeJS.Process = process): void {
  const emitWarning = target.emitWarning;
  if ((emitWarning as { kafkajsFiltered?: boolean }).kafkajsFiltered) return;
  const filtered = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    if (warningType(warning, rest[0]) === 'TimeoutNegativeWarning' && raisedByRequestQueue()) return;
    (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  };
  Object.defineProperty(filtered, 'kafkajsFiltered', { value: true });
  target.emitWarning = filtered as NodeJS.Process['emitWarning'];
}

/** process.emitWarning(warning, type | { type }), or an Error whose name is the type. */
function warningType(warning: string | Error, options: unknown): string | undefined {
  if (typeof options === 'string') return options;
  if (typeof options === 'object' && options !== null && typeof (options as { type?: unknown }).type === 'string') return (options as { type: string }).type;
  return warning instanceof Error ? warning.name : undefined;
}

function raisedByRequestQueue(): boolean {
  // A process that shortened stack traces (Error.stackTraceLimit) would otherwise lose the kafkajs frame.
  const limit = Error.stackTraceLimit;
  if (!(limit >= FRAMES_NEEDED)) Error.stackTraceLimit = FRAMES_NEEDED;
  try {
    return REQUEST_QUEUE_FRAME.test(new Error().stack ?? '');
  } finally {
    Error.stackTraceLimit = limit;
  }
}
