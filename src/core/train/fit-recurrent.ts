import type * as tf from '@tensorflow/tfjs';
import type { Settings } from '../config/settings.js';
import type { TimeFrame } from '../data/time-frame.js';
import { toTargetForm, withTargetForm } from '../forecast/target-form.js';
import { concatWindows, type WindowSet } from '../forecast/windows.js';
import type { WindowSpec } from '../models/forecast-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../models/recurrent-model.js';
import { withTargetFloors } from '../models/target-floors.js';
import { MODEL_ARTIFACT_FILES, saveNetwork } from '../registry/run-artifacts.js';
import { selectBackend } from '../tf/backend.js';
import { usableCpus } from '../cpu-budget.js';
import { ignoreEvents } from '../events.js';
import type { ModelFit, ModelFitOptions } from './fit-model.js';
import { fitNetwork, type TrainingEngineUsed } from './fit-network.js';
import { fitInputStandardisation, foldInputAffine, standardiseInputs, withInputAffine, type InputAffine } from './input-scaling.js';
import type { PreparedWindows } from './prepare-windows.js';
import { calibrateModelIntervals, calibrateOnTrainingWindows, type PostFitProgress } from './run-intervals.js';
import { assertTrainingFits } from './training-memory.js';

/** Learning-rate factor of each drop after early stopping (`training.lrDrops`). */
const LR_DROP_FACTOR = 0.1;

/**
 * Fits an LSTM or GRU network on the fit head of `windows`, stopping early on the validation tail, for
 * `fitForecastModel`. Its own module so that TensorFlow.js loads with the first network fit: training and backtests
 * of the other model types, and a daemon waiting for its first training, never need it.
 */
export async function fitRecurrentModel(modelType: 'LSTM' | 'GRU', series: TimeFrame, windows: Pick<PreparedWindows, 'fit' | 'validation'>, window: WindowSpec, settings: Settings, options: ModelFitOptions, progress: PostFitProgress): Promise<ModelFit> {
  const t = settings.training;
  const steps = settings.eval.intervalSteps;
  const emit = options.onEvent ?? ignoreEvents;
  assertTrainingFits(window, t, windows.fit.size);
  const epochs = options.epochs ?? t.epochs;
  const backend = await selectBackend(t.backend, { logger: options.logger });
  const refits = t.refit !== 'none' && windows.validation.size > 0;
  const label = ({ engine, threads }: TrainingEngineUsed): string =>
    engine === 'layers' ? (backend.matMulFix ? `${backend.name}+matmul-fix` : backend.name) : `${backend.name}+${engine}${threads > 1 ? `x${threads}` : ''}`;
  // Announced once the engine is chosen, as the run records it. The announced epochs are every pass the fit
  // may make: the budget the learning-rate drops share, then the refit's.
  const announce = (used: TrainingEngineUsed): void =>
    emit({ type: 'train.start', runId: options.runId, modelType, backend: label(used), epochs: epochs + (refits ? t.refitEpochs : 0), batchesPerEpoch: Math.ceil(windows.fit.size / t.batchSize) });
  const formFit = toTargetForm(windows.fit, window);
  const formValidation = toTargetForm(windows.validation, window);
  // Standardised inputs are fitted on the windows the network fits on and folded into it once it is trained.
  const inputs = t.inputScaling === 'standard' ? fitInputStandardisation(formFit, window) : undefined;
  const fit = inputs ? standardiseInputs(formFit, window, inputs) : formFit;
  const validation = inputs ? standardiseInputs(formValidation, window, inputs) : formValidation;
  // Each stage counts its epochs from 1; its events continue the count of the stages before it (`epochsBefore`).
  const train = async (network: tf.LayersModel, on: WindowSet, maxEpochs: number, learningRate: number, seed: number, refit: boolean, epochsBefore: number) =>
    fitNetwork(network, on, validation, window, {
      runId: options.runId,
      epochs: maxEpochs,
      batchSize: t.batchSize,
      learningRate,
      weightAverage: refit ? 0 : t.weightAverage,
      earlyStopping: refit ? false : t.earlyStopping,
      restoreBest: !refit,
      patience: t.patience,
      seed,
      signal: options.signal,
      onEvent: epochsBefore === 0 ? emit : (event) => emit(event.type === 'train.batch_end' || event.type === 'train.epoch_end' ? { ...event, epoch: event.epoch + epochsBefore } : event),
      engine: t.engine,
      workers: t.workers,
      offThread: options.offThread,
      backend: backend.name,
      // Native TensorFlow already spreads each op over the cores.
      cores: backend.name === 'node' ? 1 : usableCpus(),
      onEngine: epochsBefore === 0 ? announce : undefined,
    });
  // `inputMap`: the input standardisation a network trained on and has not yet folded in.
  const asModel = (network: tf.LayersModel, inputMap?: InputAffine) => {
    const model = createRecurrentForecastModel(modelType, window, network);
    return withTargetFloors(withTargetForm(inputMap ? withInputAffine(model, inputMap) : model));
  };
  const network = buildRecurrentNetwork(modelType, window, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
  try {
    const result = await train(network, fit, epochs, t.learningRate, t.seed, false, 0);
    const history = [...result.history];
    let best = { epoch: result.bestEpoch, loss: result.bestValLoss };
    let fitMs = result.fitMs;
    let learningRate = t.learningRate;
    // Each drop restarts from the best weights at a tenth of the rate and is kept only where the tail improves;
    // the drops share the epoch budget, so `epochs` still caps the passes over the training windows.
    for (let drop = 1; drop <= t.lrDrops && windows.validation.size > 0 && history.length < epochs; drop++) {
      const kept = network.getWeights().map((w) => w.clone());
      try {
        const stage = await train(network, fit, epochs - history.length, learningRate * LR_DROP_FACTOR, t.seed + drop, false, history.length);
        fitMs += stage.fitMs;
        const offset = history.length;
        history.push(...stage.history.map((epoch) => ({ ...epoch, epoch: epoch.epoch + offset })));
        if (!(stage.bestValLoss < best.loss)) {
          network.setWeights(kept);
          break;
        }
        best = { epoch: stage.bestEpoch + offset, loss: stage.bestValLoss };
        learningRate *= LR_DROP_FACTOR;
      } finally {
        kept.forEach((w) => w.dispose());
      }
    }
    let intervals: IntervalCalibration | undefined;
    if (refits) {
      // The tail errors of the network that never saw the tail calibrate the intervals; the refit, which
      // trains on it, only replaces the forecasts (its own tail errors would be in-sample).
      intervals = await calibrateModelIntervals(asModel(network, inputs), windows.validation, window, options.scaler, 'validation-tail', { steps, progress });
      const on = t.refit === 'tail' ? validation : concatWindows(fit, validation, window);
      fitMs += (await train(network, on, t.refitEpochs, learningRate, t.seed + t.lrDrops + 1, true, history.length)).fitMs;
    }
    if (inputs) foldInputAffine(network, inputs);
    // Early stopping on the tail keeps the network from fitting its training windows much better than new
    // ones, so the errors over every training window of the last weeks (every hour and weekday, the tail
    // included) describe its next errors better than the tail's day or two alone; without early stopping the
    // tail's errors, which the fit never saw, calibrate it.
    if (!refits && t.earlyStopping && windows.validation.size > 0) intervals = await calibrateOnTrainingWindows(asModel(network), series, window, options.scaler, steps, progress);
    return {
      model: asModel(network),
      artifact: MODEL_ARTIFACT_FILES[modelType],
      save: (store, s, runId) => saveNetwork(store, s, runId, network),
      fitMs,
      backend: label(result),
      history,
      bestEpoch: best.epoch,
      bestValLoss: best.loss,
      samplesPerSec: result.samplesPerSec,
      ...(intervals ? { intervals } : {}),
    };
  } catch (error) {
    network.dispose();
    throw error;
  }
}
