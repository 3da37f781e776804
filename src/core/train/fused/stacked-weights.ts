/**
 * Recurrent weights stacked as rows [kernel (inputs rows); recurrent kernel (units rows); bias (1 row)], so that
 * one multiply of [x_t, h_{t-1}, 1] by them is a step's pre-activation.
 */

/** Columns [from, from + width) of a row-major [rows, total] matrix, times `factor`. */
export function columnsOf(matrix: Float32Array, rows: number, total: number, from: number, width: number, factor = 1): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[r * width + j] = matrix[r * total + from + j] * factor;
  return out;
}

/** Rows 0..inputs-1 and the bias row of a stacked matrix: the first step's weights (zero state). */
export function withoutState(stacked: Float32Array, inputs: number, units: number, width: number): Float32Array {
  const out = new Float32Array((inputs + 1) * width);
  out.set(stacked.subarray(0, inputs * width));
  out.set(stacked.subarray((inputs + units) * width), inputs * width);
  return out;
}

/** [x_0, 1] of every sample, [batch, inputs + 1]: what the first step (zero state) multiplies by `withoutState`. */
export function zeroStateInputs(input: Float32Array, inputs: number, batch: number): Float32Array {
  const out = new Float32Array(batch * (inputs + 1));
  for (let b = 0; b < batch; b++) {
    out.set(input.subarray(b * inputs, (b + 1) * inputs), b * (inputs + 1));
    out[b * (inputs + 1) + inputs] = 1;
  }
  return out;
}
