import type { BackendChoice } from '../../tf/backend.js';
import type { RecurrentNetworkWeights } from '../recurrent-weights.js';

export interface InferenceThreadInit {
  weights: RecurrentNetworkWeights;
  backend: BackendChoice;
  /** Time steps per window. */
  steps: number;
}

export interface InferenceRequest {
  id: number;
  /** [size, steps, inputs], transferred. */
  windows: Float32Array;
  size: number;
}

export type InferenceReply =
  | { type: 'ready'; backend: string }
  | { type: 'init-failed'; message: string }
  | { type: 'result'; id: number; predictions: Float32Array }
  | { type: 'error'; id: number; message: string };
