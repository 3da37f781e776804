import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSettings } from './specs/data.js';
import type { PreprocessSettings } from './specs/preprocess.js';
import { canonicalPythonJson, pyFloat, type PyJson } from './python-json.js';

export const DEFAULT_DATASET = 'PobleSec';

/** The example data shipped with flts (`examples/data` of the package), so `--dataset example` works from any directory. */
export const EXAMPLE_DATA_DIR = fileURLToPath(new URL('../../../examples/data', import.meta.url));

export interface DataFileNames {
  /** File names as they enter config_hash (never directories). */
  trainName: string;
  testName: string;
  /** Paths to read: absolute names as given, relative ones in the first data directory that holds them. */
  trainPath: string;
  testPath: string;
  /** Where relative names were looked up, in order (for the message when a file is in none of them). */
  searched: string[];
}

/**
 * The directories relative data file names are looked up in, first match wins: FLTS_DATA_DIR alone when it is set,
 * otherwise the working directory and then the example data shipped with flts.
 */
export function dataDirectories(data: DataSettings): string[] {
  return data.dataDir ? [path.resolve(data.dataDir)] : [process.cwd(), EXAMPLE_DATA_DIR];
}

function locate(file: string, directories: string[]): string {
  const candidates = directories.map((directory) => path.resolve(directory, file));
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
}

/** The reference's file-name rules: DATASET_NAME gives <name>.csv / <name>_test.csv unless TRAIN_FILE / TEST_FILE override. */
export function resolveDataFiles(data: DataSettings): DataFileNames {
  const dataset = data.datasetName || DEFAULT_DATASET;
  const trainFile = data.trainFile || `${dataset}.csv`;
  const testFile = data.testFile || `${dataset}_test.csv`;
  const searched = dataDirectories(data);
  return {
    trainName: path.basename(trainFile),
    testName: path.basename(testFile),
    trainPath: locate(trainFile, searched),
    testPath: locate(testFile, searched),
    searched,
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
