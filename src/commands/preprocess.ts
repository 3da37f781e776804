import { Flags } from '@oclif/core';
import { FltsCommand } from '../cli/base-command.js';
import { identifierFlag } from '../cli/identifier-flag.js';
import { counted } from '../cli/counted.js';
import { createPreprocessProgress } from '../cli/progress.js';
import { untilSignalled } from '../cli/stop-signals.js';
import { refuseEmptyFlags } from '../core/empty-flags.js';
import { FltsError } from '../core/errors.js';
import { preprocess, type PreprocessOutcome } from '../core/workflows/preprocess.js';

export type PreprocessCommandResult = PreprocessOutcome;

export default class Preprocess extends FltsCommand<PreprocessCommandResult> {
  static override summary = 'Turn raw CSV/Parquet into versioned, hashed training data.';
  static override description =
    'Reads the train and test files, samples, cleans, adds time features and scales (scaler fitted on train only), then writes Parquet plus JSON sidecars to the processed-data bucket. The same settings and the same file contents give "cached", files that differ in bytes but make the same rows "unchanged" (the stored version kept, with its created_at); coming back to settings and file contents processed before, whose version is kept under its config_hash (or among the four earlier versions of its config_hash: other rows under the same file names processed in between), gives "reused": that version becomes the latest again as stored, with the created_at of its first processing. With a bus configured (FLTS_BUS), publishes the training-data and inference-data claims that the daemon trains and forecasts on, also when cached or reused.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --dataset example',
    '<%= config.bin %> <%= command.id %> --train /path/to/PobleSec.csv --test /path/to/PobleSec_test.csv',
    '<%= config.bin %> <%= command.id %> --dataset example --sample-train-rows 500 --sample-strategy random --json',
    'FLTS_DATA_DIR=/path/to/datasets <%= config.bin %> <%= command.id %> --dataset PobleSec',
  ];

  static override flags = {
    train: Flags.string({ description: 'Training data file, CSV or Parquet (env TRAIN_FILE).' }),
    test: Flags.string({ description: 'Test data file continuing the series in time (env TEST_FILE).' }),
    dataset: Flags.string({ description: 'Dataset name: reads <name>.csv and <name>_test.csv from FLTS_DATA_DIR, unset: the working directory, then the example data (env DATASET_NAME; default PobleSec, the reference dataset).' }),
    'sample-train-rows': Flags.string({ description: 'Keep only this many training rows, 0 = all (env SAMPLE_TRAIN_ROWS).' }),
    'sample-test-rows': Flags.string({ description: 'Keep only this many test rows, 0 = all (env SAMPLE_TEST_ROWS).' }),
    'sample-strategy': Flags.string({ description: 'head or random; both keep time order (env SAMPLE_STRATEGY).' }),
    'sample-seed': Flags.string({ description: 'Seed for random sampling (env SAMPLE_SEED).' }),
    salt: Flags.string({ description: 'Extra text mixed into config_hash (env EXTRA_HASH_SALT).' }),
    force: Flags.boolean({ description: 'Recompute even when cached output matches (env FORCE_REPROCESS).', default: false }),
    // The claims it publishes name the scope the batch role files their forecasts under.
    identifier: identifierFlag,
  };

  async run(): Promise<PreprocessCommandResult> {
    const { flags } = await this.parse(Preprocess);
    // Read as absent, `--dataset "$UNSET"` processed the reference dataset, PobleSec, without a word.
    refuseEmptyFlags({ train: flags.train, test: flags.test }, 'a file');
    refuseEmptyFlags({ dataset: flags.dataset }, 'a dataset name');
    const { settings } = this.loadSettings(flags, {
      'data.trainFile': flags.train,
      'data.testFile': flags.test,
      'data.datasetName': flags.dataset,
      'data.sampleTrainRows': flags['sample-train-rows'],
      'data.sampleTestRows': flags['sample-test-rows'],
      'data.sampleStrategy': flags['sample-strategy'],
      'data.sampleSeed': flags['sample-seed'],
      'data.forceReprocess': flags.force ? true : undefined,
      'preprocess.hashSalt': flags.salt,
      identifier: flags.identifier,
    });
    // Ctrl-C ends reading, transforming or writing with a coded error; what a stop leaves is the error's hint.
    // Its stages as they begin: lines before the report, or under --json info log lines on stderr, as train's epochs.
    const progress = this.progress(settings, () => createPreprocessProgress({ say: (line) => this.say(line) }));
    const result = await untilSignalled(preprocessStopped, async () => {
      const { store, bus, scratchDir } = await this.dependencies(settings);
      return preprocess(settings, { store, bus, scratchDir, onEvent: progress.onEvent });
    }).finally(() => progress.stop());
    this.render(result);
    if (result.claims) this.say(`published ${settings.bus.topics.trainingData} (${result.claims.train.object}, size ${result.claims.train.size}) and ${settings.bus.topics.inferenceData} (${result.claims.inference.object})`);
    return result;
  }

  private render(result: PreprocessOutcome): void {
    for (const [role, input] of Object.entries(result.inputs)) {
      const shape = input.rows === undefined ? '' : `: ${counted(input.rows, 'row')}, ${counted(input.columns ?? 0, 'column')}`;
      const dropped = input.droppedColumns?.length ? ` (dropped, not numeric or unnamed: ${input.droppedColumns.map((name) => name || '(unnamed)').join(', ')})` : '';
      const infinite = input.infiniteCells ? ` (${input.infiniteCells} infinite cell(s) read as missing)` : '';
      this.say(`read ${role.padEnd(5)} ${input.path} (${input.bytes} bytes, sha256 ${result.fingerprints[role as 'train' | 'test'].sha256.slice(0, 12)})${shape}${dropped}${infinite}`);
    }
    for (const warning of result.warnings) this.say(`warning: ${warning.message}`);
    this.say(`config_hash ${result.configHash}`);
    const outcome = {
      cached: 'cached (same config_hash and input fingerprints; nothing recomputed)',
      unchanged: `unchanged (the input files differ in bytes from those processed at ${result.createdAt}, not in rows: that version is kept as stored)`,
      reused: `reused (processed from these inputs at ${result.createdAt}, kept under its config_hash: made the latest again as stored; nothing recomputed)`,
      processed: 'processed',
    }[result.status];
    this.say(`${outcome}: train ${result.train.rows} x ${result.train.columns}, test ${result.test.rows} x ${result.test.columns}`);
    this.say(`outputs: ${result.storeLocation}/${result.bucket}/ (latest) and ${result.configHash}/ (this version)`);
    const t = result.timings;
    this.say(`time ${t.totalMs.toFixed(0)} ms (read ${t.readMs.toFixed(0)}, transform ${t.transformMs.toFixed(0)}, write ${t.writeMs.toFixed(0)})`);
  }
}

function preprocessStopped(signal: NodeJS.Signals): FltsError {
  return new FltsError('FLTS_PREPROCESS_ABORTED', `Preprocess was stopped by ${signal} before it ended.`, { details: { signal } });
}
