import type { ForecastModel } from '../models/forecast-model.js';
import type { WindowSet } from './windows.js';

const CHUNK = 1024;

/**
 * Runs a model over a window set in chunks (bounded memory), returning [size][horizon][targets]; `spreads`
 * ([size][targets]) receives the spreads a model reports with its forecasts (`PredictBatch.spreads`).
 */
export async function predictWindows(model: ForecastModel, set: WindowSet, spreads?: Float64Array): Promise<Float32Array> {
  const { inputSeqLen, outputSeqLen, features, targets } = model.window;
  const xWidth = inputSeqLen * features.length;
  const yWidth = outputSeqLen * targets.length;
  const out = new Float32Array(set.size * yWidth);
  for (let from = 0; from < set.size; from += CHUNK) {
    const to = Math.min(set.size, from + CHUNK);
    const predicted = await model.predict({
      windows: set.x.subarray(from * xWidth, to * xWidth),
      size: to - from,
      forecastTimes: set.forecastTimes.subarray(from * outputSeqLen, to * outputSeqLen),
      spreads: spreads?.subarray(from * targets.length, to * targets.length),
    });
    out.set(predicted, from * yWidth);
  }
  return out;
}
