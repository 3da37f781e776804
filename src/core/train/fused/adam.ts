/** Adam with tfjs's defaults (beta1 0.9, beta2 0.999, epsilon 1e-7), on a flat Float32Array of weights. */
export interface FlatAdam {
  /** Updates `weights` in place from the gradient of the loss. */
  step(weights: Float32Array, gradient: Float32Array): void;
  readonly iterations: number;
}

export function createFlatAdam(size: number, learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): FlatAdam {
  const first = new Float32Array(size);
  const second = new Float32Array(size);
  let beta1Power = 1;
  let beta2Power = 1;
  let iterations = 0;
  return {
    get iterations() {
      return iterations;
    },
    step(weights, gradient) {
      beta1Power *= beta1;
      beta2Power *= beta2;
      iterations++;
      const correct1 = 1 / (1 - beta1Power);
      const correct2 = 1 / (1 - beta2Power);
      for (let i = 0; i < size; i++) {
        const g = gradient[i];
        const m = (first[i] = beta1 * first[i] + (1 - beta1) * g);
        const v = (second[i] = beta2 * second[i] + (1 - beta2) * g * g);
        weights[i] -= (learningRate * (m * correct1)) / (Math.sqrt(v * correct2) + epsilon);
      }
    },
  };
}
