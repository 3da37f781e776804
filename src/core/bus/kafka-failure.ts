import { FltsError, isFltsError } from '../errors.js';
import { isTlsRefusal } from '../tls-files.js';

/** Broker answers that a login was refused or is impossible on that listener. */
const SASL_TYPES = new Set(['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);

interface KafkaErrorLike {
  name?: string;
  message?: string;
  type?: string;
  /** Node's error code (ECONNREFUSED, a certificate's), or a number: a broker's error code (KafkaJSProtocolError). */
  code?: string | number;
  cause?: unknown;
  errors?: unknown[];
}

/** The error and every error it wraps (kafkajs nests causes in retry and bail errors, and lists per-topic errors). */
function chain(error: unknown): KafkaErrorLike[] {
  const seen: KafkaErrorLike[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.length < 20) {
    const next = queue.shift();
    if (next === null || typeof next !== 'object' || seen.includes(next as KafkaErrorLike)) continue;
    const found = next as KafkaErrorLike;
    seen.push(found);
    queue.push(found.cause, ...(Array.isArray(found.errors) ? found.errors : []));
  }
  return seen;
}

/**
 * A kafkajs failure as a coded error. A refused login (FLTS_BUS_AUTH_FAILED), a refused permission
 * (FLTS_BUS_ACCESS_DENIED) and a refused certificate (FLTS_BUS_TLS_FAILED) are settings to fix, not outages: they are
 * not retriable, so a command fails at once and the daemon's startup stops instead of waiting forever. Anything else
 * is FLTS_BUS_UNAVAILABLE (retriable).
 */
export function kafkaFailure(action: string, brokers: string[], error: unknown): FltsError {
  if (isFltsError(error)) return error;
  const errors = chain(error);
  const where = `Kafka ${action} failed (brokers ${brokers.join(',')})`;
  const details = { brokers, kafkaError: (error as Error)?.name };
  const login = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || SASL_TYPES.has(e.type ?? ''));
  if (login) return new FltsError('FLTS_BUS_AUTH_FAILED', `${where}: the broker refused the SASL login: ${login.message}`, { cause: error, details });
  const denied = errors.find((e) => e.type?.endsWith('_AUTHORIZATION_FAILED'));
  if (denied) return new FltsError('FLTS_BUS_ACCESS_DENIED', `${where}: the broker denied it (${denied.type}): ${denied.message}`, { cause: error, details: { ...details, kafkaErrorType: denied.type } });
  const tls = errors.find((e) => typeof e.code === 'string' && isTlsRefusal(e.code));
  if (tls) return new FltsError('FLTS_BUS_TLS_FAILED', `${where}: TLS with the broker failed (${tls.code}): ${tls.message}`, { cause: error, details: { ...details, tlsCode: tls.code } });
  const reason = error instanceof Error ? error.message : String(error);
  return new FltsError('FLTS_BUS_UNAVAILABLE', `${where}: ${reason}`, { cause: error, details });
}
