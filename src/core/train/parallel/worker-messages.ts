import type { MatrixOpsChoice } from '../../kernels/create-ops.js';
import type { BackendChoice } from '../../tf/backend.js';
import type { NetworkLayout } from '../fused/network-parameters.js';
import type { SharedTrainingData } from './shared-training-data.js';

/** Everything a gradient worker needs, in shared memory so nothing large is copied per step. */
export interface WorkerInit extends SharedTrainingData {
  backend: BackendChoice;
  kernels: MatrixOpsChoice;
  layout: NetworkLayout;
  steps: number;
  learningRate: number;
  /** This worker's index and the pool size: it owns gradient slot `index` and parameter range `index` for Adam. */
  index: number;
  threads: number;
  /** One gradient slot per worker. */
  gradients: SharedArrayBuffer[];
  /** Int32 counter: workers wait here until every shard gradient of a step is written. */
  barrier: SharedArrayBuffer;
}

export type WorkerRequest =
  /** `sequence` counts steps from 1; every worker has passed the barrier of step s when it reaches s * threads. */
  | { type: 'step'; sequence: number; from: number; to: number; fullBatch: number }
  | { type: 'validation'; from: number; to: number };

export type WorkerReply = { type: 'ready' } | { type: 'result'; sse: number } | { type: 'error'; message: string };
