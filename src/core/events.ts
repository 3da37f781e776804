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
  | { type: 'promote.done'; runId: string; configHash: string; modelType: string; source: 'auto' | 'manual'; previousRunId: string | null }
  | { type: 'serve.listening'; url: string }
  | { type: 'serve.model_loaded'; runId: string; modelType: string; configHash: string; previousRunId?: string }
  | { type: 'serve.model_load_failed'; runId: string; code: string; message: string }
  | { type: 'tracking.mirrored'; runId: string; mlflowRunId: string; created: boolean }
  | { type: 'tracking.promoted'; runId: string; mlflowRunId: string; marker: 'alias' | 'tag' }
  | { type: 'tracking.unavailable'; runId?: string; code: string; message: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

export type EventSink = (event: FltsEvent) => void;

export const ignoreEvents: EventSink = () => {};
