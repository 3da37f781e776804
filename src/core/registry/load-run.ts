import type { Settings } from '../config/settings.js';
import type { ScalerParams } from '../data/scaler.js';
import { FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { mstlArtifactProblem } from '../models/mstl-window.js';
import { INTERVALS_FORMAT, type IntervalCalibration, type IntervalScale } from '../models/prediction-intervals.js';
import { targetFloorsProblem } from '../models/target-floors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { artifactFormatProblem } from './artifact-format.js';
import type { LoadRunModelOptions } from '../models/inference-thread/serving-forward.js';
import { loadRunModel } from './run-artifacts.js';
import { verifiedRunStore, verifyRunRecordSeal } from './run-digests.js';
import { recordsIntervals, RUN_FILES, type RunRecord } from './run-record.js';
import { corruptRun, findRunJson, readRunRecord, runKey, runsBucket } from './run-store.js';

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** What keeps a stored scaler from scaling: one offset and one scale per named column. */
function scalerShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'is not a JSON object';
  const { columns, offset, scale } = value;
  if (!Array.isArray(columns) || !Array.isArray(offset) || !Array.isArray(scale)) return 'lacks columns, offset or scale';
  if (offset.length !== columns.length || scale.length !== columns.length) return 'has a different number of columns, offsets and scales';
  if (!columns.every((name) => typeof name === 'string')) return 'has a column name that is not text';
  // A fitted scaler's offsets are finite and its scales finite and never 0 (a constant column gets 1): anything
  // else turns every forecast into NaN or Infinity without an error.
  if (!offset.every(Number.isFinite) || !scale.every((x) => Number.isFinite(x) && x !== 0)) return 'has an offset or a scale that is not a finite number (or a scale of 0)';
  return undefined;
}

const isNumbers = (value: unknown): boolean => Array.isArray(value) && value.every((x) => typeof x === 'number' && !Number.isNaN(x));
const isNumberMap = (value: unknown): boolean => isObject(value) && Object.values(value).every(Number.isFinite);
/** Error ratios as training writes a step of them: |error| / scale, each finite and >= 0, sorted ascending. */
const isSortedRatios = (steps: number[]): boolean => steps.every((x, i) => Number.isFinite(x) && x >= 0 && (i === 0 || x >= steps[i - 1]));
const INTERVAL_SCALES: readonly string[] = ['volatility', 'seasonal-volatility', 'constant', 'smoothing'] satisfies IntervalScale[];

/**
 * What keeps a stored calibration from giving bands, or undefined: per target, steps of error ratios and a finite
 * floor, and a season (MSTL's) with one value per slot. Serving reads these at every request, where a value of
 * the wrong type would fail as a bug of flts. What training never writes is refused too, as it would be served as
 * wrong bands without a word: a negative, unsorted or infinite ratio (a band upside down, a quantile that is not
 * one, no band where there was one), a target of the run without errors or a floor (no band, or one without its
 * floor), fewer steps than the model horizon, a negative floor or growth, a scale flts does not compute.
 */
function intervalCalibrationProblem(value: unknown, window: WindowSpec): string | undefined {
  if (!isObject(value) || !isObject(value.errors) || !isNumberMap(value.floors)) return 'is not an interval calibration';
  if (!Object.values(value.errors).every((steps) => Array.isArray(steps) && steps.every(isNumbers))) return 'has errors that are not steps of numbers';
  const errors = value.errors as Record<string, number[][]>;
  const floors = value.floors as Record<string, number>;
  const other = Object.keys(errors).find((target) => !window.targets.includes(target));
  if (other !== undefined) return `has errors of ${JSON.stringify(other)}, which is not a target of its run`;
  for (const target of window.targets) {
    const steps = errors[target];
    if (steps === undefined) return `has no errors for target ${JSON.stringify(target)}`;
    if (steps.length < window.outputSeqLen) return `has ${steps.length} steps of errors for target ${JSON.stringify(target)} where its run forecasts ${window.outputSeqLen}`;
    const step = steps.findIndex((ratios) => !isSortedRatios(ratios));
    if (step >= 0) return `has errors for target ${JSON.stringify(target)} at step ${step + 1} that are not finite ratios of 0 or more in ascending order`;
    if (!(floors[target] >= 0)) return `has no floor of 0 or more for target ${JSON.stringify(target)}`;
  }
  if (value.scale !== undefined && !INTERVAL_SCALES.includes(value.scale as string)) return `has a scale ${JSON.stringify(value.scale)} that flts does not compute`;
  if (value.lowerBounds !== undefined && !isNumberMap(value.lowerBounds)) return 'has lower bounds that are not numbers';
  // Training bounds a target never negative at 0 and no other: a bound above the band's forecast shuts it to nothing.
  const bounded = Object.entries((value.lowerBounds ?? {}) as Record<string, number>).find(([target, bound]) => bound !== 0 || !window.targets.includes(target));
  if (bounded) return `has a lower bound ${bounded[1]} for ${JSON.stringify(bounded[0])} where training bounds only its run's targets, at 0`;
  if (value.growth !== undefined && !(isObject(value.growth) && Number.isFinite(value.growth.fitEnd) && isNumberMap(value.growth.perHour))) return 'has a growth that is not numbers';
  if (isObject(value.growth) && Object.values(value.growth.perHour as Record<string, number>).some((perHour) => perHour < 0)) return 'has a negative growth';
  if (value.scale === 'smoothing' && value.season === undefined) return 'has a smoothing scale without the season it takes out';
  if (value.season !== undefined) return isObject(value.season) ? mstlArtifactProblem(value.season, window) : 'has a season that is not an object';
  return undefined;
}

/** The scaler a run was trained with: FLTS_MODEL_ARTIFACT_MISSING without one, FLTS_RUN_CORRUPT when it cannot scale. */
export async function readRunScaler(store: ObjectStore, settings: Settings, runId: string): Promise<ScalerParams> {
  const scalerKey = runKey(runId, RUN_FILES.scaler);
  const scaler = await findRunJson<ScalerParams>(store, settings, runId, RUN_FILES.scaler);
  if (!scaler) throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${runId} has no scaler at ${scalerKey}.`, { details: { runId, key: scalerKey } });
  const scalerProblem = scalerShapeProblem(scaler);
  if (scalerProblem) throw corruptRun(runId, `${runsBucket(settings)}/${scalerKey}`, scalerProblem);
  return scaler;
}

/** The scaler `run` was trained with, as readRunScaler, and FLTS_RUN_CORRUPT when the record's floors are not on it. */
export async function readRunScalerOf(store: ObjectStore, settings: Settings, run: RunRecord): Promise<ScalerParams> {
  const scaler = await readRunScaler(store, settings, run.run_id);
  const floorsProblem = targetFloorsProblem(run.window.targetFloors, scaler);
  if (floorsProblem) throw corruptRun(run.run_id, `${runsBucket(settings)}/${runKey(run.run_id, RUN_FILES.record)}`, floorsProblem);
  return scaler;
}

export interface LoadedRunForServing {
  run: RunRecord;
  model: ForecastModel;
  scaler: ScalerParams;
  /** The run's prediction-interval calibration; absent for runs trained before intervals existed. */
  intervals?: IntervalCalibration;
}

export interface LoadRunForServingOptions extends LoadRunModelOptions {
  /** Where a run whose record training did not seal (trained before records were sealed) is said, once per run. */
  logger?: Logger;
}

/**
 * Everything serving needs, read from the run alone: the record, the fitted model and the scaler the model
 * was trained with, and its interval calibration. Throws FLTS_RUN_NOT_FOUND for an unknown run,
 * FLTS_MODEL_ARTIFACT_MISSING when the run did not succeed or an artifact is gone (the calibration too, where the
 * record names one), and FLTS_RUN_CORRUPT when the record or a file differs from what training sealed and hashed,
 * or holds what training never writes.
 */
export async function loadRunForServing(registryStore: ObjectStore, settings: Settings, runId: string, options: LoadRunForServingOptions = {}): Promise<LoadedRunForServing> {
  const run = await readRunRecord(registryStore, settings, runId);
  if (run.status !== 'SUCCESS') {
    throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${runId} has status ${run.status}; only SUCCESS runs have a usable model.`, { details: { runId, status: run.status } });
  }
  verifyRunRecordSeal(settings, run, options.logger);
  const store = verifiedRunStore(registryStore, settings, run);
  const scaler = await readRunScalerOf(store, settings, run);
  const intervals = await findRunJson<IntervalCalibration>(store, settings, runId, RUN_FILES.intervals);
  const intervalsKey = runKey(runId, RUN_FILES.intervals);
  // A run trained with a calibration is served with its bands or not at all: without the file (deleted, or a
  // directory or FIFO in its place) it would answer every request without them, as if it had never had any.
  if (intervals === undefined && recordsIntervals(run)) {
    throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${runId} has no interval calibration at ${intervalsKey}, which its record says training wrote.`, { details: { runId, key: intervalsKey } });
  }
  const intervalsProblem = intervals === undefined ? undefined : (artifactFormatProblem(intervals, INTERVALS_FORMAT) ?? intervalCalibrationProblem(intervals, run.window));
  if (intervalsProblem) throw corruptRun(runId, `${runsBucket(settings)}/${intervalsKey}`, intervalsProblem);
  const model = await loadRunModel(store, settings, run, options);
  return { run, model, scaler, ...(intervals ? { intervals } : {}) };
}
