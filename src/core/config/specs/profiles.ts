/**
 * Named sets of defaults. `default` is flts's own, chosen by measurement (bench/results-quality.md);
 * `reference` restores the reference deployment's configuration exactly (Helm/K8s runs: one LSTM, window
 * 10 -> 1, 2 layers x 128 units, batch 64, Adam 1e-4, 10 epochs, patience 30, every processed column as
 * input on its processed scale, levels as targets). A profile only replaces defaults: a config file, the environment (the
 * reference's names included) and flags still win over it.
 */
export const SETTING_PROFILES = ['default', 'reference'] as const;
export type SettingProfile = (typeof SETTING_PROFILES)[number];

export const PROFILE_DEFAULTS: Readonly<Record<SettingProfile, Readonly<Record<string, unknown>>>> = {
  default: {},
  reference: {
    'training.models': ['LSTM'],
    'training.hiddenSize': 128,
    'training.numLayers': 2,
    'training.learningRate': 1e-4,
    'training.epochs': 10,
    'training.patience': 30,
    'training.weightAverage': 0,
    'training.refit': 'none',
    'training.refitEpochs': 1,
    'training.lrDrops': 0,
    'training.targetForm': 'level',
    'training.calendarFeatures': 'all',
    'training.inputScaling': 'none',
  },
};
