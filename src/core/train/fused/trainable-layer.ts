/** What one layer's forward pass keeps for its backward pass; `hidden` is h_t of every step, time-major. */
export interface LayerPassCache {
  hidden: Float32Array;
}

/**
 * One recurrent layer of the fused training path, its weights taken from the flat vector for one batch.
 * Arrays are time-major: row t * batch + b.
 */
export interface TrainableLayer {
  /** input [steps * batch, inputs] -> the cache of the pass, with every step's h. */
  forward(input: Float32Array, steps: number, batch: number): LayerPassCache;
  /**
   * Backpropagation through time. `outputGrad` is d loss / d h_t for every step ([steps * batch, units]).
   * Writes the layer's kernel, recurrent-kernel and bias gradients into `out` at their flat offsets; returns
   * d loss / d input when `needInputGrad`.
   */
  backward(cache: LayerPassCache, outputGrad: Float32Array, steps: number, batch: number, out: Float32Array, needInputGrad: boolean): Float32Array | undefined;
  dispose(): void;
}
