import type { SettingSpec } from './setting-spec.js';

/** `flts serve`: where it listens, which model it serves, how it batches and logs predictions. */
export const SERVE_SPECS: readonly SettingSpec[] = [
  { path: 'serve.host', type: 'string', default: '127.0.0.1', envCase: 'trim', env: ['FLTS_SERVE_HOST'], description: 'Interface the inference API binds to (0.0.0.0 for all).' },
  { path: 'serve.port', type: 'integer', default: 8000, min: 0, max: 65535, env: ['FLTS_SERVE_PORT', 'PORT'], description: 'TCP port of the inference API (0 = any free port).' },
  { path: 'serve.grpcPort', type: 'integer', default: null, nullable: true, min: 0, max: 65535, env: ['FLTS_SERVE_GRPC_PORT'], description: 'TCP port of the Open Inference Protocol over gRPC (null = off, 0 = any free port); binds to serve.host.' },
  { path: 'serve.runId', type: 'string', default: '', envCase: 'trim', env: ['FLTS_SERVE_RUN'], description: 'Serve this run and ignore promotions ("" = follow the promotion pointer).' },
  { path: 'serve.pollIntervalMs', type: 'integer', default: 5000, min: 0, max: 86_400_000, env: ['FLTS_SERVE_POLL_INTERVAL_MS'], description: 'How often the promotion pointer is re-read for hot reload (0 = never).' },
  { path: 'serve.retryFailedMs', type: 'integer', default: 30000, min: 0, max: 86_400_000, env: ['FLTS_SERVE_RETRY_FAILED_MS'], description: 'Wait before retrying a promoted run that failed to load (meanwhile the last good model is served).' },
  { path: 'serve.inferenceLength', type: 'integer', default: 0, min: 0, max: 10000, env: ['INFERENCE_LENGTH'], description: 'Forecast rows per request when the request does not say (0 = the model horizon).' },
  { path: 'serve.batchMaxSize', type: 'integer', default: 64, min: 1, max: 4096, env: ['FLTS_SERVE_BATCH_MAX_SIZE'], description: 'Most windows run in one forward pass.' },
  { path: 'serve.batchMaxWaitMs', type: 'number', default: 0, min: 0, max: 1000, env: ['FLTS_SERVE_BATCH_MAX_WAIT_MS'], description: 'How long a lone request waits for others to batch with (0 = only those already received).' },
  { path: 'serve.inferenceThread', type: 'boolean', default: true, env: ['FLTS_SERVE_INFERENCE_THREAD'], description: 'Run LSTM/GRU forward passes on a worker thread, so HTTP handling never waits behind a batch.' },
  { path: 'serve.engine', type: 'string', default: 'auto', choices: ['auto', 'onnx', 'wasm'], envCase: 'lower', env: ['FLTS_SERVE_ENGINE'], description: 'LSTM/GRU forward passes on ONNX Runtime (onnx) or flts\'s own recurrent loop on the tfjs backend (wasm); auto = onnx, else wasm when ONNX Runtime cannot load.' },
  { path: 'serve.bodyLimitBytes', type: 'integer', default: 8388608, min: 1024, max: 268_435_456, env: ['FLTS_SERVE_BODY_LIMIT_BYTES'], description: 'Largest accepted request body; larger ones get HTTP 413.' },
  { path: 'serve.maxBodyBytesInFlight', type: 'integer', default: null, nullable: true, min: 0, max: 68_719_476_736, env: ['FLTS_SERVE_MAX_BODY_BYTES_IN_FLIGHT'], description: 'Most request body bytes held at once across all connections (POST /predict, /actuals, the Open Inference Protocol over HTTP and gRPC, and the admin routes together), each body counted from its first byte until its answer is sent or its connection closes: a body whose Content-Length would pass it is refused at once with HTTP 503 FLTS_SERVE_BODIES_IN_FLIGHT and Retry-After, a chunked body that grows past it is cut off so. A gRPC ModelInfer message is counted from its length prefix, before its bytes arrive, until its answer is sent or its call is cancelled, and one that would pass it is refused RESOURCE_EXHAUSTED FLTS_SERVE_BODIES_IN_FLIGHT with grpc-retry-pushback-ms as its prefix arrives (40 clients each sending all of an 8 MiB message but its last byte held 232 MiB RSS at the default, 431 MiB when messages were counted only once received whole). A body larger than this alone is read when no other is in flight. Memory grows with it: a 7 MB /actuals body took about 30 MB of RSS while read and scored (at the default, 40 such bodies sent at once peaked at 390-470 MB RSS, 870-1,030 MB unbounded); null = 8 x serve.bodyLimitBytes (64 MiB at its default), 0 = no bound.' },
  { path: 'serve.requestTimeoutMs', type: 'integer', default: 30000, min: 100, max: 3600000, env: ['FLTS_SERVE_REQUEST_TIMEOUT_MS'], description: 'Longest time to receive a whole request (answered 408 beyond it; a gRPC call\'s request message likewise, answered DEADLINE_EXCEEDED), and longest silence on a connection while a request is handled; the connection is closed beyond it (a gRPC connection: a ping left unanswered that long). Also the longest time a client has to take an answer once it is sent (HTTP on Linux: its last byte acknowledged; gRPC: one of the answers waiting on the connection); the connection is reset beyond it. The daemon\'s health server uses it, the headers and keep-alive timeouts and the connection cap too.' },
  { path: 'serve.headersTimeoutMs', type: 'integer', default: 10000, min: 100, max: 3600000, env: ['FLTS_SERVE_HEADERS_TIMEOUT_MS'], description: 'Longest time to receive the request headers (at most the request timeout); on the gRPC port, a new connection\'s first call (HTTP/2\'s preface, then the call\'s headers).' },
  { path: 'serve.bodyIdleTimeoutMs', type: 'integer', default: 5000, min: 0, max: 3600000, env: ['FLTS_SERVE_BODY_IDLE_TIMEOUT_MS'], description: 'Longest time a request body may go without a byte arriving, from its headers on; beyond it the request is answered 408 FLTS_REQUEST_BODY_STALLED and its connection closed, freeing the connection and its room in serve.maxBodyBytesInFlight without waiting for the request timeout. Checked as often as the request timeout (at most every second), so the answer comes up to that much later. 0, or a value not under serve.requestTimeoutMs, leaves a stalled body to the request timeout. A body that goes on arriving, however slowly, is bounded by the request timeout alone.' },
  { path: 'serve.keepAliveTimeoutMs', type: 'integer', default: 72000, min: 100, max: 3600000, env: ['FLTS_SERVE_KEEP_ALIVE_TIMEOUT_MS'], description: 'How long an idle keep-alive connection (a gRPC connection without calls) stays open (above the 60 s idle timeout of common load balancers).' },
  { path: 'serve.maxConnections', type: 'integer', default: 1024, min: 1, max: 1000000, env: ['FLTS_SERVE_MAX_CONNECTIONS'], description: 'Most open client connections on each port (the HTTP API, the gRPC port, the daemon\'s health server). A connection beyond it takes the place of the one idle the longest (on the HTTP ports a keep-alive connection with no request in flight or arriving; on the gRPC port a connection with no call open, sent GOAWAY); on the HTTP ports, when none is idle, of the one whose request head has been arriving the longest, over 0.5 s (a client dripping its headers); it is closed at once when there is neither.' },
  { path: 'serve.shutdownWritesTimeoutMs', type: 'integer', default: 5000, min: 0, max: 3600000, env: ['FLTS_SERVE_SHUTDOWN_WRITES_TIMEOUT_MS'], description: 'Longest time a stopping server (SIGTERM, SIGINT) spends on its last writes to the store once its requests in flight are answered: the buffered prediction records and the live state. What is not written by then (a store that does not answer) is given up: the server logs serve_stop_unwritten with what was lost and exits with code 6 (FLTS_STORE_UNAVAILABLE), so the whole stop fits in a Kubernetes grace period (30 s by default).' },
  { path: 'serve.maxQueuedRows', type: 'integer', default: 100_000, min: 0, max: 1_000_000_000, env: ['FLTS_SERVE_MAX_QUEUED_ROWS'], description: 'Most forecast rows of prediction requests in flight at once (being forecast or waiting for a forward pass), over POST /predict, the Open Inference Protocol over HTTP and gRPC together; a request that would pass it is refused at once with HTTP 503 FLTS_SERVE_OVERLOADED and Retry-After (gRPC RESOURCE_EXHAUSTED). A request asking for more rows than this on its own is served when nothing else is in flight. Memory in flight grows with these rows (about 0.35 KB a row measured at 5 million rows; at this default a burst of 10,000-row calls peaked under 350 MB RSS); 0 = no bound.' },
  { path: 'serve.adminToken', type: 'string', default: '', secret: true, env: ['FLTS_SERVE_ADMIN_TOKEN'], description: 'Bearer token for the admin routes (POST /reload_latest, POST /prune_logs, the daemon /status); "" = they answer loopback clients only.' },
  { path: 'serve.apiToken', type: 'string', default: '', secret: true, env: ['FLTS_SERVE_API_TOKEN'], description: 'Bearer token for the prediction routes (POST /predict, POST /actuals, /v2/models/<name>[/versions/<version>]/infer, gRPC ModelInfer); "" = open.' },
  { path: 'serve.reloadMinIntervalMs', type: 'integer', default: 2000, min: 0, max: 3600000, env: ['FLTS_SERVE_RELOAD_MIN_INTERVAL_MS'], description: 'Least time from the end of one reload forced through POST /reload_latest to the start of the next; calls meanwhile get HTTP 429 with Retry-After, without reading the promotion pointer (one in flight is joined). Also the least time, counted the same way, between two reloads of the library\'s forecaster.reload() that load the served run again or retry one that failed; calls meanwhile are not refused: they still read the promotion pointer and load a newly promoted run.' },
  { path: 'serve.modelName', type: 'string', default: 'flts', envCase: 'trim', env: ['FLTS_SERVE_MODEL_NAME'], description: 'Model name in the Open Inference Protocol paths (/v2/models/<name>).' },
  { path: 'serve.predictionLog.enabled', type: 'boolean', default: true, env: ['FLTS_SERVE_PREDICTION_LOG'], description: 'Write one JSONL record per prediction to the inference-logs bucket.' },
  { path: 'serve.predictionLog.durability', type: 'string', default: 'buffered', envCase: 'lower', choices: ['buffered', 'sync'], env: ['FLTS_SERVE_PREDICTION_LOG_DURABILITY'], description: 'buffered: records are written every flush interval, so a crash (kill -9, out of memory, power loss) loses those of the last interval; SIGTERM loses none, unless the store does not take them within serve.shutdownWritesTimeoutMs. sync: a 200 is sent only once its record is on disk (one fsync\'d append per group of concurrent requests).' },
  { path: 'serve.predictionLog.flushIntervalMs', type: 'integer', default: 2000, min: 10, max: 3_600_000, env: ['FLTS_SERVE_PREDICTION_LOG_FLUSH_MS'], description: 'How often buffered prediction records are written (one new object per flush).' },
  { path: 'serve.predictionLog.retentionDays', type: 'integer', default: 0, min: 0, max: 3650, env: ['FLTS_PREDICTION_LOG_RETENTION_DAYS'], description: 'Days of prediction log kept in the inference-logs bucket (serve and batch records, every identifier): day folders dated more than this many days before today (UTC) are deleted by `flts serve` and the daemon\'s serving and batch roles, at start and every 6 hours. Today\'s and yesterday\'s are always kept; 0 = keep everything.' },
  { path: 'serve.predictionLog.maxBuffered', type: 'integer', default: 10000, min: 1, max: 10_000_000, env: ['FLTS_SERVE_PREDICTION_LOG_MAX_BUFFERED'], description: 'Records held between flushes at most; older ones are dropped beyond it.' },
];

export interface ServeSettings {
  host: string;
  port: number;
  grpcPort: number | null;
  runId: string;
  pollIntervalMs: number;
  retryFailedMs: number;
  inferenceLength: number;
  batchMaxSize: number;
  batchMaxWaitMs: number;
  inferenceThread: boolean;
  engine: 'auto' | 'onnx' | 'wasm';
  bodyLimitBytes: number;
  maxBodyBytesInFlight: number | null;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  shutdownWritesTimeoutMs: number;
  maxQueuedRows: number;
  adminToken: string;
  apiToken: string;
  reloadMinIntervalMs: number;
  modelName: string;
  predictionLog: { enabled: boolean; durability: 'buffered' | 'sync'; flushIntervalMs: number; maxBuffered: number; retentionDays: number };
}
