import { FltsError } from '../errors.js';

/**
 * The training loss of an epoch is measured before each of its steps, so a last step that breaks the weights (a
 * learning rate far too high) shows only in the validation loss. Weights that are about to be kept (the first
 * epoch's, or every epoch's when the last one is kept) must forecast finite values, or the run would be saved
 * with NaN forecasts and metrics.
 */
export function assertKeepableWeights(valLoss: number, epoch: number, kept: boolean): void {
  if (kept && !Number.isFinite(valLoss)) {
    throw new FltsError('FLTS_TRAIN_DIVERGED', `Validation loss became ${valLoss} after epoch ${epoch}: the weights its steps left forecast no finite value; try a lower learning rate.`, { details: { epoch } });
  }
}
