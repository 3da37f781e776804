import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DataSettings } from './specs/data.js';
import type { PreprocessSettings } from './specs/preprocess.js';
import { canonicalPythonJson, pyFloat, type PyJson } from './python-json.js';

export const DEFAULT_DATASET = 'PobleSec';

export interface DataFileNames {
  /** File names as they enter config_hash (never directories). */
  trainName: string;
  testName: string;
  /** Paths to read, relative to the data directory unless absolute. */
  trainPath: string;
  testPath: string;
}

/** The reference's file-name rules: DATASET_NAME gives <name>.csv / <name>_test.csv unless TRAIN_FILE / TEST_FILE override. */
export function resolveDataFiles(data: DataSettings): DataFileNames {
  const dataset = data.datasetName || DEFAULT_DATASET;
  const trainPath = data.trainFile || `${dataset}.csv`;
  const testPath = data.testFile || `${dataset}_test.csv`;
  const dir = data.dataDir || '.';
  return {
    trainName: path.basename(trainPath),
    testName: path.basename(testPath),
    trainPath: path.resolve(dir, trainPath),
    testPath: path.resolve(dir, testPath),
  };
}

/** The reference system's canonical preprocessing config (snake_case keys are a wire contract). */
export function buildCanonicalConfig(preprocess: PreprocessSettings, data: DataSettings): PyJson {
  const files = resolveDataFiles(data);
  return {
    _data: {
      train_file: files.trainName,
      test_file: files.testName,
      sample_train_rows: data.sampleTrainRows,
      sample_test_rows: data.sampleTestRows,
      sample_strategy: data.sampleStrategy,
    },
    extra: { hash_salt: preprocess.hashSalt },
    handle_nans: {
      enabled: preprocess.handleNans.enabled,
      threshold: pyFloat(preprocess.handleNans.threshold),
      knn_neighbors: preprocess.handleNans.knnNeighbors,
      drop_rows: preprocess.handleNans.dropRows,
    },
    outliers: { enabled: preprocess.outliers.enabled, method: preprocess.outliers.method, factor: pyFloat(preprocess.outliers.factor) },
    time_features: { enabled: preprocess.timeFeatures.enabled },
    lags: { enabled: preprocess.lags.enabled, n_lags: preprocess.lags.nLags, step: preprocess.lags.step },
    scaling: { method: preprocess.scaling.method, add_constant: preprocess.scaling.addConstant },
  };
}

export interface ConfigLineage {
  canonical: string;
  configHash: string;
}

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export function computeConfigHash(preprocess: PreprocessSettings, data: DataSettings): ConfigLineage {
  const canonical = canonicalPythonJson(buildCanonicalConfig(preprocess, data));
  return { canonical, configHash: sha256Hex(canonical) };
}
