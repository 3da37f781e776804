/**
 * Progress is reported as typed events: the CLI draws them, the daemon logs them, tests collect them.
 * Each area adds its events to this union.
 */
export type FltsEvent =
  /** An input file's rows about to be parsed, the long part of reading a large file (`files`: how many are read). */
  | { type: 'preprocess.reading'; role: 'train' | 'test'; file: string; bytes: number; files: number }
  /** Its rows parsed: `filesDone` of `files`. */
  | { type: 'preprocess.read'; role: 'train' | 'test'; file: string; rows: number; columns: number; filesDone: number; files: number }
  /** Transformed, the new version about to be written to the processed-data bucket (what a wide table spends most on). */
  | { type: 'preprocess.writing'; configHash: string; trainRows: number; testRows: number; columns: number }
  /** A version already stored stands for these inputs (`status` as the result's): nothing parsed or written anew. */
  | { type: 'preprocess.cached'; configHash: string; status: 'cached' | 'unchanged' | 'reused'; durationMs: number }
  | { type: 'preprocess.done'; configHash: string; durationMs: number }
  | { type: 'train.start'; runId: string; modelType: string; backend: string; epochs: number; batchesPerEpoch: number }
  /** `batches`: this epoch's batch count (a refit's differs from the main fit's announced at train.start). */
  | { type: 'train.batch_end'; runId: string; epoch: number; batch: number; batches: number; loss: number }
  | { type: 'train.epoch_end'; runId: string; epoch: number; loss: number; valLoss?: number; samplesPerSec?: number }
  /** After the fit, each chunk of windows forecast: `calibration` and `test` count windows, `recursive` the steps past the horizon. */
  | { type: 'train.predict'; runId: string; stage: 'calibration' | 'recursive' | 'test'; done: number; total: number }
  | { type: 'train.done'; runId: string; status: string }
  | { type: 'promote.done'; runId: string; configHash: string; modelType: string; source: string; previousRunId: string | null }
  /** A person pinned a run: the daemon's run in service promoted again, or a pin asked for (`pinnedTimestamp`: the promotion pinned). */
  | { type: 'promote.pinned'; runId: string; configHash: string; modelType: string; source: string; pinnedTimestamp: string }
  /** The daemon's health server listens; its roles (`roles`: those configured) start after this. */
  | { type: 'daemon.listening'; url: string; roles: string[] }
  | { type: 'serve.listening'; url: string; grpcUrl?: string }
  | { type: 'serve.model_loaded'; runId: string; modelType: string; configHash: string; previousRunId?: string }
  | { type: 'serve.model_load_failed'; runId: string; code: string; message: string }
  /** The server started with no promotion to serve: predictions answer FLTS_SERVE_NO_MODEL until one is made. */
  | { type: 'serve.waiting_for_promotion' }
  /**
   * The replica could not join its group on `topic` yet and tries again in `retryInMs`; the pointer poll serves
   * meanwhile. `advertised`: the addresses the brokers advertise that did not answer, when they answered at their
   * bootstrap address only (the error's details.advertised).
   */
  | { type: 'serve.promotions_unavailable'; topic: string; code: string; message: string; retryInMs: number; advertised?: string[] }
  | { type: 'serve.following_promotions'; topic: string; group: string }
  | { type: 'tracking.mirrored'; runId: string; mlflowRunId: string; created: boolean }
  | { type: 'tracking.promoted'; runId: string; mlflowRunId: string; marker: 'alias' | 'tag' }
  | { type: 'tracking.unavailable'; runId?: string; code: string; message: string }
  | { type: 'batch.progress'; windows: number; total: number }
  | { type: 'batch.done'; runId: string; predictionHash: string; duplicate: boolean; rows: number }
  /** A model's folds begin (`runId`: the run it stands for, null for a model fitted without one; `refitEvery` 0: no refit). */
  | { type: 'backtest.model_start'; modelType: string; runId: string | null; folds: number; refitEvery: number }
  | { type: 'backtest.fold'; modelType: string; fold: number; folds: number; rmse: number }
  | { type: 'bench.payload_file'; file: string; origin: 'named' | 'served-run' | 'default'; why: string; hint?: string }
  | { type: 'bench.replicas_starting'; replicas: number; variant?: string }
  | { type: 'bench.replicas_ready'; replicas: number | null; variant?: string; url: string; pids: number[] }
  | { type: 'bench.cell_start'; phase: 'predict' | 'baseline' | 'warmup'; protocol: string; replicas: number | null; variant?: string; connections: number; durationSec: number }
  | { type: 'bench.cell_progress'; phase: 'predict' | 'baseline' | 'warmup'; protocol: string; replicas: number | null; variant?: string; connections: number; durationSec: number; elapsedSec: number; requests: number }
  | { type: 'bench.cell_done'; phase: 'predict' | 'baseline' | 'warmup'; protocol: string; replicas: number | null; variant?: string; connections: number; requestsPerSec: number; p99Ms: number; errors: number }
  /** A cell the run was stopped in: its load ran `elapsedSec` of `durationSec`, and is no result. */
  | { type: 'bench.cell_interrupted'; phase: 'predict' | 'baseline' | 'warmup'; protocol: string; replicas: number | null; variant?: string; connections: number; durationSec: number; elapsedSec: number; requests: number }
  | { type: 'live.rolled_back'; runId: string; restoredRunId: string; reason: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

export type EventSink = (event: FltsEvent) => void;

export const ignoreEvents: EventSink = () => {};
