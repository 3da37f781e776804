import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { abortOnSignals } from '../cli/stop-signals.js';
import { checkConfigHashFlag } from '../cli/config-hash-flag.js';
import { createTrainProgress, drawsBars } from '../cli/progress.js';
import { trackingSyncLines } from '../cli/tracking-sync-lines.js';
import { MODEL_TYPES } from '../core/model-types.js';
import { trainModels, type TrainModelsResult } from '../core/workflows/train.js';

export type TrainResult = TrainModelsResult;

export default class Train extends FltsCommand<TrainResult> {
  static override summary = `Train models (${MODEL_TYPES.join(', ')}) on processed data and record each as a run.`;
  static override description =
    'Uses the latest processed data (or --config-hash). Each model becomes a run in the runs bucket: run.json, metrics, model, scaler and loss curve. Test metrics are on the processed test file; early stopping uses the tail of the training data. A model type that another process (a daemon, another `flts train`) is training on the same data is not trained twice: it is refused with FLTS_TRAIN_IN_PROGRESS (exit 5) while the other types train, unless --wait or --allow-concurrent; a run whose process died does not count. --skip-trained trains only the types with no SUCCESS run on these processed rows (the daemon\'s decision: by content, so new rows under the same file names and config_hash are trained). With FLTS_TRAIN_STALL_TIMEOUT_MS set (training.stallTimeoutMs, the daemon trainer\'s bound), a training that makes no progress (no batch, epoch or chunk of its forecasts) for that long ends the command with FLTS_TRAIN_STALLED (exit 6) naming the run; unset, nothing bounds it. With a bus configured (FLTS_BUS), publishes each model\'s model-training RUNNING, then SUCCESS or FAILED, as the daemon\'s trainer does; with MLFLOW_TRACKING_URI, mirrors the runs to MLflow.';
  static override examples = ['<%= config.bin %> <%= command.id %> --model LSTM', '<%= config.bin %> <%= command.id %> --model LSTM,GRU,PROPHET,NAIVE --epochs 3 --json', '<%= config.bin %> <%= command.id %> --model LSTM,NAIVE --skip-trained'];

  static override flags = {
    // --models as well: backtest and daemon name their comma list so, and a user moving between them types either.
    model: Flags.string({ char: 'm', description: `Model type or comma list, repeatable (--model LSTM --model GRU): ${MODEL_TYPES.join(', ')} (env MODEL_TYPE; --models, as backtest names it, is accepted too). Each type once.`, multiple: true, aliases: ['models'] }),
    'config-hash': Flags.string({ description: 'Processed data version to train on (default: the latest).' }),
    targets: Flags.string({ description: 'Columns to forecast, comma list (env TARGETS, default down).' }),
    epochs: Flags.string({ description: 'Maximum epochs (env EPOCHS).' }),
    'batch-size': Flags.string({ description: 'Batch size (env BATCH_SIZE).' }),
    'learning-rate': Flags.string({ description: 'Adam learning rate (env LEARNING_RATE).' }),
    'hidden-size': Flags.string({ description: 'Units per recurrent layer (env HIDDEN_SIZE).' }),
    'num-layers': Flags.string({ description: 'Recurrent layers (env NUM_LAYERS).' }),
    'input-seq-len': Flags.string({ description: 'Input window length (env INPUT_SEQ_LEN).' }),
    'output-seq-len': Flags.string({ description: 'Forecast horizon (env OUTPUT_SEQ_LEN).' }),
    patience: Flags.string({ description: 'Early-stopping patience in epochs (env PATIENCE).' }),
    'early-stopping': Flags.string({ description: 'true/false (env EARLY_STOPPING).' }),
    'validation-split': Flags.string({ description: 'Share of training windows (the tail) for validation (env VALIDATION_SPLIT).' }),
    seed: Flags.string({ description: 'Random seed (env SEED).' }),
    backend: Flags.string({ description: 'auto, node, wasm or cpu (env FLTS_BACKEND).' }),
    wait: Flags.boolean({ description: 'A model type another process is training on the same data: wait for its run to end, then train (default: refuse it, FLTS_TRAIN_IN_PROGRESS).', default: false, exclusive: ['allow-concurrent'] }),
    'allow-concurrent': Flags.boolean({ description: 'A model type another process is training on the same data: train a second run beside it.', default: false, exclusive: ['wait'] }),
    'skip-trained': Flags.boolean({ description: 'Train only the model types with no SUCCESS run on this data (the same processed rows, not only the same config_hash), as the daemon\'s trainer decides; the others are listed under already_trained in --json.', default: false }),
  };

  async run(): Promise<TrainResult> {
    const { flags } = await this.parse(Train);
    checkConfigHashFlag(flags['config-hash']);
    const { settings, sources } = this.loadSettings(flags, {
      'training.models': flags.model?.join(',').toUpperCase(),
      'training.targets': flags.targets,
      'training.epochs': flags.epochs,
      'training.batchSize': flags['batch-size'],
      'training.learningRate': flags['learning-rate'],
      'training.hiddenSize': flags['hidden-size'],
      'training.numLayers': flags['num-layers'],
      'training.inputSeqLen': flags['input-seq-len'],
      'training.outputSeqLen': flags['output-seq-len'],
      'training.patience': flags.patience,
      'training.earlyStopping': flags['early-stopping'],
      'training.validationSplit': flags['validation-split'],
      'training.seed': flags.seed,
      'training.backend': flags.backend?.toLowerCase(),
    });
    // No logger for the runs themselves: their progress reports them, on the same stderr (under --json as log lines).
    const { store, bus, tracking } = await this.dependencies(settings);
    const progress = this.progress(settings, () => createTrainProgress({ tty: drawsBars(process.stderr, process.env), say: (line) => this.say(line) }));
    const abort = abortOnSignals();
    try {
      const inProgress = flags.wait ? 'wait' : flags['allow-concurrent'] ? 'train' : 'refuse';
      // Bounded only when asked (FLTS_TRAIN_STALL_TIMEOUT_MS, the config file): its default is the daemon's, whose
      // kubelet restarts it; a person at a terminal sees the bars stop and decides.
      const stallTimeoutMs = sources['training.stallTimeoutMs'] === 'default' ? 0 : settings.training.stallTimeoutMs;
      const result = await trainModels({ models: settings.training.models, configHash: flags['config-hash'], inProgress, skipTrained: flags['skip-trained'], stallTimeoutMs }, settings, { store, bus, tracking, signal: abort.signal, onEvent: progress.onEvent });
      for (const run of result.alreadyTrained) this.say(`${run.model_type.padEnd(7)} ${run.run_id} already trained on this data; not trained again.`);
      for (const run of result.runs) {
        const m = run.metrics?.test.targets[run.window.targets[0]];
        this.say(`${run.model_type.padEnd(7)} ${run.run_id} ${run.status}: test rmse ${run.metrics?.test_rmse.toFixed(5)} (scaled), r2 ${m?.original.r2.toFixed(4)}, ${((run.timings.duration_ms ?? 0) / 1000).toFixed(1)} s`);
      }
      // As preprocess, promote and predict say theirs: a daemon's promoter and MLflow watchers hear of the runs from it.
      if (result.published) this.say(`published ${result.published}: RUNNING, then SUCCESS of ${result.runs.length === 1 ? 'the run' : `each of the ${result.runs.length} runs`}`);
      for (const line of trackingSyncLines(result.tracking, result.runs.length, settings.tracking.experiments)) this.say(line);
      return result;
    } finally {
      progress.stop();
      abort.release();
    }
  }
}
