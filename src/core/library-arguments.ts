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
  if (Array.isArray(value)) return 'an array';
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

/** The dependencies argument of a workflow: an object with a `store`. */
export function requireDeps(fn: string, value: unknown): void {
  requireObject(fn, 'deps', value, 'an object with a store ({ store })');
  requireStore(fn, 'deps.store', value.store);
}
