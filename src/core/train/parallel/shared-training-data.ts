import { FltsError } from '../../errors.js';
import { compiledWorkerScript } from '../../worker-script.js';
import type { EngineInit } from '../fused/gradient-engine.js';

/** A buffer of `values` (copied in) or of `values` zeroed 4-byte elements, shared with worker threads. */
export function sharedBuffer(values: Float32Array | Int32Array | number): SharedArrayBuffer {
  const length = typeof values === 'number' ? values : values.length;
  const buffer = new SharedArrayBuffer(Math.max(1, length) * 4);
  if (typeof values !== 'number') (values instanceof Int32Array ? new Int32Array(buffer) : new Float32Array(buffer)).set(values);
  return buffer;
}

/** The training windows, the epoch's sample order and the weights, in memory every training thread shares. */
export interface SharedTrainingData {
  trainX: SharedArrayBuffer;
  trainY: SharedArrayBuffer;
  validationX: SharedArrayBuffer;
  validationY: SharedArrayBuffer;
  order: SharedArrayBuffer;
  weights: SharedArrayBuffer;
}

/** Copies an engine's windows into shared memory beside a zeroed sample order and zeroed weights. */
export function shareTrainingData(init: EngineInit): SharedTrainingData {
  return {
    trainX: sharedBuffer(init.train.x),
    trainY: sharedBuffer(init.train.y),
    validationX: sharedBuffer(init.validation.x),
    validationY: sharedBuffer(init.validation.y),
    order: sharedBuffer(init.train.y.length / init.layout.outputSize),
    weights: sharedBuffer(init.layout.size),
  };
}

/** A training worker script of this folder, compiled; `what` names it in the error when it is not built. */
export function trainingWorkerScript(file: 'gradient-worker.js' | 'engine-worker.js', what: string): URL {
  const beside = new URL(`./${file}`, import.meta.url);
  const script = compiledWorkerScript(beside);
  if (!script) throw new FltsError('FLTS_TRAIN_FAILED', `The ${what} script is missing (${beside.pathname}); run \`npm run build\`.`);
  return script;
}
