/**
 * kafkajs 2.2.4 arms a timer at a negative delay whenever a connection's request queue has nothing pending
 * (`throttledUntil - Date.now()`, tulios/kafkajs#1751). Node 24 reports each one as a TimeoutNegativeWarning on
 * stderr, although the timer fires at once as kafkajs intends. Only that warning, raised from inside kafkajs,
 * is dropped; every other warning is emitted as before.
 */
export function ignoreKafkajsNegativeTimeouts(target: NodeJS.Process = process): void {
  const emitWarning = target.emitWarning;
  if ((emitWarning as { kafkajsFiltered?: boolean }).kafkajsFiltered) return;
  const filtered = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const options = rest[0];
    const type = typeof options === 'string' ? options : (options as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(new Error().stack ?? '')) return;
    (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  };
  Object.defineProperty(filtered, 'kafkajsFiltered', { value: true });
  target.emitWarning = filtered as NodeJS.Process['emitWarning'];
}
