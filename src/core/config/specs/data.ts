import type { SettingSpec } from './setting-spec.js';

/** Where raw data comes from and how it is sampled: the reference's `_data` section, plus paths. */
export const DATA_SPECS: readonly SettingSpec[] = [
  { path: 'data.datasetName', type: 'string', default: '', env: ['DATASET_NAME'], envCase: 'trim', description: 'Dataset name; the train/test files default to <name>.csv and <name>_test.csv ("" = PobleSec, the reference dataset).' },
  { path: 'data.trainFile', type: 'string', default: '', env: ['TRAIN_FILE'], envCase: 'trim', description: 'Training data file (CSV or Parquet). Only its file name enters config_hash.' },
  { path: 'data.testFile', type: 'string', default: '', env: ['TEST_FILE'], envCase: 'trim', description: 'Held-out test data file, continuing the training series in time.' },
  { path: 'data.dataDir', type: 'string', default: '', env: ['FLTS_DATA_DIR'], description: 'Directory that relative train/test file names (and --dataset NAME) are read from; unset, the working directory and then the example data shipped with flts are looked in, first match wins.' },
  { path: 'data.maxInputBytes', type: 'integer', default: 1073741824, min: 1, max: 2_147_483_647, env: ['FLTS_DATA_MAX_INPUT_BYTES'], description: 'Largest data file read (train, test, predict input); larger ones are refused before reading, as are devices, pipes and directories.' },
  { path: 'data.maxInputRows', type: 'integer', default: 20_000_000, min: 1, max: 2_147_483_647, env: ['FLTS_DATA_MAX_INPUT_ROWS'], description: 'Most rows read from a data file (train, test, predict input), blank lines included; a taller file is refused before its rows are built, for reading costs memory per row: about 160 bytes for a time and one value, 46 for a blank line (20 million rows of a time and a value take about 3 GB).' },
  { path: 'data.maxInputCells', type: 'integer', default: 240_000_000, min: 1, max: 1_000_000_000_000, env: ['FLTS_DATA_MAX_INPUT_CELLS'], description: 'Most cells (rows times columns, the time column and blank lines included) read from a data file (train, test, predict input); a larger table is refused before it is built, for reading costs about 16 bytes a cell besides the cost of each row, and a Parquet file of constant columns holds millions of rows in kilobytes. The default is 20 million rows of the reference data\'s 12 columns (about 4 GB).' },
  { path: 'data.maxParquetDecodedBytes', type: 'integer', default: 4 * 1024 ** 3, min: 1, max: 1_099_511_627_776, env: ['FLTS_DATA_MAX_PARQUET_DECODED_BYTES'], description: 'Most bytes the pages of a Parquet data file (train, test, predict input) may decompress to, summed from their page headers; a larger file is refused before it is read, for a page of one repeated value compresses ten thousand times and is decompressed whole. A file whose footer or page headers cannot be walked is refused too. The default, 4 GiB, is twice what a numeric table at the default cell bound decompresses to.' },
  { path: 'data.sampleTrainRows', type: 'integer', default: 0, min: 0, env: ['SAMPLE_TRAIN_ROWS'], description: 'Keep only this many training rows (0 = all).' },
  { path: 'data.sampleTestRows', type: 'integer', default: 0, min: 0, env: ['SAMPLE_TEST_ROWS'], description: 'Keep only this many test rows (0 = all).' },
  { path: 'data.sampleStrategy', type: 'string', default: 'head', choices: ['head', 'random'], envCase: 'lower', env: ['SAMPLE_STRATEGY'], description: 'head = first rows; random = seeded random rows, kept in time order.' },
  { path: 'data.sampleSeed', type: 'integer', default: 42, env: ['SAMPLE_SEED'], description: 'Seed for random sampling (recorded in the sidecar; not part of config_hash).' },
  { path: 'data.forceReprocess', type: 'boolean', default: false, env: ['FORCE_REPROCESS'], description: 'Recompute processed data even when cached output matches.' },
];

export interface DataSettings {
  datasetName: string;
  trainFile: string;
  testFile: string;
  dataDir: string;
  maxInputBytes: number;
  maxInputRows: number;
  maxInputCells: number;
  maxParquetDecodedBytes: number;
  sampleTrainRows: number;
  sampleTestRows: number;
  sampleStrategy: 'head' | 'random';
  sampleSeed: number;
  forceReprocess: boolean;
}
