import { isFltsError } from '../errors.js';

/** A failure as one log line writes it, and its stack when that is kept for a debug line of its own. */
export interface FailureFields {
  readonly fields: { code?: string; err: string; cause?: string };
  /** Set for a coded operational failure, whose line leaves it out: for a `debug` line beside it. */
  readonly stack?: string;
}

/**
 * A coded operational failure (the store down or refusing, the test data missing) is said in one line: its code, its
 * message and its cause's, as the project's other coded failures are logged (`{ code, err }`). Its stack, the same
 * frames at every outage, made each line some 20 lines of JSON text at warn or error and says nothing the code does
 * not; it is left to debug. A failure without a code, or an internal one (a bug), keeps its stack in `err`.
 */
export function failureFields(error: unknown): FailureFields {
  if (!isFltsError(error) || error.kind === 'internal') {
    return { fields: { ...(isFltsError(error) ? { code: error.code } : {}), err: error instanceof Error ? (error.stack ?? error.message) : String(error) } };
  }
  const cause = causeText(error.cause);
  return { fields: { code: error.code, err: error.message, ...(cause && !error.message.includes(cause) ? { cause } : {}) }, ...(error.stack ? { stack: error.stack } : {}) };
}

/** The cause's text: what a public message leaves out (a store's endpoint, its access key id) is for the log. */
function causeText(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  if (isFltsError(cause)) return `${cause.code}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
