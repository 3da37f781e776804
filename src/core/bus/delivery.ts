import { clip } from '../clip-text.js';
import { isFltsError, isOutageCode, toFltsError, type FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelayMs, sleep } from '../retry.js';
import { parseLenientJson } from '../storage/json-objects.js';
import type { BusMetrics, DeliveryListener, DeliveryOutcome, MessageHandler, OutgoingMessage, ReceivedMessage, RetryPolicy } from './message-bus.js';
import { dlqTopic } from './topics.js';

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 500, maxBackoffMs: 10_000 };

/**
 * The reference DLQ envelope (every service, no key): `timestamp` is unix seconds as a float. flts adds which
 * consumer group and role dead-lettered it, since every group consuming a topic dead-letters its own copy.
 */
export interface DlqEnvelope {
  operation: string;
  status: 'Failure';
  error: string;
  payload: unknown;
  timestamp: number;
  group?: string;
  role?: string;
  /** The original's size in bytes, given only when `payload` is the start of its text (DLQ_VALUE_MAX_BYTES). */
  payload_bytes?: number;
  payload_clipped?: true;
}

/**
 * The most a dead letter's value may take: half the brokers' default largest message (message.max.bytes, 1 MiB), as a
 * message the topic took may not fit in the DLQ once its text is escaped inside the envelope (a quote takes two bytes,
 * a control character six), or the source topic may allow larger messages than the DLQ. A dead letter the DLQ refuses
 * leaves its message uncommitted and its partition stuck behind it for good, so one past this carries the start of
 * the original's text instead (DLQ_PAYLOAD_CLIP_CHARS): the headers still say where the whole original is.
 */
export const DLQ_VALUE_MAX_BYTES = 512 * 1024;
/** Characters of the original's text a clipped dead letter carries: at most 6 bytes each once escaped, well under DLQ_VALUE_MAX_BYTES. */
export const DLQ_PAYLOAD_CLIP_CHARS = 64 * 1024;

export function buildDlqEnvelope(operation: string, error: unknown, payload: unknown, nowMs = Date.now(), consumer?: { group: string; role?: string }): DlqEnvelope {
  const text = isFltsError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return { operation, status: 'Failure', error: text, payload, timestamp: nowMs / 1000, ...(consumer ? { group: consumer.group, ...(consumer.role ? { role: consumer.role } : {}) } : {}) };
}

/** The original message as the envelope's payload: its JSON when it parses (leniently), else the raw text. */
function payloadOf(message: ReceivedMessage): unknown {
  try {
    return parseLenientJson(message.value);
  } catch {
    return message.value;
  }
}

/**
 * The header that names a dead letter: the same for every dead letter one group writes of one message (its topic,
 * partition and offset, then the group), so a DLQ reader can drop a second copy. A consumer commits a message's
 * offset after its dead letter is stored, so a process killed between the two writes it again when the message comes
 * again: the file bus looks for it in its DLQ before (FsBus deadLetterWritten); with Kafka, whose dead letter and
 * commit cannot be one write without transactions that the reference's DLQ readers do not read, the copy is kept
 * and this id is how to tell it.
 */
export const DEAD_LETTER_ID_HEADER = 'flts-dead-letter-id';

export function deadLetterId(message: Pick<ReceivedMessage, 'topic' | 'partition' | 'offset'>, group: string): string {
  return `${message.topic}/${message.partition}/${message.offset}/${group}`;
}

/** Characters of the handler's error a dead letter without its payload keeps (dlqMessageFor's `bare`). */
const BARE_ERROR_CHARS = 1000;

/**
 * The dead letter of `message`. `bare`: without the original's text (`payload` empty, `payload_clipped`), and its
 * error clipped, for a DLQ that refused the whole one as too large (a max.message.bytes below DLQ_VALUE_MAX_BYTES):
 * a few hundred bytes that still say why, and whose headers say where the whole original is.
 */
export function dlqMessageFor(message: ReceivedMessage, operation: string, error: unknown, nowMs = Date.now(), consumer?: { group: string; role?: string }, bare = false): OutgoingMessage {
  const headers: Record<string, string> = { 'flts-source-topic': message.topic, 'flts-source-partition': String(message.partition), 'flts-source-offset': message.offset };
  if (consumer) headers[DEAD_LETTER_ID_HEADER] = deadLetterId(message, consumer.group);
  const envelope = buildDlqEnvelope(operation, error, payloadOf(message), nowMs, consumer);
  if (bare) {
    const stripped: DlqEnvelope = { ...envelope, error: clip(envelope.error, BARE_ERROR_CHARS), payload: '', payload_bytes: Buffer.byteLength(message.value), payload_clipped: true };
    return { key: null, value: JSON.stringify(stripped), headers };
  }
  let value: string;
  try {
    value = JSON.stringify(envelope);
  } catch {
    // Nested deeper than JSON.stringify recurses, though JSON.parse read it: a dead letter that cannot be written
    // would fail the consumer, which would get the message again, forever. Its text is the payload instead.
    value = JSON.stringify({ ...envelope, payload: message.value });
  }
  if (Buffer.byteLength(value) > DLQ_VALUE_MAX_BYTES) {
    const clipped: DlqEnvelope = { ...envelope, payload: message.value.slice(0, DLQ_PAYLOAD_CLIP_CHARS), payload_bytes: Buffer.byteLength(message.value), payload_clipped: true };
    value = JSON.stringify(clipped);
  }
  // The headers are not part of the reference contract; they let an operator find and replay the original.
  return { key: null, value, headers };
}

/**
 * Failures the message cannot cause: the store, the broker or the tracking server is down, or refuses flts's
 * credentials, permissions or certificate. Retrying them does not use up the message's attempts: every message
 * would otherwise land in the DLQ within seconds of a rotated key, and need replaying once it is fixed.
 */
export function isOutage(error: unknown): boolean {
  return isFltsError(error) && isOutageCode(error.code);
}

/**
 * A failure that says what the handler needs is not there yet, rather than down: no run promoted (FLTS_SERVE_NO_MODEL,
 * a batch claim before the first promotion). Waited out as an outage, but it is none: nothing is broken, and it may
 * last as long as no one promotes.
 */
export function awaitsPromotion(error: unknown): error is FltsError {
  return isFltsError(error) && error.code === 'FLTS_SERVE_NO_MODEL';
}

/**
 * A message that breaks its topic's contract (malformed JSON, a field missing or wrong): the sender's mistake, not
 * flts', dead-lettered at once.
 */
export function isInvalidMessage(error: unknown): boolean {
  return isFltsError(error) && error.code === 'FLTS_BUS_MESSAGE_INVALID';
}

/** A malformed or invalid message fails the same way every time: no point in retrying it. */
export function isPoison(error: unknown): boolean {
  return isFltsError(error) && (error.kind === 'input' || error.kind === 'usage') && !error.retriable;
}

/** The wait after `failedAttempts` failures: doubling from the initial backoff, without jitter, up to the maximum. */
export function backoffMs(policy: RetryPolicy, failedAttempts: number): number {
  return backoffDelayMs({ baseDelayMs: policy.initialBackoffMs, maxDelayMs: policy.maxBackoffMs, jitter: false }, failedAttempts);
}

export interface DeliveryDeps {
  policy: RetryPolicy;
  signal: AbortSignal;
  logger: Logger;
  dlqOperation: string;
  /** The consuming group, and the DLQ topic and role when the subscription names them (else `DLQ-<topic>`). */
  group?: string;
  dlq?: { topic: string; role: string };
  /** Hears of each failed attempt that is tried again, as the wait before it starts. */
  onRetry?: () => void;
  /** Hears of a dead letter the DLQ refused, before the refusal is thrown. */
  onDeadLetterRefused?: () => void;
  /** Writes the dead letter; must throw when the DLQ message could not be stored. */
  publishDlq: (topic: string, message: OutgoingMessage) => Promise<void>;
  /** Whether this dead letter is in the DLQ already, written by a process killed before it committed the message. */
  deadLetterWritten?: (topic: string, message: OutgoingMessage) => Promise<boolean>;
  /**
   * The subscription's dead letters the DLQ refused as too large even bare, by source position (`topic:partition:offset`):
   * the message comes again, uncommitted, and only its dead letter is tried again, not its handler.
   */
  refusedForGood?: Map<string, { topic: string; letter: OutgoingMessage }>;
}

const isTooLarge = (error: unknown): boolean => isFltsError(error) && error.code === 'FLTS_BUS_MESSAGE_TOO_LARGE';

const positionOf = (message: ReceivedMessage): string => `${message.topic}:${message.partition}:${message.offset}`;

/**
 * Publishes a dead letter; one the DLQ refuses as too large (its max.message.bytes below even a clipped envelope) is
 * published again bare, without the original's text: else the message would stay uncommitted and come again, its
 * partition stuck behind it for good. A DLQ that refuses even that throws, coded FLTS_BUS_MESSAGE_TOO_LARGE, and the
 * bare letter is kept in `refusedForGood`: the message stays uncommitted, as any the DLQ refused, but what comes again
 * is that letter, not the handler's work, which would fail the same way and be refused the same way.
 */
async function publishDeadLetter(deps: DeliveryDeps, message: ReceivedMessage, dlq: string, at: object, letter: (bare: boolean) => OutgoingMessage): Promise<void> {
  const whole = letter(false);
  if (await deps.deadLetterWritten?.(dlq, whole)) {
    deps.logger.info({ ...at, dlq_topic: dlq, id: whole.headers?.[DEAD_LETTER_ID_HEADER] }, 'bus_dead_letter_written_before');
    return;
  }
  try {
    await deps.publishDlq(dlq, whole);
  } catch (refusal) {
    if (!isTooLarge(refusal)) throw refusal;
    deps.logger.warn({ ...at, dlq_topic: dlq, code: (refusal as FltsError).code, reason: (refusal as FltsError).message }, 'bus_dead_letter_sent_bare');
    const bare = letter(true);
    try {
      await deps.publishDlq(dlq, bare);
    } catch (again) {
      if (isTooLarge(again)) deps.refusedForGood?.set(positionOf(message), { topic: dlq, letter: bare });
      throw again;
    }
  }
}

/**
 * A message whose bare dead letter the DLQ refused as too large, come again: its letter is sent again (the DLQ's
 * max.message.bytes may have been raised meanwhile), and a refusal again is said at debug only and not counted again,
 * its first said at error and counted; the consumer fails on it, uncommitted, with its restarts' backoff and lines.
 */
async function sendRefusedAgain(message: ReceivedMessage, refused: { topic: string; letter: OutgoingMessage }, deps: DeliveryDeps): Promise<{ outcome: DeliveryOutcome; attempts: number }> {
  const at = { topic: message.topic, partition: message.partition, offset: message.offset, dlq_topic: refused.topic };
  try {
    await deps.publishDlq(refused.topic, refused.letter);
  } catch (refusal) {
    const coded = toFltsError(refusal);
    deps.logger.debug({ ...at, code: coded.code, reason: coded.message }, 'bus_dead_letter_refused_again');
    throw refusal;
  }
  deps.refusedForGood?.delete(positionOf(message));
  deps.logger.warn({ ...at, bare: true }, 'bus_message_dead_lettered');
  return { outcome: 'dead-lettered', attempts: 0 };
}

/**
 * Runs the handler until it succeeds, the message is dead-lettered, or the subscription stops. The caller
 * commits the offset for 'handled' and 'dead-lettered' and leaves it uncommitted for 'abandoned'.
 */
export async function deliverWithRetries(message: ReceivedMessage, handler: MessageHandler, deps: DeliveryDeps): Promise<{ outcome: DeliveryOutcome; attempts: number; error?: unknown }> {
  const { policy, signal, logger } = deps;
  let attempts = 0;
  let failures = 0;
  /** Since when, and how many times, the message found no promotion yet. */
  let waited: { since: string; checks: number } | undefined;
  const refused = deps.refusedForGood?.get(positionOf(message));
  if (refused) return sendRefusedAgain(message, refused, deps);
  for (;;) {
    if (signal.aborted) return { outcome: 'abandoned', attempts };
    attempts += 1;
    try {
      await handler(message, { attempt: attempts, signal });
      return { outcome: 'handled', attempts };
    } catch (error) {
      if (signal.aborted) return { outcome: 'abandoned', attempts, error };
      // The group too: several groups consume one topic (a daemon's trainer one per model type, its batch and serving
      // roles both on inference-data), and a line naming the topic alone did not say whose work waited or failed.
      const at = { topic: message.topic, partition: message.partition, offset: message.offset, attempt: attempts, ...(deps.group ? { group: deps.group } : {}) };
      const where = { ...at, err: error };
      if (awaitsPromotion(error)) {
        // Said at warn once, as serve_waiting_for_promotion is, then at debug on each check: it is no outage, uses
        // up no attempts (so no `attempt` to read against the retry limit), and may last until someone promotes.
        waited = { since: waited?.since ?? new Date().toISOString(), checks: (waited?.checks ?? 0) + 1 };
        const waiting = { topic: message.topic, partition: message.partition, offset: message.offset, ...(deps.group ? { group: deps.group } : {}), waiting_since: waited.since, checks: waited.checks, retry_in_ms: policy.maxBackoffMs, code: error.code, reason: error.message };
        if (waited.checks === 1) logger.warn(waiting, 'bus_handler_waiting_for_promotion');
        else logger.debug(waiting, 'bus_handler_waiting_for_promotion');
        deps.onRetry?.();
        await sleep(policy.maxBackoffMs, signal);
        continue;
      }
      if (isOutage(error) && isFltsError(error)) {
        // Waiting for a store or broker repeats every few seconds: its code and reason say it, a stack trace on each
        // line would only bury them.
        logger.warn({ ...at, code: error.code, reason: error.message }, 'bus_handler_outage_retry');
        deps.onRetry?.();
        await sleep(policy.maxBackoffMs, signal);
        continue;
      }
      failures += 1;
      // A coded failure says what went wrong in its code and reason: a claim naming an object that is not there
      // (FLTS_STORE_NOT_FOUND, FLTS_DATA_VERSION_GONE) is the sender's, and a stack trace on each attempt's line only
      // buries them. An uncoded failure is a bug of flts, and an internal one (FLTS_INTERNAL, FLTS_TRAIN_FAILED) a
      // failure of flts' own work: their stack stays on every line.
      const coded = isFltsError(error) && error.kind !== 'internal' ? { code: error.code, reason: error.message } : undefined;
      if (isPoison(error) || failures >= policy.maxAttempts) {
        const consumer = deps.group ? { group: deps.group, role: deps.dlq?.role } : undefined;
        const dlq = deps.dlq?.topic ?? dlqTopic(message.topic);
        try {
          await publishDeadLetter(deps, message, dlq, at, (bare) => dlqMessageFor(message, deps.dlqOperation, error, Date.now(), consumer, bare));
        } catch (refusal) {
          // Not dead-lettered: the message stays uncommitted and comes again. The line says why the DLQ took nothing
          // (its code and reason, without kafkajs' stack) beside the handler's failure that sent the message there.
          const coded = toFltsError(refusal);
          logger.error({ ...where, dlq_topic: dlq, code: coded.code, reason: coded.message }, 'bus_dead_letter_refused');
          deps.onDeadLetterRefused?.();
          throw refusal;
        }
        if (isInvalidMessage(error)) {
          // The sender's mistake, at warn: a hostile flood of them is no failure of flts.
          logger.warn({ ...at, dlq_topic: dlq, ...coded }, 'bus_message_dead_lettered');
        } else if (isPoison(error)) {
          // A refusal flts expects and codes, the same at every attempt (a file that is no CSV, FLTS_DATA_UNREADABLE):
          // the input's fault, said by its code and reason at warn; with a stack each, a flood of them buried the log.
          logger.warn({ ...at, dlq_topic: dlq, ...coded }, 'bus_message_dead_lettered');
          logger.debug(where, 'bus_handler_failure_stack');
        } else {
          // Once per message, the line an operator reads about it: its stack and every cause (a training's), whoever's fault.
          logger.error({ ...where, ...coded, dlq_topic: dlq }, 'bus_message_dead_lettered');
        }
        return { outcome: 'dead-lettered', attempts, error };
      }
      if (coded) {
        logger.warn({ ...at, ...coded, retry_in_ms: backoffMs(policy, failures) }, 'bus_handler_retry');
        logger.debug(where, 'bus_handler_failure_stack');
      } else {
        logger.warn({ ...where, retry_in_ms: backoffMs(policy, failures) }, 'bus_handler_retry');
      }
      deps.onRetry?.();
      await sleep(backoffMs(policy, failures), signal);
    }
  }
}

/**
 * deliverWithRetries for a consumer group's message, its retries and its outcome told to the bus's listener and
 * metrics: the one delivery path of every bus (Kafka, files), so what they hear does not depend on the transport.
 */
export async function deliverToGroup(
  message: ReceivedMessage,
  handler: MessageHandler,
  deps: Omit<DeliveryDeps, 'onRetry' | 'onDeadLetterRefused' | 'group'> & { group: string },
  observers: { onDelivery?: DeliveryListener; metrics?: BusMetrics },
): Promise<{ outcome: DeliveryOutcome; attempts: number; error?: unknown }> {
  const { group } = deps;
  const result = await deliverWithRetries(message, handler, {
    ...deps,
    onRetry: () => observers.metrics?.retried(group, message.topic),
    onDeadLetterRefused: () => observers.metrics?.deadLetterRefused(group, message.topic),
  });
  observers.onDelivery?.({ group, message, ...result });
  observers.metrics?.delivered(group, message.topic, result.outcome);
  if (result.outcome === 'abandoned') {
    // A stop's own account of the work it left (a claim whose training it aborted, one still queued behind it): only
    // a counter said so, and an operator reading the log of a SIGTERM could not tell whether the claim was lost.
    deps.logger.info({ group, topic: message.topic, partition: message.partition, offset: message.offset, key: message.key, attempts: result.attempts, redelivered: 'when the group consumes again' }, 'bus_message_left_uncommitted');
  }
  return result;
}
