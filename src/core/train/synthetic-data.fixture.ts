import { fitScaler, applyScaler } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { ProcessedData } from '../preprocess/processed-data.js';

const STEP_MS = 120_000;
const START_MS = Date.UTC(2024, 0, 1);

/** A deterministic 2-minute series with a daily cycle, an exogenous column and time features; `downShift` is added to every `down`. */
export function syntheticFrame(rows: number, offsetRows = 0, downShift = 0): TimeFrame {
  const time = new Float64Array(rows);
  const down = new Float64Array(rows);
  const up = new Float64Array(rows);
  const minSin = new Float64Array(rows);
  const minCos = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = i + offsetRows;
    time[i] = START_MS + r * STEP_MS;
    const phase = (2 * Math.PI * (r % 720)) / 720;
    minSin[i] = Math.sin(phase);
    minCos[i] = Math.cos(phase);
    down[i] = 1e8 * (1.5 + Math.sin(phase) + 0.1 * Math.sin(r / 7)) + downShift;
    up[i] = 1e7 * (1 + 0.5 * Math.cos(phase));
  }
  return { time, columns: ['down', 'up', 'min_of_day_sin', 'min_of_day_cos'], values: { down, up, min_of_day_sin: minSin, min_of_day_cos: minCos } };
}

/**
 * ProcessedData as `loadProcessedData` returns it: MinMax-scaled with a scaler fitted on the train part. `down`
 * stays within [4e7, 2.6e8] unless `downShift` moves it.
 */
export function syntheticProcessedData(trainRows = 300, testRows = 60, downShift = 0): ProcessedData {
  const rawTrain = syntheticFrame(trainRows, 0, downShift);
  const rawTest = syntheticFrame(testRows, trainRows, downShift);
  const scaler = fitScaler('MinMaxScaler', rawTrain);
  const configHash = 'a'.repeat(64);
  return {
    configHash,
    sidecar: {
      identifier: '',
      source_bucket: 'dataset',
      train_source_object: 'synthetic.csv',
      test_source_object: 'synthetic_test.csv',
      config: '{}',
      config_hash: configHash,
      created_at: '2024-01-01T00:00:00Z',
      scaler_type: 'MinMaxScaler',
      output_object: 'processed_data.parquet',
      row_count: trainRows,
      column_names: [...rawTrain.columns],
    },
    train: applyScaler(scaler, rawTrain),
    test: applyScaler(scaler, rawTest),
    scaler,
    columns: [...rawTrain.columns],
  };
}
