import type * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import { ignoreEvents } from '../events.js';
import type { WindowSpec } from '../models/forecast-model.js';
import type { WindowSet } from '../forecast/windows.js';
import type { EpochRecord, FitNetworkOptions, FitNetworkResult } from './fit-network.js';
import { assertKeepableWeights } from './keepable-weights.js';
import { createRandom, shuffledIndices } from './seeded-random.js';
import type { GradientEngine } from './fused/gradient-engine.js';
import { createWeightAverage } from './weight-average.js';
import { readParameters, writeParameters, type NetworkLayout } from './fused/network-parameters.js';

/**
 * The training loop of the fused path: the same seeded shuffle, Adam, validation, early stopping and
 * best-epoch restore as the tfjs-layers loop; `engine` computes each step (gradient and Adam) on the flat
 * weights. The network only receives the best weights at the end (and is what gets saved).
 */
export async function fitFused(network: tf.LayersModel, layout: NetworkLayout, engine: GradientEngine, train: WindowSet, validation: WindowSet, spec: WindowSpec, options: FitNetworkOptions): Promise<FitNetworkResult> {
  const emit = options.onEvent ?? ignoreEvents;
  const width = spec.outputSeqLen * spec.targets.length;
  const weights = engine.weights;
  weights.set(readParameters(network, layout));
  const random = createRandom(options.seed);
  const batches = Math.ceil(train.size / options.batchSize);
  const history: EpochRecord[] = [];
  let best: { epoch: number; loss: number; weights: Float32Array } | undefined;
  const averaged = options.weightAverage ? createWeightAverage(options.weightAverage, weights.length) : undefined;
  let stoppedEarly = false;
  const fitStart = performance.now();
  let trainedSamples = 0;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const epochStart = performance.now();
    engine.setOrder(shuffledIndices(train.size, random));
    let squaredErrors = 0;
    for (let b = 0; b < batches; ) {
      // Give signal handlers (Ctrl-C) a turn between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) throw new FltsError('FLTS_TRAIN_ABORTED', `Training of run ${options.runId} was stopped.`);
      const from = b * options.batchSize;
      // The weight average needs the weights after every step, so it takes the steps one at a time.
      const done = engine.steps && !averaged ? await engine.steps(from, train.size, options.batchSize) : [await engine.step(from, Math.min(train.size, from + options.batchSize))];
      for (const sse of done) {
        const size = Math.min(train.size, (b + 1) * options.batchSize) - b * options.batchSize;
        squaredErrors += sse;
        averaged?.add(weights);
        trainedSamples += size;
        b++;
        emit({ type: 'train.batch_end', runId: options.runId, epoch, batch: b, batches, loss: sse / (size * width) });
      }
    }
    const loss = squaredErrors / (train.size * width);
    if (!Number.isFinite(loss)) throw new FltsError('FLTS_TRAIN_DIVERGED', `Training loss became ${loss} in epoch ${epoch}; try a lower learning rate.`, { details: { epoch } });
    let valLoss = validation.size > 0 ? (await engine.validationSse()) / (validation.size * width) : loss;
    let epochWeights = weights;
    if (averaged && validation.size > 0) {
      // The averaged weights compete with the current ones on the validation tail; whichever is lower counts.
      const current = weights.slice();
      weights.set(averaged.value());
      const averagedLoss = (await engine.validationSse()) / (validation.size * width);
      if (averagedLoss < valLoss) {
        valLoss = averagedLoss;
        epochWeights = weights.slice();
      }
      weights.set(current);
    }
    assertKeepableWeights(valLoss, epoch, !best || options.restoreBest === false);
    const durationMs = performance.now() - epochStart;
    const record = { epoch, loss, val_loss: valLoss, duration_ms: Math.round(durationMs), samples_per_sec: train.size / (durationMs / 1000) };
    history.push(record);
    emit({ type: 'train.epoch_end', runId: options.runId, epoch, loss, valLoss, samplesPerSec: record.samples_per_sec });
    if (!best || valLoss < best.loss) best = { epoch, loss: valLoss, weights: epochWeights.slice() };
    else if (options.earlyStopping && epoch - best.epoch >= options.patience) {
      stoppedEarly = true;
      break;
    }
  }
  if (!best) throw new FltsError('FLTS_TRAIN_FAILED', 'No epoch completed.');
  writeParameters(network, layout, options.restoreBest === false ? weights : best.weights);
  const fitMs = performance.now() - fitStart;
  return { history, bestEpoch: best.epoch, bestValLoss: best.loss, stoppedEarly, fitMs, samplesPerSec: trainedSamples / (fitMs / 1000), engine: engine.name, threads: engine.threads };
}
