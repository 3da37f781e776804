import { targetColumns, withPredict, type ForecastModel, type TargetForm, type WindowSpec } from '../models/forecast-model.js';
import type { WindowSet } from './windows.js';

/** The target forms that express each window's targets relative to that window's own centre. */
export const WINDOW_TARGET_FORMS = ['window', 'window-median'] as const;
export type WindowTargetForm = (typeof WINDOW_TARGET_FORMS)[number];

export function isWindowTargetForm(form: TargetForm | undefined): form is WindowTargetForm {
  return (WINDOW_TARGET_FORMS as readonly string[]).includes(form ?? '');
}

function median(values: Float64Array): number {
  const sorted = values.slice().sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Each window's centre per target, [size][targets], from the window's own input rows of that target: the
 * mean (`window`) or the median (`window-median`).
 */
export function windowCentres(windows: ArrayLike<number>, size: number, window: WindowSpec, form: WindowTargetForm): Float64Array {
  const columns = targetColumns(window);
  const nf = window.features.length;
  const nt = window.targets.length;
  const seq = window.inputSeqLen;
  const centre = new Float64Array(size * nt);
  const values = new Float64Array(seq);
  for (let w = 0; w < size; w++) {
    for (let t = 0; t < nt; t++) {
      for (let s = 0; s < seq; s++) values[s] = windows[(w * seq + s) * nf + columns[t]];
      if (form === 'window-median') {
        centre[w * nt + t] = median(values);
      } else {
        let sum = 0;
        for (let s = 0; s < seq; s++) sum += values[s];
        centre[w * nt + t] = sum / seq;
      }
    }
  }
  return centre;
}

/** The windows with each target input column minus its window's centre (a copy; other features as they are). */
export function centreWindowInputs(windows: ArrayLike<number>, size: number, window: WindowSpec, centre: Float64Array): Float32Array {
  const columns = targetColumns(window);
  const nf = window.features.length;
  const nt = window.targets.length;
  const out = Float32Array.from(windows);
  for (let w = 0; w < size; w++) {
    for (let s = 0; s < window.inputSeqLen; s++) {
      const row = (w * window.inputSeqLen + s) * nf;
      for (let t = 0; t < nt; t++) out[row + columns[t]] -= centre[w * nt + t];
    }
  }
  return out;
}

/** Adds (sign 1) or subtracts (sign -1) each window's centre to every forecast step of `values` ([size][horizon][targets]), in place. */
export function shiftByCentre(values: Float32Array, size: number, window: WindowSpec, centre: Float64Array, sign: 1 | -1): Float32Array {
  const nt = window.targets.length;
  for (let w = 0; w < size; w++) {
    for (let h = 0; h < window.outputSeqLen; h++) {
      for (let t = 0; t < nt; t++) values[(w * window.outputSeqLen + h) * nt + t] += sign * centre[w * nt + t];
    }
  }
  return values;
}

/** The same windows with each target, in the inputs and the forecast steps, minus the window's centre. */
export function toWindowTargets(set: WindowSet, window: WindowSpec, form: WindowTargetForm): WindowSet {
  const centre = windowCentres(set.x, set.size, window, form);
  return { ...set, x: centreWindowInputs(set.x, set.size, window, centre), y: shiftByCentre(set.y.slice(), set.size, window, centre, -1) };
}

/**
 * A model fitted on windows centred on their own mean or median, answering in levels: each window's targets
 * lose that centre before the network reads them and the forecast gets it back, so a level the training
 * data never had reaches the network as the familiar shape of a window.
 */
export function forecastFromWindowTargets(inner: ForecastModel, form: WindowTargetForm): ForecastModel {
  const window = inner.window;
  return withPredict(inner, async (batch) => {
    const centre = windowCentres(batch.windows, batch.size, window, form);
    const relative = await inner.predict({ ...batch, windows: centreWindowInputs(batch.windows, batch.size, window, centre) });
    return shiftByCentre(relative, batch.size, window, centre, 1);
  });
}
