import type { Settings } from '../config/settings.js';
import { readTableBytesOffThread } from '../data/read-table-off-thread.js';
import { unscaleTarget, type FeaturePlan } from '../forecast/feature-plan.js';
import type { LiveActuals } from '../live/live-scorer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { loadInferenceInput, type InferenceDataRef, type InferenceInput } from './inference-input.js';

/** Actual values as read from a table: typed columns, so a caller can score them a slice at a time without copying. */
export interface TableActuals extends LiveActuals {
  time: Float64Array;
  values: Record<string, Float64Array>;
}

/** The targets' values of data read to forecast over, in original units: what live scoring matches forecasts with. */
export function inferenceActuals(plan: FeaturePlan, input: InferenceInput, identifier: string): TableActuals {
  const { frame } = input;
  const values = Object.fromEntries(
    plan.window.targets.map((target, t) => {
      const column = frame.values[target];
      return [target, input.scaled ? column.map((value) => unscaleTarget(plan, t, value)) : column];
    }),
  );
  return { identifier, time: frame.time, values };
}

/**
 * Reads data (a claimed object) exactly as batch inference with this run would, refusing what it refuses, and
 * returns its actual values: a replica that did not forecast the claim scores its remembered forecasts with them.
 * The object is parsed on a worker thread, so a serving replica goes on answering requests meanwhile. `share`
 * gets the read to make and may answer with a batch role's read of the same claim instead (see ClaimReads).
 */
export async function readInferenceActuals(
  store: ObjectStore,
  settings: Settings,
  run: { plan: FeaturePlan; configHash: string },
  data: InferenceDataRef,
  identifier: string,
  share?: (read: () => Promise<InferenceInput>) => Promise<InferenceInput>,
): Promise<TableActuals> {
  const read = (): Promise<InferenceInput> => loadInferenceInput(store, settings, run.plan, data, 'auto', run.configHash, readTableBytesOffThread);
  const input = await (share ? share(read) : read());
  return inferenceActuals(run.plan, input, identifier);
}
