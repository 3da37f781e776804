import type { SettingSpec } from '../setting-spec.js';
import { DATA_SPECS, type DataSettings } from './data.js';
import { PREPROCESS_SPECS, type PreprocessSettings } from './preprocess.js';
import { RUNTIME_SPECS, type StoreSettings } from './runtime.js';

/** Every setting flts knows. Each area declares its own specs in a file beside this one. */
export const ALL_SPECS: readonly SettingSpec[] = [...RUNTIME_SPECS, ...DATA_SPECS, ...PREPROCESS_SPECS];

export interface Settings {
  home: string;
  identifier: string;
  logLevel: string;
  store: StoreSettings;
  data: DataSettings;
  preprocess: PreprocessSettings;
}
