import type { ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { IntervalSource } from '../forecast/forecast-intervals.js';
import type { ForecastModel } from '../models/forecast-model.js';

/** What serving needs to know about a run; everything else stays in the registry. */
export interface ServedRunInfo {
  readonly runId: string;
  readonly modelType: string;
  readonly configHash: string;
}

/** A run loaded for serving: the fitted model and the scaler it was trained with (F12). */
export interface LoadedRun {
  readonly run: ServedRunInfo;
  readonly model: ForecastModel;
  readonly scaler: ScalerParams;
  /** Prediction intervals at the configured levels; absent for runs without a calibration. */
  readonly intervals?: IntervalSource;
}

/** The part of a promotion pointer serving acts on. */
export interface PointerTarget {
  readonly runId: string;
  readonly configHash: string;
  readonly modelType: string;
  /** Where the pointer was found (`current.json`, `global/current.json`, ...), for health output. */
  readonly source?: string;
  readonly timestamp?: string;
  /** Corrupt pointers passed over to reach this one: serving it is a fallback, reported as degraded. */
  readonly skipped?: readonly string[];
}

/**
 * Where served models come from. The registry-backed implementation reads run records, artifacts and the
 * promotion pointer cascade from the object store; tests construct their own models behind the same API.
 */
export interface ModelSource {
  loadRun(runId: string): Promise<LoadedRun>;
  /**
   * The run's record alone, without its model: FLTS_RUN_NOT_FOUND when the registry has none. Lets a pinned run that
   * is not there be refused before the server listens; a source without it has its runs checked by loadRun only.
   */
  readRun?(runId: string): Promise<ServedRunInfo>;
  /** The promoted run, or undefined when no pointer exists. Throws when the store cannot be read. */
  readPointer(): Promise<PointerTarget | undefined>;
  /** Every pointer of the cascade that names a run, in cascade order (the first is the promoted run). */
  readPointerCascade?(): Promise<PointerTarget[]>;
  /** The processed (scaled) test frame of a config_hash, used when a request brings no data. */
  loadTestFrame(configHash: string): Promise<TimeFrame>;
  /** Where the promotion pointers are looked for, in cascade order: named on the log while no run is promoted. */
  readonly pointerLocation?: { readonly bucket: string; readonly keys: readonly string[] };
}
