import type { Settings } from '../config/settings.js';
import type { TrainableModelType, TrainingSettings } from '../config/specs/training.js';
import { FltsError, toFltsError } from '../errors.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
import { FEWEST_TRAINABLE_ROWS } from '../preprocess/sampling.js';
import { mstlWindow } from '../models/mstl-window.js';
import { dailyPeriodOfStep } from '../models/seasonal-naive-model.js';
import { modelWindow } from './fit-model.js';
import { missingTargets } from './prepare-windows.js';

/**
 * The training rows a window needs: one window to fit and one for the validation tail
 * (prepare-windows.ts keeps at least one window there).
 */
export function trainingRowsNeeded(window: { inputSeqLen: number; outputSeqLen: number }): number {
  return window.inputSeqLen + window.outputSeqLen + 1;
}

/** What sets the input window of each model type, for the message that asks to change it. */
function inputWindowOrigin(modelType: TrainableModelType): string {
  if (modelType === 'SNAIVE') return 'one day of rows, its season';
  if (modelType === 'MSTL') return 'the rows MSTL smooths';
  return 'INPUT_SEQ_LEN';
}

/**
 * Why a model type cannot be trained on this processed data under these settings, or undefined when it can.
 * Decided from the window the model reads (fit-model.ts) before any run is recorded, so a sample too short for a
 * model is refused with the rows it needs and the setting to change, not found while it trains.
 */
export function trainingRowsProblem(modelType: TrainableModelType, data: Pick<ProcessedData, 'columns' | 'train' | 'test' | 'scaler'>, settings: Settings): FltsError | undefined {
  // A target that is no processed column has no rows at all; said first, since no window can be built for it.
  const missing = missingTargets(data, settings.training.targets);
  if (missing) return missing;
  const trainRows = data.train.time.length;
  const horizon = settings.training.outputSeqLen;
  if (trainRows < 2) {
    return new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${modelType} cannot train on ${trainRows} training row${trainRows === 1 ? '' : 's'}: every model needs at least ${FEWEST_TRAINABLE_ROWS}, and ${modelType} with these settings more. Run \`flts preprocess\` again with more rows (SAMPLE_TRAIN_ROWS, --sample-train-rows; 0 keeps all).`, {
      details: { modelType, rows: trainRows, needed: FEWEST_TRAINABLE_ROWS, setting: 'data.sampleTrainRows' },
    });
  }
  let window: { inputSeqLen: number; outputSeqLen: number };
  try {
    window = modelWindow(modelType, data, settings);
  } catch (error) {
    return toFltsError(error);
  }
  const needed = trainingRowsNeeded(window);
  if (trainRows < needed) {
    const shorter = modelType === 'SNAIVE' || modelType === 'MSTL' ? '' : ' or use a shorter INPUT_SEQ_LEN or OUTPUT_SEQ_LEN';
    return new FltsError(
      'FLTS_MODEL_TOO_FEW_ROWS',
      `${modelType} needs at least ${needed} training rows (an input window of ${window.inputSeqLen}, ${inputWindowOrigin(modelType)}, + a horizon of ${window.outputSeqLen}, OUTPUT_SEQ_LEN, + 1 for the validation tail); the processed training data has ${trainRows}. Preprocess more rows (SAMPLE_TRAIN_ROWS, --sample-train-rows; 0 keeps all)${shorter}.`,
      { details: { modelType, rows: trainRows, needed, inputSeqLen: window.inputSeqLen, outputSeqLen: window.outputSeqLen, setting: 'data.sampleTrainRows' } },
    );
  }
  const testRows = data.test.time.length;
  if (testRows < horizon) {
    return new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${modelType} is scored on the test data, which must hold at least one horizon (OUTPUT_SEQ_LEN = ${horizon} rows); the processed test data has ${testRows}. Preprocess more test rows (SAMPLE_TEST_ROWS, --sample-test-rows; 0 keeps all) or use a shorter OUTPUT_SEQ_LEN.`, {
      details: { modelType, testRows, needed: horizon, outputSeqLen: horizon, setting: 'data.sampleTestRows' },
    });
  }
  return undefined;
}

/**
 * The model types to train (`training.models`) that `trainRows` processed training rows cannot carry under these
 * training settings, each with the rows it needs: what `trainingRowsProblem` will refuse, told when the rows are
 * processed. SNAIVE's window is a day of rows at `stepMs`, the processed rows' most common step (as training reads
 * it); without one (a single row) SNAIVE is left out.
 */
export function modelTypesTooShort(trainRows: number, training: Pick<TrainingSettings, 'models' | 'targets' | 'inputSeqLen' | 'outputSeqLen'>, stepMs?: number): Array<{ modelType: TrainableModelType; needed: number }> {
  return training.models.flatMap((modelType) => {
    if (modelType === 'SNAIVE' && stepMs === undefined) return [];
    // The season's rows alone: a horizon past it is another refusal (seasonalNaiveWindow), not one of rows.
    const window = modelType === 'SNAIVE' ? { inputSeqLen: dailyPeriodOfStep(stepMs as number), outputSeqLen: training.outputSeqLen } : modelType === 'MSTL' ? mstlWindow(training.targets, training.outputSeqLen) : training;
    const needed = trainingRowsNeeded(window);
    return trainRows < needed ? [{ modelType, needed }] : [];
  });
}
