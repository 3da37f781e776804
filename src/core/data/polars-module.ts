import type pl from 'nodejs-polars';
import { lazyRequire } from '../lazy-require.js';

/**
 * nodejs-polars (a native addon, ~50 ms of CPU), loaded when data is first read or written. The data modules reach
 * most commands' imports (promote's evaluation, the batch table), so a static import cost every such process that
 * touches no data, e.g. `flts promote --history`.
 */
export const polars = lazyRequire<typeof pl>('nodejs-polars');
