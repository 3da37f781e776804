import { listNames } from '../clip-text.js';
import { columnAffine, type ScalerParams } from '../data/scaler.js';
import { FltsError } from '../errors.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { TIME_FEATURE_COLUMNS, timeFeatureValues } from '../preprocess/time-features.js';

/**
 * How a served run turns raw request values into model inputs and model outputs back into original units,
 * worked out once per loaded run. Every feature has its affine scaling from the run's own scaler (identity
 * for a column the scaler does not know), so requests are encoded exactly as the training data was (F12, F32).
 */
export interface FeaturePlan {
  readonly window: WindowSpec;
  /** Feature columns a request must send: the features minus the computed time features, in model order. */
  readonly rawColumns: readonly string[];
  /** Per feature: index into TIME_FEATURE_COLUMNS, or -1 for a raw column. */
  readonly timeFeatureIndex: Int32Array;
  readonly offset: Float64Array;
  readonly scale: Float64Array;
  /** Per target: its position among the features. */
  readonly targetFeature: Int32Array;
  /**
   * Per target: the least forecast in original units, 0 for a target with a floor (`WindowSpec.targetFloors`, where 0
   * falls on its scaler), else -Infinity. The model raises its scaled forecast to the floor, but the floor it holds as
   * a float32 unscales to a little below 0 (-0.08 at a scale of 6.8e8): a non-negative target forecast negative.
   */
  readonly forecastFloor: Float64Array;
}

export function createFeaturePlan(window: WindowSpec, scaler: ScalerParams): FeaturePlan {
  const timeNames: readonly string[] = TIME_FEATURE_COLUMNS;
  const { offset, scale } = columnAffine(scaler, window.features);
  const timeFeatureIndex = Int32Array.from(window.features, (feature) => timeNames.indexOf(feature));
  const targetFeature = Int32Array.from(window.targets, (target) => {
    const index = window.features.indexOf(target);
    if (index < 0) throw new FltsError('FLTS_MODEL_TARGET_MISSING', `Target "${target}" is not among the run's features (${listNames(window.features)}).`);
    return index;
  });
  return {
    window,
    rawColumns: window.features.filter((_, f) => timeFeatureIndex[f] < 0),
    timeFeatureIndex,
    offset,
    scale,
    targetFeature,
    forecastFloor: Float64Array.from(window.targets, (target) => (window.targetFloors?.[target] === undefined ? Number.NEGATIVE_INFINITY : 0)),
  };
}

/** Writes the scaled time features of `epochMs` into the row of `features.length` values at `offset` of `rows`. */
export function fillTimeFeatures(plan: FeaturePlan, epochMs: number, rows: Float32Array | Float64Array, offset = 0): void {
  let values: number[] | undefined;
  for (let f = 0; f < plan.timeFeatureIndex.length; f++) {
    const t = plan.timeFeatureIndex[f];
    if (t < 0) continue;
    values ??= timeFeatureValues(epochMs);
    rows[offset + f] = (values[t] - plan.offset[f]) / plan.scale[f];
  }
}

export function scaleValue(plan: FeaturePlan, feature: number, value: number): number {
  return (value - plan.offset[feature]) / plan.scale[feature];
}

export function unscaleTarget(plan: FeaturePlan, target: number, scaled: number): number {
  const f = plan.targetFeature[target];
  return scaled * plan.scale[f] + plan.offset[f];
}

/**
 * A forecast of target `target` in original units: unscaled, and no lower than the target's floor (`forecastFloor`);
 * -Infinity, an overflow, is kept for the finiteness check to refuse rather than answered as the floor.
 */
export function unscaleForecast(plan: FeaturePlan, target: number, scaled: number): number {
  const value = unscaleTarget(plan, target, scaled);
  return value < plan.forecastFloor[target] && value !== Number.NEGATIVE_INFINITY ? plan.forecastFloor[target] : value;
}
