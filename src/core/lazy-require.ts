import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A getter that loads a CommonJS package on its first call, synchronously (a require), so a factory that needs it
 * stays synchronous while a process that never calls it never loads it.
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
