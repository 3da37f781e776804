import type { WorkerFailure } from '../../errors.js';
import type { MatrixOpsChoice } from '../../kernels/create-ops.js';
import type { NetworkLayout } from '../fused/network-parameters.js';
import type { SharedTrainingData } from './shared-training-data.js';

/** What the engine thread needs; data, weights and the sample order in shared memory. */
export interface OffThreadInit extends SharedTrainingData {
  layout: NetworkLayout;
  steps: number;
  learningRate: number;
  kernels: MatrixOpsChoice;
  validationSize: number;
  /** ONNX Runtime's intra-op threads. */
  threads: number;
  runtimeModule?: string;
}

export type OffThreadRequest =
  /** `order`: the shared sample order changed since the last step (a new epoch). */
  | { type: 'step'; from: number; to: number; order: boolean }
  /** Batches of `batchSize` from `from` towards `to` (GradientEngine.steps); answered by `results`. */
  | { type: 'steps'; from: number; to: number; batchSize: number; order: boolean }
  | { type: 'validation' }
  | { type: 'close' };

export type OffThreadReply = { type: 'ready' } | { type: 'closed' } | { type: 'result'; sse: number } | { type: 'results'; sse: number[] } | ({ type: 'error' } & WorkerFailure);
