/**
 * Every model type flts knows. The one list: the models registry, the settings' accepted values, error hints
 * and `--help` read it from here (a leaf every layer may import), so a new type is named once.
 */
export const MODEL_TYPES = ['LSTM', 'GRU', 'PROPHET', 'NAIVE', 'SNAIVE', 'MSTL'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
