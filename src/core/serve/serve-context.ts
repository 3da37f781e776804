import type { Logger } from '../logger.js';
import type { LiveMonitor } from './live-monitor.js';
import type { ModelHolder } from './model-holder.js';
import type { PredictionLog } from './prediction-log.js';
import type { RouteTable } from './route-table.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ServeStats } from './serve-stats.js';

/** What every route module receives from `buildServer`. */
export interface ServeContext {
  readonly holder: ModelHolder;
  readonly metrics: ServeMetrics;
  readonly stats: ServeStats;
  readonly predictionLog?: PredictionLog;
  /** Live accuracy (absent when FLTS_LIVE_SCORING=false). */
  readonly live?: LiveMonitor;
  readonly logger: Logger;
  readonly routes: RouteTable;
  /** Deployment identifier ("" = "default" in responses and logs). */
  readonly identifier: string;
  /** Model name of the Open Inference Protocol routes. */
  readonly modelName: string;
  /** Forecast rows when a request does not say; 0 = the model horizon. */
  readonly inferenceLength: number;
  /** Least time between two reloads forced through POST /reload_latest. */
  readonly reloadMinIntervalMs: number;
}
