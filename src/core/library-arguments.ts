/**
 * Checks of what a caller of the library passes, for callers the types do not reach (JavaScript, `any`, data read
 * from elsewhere): a missing store or settings object, or a field of the wrong type, is FLTS_USAGE_INVALID_ARGUMENT
 * naming the function and the argument, where it used to surface as a TypeError from deep inside (or, for a
 * request field, as records written with it). The CLI and the daemon build their arguments from parsed settings and
 * flags and never fail these.
 */
import { FltsError } from './errors.js';

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  // An empty array is refused where a non-empty one is asked for, and "not an array" would deny what it is.
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export function invalidArgument(fn: string, argument: string, expected: string, value: unknown): FltsError {
  return new FltsError('FLTS_USAGE_INVALID_ARGUMENT', `${fn}(): ${argument} must be ${expected}, not ${describe(value)}.`, {
    details: { function: fn, argument, expected },
  });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function requireObject(fn: string, argument: string, value: unknown, expected = 'an object'): asserts value is Record<string, unknown> {
  if (!isObject(value)) throw invalidArgument(fn, argument, expected, value);
}

/** A string; what an empty one means is the callee's to say (an empty reason is refused with its own message). */
export function requireText(fn: string, argument: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw invalidArgument(fn, argument, 'a string', value);
}

export function optionalText(fn: string, argument: string, value: unknown): asserts value is string | undefined {
  if (value !== undefined) requireText(fn, argument, value);
}

export function optionalBoolean(fn: string, argument: string, value: unknown): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw invalidArgument(fn, argument, 'true or false', value);
}

export function requireChoice<T extends string>(fn: string, argument: string, value: unknown, choices: readonly T[]): asserts value is T {
  if (!choices.includes(value as T)) throw invalidArgument(fn, argument, `one of ${choices.join(', ')}`, value);
}

/** Resolved settings: what resolveSettings() returns as `settings`, not the flags given to it. */
export function requireSettings(fn: string, value: unknown): void {
  const resolved = isObject(value) && ['store', 'data', 'training', 'serve', 'bus'].every((area) => isObject(value[area]));
  if (!resolved) throw invalidArgument(fn, 'settings', 'resolved settings (the `settings` of resolveSettings())', value);
}

const STORE_METHODS = ['get', 'put', 'list', 'exists', 'ensureBucket'] as const;

/** An ObjectStore: createObjectStore(), createFsStore() or createS3Store(), or one of the caller's with the same methods. */
export function requireStore(fn: string, argument: string, value: unknown): void {
  if (!isObject(value) || !STORE_METHODS.every((method) => typeof value[method] === 'function')) {
    throw invalidArgument(fn, argument, 'an object store (createObjectStore(settings) or createFsStore(root))', value);
  }
}

const hasMethods = (value: unknown, methods: readonly string[]): boolean => isObject(value) && methods.every((method) => typeof value[method] === 'function');

const LOGGER_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'child'] as const;
const BUS_METHODS = ['publish', 'subscribe', 'close'] as const;

/** A logger argument, or undefined: pino's methods the workflows call (silentLogger for none). */
export function optionalLogger(fn: string, argument: string, value: unknown): void {
  if (value !== undefined && !hasMethods(value, LOGGER_METHODS)) throw invalidArgument(fn, argument, `a logger (${LOGGER_METHODS.join(', ')}; silentLogger for none)`, value);
}

/**
 * The dependencies argument of a workflow: an object with a `store`, and the optional collaborators every workflow
 * takes in the shape they are called in (a logger that is not one failed as FLTS_INTERNAL, or a TypeError).
 */
export function requireDeps(fn: string, value: unknown): void {
  requireObject(fn, 'deps', value, 'an object with a store ({ store })');
  requireStore(fn, 'deps.store', value.store);
  const { onEvent, logger, signal, bus, uninterrupted } = value;
  if (onEvent !== undefined && typeof onEvent !== 'function') throw invalidArgument(fn, 'deps.onEvent', 'a function of one event', onEvent);
  if (uninterrupted !== undefined && typeof uninterrupted !== 'function') throw invalidArgument(fn, 'deps.uninterrupted', 'a function running the write it is given', uninterrupted);
  optionalLogger(fn, 'deps.logger', logger);
  // Duck-typed: a signal of another realm (a vm context, a polyfill) is one too.
  if (signal !== undefined && !(isObject(signal) && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function')) throw invalidArgument(fn, 'deps.signal', 'an AbortSignal', signal);
  if (bus !== undefined && !hasMethods(bus, BUS_METHODS)) throw invalidArgument(fn, 'deps.bus', 'a message bus (createMessageBus(settings)) or undefined', bus);
}
