import { redactJsonLines } from './redact.js';

/** The subset of pino's API core code uses; callers pass a real pino logger or keep the silent default. */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
}

const noop = (): void => {};

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** What a pino logger writes its lines to (pino's DestinationStream). */
export interface LineSink {
  write(line: string): unknown;
}

/**
 * The destination every flts logger writes through: each string value of a line, fields, message, bindings and error
 * stacks alike, is masked (redactJsonLines: the secrets the settings gave, userinfo, token parameters) before `out`
 * has it, so that a call site that logs an error's message or a setting's value unmasked cannot print a secret. Keys,
 * numbers and booleans are left as they were: the line stays the JSON it was, whatever secret is known.
 */
export function redactingDestination(out: LineSink): LineSink {
  return { write: (line: string) => out.write(redactJsonLines(line)) };
}
