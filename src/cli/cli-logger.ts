import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The message of `error` followed by those of its causes, each only when not already said. flts keeps a failure's
 * message when it rethrows it with more context (a run's failure becomes the training's, then the trainer's), so
 * pino's own serializer, which joins every message of the chain, would repeat it once per level.
 */
export function messageOnce(error: Error): string {
  let text = error.message;
  const seen = new Set<unknown>([error]);
  for (let cause = error.cause; cause instanceof Error && !seen.has(cause); cause = cause.cause) {
    seen.add(cause);
    if (cause.message && !text.includes(cause.message)) text = text ? `${text}: ${cause.message}` : cause.message;
  }
  return text;
}

/** pino's error serializer (type, stack with its causes, own fields) with the message said once. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return { ...pino.stdSerializers.err(error), message: messageOnce(error) };
}

/** A command's structured logger: JSON lines on `destination` (stderr by default), tagged with the service when given. */
export function createCliLogger(level: string, service?: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, serializers: { err: serializeError }, ...(service ? { base: { service } } : {}) }, destination);
}
