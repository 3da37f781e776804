import { pino, type DestinationStream, type Logger } from 'pino';
import { redactingDestination } from '../core/logger.js';
import { onTerminal } from './report-error.js';

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

/**
 * Fields pino adds to every line, and the name of the event, which the plain line says in its own place: what is left
 * of a line is what its logger call said.
 */
const RECORD_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'event']);

/** A field's value as a person reads it: an error by its message, text as it is, anything else as JSON. */
function fieldText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') return (value as { message: string }).message;
  return JSON.stringify(value) ?? String(value);
}

/**
 * One pino JSON line as a person reads it at a terminal: `warning: <reason> (<event>)`, the reason being the line's
 * `reason` field, else its `err`, else its text `error` (the Kafka lines'), else its other fields (`run_id abc, timestamp ...`), and the event name kept so that
 * the line can still be looked up (README "Log lines") or matched. A line that is not pino's is left as it is.
 */
export function plainLogLine(line: string): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record) || typeof (record as { msg?: unknown }).msg !== 'string') return line;
  const { level, msg, reason, err, error, code } = record as { level?: unknown; msg: string; reason?: unknown; err?: unknown; error?: unknown; code?: unknown };
  const label = typeof level === 'number' && level >= 50 ? 'error' : typeof level === 'number' && level >= 40 ? 'warning' : 'info';
  const rest = Object.entries(record).filter(([name, value]) => !RECORD_FIELDS.has(name) && value !== undefined);
  // The Kafka lines (bus_kafka_connection_lost, kafkajs' own) give their cause as the text `error`.
  const cause = reason ?? err ?? (typeof error === 'string' ? error : undefined);
  const said = cause !== undefined ? fieldText(cause) : rest.map(([name, value]) => `${name} ${fieldText(value)}`).join(', ');
  // A coded failure keeps its code beside the event, unless the reason says it already.
  const coded = typeof code === 'string' && code !== msg && !said.includes(code) ? `, ${code}` : '';
  return onTerminal(said ? `${label}: ${said} (${msg}${coded})` : `${label}: ${msg}${coded ? ` (${coded.slice(2)})` : ''}`);
}

/**
 * A destination writing each pino line to `out` as plainLogLine renders it: the logger of a one-shot command run
 * by a person (text output, the default log level), whose warnings were raw JSON among its report.
 */
export function plainLogLines(out: DestinationStream = pino.destination(2)): DestinationStream {
  return {
    write(chunk: string): void {
      const lines = chunk.split('\n').filter((line) => line !== '');
      out.write(lines.map((line) => `${plainLogLine(line)}\n`).join(''));
    },
  };
}

/**
 * A command's structured logger: JSON lines on `destination` (stderr by default), tagged with the service when given,
 * every line masked of secrets on its way there.
 */
export function createCliLogger(level: string, service?: string, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, serializers: { err: serializeError }, ...(service ? { base: { service } } : {}) }, redactingDestination(destination));
}
