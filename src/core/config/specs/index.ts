import type { SettingSpec } from './setting-spec.js';
import { BATCH_SPECS, type BacktestSettings, type BatchSettings } from './batch.js';
import { DAEMON_SPECS, type DaemonSettings } from './daemon.js';
import { DATA_SPECS, type DataSettings } from './data.js';
import { LIVE_SPECS, type LiveSettings } from './live.js';
import { DISTRIBUTED_SPECS, type BusSettings, type S3Settings } from './distributed.js';
import { PREPROCESS_SPECS, type PreprocessSettings } from './preprocess.js';
import { RUNTIME_SPECS, type InstanceSettings, type StoreSettings } from './runtime.js';
import { SERVE_SPECS, type ServeSettings } from './serve.js';
import { EVAL_SPECS, TRAINING_SPECS, type EvalSettings, type TrainingSettings } from './training.js';
import { TRACKING_SPECS, type TrackingSettings } from './tracking.js';

/** Every setting flts knows. Each area declares its own specs in a file beside this one. */
export const ALL_SPECS: readonly SettingSpec[] = [...RUNTIME_SPECS, ...DATA_SPECS, ...PREPROCESS_SPECS, ...TRAINING_SPECS, ...EVAL_SPECS, ...TRACKING_SPECS, ...SERVE_SPECS, ...LIVE_SPECS, ...DISTRIBUTED_SPECS, ...DAEMON_SPECS, ...BATCH_SPECS];

export interface Settings {
  profile: 'default' | 'reference';
  home: string;
  identifier: string;
  logLevel: string;
  instance: InstanceSettings;
  store: StoreSettings & { s3: S3Settings };
  data: DataSettings;
  preprocess: PreprocessSettings;
  training: TrainingSettings;
  eval: EvalSettings;
  tracking: TrackingSettings;
  serve: ServeSettings;
  live: LiveSettings;
  bus: BusSettings;
  daemon: DaemonSettings;
  batch: BatchSettings;
  backtest: BacktestSettings;
}
