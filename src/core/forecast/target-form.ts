import { changeWeightOf, targetColumns, withPredict, type ForecastModel, type WindowSpec } from '../models/forecast-model.js';
import type { WindowSet } from './windows.js';
import { forecastFromWindowTargets, isWindowTargetForm, shiftByCentre, toWindowTargets } from './window-target.js';

/**
 * The centre the change form shifts by, per window and target ([size][targets]): the window's last observed
 * value of the target times the window's `changeWeight`.
 */
function weightedLastValues(windows: ArrayLike<number>, size: number, window: WindowSpec): Float64Array {
  const columns = targetColumns(window);
  const weight = changeWeightOf(window);
  const nf = window.features.length;
  const nt = window.targets.length;
  const out = new Float64Array(size * nt);
  for (let w = 0; w < size; w++) {
    const lastRow = (w * window.inputSeqLen + window.inputSeqLen - 1) * nf;
    for (let t = 0; t < nt; t++) out[w * nt + t] = weight * windows[lastRow + columns[t]];
  }
  return out;
}

/**
 * Adds (sign 1) or subtracts (sign -1) each window's weighted last observed target value to every forecast
 * step of `values` ([size][horizon][targets]), in place.
 */
export function shiftByLastValue(values: Float32Array, windows: ArrayLike<number>, size: number, window: WindowSpec, sign: 1 | -1): Float32Array {
  return shiftByCentre(values, size, window, weightedLastValues(windows, size, window), sign);
}

/** The same windows with each target replaced by its change from the window's weighted last observed value. */
export function toChangeTargets(set: WindowSet, window: WindowSpec): WindowSet {
  return { ...set, y: shiftByLastValue(set.y.slice(), set.x, set.size, window, -1) };
}

/**
 * A model fitted on changes from the last value, answering in levels again: persistence (or its weighted
 * share) plus the learned correction, so an untrained or unsure network stays anchored to the strongest
 * simple forecast.
 */
export function forecastFromChanges(inner: ForecastModel): ForecastModel {
  return withPredict(inner, async (batch) => {
    const changes = await inner.predict(batch);
    return shiftByLastValue(changes, batch.windows, batch.size, inner.window, 1);
  });
}

/** The windows as a network of this window's target form learns them (the same set for `level`). */
export function toTargetForm(set: WindowSet, window: WindowSpec): WindowSet {
  if (window.targetForm === 'change') return toChangeTargets(set, window);
  if (isWindowTargetForm(window.targetForm)) return toWindowTargets(set, window, window.targetForm);
  return set;
}

/** Wraps a network whose window says it learned another target form than the level, so it answers in levels; other models are returned as they are. */
export function withTargetForm(model: ForecastModel): ForecastModel {
  const form = model.window.targetForm;
  if (form === 'change') return forecastFromChanges(model);
  if (isWindowTargetForm(form)) return forecastFromWindowTargets(model, form);
  return model;
}
