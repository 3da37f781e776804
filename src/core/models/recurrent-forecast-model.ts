import { FltsError } from '../errors.js';
import { assertBatchShape, type ForecastModel, type PredictBatch, type WindowSpec } from './forecast-model.js';

export type RecurrentKind = 'LSTM' | 'GRU';

export interface RecurrentPasses {
  /** One forward pass over a non-empty batch of the right shape. */
  run(batch: PredictBatch): Promise<Float32Array> | Float32Array;
  release(): void;
  concurrentPasses?: number;
  engine?: string;
  engineNote?: string;
}

/**
 * The ForecastModel contract around a forward pass, shared by every LSTM/GRU serving form: refuses after
 * dispose, checks the batch shape, answers an empty batch without a pass, and releases once. No tfjs here:
 * serving on ONNX Runtime never loads it.
 */
export function recurrentForecastModel(kind: RecurrentKind, window: WindowSpec, passes: RecurrentPasses): ForecastModel {
  let disposed = false;
  return {
    modelType: kind,
    window,
    concurrentPasses: passes.concurrentPasses,
    engine: passes.engine,
    engineNote: passes.engineNote,
    async predict(batch) {
      if (disposed) throw new FltsError('FLTS_MODEL_NOT_FITTED', `The ${kind} model was disposed.`);
      assertBatchShape(batch, window);
      if (batch.size === 0) return new Float32Array(0);
      return passes.run(batch);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      passes.release();
    },
  };
}
