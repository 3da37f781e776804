/**
 * Progress is reported as typed events: the CLI draws them, the daemon logs them, tests collect them.
 * Each area adds its events to this union.
 */
export type FltsEvent =
  | { type: 'preprocess.read'; file: string; rows: number; columns: number }
  | { type: 'preprocess.cached'; configHash: string }
  | { type: 'preprocess.done'; configHash: string; durationMs: number }
  | { type: 'train.start'; runId: string; modelType: string; backend: string; epochs: number; batchesPerEpoch: number }
  | { type: 'train.batch_end'; runId: string; epoch: number; batch: number; loss: number }
  | { type: 'train.epoch_end'; runId: string; epoch: number; loss: number; valLoss?: number; samplesPerSec?: number }
  | { type: 'train.done'; runId: string; status: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

export type EventSink = (event: FltsEvent) => void;

export const ignoreEvents: EventSink = () => {};
