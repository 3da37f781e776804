import { createRequire } from 'node:module';
import type pl from 'nodejs-polars';

const require = createRequire(import.meta.url);
let loaded: typeof pl | undefined;

/**
 * nodejs-polars (a native addon, ~50 ms of CPU), loaded when data is first read or written. The data modules reach
 * most commands' imports (promote's evaluation, the batch table), so a static import cost every such process that
 * touches no data, e.g. `flts promote --history`. It is CommonJS, so a require keeps the readers synchronous.
 */
export function polars(): typeof pl {
  loaded ??= require('nodejs-polars') as typeof pl;
  return loaded;
}
