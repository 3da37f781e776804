import type pl from 'nodejs-polars';
import { lazyRequire } from '../lazy-require.js';

/**
 * nodejs-polars (a native addon, ~50 ms of CPU), loaded when data is first read or written. The data modules reach
 * most commands' imports (promote's evaluation, the batch table), so a static import cost every such process that
 * touches no data, e.g. `flts promote --history`.
 */
export const polars = lazyRequire<typeof pl>('nodejs-polars');

/**
 * The name a column is read under by expressions built once per process (`builtOnce`). Building an expression in
 * nodejs-polars costs about half a millisecond of JavaScript for every method chained, more than running it over
 * thousands of cells: code that runs once per column renames the column to this name and reuses its expressions.
 */
export const ANY_COLUMN = 'cell';

/** A value (polars expressions on `ANY_COLUMN`) built on first use, once polars is loaded, and kept. */
export function builtOnce<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
