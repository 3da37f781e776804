import type { MessagePort } from 'node:worker_threads';
import type { BackendChoice } from '../../tf/backend.js';
import type { WindowSpec } from '../forecast-model.js';
import type { RecurrentNetworkWeights } from '../recurrent-weights.js';
import type { ServeEngine, ServeEngineChoice, ServingForwardOptions } from './serving-forward.js';

export interface InferenceThreadInit {
  weights: RecurrentNetworkWeights;
  window: WindowSpec;
  engine: ServeEngineChoice;
  engineOptions: ServingForwardOptions;
  /** The tfjs backend of the wasm engine. */
  backend: BackendChoice;
  /** Requests arrive here; the thread drains every queued one before a pass, so waiting requests share it. */
  requests: MessagePort;
  /** Most windows merged into one forward pass. */
  maxWindows: number;
}

export interface InferenceRequest {
  id: number;
  /** [size, steps, inputs], transferred. */
  windows: Float32Array;
  size: number;
}

export type InferenceReply =
  | { type: 'ready'; engine: ServeEngine; fallbackReason?: string }
  | { type: 'init-failed'; message: string; code?: string }
  | { type: 'result'; id: number; predictions: Float32Array }
  | { type: 'error'; id: number; message: string };
