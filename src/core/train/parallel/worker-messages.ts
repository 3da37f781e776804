import type { BackendChoice } from '../../tf/backend.js';
import type { NetworkLayout } from '../fused/network-parameters.js';

/** Everything a gradient worker needs, in shared memory so nothing large is copied per step. */
export interface WorkerInit {
  backend: BackendChoice;
  layout: NetworkLayout;
  steps: number;
  trainX: SharedArrayBuffer;
  trainY: SharedArrayBuffer;
  validationX: SharedArrayBuffer;
  validationY: SharedArrayBuffer;
  order: SharedArrayBuffer;
  weights: SharedArrayBuffer;
  /** This worker's gradient slot. */
  gradient: SharedArrayBuffer;
}

export type WorkerRequest =
  | { type: 'gradients'; from: number; to: number; fullBatch: number }
  | { type: 'validation'; from: number; to: number };

export type WorkerReply = { type: 'ready' } | { type: 'result'; sse: number } | { type: 'error'; message: string };
