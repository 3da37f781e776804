import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import type { MonotonicClock } from '../registry/run-liveness.js';

/** The training under way as /status says it: its run, and when it last moved. */
export interface TrainingProgressStatus {
  run_id: string;
  model_type: string;
  config_hash: string;
  /** Wall-clock time of its last progress event (this process's clock). */
  last_progress_at: string;
  /** What that event was: train.start, train.batch_end, train.epoch_end or train.predict (with its stage). */
  last_progress: string;
  /** Milliseconds since then, and whether that is past training.stallTimeoutMs. */
  idle_ms: number;
  stalled: boolean;
}

/**
 * A fit past its bound, as /livez says it: a code and numbers, no identifier. /livez answers anyone who reaches the
 * port, and a kubelet restarts on the status alone; the run (its id, model type and config_hash) is for the operator,
 * on the admin /status (the trainer's `training`, `stalled: true`).
 */
export type TrainingStall = {
  code: 'FLTS_TRAIN_STALLED';
  reason: string;
  /** Wall-clock time of the stalled training's last progress (this process's clock). */
  since: string;
  stalled_ms: number;
  bound_ms: number;
};

export interface TrainingProgress {
  /** A run's training begins (its train.start): from then each of its progress events counts, until `done`. */
  observe(event: FltsEvent, work: { configHash: string; modelType: string }): void;
  /** The training (of whichever run) of this target ended, however it ended. */
  done(work: { configHash: string; modelType: string }): void;
  /** The trainings under way, for /status and /metrics. */
  status(): TrainingProgressStatus[];
  /** The first training past its bound, for /livez (no identifier: status() names it); undefined while every one moves (or the bound is 0, off). */
  stall(): TrainingStall | undefined;
}

interface Entry {
  runId: string;
  modelType: string;
  configHash: string;
  at: number;
  wallAt: number;
  what: string;
}

type ProgressEvent = Extract<FltsEvent, { type: 'train.start' | 'train.batch_end' | 'train.epoch_end' | 'train.predict' }>;

const PROGRESS_EVENTS = new Set<string>(['train.start', 'train.batch_end', 'train.epoch_end', 'train.predict']);
const isProgress = (event: FltsEvent): event is ProgressEvent => PROGRESS_EVENTS.has(event.type);

/** The model types whose fit emits train.batch_end / train.epoch_end as it goes (fit-network.ts, fit-fused.ts). */
const FITS_REPORTING_BATCHES = new Set<string>(['LSTM', 'GRU']);

/**
 * The last progress of each training under way in this process, so that a fit that stopped moving (a wedged worker
 * thread, a backend deadlocked: the main thread, its heartbeat and its probes go on answering, so nothing else ever
 * says it) fails the daemon's liveness once it has not moved for `boundMs`, and a restart gives its claim to a trainer
 * that can do it (the run's heartbeat stops with the process and expires). The clock runs from the run's train.start
 * to its end: the reads and writes of the store before and after are bounded by the store's own timeouts, and waiting
 * for the store is never a liveness failure. Progress is a batch, an epoch, or a chunk of the forecasts after the fit.
 * A fit that reports no batches (Prophet, MSTL, the naive baselines: one call from their start to their calibration)
 * is not bounded until its first chunk of forecasts: its length grows with the rows (12 s for Prophet on PobleSec's
 * 16k rows, hours at the 20M rows a data file may have), and a bound it legitimately passes would restart the process
 * and hand the claim to a trainer that passes it again, forever.
 */
export function createTrainingProgress(boundMs: number, monotonic: MonotonicClock = () => performance.now(), wall: () => number = () => Date.now()): TrainingProgress {
  const entries = new Map<string, Entry>();
  const keyOf = (work: { configHash: string; modelType: string }): string => `${work.modelType}\n${work.configHash}`;
  const idle = (entry: Entry): number => Math.round(monotonic() - entry.at);
  // 0 turns the check off; a fit is never stalled before it has been idle longer than the bound.
  const stalled = (entry: Entry): boolean => boundMs > 0 && idle(entry) > boundMs && !(entry.what === 'train.start' && !FITS_REPORTING_BATCHES.has(entry.modelType));
  return {
    observe(event, work) {
      if (!isProgress(event)) return;
      const key = keyOf(work);
      const entry = entries.get(key);
      if (event.type !== 'train.start' && entry?.runId !== event.runId) return;
      const what = event.type === 'train.predict' ? `${event.type}:${event.stage}` : event.type;
      entries.set(key, { runId: event.runId, modelType: work.modelType, configHash: work.configHash, at: monotonic(), wallAt: wall(), what });
    },
    done(work) {
      entries.delete(keyOf(work));
    },
    status() {
      return [...entries.values()].map((entry) => ({
        run_id: entry.runId,
        model_type: entry.modelType,
        config_hash: entry.configHash,
        last_progress_at: new Date(entry.wallAt).toISOString(),
        last_progress: entry.what,
        idle_ms: idle(entry),
        stalled: stalled(entry),
      }));
    },
    stall() {
      for (const entry of entries.values()) {
        if (!stalled(entry)) continue;
        const stalledMs = idle(entry);
        return {
          code: 'FLTS_TRAIN_STALLED',
          reason: `A training has made no progress for ${stalledMs} ms (last: ${entry.what}), past training.stallTimeoutMs (${boundMs} ms): its fit is stuck and promotions wait for it. The admin /status names the run (stalled: true).`,
          since: new Date(entry.wallAt).toISOString(),
          stalled_ms: stalledMs,
          bound_ms: boundMs,
        };
      }
      return undefined;
    },
  };
}

/** The trainings of one trainModels call held to a bound, as the daemon's /livez holds its trainer's. */
export interface StallWatch {
  progress: TrainingProgress;
  /** Resolves with FLTS_TRAIN_STALLED, naming the run, once a training has not moved past the bound; never otherwise. */
  stalled: Promise<FltsError>;
  stop(): void;
}

/**
 * `flts train` with training.stallTimeoutMs set: the trainings under way, checked once a second (or once per bound,
 * when shorter), as createTrainingProgress judges them. Nothing in the process can end a fit that stopped moving (a
 * worker thread that never answers, a deadlocked backend; an abort is only heard between batches), so the caller ends
 * the process on `stalled`, as the kubelet restarts a daemon whose /livez says it: the run's heartbeat stops with it,
 * and the next training of that type marks the run KILLED (at once on this host, its pid gone).
 */
export function watchForStall(boundMs: number, monotonic?: MonotonicClock): StallWatch {
  const progress = createTrainingProgress(boundMs, monotonic);
  let timer: ReturnType<typeof setInterval> | undefined;
  const stalled = new Promise<FltsError>((resolve) => {
    timer = setInterval(() => {
      const entry = progress.stall() ? progress.status().find((training) => training.stalled) : undefined;
      if (!entry) return;
      clearInterval(timer);
      resolve(
        new FltsError('FLTS_TRAIN_STALLED', `${entry.model_type} run ${entry.run_id} has made no progress for ${entry.idle_ms} ms (last: ${entry.last_progress}), past training.stallTimeoutMs (${boundMs} ms): its fit is stuck, and the training ends here.`, {
          details: { runId: entry.run_id, modelType: entry.model_type, configHash: entry.config_hash, lastProgress: entry.last_progress, lastProgressAt: entry.last_progress_at, stalledMs: entry.idle_ms, boundMs },
        }),
      );
    }, Math.min(boundMs, 1_000));
  });
  return { progress, stalled, stop: () => clearInterval(timer) };
}
