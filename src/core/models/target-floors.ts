import { scaleColumn, type ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { withPredict, type ForecastModel, type PredictBatch } from './forecast-model.js';
import { nonNegativeBounds } from './interval-lower-bounds.js';

/**
 * The floor of each target that is never negative in `train` (scaled rows, as processed), in scaled units: where
 * 0 falls once scaled. A byte counter forecast below 0 is wrong whatever the model, and a band raised to 0 would
 * no longer hold its own point forecast.
 */
export function targetFloorsOf(train: TimeFrame, targets: readonly string[], scaler: ScalerParams): Record<string, number> {
  // A target the data lacks gets no floor here: the fit refuses it with its own error, once its run is recorded.
  const known = targets.filter((target) => scaler.columns.includes(target) && train.values[target] !== undefined);
  const bounds = nonNegativeBounds(train, known, scaler);
  return Object.fromEntries(Object.entries(bounds).map(([target, bound]) => [target, scaleColumn(scaler, target, [bound])[0]]));
}

/**
 * What makes saved floors (a run's `window.targetFloors`) other than training's, or undefined: training floors a
 * target at where 0 falls on its scaler, so a floor that is not a number, names no column of `scaler`, or lies
 * elsewhere (beyond rounding) was edited, and would raise every forecast to it without a word.
 */
export function targetFloorsProblem(floors: unknown, scaler: ScalerParams): string | undefined {
  if (floors === undefined) return undefined;
  if (floors === null || typeof floors !== 'object' || Array.isArray(floors)) return 'has window.targetFloors that is not an object of numbers';
  for (const [target, floor] of Object.entries(floors)) {
    if (!scaler.columns.includes(target)) return `has window.targetFloors.${target}, a column its scaler does not scale`;
    const zero = scaleColumn(scaler, target, [0])[0];
    if (typeof floor !== 'number' || !Number.isFinite(floor) || Math.abs(floor - zero) > 1e-9 * Math.max(1, Math.abs(zero))) {
      return `has window.targetFloors.${target} ${JSON.stringify(floor)?.slice(0, 40)}, not where 0 falls on its scaler (${zero})`;
    }
  }
  return undefined;
}

/**
 * Raises every forecast ([size][steps][targets], scaled) to its target's floor (`floors`, per target), in place. A
 * forecast of -Infinity is no forecast below 0 but an overflow (inputs near -1e308), and stays one: raised to the
 * floor it was answered as a forecast of 0, where +1e308 is refused FLTS_FORECAST_NOT_FINITE.
 */
function raiseToFloors(values: Float32Array, floors: readonly number[]): Float32Array {
  const nt = floors.length;
  for (let i = 0; i < values.length; i++) if (values[i] < floors[i % nt] && values[i] !== Number.NEGATIVE_INFINITY) values[i] = floors[i % nt];
  return values;
}

/**
 * The model with its forecasts raised to the floors its window carries (`targetFloors`), in every pass, past its
 * horizon too; a window without floors (runs saved before them) leaves the model as it is. Applied wherever a
 * model is fitted or loaded, so evaluation, calibration, serving, batch forecasts and backtests see one forecast.
 */
export function withTargetFloors(model: ForecastModel): ForecastModel {
  const { window } = model;
  if (!window.targetFloors || Object.keys(window.targetFloors).length === 0) return model;
  const floors = window.targets.map((target) => window.targetFloors?.[target] ?? Number.NEGATIVE_INFINITY);
  const { predictSteps } = model;
  return withPredict(
    model,
    async (batch: PredictBatch) => raiseToFloors(await model.predict(batch), floors),
    predictSteps && (async (batch, steps) => raiseToFloors(await predictSteps.call(model, batch, steps), floors)),
  );
}
