import type { Liveness } from './liveness.js';
import type { Logger } from '../logger.js';
import type { ForecastAdmission } from './forecast-admission.js';
import type { LiveMonitor } from './live-monitor.js';
import type { ModelHolder } from './model-holder.js';
import type { LogRetention } from './prediction-log-retention.js';
import type { PredictionRecorder } from './prediction-recorder.js';
import type { PromotionFollowing } from './promotion-following.js';
import type { RouteTable } from './route-table.js';
import type { ServeMetrics } from './serve-metrics.js';

/** What every route module receives from `buildServer`. */
export interface ServeContext {
  readonly holder: ModelHolder;
  readonly metrics: ServeMetrics;
  /** What each served prediction leaves behind (/stats, counts, live scoring, the prediction log), on every protocol. */
  readonly recorder: PredictionRecorder;
  /** The bound on forecast rows in flight, shared by every prediction route and the gRPC service. */
  readonly admission: ForecastAdmission;
  /** Whether the replica follows `model-selected` (a server with a bus only): /healthz `promotions`. */
  readonly promotions?: PromotionFollowing;
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
  /** The server's body limit in bytes, which a route's own (smaller) limit must not exceed. */
  readonly bodyLimit: number;
  /** Least time from the end of one reload forced through POST /reload_latest to the start of the next. */
  readonly reloadMinIntervalMs: number;
  /** The prediction log's retention, which POST /prune_logs runs at once (no such route without it). */
  readonly retention?: LogRetention;
  /** True from the moment the server's stop begins: readiness answers 503 FLTS_SERVE_STOPPING from then. */
  isStopping(): boolean;
  /** Whether the process can still do its work (/livez): liveness.ts. */
  liveness(): Liveness;
}
