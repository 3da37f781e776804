import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createBusMetrics, watchedBusMetrics, type ConsumerWatcher } from '../bus/bus-metrics.js';
import type { BusMetrics } from '../bus/message-bus.js';
import { createLiveMetrics, type LiveMetrics } from './live-metrics.js';
import { HTTP_CAP_CLOSES, type CapClose, type HttpCapClose } from './connection-cap.js';
import type { Http2Refusal } from './grpc-http2-refusals.js';
import type { RefusalReason } from './forecast-admission.js';
import type { ServedRunInfo } from './model-source.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export type ReloadResult = 'success' | 'failure';

/** The routes that forecast (their label in flts_http_requests_total), whose refusals are counted from 0. */
const PREDICTION_ROUTES = ['/predict', '/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer', '/inference.GRPCInferenceService/ModelInfer'];
/** The status label of a request whose client left before its answer (FLTS_REQUEST_CANCELLED's). */
export const ABANDONED_STATUS = 499;
const REFUSAL_REASONS: readonly RefusalReason[] = ['overloaded', 'cancelled'];
/** The routes over HTTP/1.1, the only ones a connection is reset for pipelining on (HTTP/2 streams are capped by the protocol). */
const PIPELINED_ROUTES = ['/predict', '/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer'];

/**
 * The Prometheus side of serving, on a registry of its own so several servers in one process (tests, the
 * benchmark) never share counters.
 */
export interface ServeMetrics {
  readonly registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** A request the connection refused before a route answered it (too slow, not HTTP, headers too large). */
  countRefusedRequest(method: string | undefined, status: number): void;
  /**
   * A request whose client closed the connection before its answer was sent (status 499, as FLTS_REQUEST_CANCELLED
   * and nginx's "client closed request"): no answer finished, so it has no latency.
   */
  countAbandonedRequest(route: string, method: string): void;
  /**
   * A connection closed for serve.maxConnections: an idle keep-alive one to make room, else the one whose request head had
   * been arriving the longest (past a grace), or a new one refused (all held were busy).
   */
  countConnectionCapClose(what: HttpCapClose): void;
  /** A request that reached the server once its stop had closed the listener, refused 503 FLTS_SERVE_STOPPING. */
  countRefusedAtStop(): void;
  /** The same on the gRPC port: an idle HTTP/2 connection (no call open) sent GOAWAY to make room, or a new one refused. */
  countGrpcConnectionCapClose(what: CapClose): void;
  /** gRPC calls Node's HTTP/2 layer refused before grpc-js saw them: reset alone (`stream`), or ended with their connection (`connection`, one a connection). */
  countGrpcHttp2Refusals(what: Http2Refusal, count: number): void;
  countPredictions(rows: number): void;
  observeBatch(size: number): void;
  countReload(result: ReloadResult): void;
  /** A prediction request refused for want of room (overloaded), or dropped because its client left (cancelled) or its connection was reset for pipelining too many. */
  countForecastRefused(route: string, reason: RefusalReason): void;
  /** Forecast rows in flight now, and the bound on them (0 = none). */
  setQueuedRows(rows: number, maxRows?: number): void;
  /** A request whose body was refused or cut off for serve.maxBodyBytesInFlight. */
  countBodyRefused(route: string): void;
  /** Request body bytes held now (bodies read or being read, not yet answered), and the bound on them (0 = none). */
  setBodyBytesInFlight(bytes: number, maxBytes?: number): void;
  setModel(run: ServedRunInfo | undefined): void;
  setModelReady(ready: boolean, degraded: boolean): void;
  /** flts_serve_following_promotions: 1 while the replica's group on `topic` is joined (a server with a bus only). */
  setFollowingPromotions(topic: string, following: boolean): void;
  /** flts_live_* series. */
  readonly live: LiveMetrics;
  /** For the bus (createMessageBus's `metrics`): the promotion subscription's and the claim follower's deliveries, crashes and broker connections. */
  readonly bus: BusMetrics;
  /** Tells `listener` of each crash of a consumer, and each end of a crash episode, the bus reports to `bus`; returns its removal. */
  watchConsumers(listener: ConsumerWatcher): () => void;
}

export type { ConsumerWatcher };

export function createServeMetrics(options: { processMetrics?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'flts_http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'flts_http_request_duration_seconds', help: 'HTTP request latency by route.', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const predictions = new Counter({ name: 'flts_predictions_total', help: 'Forecast rows returned.', registers: [registry] });
  const batchSize = new Histogram({ name: 'flts_prediction_batch_size', help: 'Windows per forward pass.', buckets: BATCH_BUCKETS, registers: [registry] });
  const reloads = new Counter({ name: 'flts_model_reloads_total', help: 'Model loads by result.', labelNames: ['result'], registers: [registry] });
  const info = new Gauge({ name: 'flts_model_info', help: 'The served model (value 1).', labelNames: ['run_id', 'model_type', 'config_hash'], registers: [registry] });
  const ready = new Gauge({ name: 'flts_model_ready', help: '1 when a model is loaded and warm.', registers: [registry] });
  const degraded = new Gauge({ name: 'flts_model_degraded', help: '1 when the promoted model could not be loaded and an older one is served.', registers: [registry] });
  for (const result of ['success', 'failure']) reloads.inc({ result }, 0);
  // Labelled by topic so that a server without a bus, which follows nothing, has no series rather than a 0 to alert on.
  const followingPromotions = new Gauge({
    name: 'flts_serve_following_promotions',
    help: '1 while the replica follows promotions on its topic (its consumer group joined), 0 while it does not (the brokers not reached yet, or its consumer in a crash episode, flts_bus_consumer_crashing): it serves the promoted model from the store meanwhile, kept current by its pointer poll only.',
    labelNames: ['topic'],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'flts_forecast_refused_total',
    help: 'Prediction requests given no forecast, by route and reason: overloaded (refused at once, the rows in flight were at serve.maxQueuedRows), cancelled (the client left; its forecast was dropped) or pipelining (its connection was reset for more pipelined requests in flight than a connection may have).',
    labelNames: ['route', 'reason'],
    registers: [registry],
  });
  for (const route of PREDICTION_ROUTES) for (const reason of REFUSAL_REASONS) refused.inc({ route, reason }, 0);
  for (const route of PIPELINED_ROUTES) refused.inc({ route, reason: 'pipelining' }, 0);
  const capCloses = new Counter({
    name: 'flts_http_connections_closed_at_cap_total',
    help: 'HTTP connections closed for serve.maxConnections, by what: idle (a keep-alive connection with no request in flight, the longest idle, closed to admit a new one), slow (none idle: the connection whose request head had been arriving the longest, over 0.5 s, closed to admit a new one) or refused (a new one closed at once, every connection held having a request in flight or its head arriving for less than 0.5 s).',
    labelNames: ['what'],
    registers: [registry],
  });
  for (const what of HTTP_CAP_CLOSES) capCloses.inc({ what }, 0);
  const grpcCapCloses = new Counter({
    name: 'flts_grpc_connections_closed_at_cap_total',
    help: 'gRPC connections closed for serve.maxConnections, by what: idle (an HTTP/2 connection with no call open, the longest idle, sent GOAWAY to admit a new one) or refused (a new one closed at once, every connection held having a call open or none yet).',
    labelNames: ['what'],
    registers: [registry],
  });
  for (const what of ['idle', 'refused']) grpcCapCloses.inc({ what }, 0);
  // Not in flts_http_requests_total: neither the path (route) nor the reason (status) of such a call reaches JavaScript.
  const grpcHttp2Refusals = new Counter({
    name: 'flts_grpc_http2_refusals_total',
    help: "gRPC calls refused by Node's HTTP/2 layer before grpc-js saw them, by what was closed: stream (the call reset alone: more than 128 header entries, headers HTTP/2 forbids, or past 100 calls open on its connection; counted as the next call on the connection arrives or the connection closes) or connection (the connection ended with GOAWAY for a header block past HPACK's bounds, another protocol error or bytes that are not HTTP/2; one a connection, the calls in flight on it with it).",
    labelNames: ['what'],
    registers: [registry],
  });
  for (const what of ['stream', 'connection']) grpcHttp2Refusals.inc({ what }, 0);
  const refusedAtStop = new Counter({
    name: 'flts_http_refused_stopping_total',
    help: 'HTTP requests refused with 503 FLTS_SERVE_STOPPING (Retry-After, Connection: close): they reached the server after its stop had closed its listener, on a connection the stop was closing (their headers still arriving, or pipelined behind a request in flight).',
    registers: [registry],
  });
  const queuedRows = new Gauge({ name: 'flts_forecast_queued_rows', help: 'Forecast rows of the prediction requests in flight (admitted, not yet answered).', registers: [registry] });
  const maxQueuedRows = new Gauge({ name: 'flts_forecast_queued_rows_limit', help: 'The bound on flts_forecast_queued_rows (serve.maxQueuedRows; 0 = none).', registers: [registry] });
  const bodyRefused = new Counter({
    name: 'flts_request_body_refused_total',
    help: 'Requests whose body was refused (by its Content-Length) or cut off (chunked) with 503 FLTS_SERVE_BODIES_IN_FLIGHT (a gRPC ModelInfer message: RESOURCE_EXHAUSTED), the request body bytes buffered being at serve.maxBodyBytesInFlight, by route.',
    labelNames: ['route'],
    registers: [registry],
  });
  for (const route of ['/predict', '/actuals', ...PREDICTION_ROUTES.slice(1)]) bodyRefused.inc({ route }, 0);
  const bodyBytes = new Gauge({ name: 'flts_request_body_bytes_in_flight', help: 'Request body bytes held (each body from its first byte awaited until its answer is sent or its connection closes).', registers: [registry] });
  const maxBodyBytes = new Gauge({ name: 'flts_request_body_bytes_in_flight_limit', help: 'The bound on flts_request_body_bytes_in_flight (serve.maxBodyBytesInFlight; 0 = none).', registers: [registry] });

  const live = createLiveMetrics(registry);
  const { bus, watchConsumers } = watchedBusMetrics(createBusMetrics(registry));
  return {
    registry,
    live,
    bus,
    watchConsumers,
    observeRequest(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route }, seconds);
    },
    // No route answered and no handler ran, so no latency is observed; the method is unknown until a request line is read.
    countRefusedRequest: (method, status) => requests.inc({ route: 'unmatched', method: method ?? 'unknown', status: String(status) }),
    countAbandonedRequest: (route, method) => requests.inc({ route, method, status: String(ABANDONED_STATUS) }),
    countConnectionCapClose: (what) => capCloses.inc({ what }),
    countRefusedAtStop: () => refusedAtStop.inc(),
    countGrpcConnectionCapClose: (what) => grpcCapCloses.inc({ what }),
    countGrpcHttp2Refusals: (what, count) => grpcHttp2Refusals.inc({ what }, count),
    countPredictions: (rows) => predictions.inc(rows),
    observeBatch: (size) => batchSize.observe(size),
    countReload: (result) => reloads.inc({ result }),
    countForecastRefused: (route, reason) => refused.inc({ route, reason }),
    setQueuedRows(rows, maxRows) {
      queuedRows.set(rows);
      if (maxRows !== undefined) maxQueuedRows.set(maxRows);
    },
    countBodyRefused: (route) => bodyRefused.inc({ route }),
    setBodyBytesInFlight(bytes, maxBytes) {
      bodyBytes.set(bytes);
      if (maxBytes !== undefined) maxBodyBytes.set(maxBytes);
    },
    setModel(run) {
      info.reset();
      if (run) info.set({ run_id: run.runId, model_type: run.modelType, config_hash: run.configHash }, 1);
    },
    setModelReady(isReady, isDegraded) {
      ready.set(isReady ? 1 : 0);
      degraded.set(isDegraded ? 1 : 0);
    },
    setFollowingPromotions: (topic, following) => followingPromotions.set({ topic }, following ? 1 : 0),
  };
}
