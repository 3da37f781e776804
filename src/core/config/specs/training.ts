import { MODEL_TYPES } from '../../model-types.js';
import type { SettingSpec } from './setting-spec.js';

export const TRAINABLE_MODEL_TYPES = MODEL_TYPES;

/**
 * Model and training settings. Defaults were chosen by measurement (bench/results-quality.md): every
 * baseline and both recurrent types, 1 layer x 64 units, Adam 1e-3, up to 30 epochs with early stopping
 * (patience 5) on the validation tail and the best epoch restored, then up to two stages at a tenth of the
 * rate from the best weights, the processed columns as inputs. `--profile reference` restores the reference
 * deployment (window 10 -> 1, 2 layers x 128 units, batch 64, Adam 1e-4, 10 epochs, patience 30, no rate drops).
 */
export const TRAINING_SPECS: readonly SettingSpec[] = [
  { path: 'training.models', type: 'list', default: [...TRAINABLE_MODEL_TYPES], minItems: 1, distinct: true, choices: TRAINABLE_MODEL_TYPES, envCase: 'upper', env: ['MODEL_TYPE'], description: 'Model types to train (comma list, each named once).' },
  { path: 'training.targets', type: 'list', default: ['down'], minItems: 1, distinct: true, env: ['TARGETS'], envCase: 'trim', description: 'Processed columns to forecast (comma list, each named once).' },
  { path: 'training.inputSeqLen', type: 'integer', default: 10, min: 1, max: 10_000, env: ['INPUT_SEQ_LEN'], description: 'Rows of history per forecast window.' },
  { path: 'training.outputSeqLen', type: 'integer', default: 1, min: 1, max: 10_000, env: ['OUTPUT_SEQ_LEN'], description: 'Steps forecast per window (horizon).' },
  { path: 'training.hiddenSize', type: 'integer', default: 64, min: 1, max: 2048, env: ['HIDDEN_SIZE'], description: 'Units per recurrent layer.' },
  { path: 'training.numLayers', type: 'integer', default: 1, min: 1, max: 8, env: ['NUM_LAYERS'], description: 'Stacked recurrent layers.' },
  { path: 'training.batchSize', type: 'integer', default: 64, min: 1, max: 1_000_000, env: ['BATCH_SIZE'], description: 'Windows per gradient step.' },
  { path: 'training.epochs', type: 'integer', default: 30, min: 1, max: 10_000, env: ['EPOCHS'], description: 'Maximum passes over the training windows.' },
  { path: 'training.learningRate', type: 'number', default: 1e-3, min: 0, exclusiveMin: true, env: ['LEARNING_RATE'], description: 'Adam learning rate.' },
  { path: 'training.weightAverage', type: 'number', default: 0, min: 0, max: 0.9999, env: ['FLTS_WEIGHT_AVERAGE'], description: 'LSTM/GRU: decay of an exponential moving average of the weights over the training steps (0 = none); each epoch the average competes with the current weights on the validation tail and the better one counts for early stopping and the restored best epoch.' },
  { path: 'training.lrDrops', type: 'integer', default: 2, min: 0, max: 5, env: ['FLTS_LR_DROPS'], description: 'LSTM/GRU: after early stopping, up to this many more stages, each restarting from the best weights at a tenth of the learning rate with early stopping on the validation tail, within the epochs left of `epochs`; a stage is kept only where it lowers the validation loss (0 = none).' },
  { path: 'training.earlyStopping', type: 'boolean', default: true, env: ['EARLY_STOPPING'], description: 'Stop when the validation loss has not improved for `patience` epochs.' },
  { path: 'training.patience', type: 'integer', default: 5, min: 1, max: 10_000, env: ['PATIENCE'], description: 'Epochs without validation improvement before stopping.' },
  { path: 'training.validationSplit', type: 'number', default: 0.1, min: 0.01, max: 0.5, env: ['VALIDATION_SPLIT'], description: 'Chronological tail of the training windows used for early stopping.' },
  { path: 'training.refit', type: 'string', default: 'none', choices: ['none', 'continue', 'tail'], envCase: 'lower', env: ['FLTS_REFIT'], description: 'LSTM/GRU after early stopping, to learn from the validation tail too (the rows nearest to what is forecast): none = keep the best network, fitted without the tail; continue = train it on every training window, the tail included, for `refitEpochs` more epochs; tail = train it on the tail windows for `refitEpochs` epochs (either at the learning rate the fit ended on). Either way the prediction intervals stay calibrated on the tail errors of the network before it saw the tail.' },
  { path: 'training.refitEpochs', type: 'integer', default: 1, min: 1, max: 10_000, env: ['FLTS_REFIT_EPOCHS'], description: 'Epochs of a refit that continues the best network (`refit` = continue or tail).' },
  { path: 'training.stallTimeoutMs', type: 'integer', default: 600_000, min: 0, max: 86_400_000, env: ['FLTS_TRAIN_STALL_TIMEOUT_MS'], description: 'Daemon trainer: longest time a training may go without progress (a batch, an epoch, a chunk of the forecasts after the fit) before /livez answers 503 FLTS_TRAIN_STALLED and the process is restarted (0 = never). flts train is held to it only when it is set (environment, config file): it then ends with FLTS_TRAIN_STALLED (exit code 6) naming the run; unset, a person at a terminal sees the progress stop and decides. A fit that reports no batches (PROPHET, MSTL, NAIVE, SNAIVE) is not bounded until its first chunk of forecasts: its length grows with the rows (about 12 s for Prophet on PobleSec\'s 16k rows). The longest gap of a default LSTM/GRU training on PobleSec is under 1 s.' },
  { path: 'training.targetForm', type: 'string', default: 'change', choices: ['level', 'change', 'window', 'window-median'], envCase: 'lower', env: ['FLTS_TARGET_FORM'], description: 'What LSTM/GRU learn: level = the targets (the reference), change = each target\'s change from `changeWeight` times the window\'s last value (forecasts that share of persistence plus a learned correction); window = each target, in the inputs and the forecast, minus the window\'s own mean of it (the forecast adds it back: the network sees every window at one level), window-median = the same with the window\'s median.' },
  { path: 'training.changeWeight', type: 'number', default: 0.5, min: 0, exclusiveMin: true, max: 1, env: ['FLTS_CHANGE_WEIGHT'], description: 'LSTM/GRU with targetForm = change: the share of the window\'s last value each target is taken relative to (the network learns target - w x last, the forecast adds w x last back); 1 = the full change from the last value, 0.5 = halfway between it and the level.' },
  { path: 'training.calendarFeatures', type: 'string', default: 'learnable', choices: ['learnable', 'all'], envCase: 'lower', env: ['FLTS_CALENDAR_FEATURES'], description: 'LSTM/GRU inputs: all = every processed column (the reference); learnable = without calendar features whose cycle the training data does not cover twice (day of year on weeks of data), which would only be extrapolated.' },
  { path: 'training.inputScaling', type: 'string', default: 'none', choices: ['none', 'standard'], envCase: 'lower', env: ['FLTS_INPUT_SCALING'], description: 'LSTM/GRU inputs: none = the processed columns as they are; standard = every input column centred and divided by its standard deviation over the windows the network fits on (the targets it forecasts keep the preprocessing scale), folded into the first layer\'s weights after training, so the saved network reads processed windows.' },
  { path: 'training.seed', type: 'integer', default: 42, env: ['SEED'], description: 'Seed of weight initialisation, shuffling and Prophet.' },
  { path: 'training.backend', type: 'string', default: 'auto', choices: ['auto', 'node', 'wasm', 'cpu'], envCase: 'lower', env: ['FLTS_BACKEND'], description: 'TensorFlow.js backend: auto = node, else wasm, else cpu.' },
  { path: 'training.engine', type: 'string', default: 'auto', choices: ['auto', 'fused', 'onnx', 'layers'], envCase: 'lower', env: ['FLTS_TRAIN_ENGINE'], description: 'LSTM/GRU training step: fused = hand-written forward/backward on the WebAssembly SIMD kernels, onnx = the same step (forward and backward through time) as one ONNX Runtime graph run per batch (fused when ONNX Runtime does not load or the window x layers exceeds 128 unrolled steps), layers = tfjs-layers; auto = onnx where it applies (measured faster, bench/results-training.md), else fused when the network allows, else layers.' },
  { path: 'training.workers', type: 'integer', default: 0, min: 0, max: 64, env: ['FLTS_TRAIN_WORKERS'], description: 'Worker threads computing gradients of each batch on the fused path (data parallel), or ONNX Runtime intra-op threads on the onnx engine; 0 = auto (fused: one per usable CPU, at most 2; onnx: 1, faster than 2 in every measured configuration); 1 = in-process (better on a host whose cores are busy: each step waits for the slower worker).' },
  { path: 'training.parallelModels', type: 'integer', default: 0, min: 0, max: 64, env: ['FLTS_PARALLEL_MODELS'], description: 'Model types trained at the same time by one `flts train` (each LSTM/GRU then runs its ONNX Runtime session on a worker thread of its own); 0 = auto (one per usable CPU: the cores, or the container\'s CPU limit when lower, a cgroup v1 or v2 quota rounded up), 1 = one after another. Results are the same either way.' },
  { path: 'training.prophet.nChangepoints', type: 'integer', default: 25, min: 0, max: 1000, env: ['N_CHANGEPOINTS'], description: 'Prophet potential changepoints.' },
  { path: 'training.prophet.changepointRange', type: 'number', default: 0.8, min: 0, exclusiveMin: true, max: 1, env: ['CHANGEPOINT_RANGE'], description: 'Share of the history where changepoints may fall.' },
  { path: 'training.prophet.changepointPriorScale', type: 'number', default: 0.05, min: 0, exclusiveMin: true, env: ['CHANGEPOINT_PRIOR_SCALE'], description: 'Prophet trend flexibility.' },
  { path: 'training.prophet.seasonalityPriorScale', type: 'number', default: 10, min: 0, exclusiveMin: true, env: ['SEASONALITY_PRIOR_SCALE'], description: 'Prophet seasonality strength.' },
  { path: 'training.prophet.seasonalityMode', type: 'string', default: 'additive', choices: ['additive', 'multiplicative'], envCase: 'lower', env: ['SEASONALITY_MODE'], description: 'Prophet seasonality mode.' },
];

/** Quality gate and scoreboard settings used by `flts eval` and `flts promote`. */
export const EVAL_SPECS: readonly SettingSpec[] = [
  { path: 'eval.minImprovementPct', type: 'number', default: null, nullable: true, max: 100, env: ['QUALITY_GATE_MIN_IMPROVEMENT_PCT'], description: 'Quality gate: minimum % RMSE improvement over the best baseline (the lowest test RMSE of NAIVE, SNAIVE and MSTL) for promotion (null = no gate).' },
  { path: 'eval.scoreboardLimit', type: 'integer', default: 50, min: 1, max: 10_000, env: ['PROMOTION_SCOREBOARD_LIMIT'], description: 'Rows shown on the scoreboard, per target set (each set of targets has its own board).' },
  { path: 'eval.intervalLevels', type: 'list', default: ['0.8', '0.95'], maxItems: 50, numberItems: true, distinct: true, min: 0, exclusiveMin: true, max: 1, exclusiveMax: true, env: ['FLTS_INTERVAL_LEVELS'], envCase: 'trim', description: 'Prediction interval levels (comma list of numbers in (0, 1), each given once: 0.8 and 0.80 are one level): calibrated at training, reported by eval, returned by /predict, batch predictions and backtests.' },
  { path: 'eval.intervalSteps', type: 'integer', default: 30, min: 1, max: 1000, env: ['FLTS_INTERVAL_STEPS'], description: 'Forecast steps that get prediction intervals. Steps past the model horizon, which a longer request forecasts recursively (MSTL: from one fit), are calibrated at training on the model\'s own forecasts of them from up to 400 calibration windows, fewer for input windows longer than 720 rows (at most 288,000 input rows in all: 115 windows of 2,500 rows), none with fewer than 40; later steps get none. The horizon\'s steps of a model calibrated on the last four weeks of training windows use every window up to 720 input rows, past that as many as hold the input rows of the same weeks\' 720-row windows (720/2,500 of them at 2,500 rows, never fewer than 400).' },
  { path: 'eval.plotTop', type: 'integer', default: 3, min: 1, max: 100, env: ['FLTS_EVAL_PLOT_TOP', 'EVAL_PLOT_TOP'], description: 'Runs plotted by `flts eval --plot`: the top ones of each target set\'s board.' },
];

export type TrainableModelType = (typeof TRAINABLE_MODEL_TYPES)[number];

export interface ProphetSettings {
  nChangepoints: number;
  changepointRange: number;
  changepointPriorScale: number;
  seasonalityPriorScale: number;
  seasonalityMode: 'additive' | 'multiplicative';
}

export interface TrainingSettings {
  models: TrainableModelType[];
  targets: string[];
  inputSeqLen: number;
  outputSeqLen: number;
  hiddenSize: number;
  numLayers: number;
  batchSize: number;
  epochs: number;
  learningRate: number;
  weightAverage: number;
  earlyStopping: boolean;
  patience: number;
  validationSplit: number;
  refit: 'none' | 'continue' | 'tail';
  lrDrops: number;
  refitEpochs: number;
  stallTimeoutMs: number;
  targetForm: 'level' | 'change' | 'window' | 'window-median';
  changeWeight: number;
  calendarFeatures: 'learnable' | 'all';
  inputScaling: 'none' | 'standard';
  seed: number;
  backend: 'auto' | 'node' | 'wasm' | 'cpu';
  engine: 'auto' | 'fused' | 'onnx' | 'layers';
  workers: number;
  parallelModels: number;
  prophet: ProphetSettings;
}

export interface EvalSettings {
  minImprovementPct: number | null;
  intervalLevels: string[];
  intervalSteps: number;
  scoreboardLimit: number;
  plotTop: number;
}
