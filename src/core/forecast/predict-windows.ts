import { setImmediate as nextTurn } from 'node:timers/promises';
import { FltsError } from '../errors.js';
import type { ForecastModel } from '../models/forecast-model.js';
import { windowInputs, type LazyWindowSet, type WindowSet } from './windows.js';

const CHUNK = 1024;
/**
 * Input values per chunk: long windows are predicted fewer at a time, so a chunk's forward pass (and the
 * states it keeps) stays bounded and a stop is honoured between chunks within about a second.
 */
const CHUNK_VALUES = 1 << 21;

/** The windows per forward pass for windows of `width` input values, at most `most` (a model's `maxChunkWindows`). */
export function chunkWindows(width: number, most = CHUNK): number {
  return Math.max(1, Math.min(CHUNK, most, Math.floor(CHUNK_VALUES / Math.max(1, width))));
}

/**
 * A long prediction run on the event loop's thread, which lets the loop turn between chunks whatever it is given
 * (a chunk holds the loop up to about a second, and a caller's server, heartbeats or SIGINT handler wait for
 * it): given at all, it also turns before the first chunk (a stage's first chunk does not follow the stage before
 * it in the same turn); it stops with FLTS_TRAIN_ABORTED once `signal` is aborted, and reports each chunk to
 * `onChunk`.
 */
export interface PredictProgress {
  signal?: AbortSignal;
  /** After each chunk: the windows predicted so far and in all. */
  onChunk?: (done: number, total: number) => void;
}

/**
 * Resolves once the event loop has gone round, its timers phase included. An immediate set outside the check
 * phase runs in the same round, after the I/O waiting but before any timer (a Kafka client's heartbeat, a
 * server's timeouts, a delay monitor): the second one, set from the check phase, runs after the next timers phase.
 */
async function loopRound(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

/**
 * Lets the event loop turn (with `timers`, go round, timers included), with or without a signal (so where the
 * turns fall, and what each forward pass gathers, never depends on one), then throws FLTS_TRAIN_ABORTED if
 * `progress.signal` was aborted meanwhile.
 */
export async function yieldToAbort(progress: PredictProgress | undefined, timers = false): Promise<void> {
  await (timers ? loopRound() : nextTurn());
  if (progress?.signal?.aborted) throw new FltsError('FLTS_TRAIN_ABORTED', 'Stopped while forecasting windows after the fit.');
}

/**
 * Runs a model over a window set in chunks (bounded memory), returning [size][horizon][targets]; `spreads`
 * ([size][targets]) receives the spreads a model reports with its forecasts (`PredictBatch.spreads`). A lazy
 * set's inputs are copied a chunk at a time, and `onInputs` sees each chunk's before it is dropped.
 */
export async function predictWindows(
  model: ForecastModel,
  set: WindowSet | LazyWindowSet,
  spreads?: Float64Array,
  progress?: PredictProgress,
  onInputs?: (from: number, inputs: Float32Array, size: number) => void,
): Promise<Float32Array> {
  const { inputSeqLen, outputSeqLen, features, targets } = model.window;
  const xWidth = inputSeqLen * features.length;
  const yWidth = outputSeqLen * targets.length;
  const chunk = chunkWindows(xWidth, model.maxChunkWindows);
  const out = new Float32Array(set.size * yWidth);
  for (let from = 0; from < set.size; from += chunk) {
    // No turn before the first chunk of a one-shot call (no progress: a promoter's check of one chunk waits for
    // nothing); a stage of training, which always has progress, turns before it too. A chunk holds the loop long
    // enough that its timers are let in between any two.
    if (from > 0 || progress) await yieldToAbort(progress, true);
    const to = Math.min(set.size, from + chunk);
    const windows = windowInputs(set, from, to, model.window);
    onInputs?.(from, windows, to - from);
    const predicted = await model.predict({
      windows,
      size: to - from,
      forecastTimes: set.forecastTimes.subarray(from * outputSeqLen, to * outputSeqLen),
      spreads: spreads?.subarray(from * targets.length, to * targets.length),
    });
    out.set(predicted, from * yWidth);
    progress?.onChunk?.(to, set.size);
  }
  return out;
}
