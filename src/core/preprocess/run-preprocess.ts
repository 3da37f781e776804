import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { listNames } from '../clip-text.js';
import { closestName } from '../closest-name.js';
import { computeConfigHash, DEFAULT_DATASET, resolveDataFiles } from '../config/config-hash.js';
import type { Settings } from '../config/settings.js';
import { scaledValuesWarning, type ScaledValuesWarning } from '../data/scaler.js';
import { TIME_COLUMN } from '../data/polars-frame.js';
import { readFileBytes, readTableBytes, readTableLimits, type ReadTableResult } from '../data/read-table.js';
import { selectColumns, type TimeFrame } from '../data/time-frame.js';
import { repeatedTimestampsWarning, timeStepsWarning, unorderedRowsWarning, type DataWarning, type TimeSteps } from '../data/time-steps.js';
import { detectCadence } from '../data/timestamps.js';
import { FltsError } from '../errors.js';
import { ignoreEvents, type EventSink } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readInputAlias, writeInputAlias, type InputAlias } from './input-aliases.js';
import { fingerprintBytes } from './input-fingerprint.js';
import { findCachedOutputs, findStoredContent, type CacheHit } from './processed-cache.js';
import { processedContentSha256 } from './processed-fingerprint.js';
import { processedCreatedAt, processedKeys, type InputFingerprint, type ProcessedSidecar, type RowsAsRead } from './processed-layout.js';
import { assertTrainableSample, sampleFrame } from './sampling.js';
import { assertTestFollowsTrain, testOverlapWarning, type TestOverlapWarning } from './test-overlap.js';
import { toolVersion } from './tool-version.js';
import { assertTransformSettings, runTransformPipeline, type TransformReport } from './transform-pipeline.js';
import { restoreEarlierVersion, restoreLatestFromVersion, writeProcessedOutputs } from './write-processed.js';

export interface PreprocessDeps {
  store: ObjectStore;
  logger?: Logger;
  onEvent?: EventSink;
  /** For tests: the clock that stamps `created_at`. */
  now?: () => Date;
  /**
   * Where the Parquet writer may make a private directory for a moment (Dependencies.scratchDir); without one the
   * processed files are written in memory, the same bytes, slower for a wide table.
   */
  scratchDir?: string;
}

export interface PreprocessInput {
  path: string;
  file: string;
  bytes: number;
  /** Rows and columns as read (only when the data was processed, not when cached). */
  rows?: number;
  columns?: number;
  droppedColumns?: string[];
  /** Rows merged into another row with the same timestamp (their mean kept). */
  mergedRows?: number;
  /** Cells that read as an infinity, kept as missing (then imputed like an empty cell). */
  infiniteCells?: number;
  /**
   * Test file only: its rows at or before the training file's last time, which held-out metrics would include; also
   * when cached (from the sidecar, which records it, 0 included; a sidecar without it has the files read and checked again).
   */
  rowsNotAfterTrain?: number;
  /** Rows earlier than the row before them in the file (sorted into time order). */
  unorderedRows?: number;
  /** The file's time steps as read (before sampling): the dominant step, gaps, shorter steps. */
  timeSteps?: TimeSteps;
}

export interface PreprocessResult {
  /**
   * `cached`: the latest processed data is already this version (same input bytes); `unchanged`: the input bytes
   * differ but make the rows the latest version holds, kept as stored; `reused`: a version kept under `<config_hash>/`
   * (settings processed before, then others) or among its earlier versions (`<config_hash>/earlier/`: inputs processed
   * before, then other rows under the same file names) made the latest again as stored; `processed`: computed and
   * written now.
   */
  status: 'processed' | 'cached' | 'unchanged' | 'reused';
  /** When this version's rows were processed (its sidecar's `created_at`, to the millisecond): now only when `processed`. */
  createdAt: string;
  configHash: string;
  /** The canonical config string that config_hash is the SHA-256 of. */
  config: string;
  fingerprints: { train: InputFingerprint; test: InputFingerprint };
  sampleSeed: number;
  inputs: { train: PreprocessInput; test: PreprocessInput };
  train: { rows: number; columns: number };
  /** The processed training rows' most common step (what training counts SNAIVE's day at); absent with one row, or for data processed before it was recorded with sampling on. */
  trainStepMs?: number;
  test: { rows: number; columns: number };
  columns: string[];
  bucket: string;
  storeLocation: string;
  /** Root keys (latest) first, then the versioned copy under `<config_hash>/` (written now, or found cached). */
  outputKeys: string[];
  /** `reused` only: the root keys copied from the `<config_hash>/` version (or from its earlier version). */
  restoredKeys?: string[];
  report?: TransformReport;
  /**
   * What the data should have been and is not (uneven time steps, rows out of order, test rows not after training, per
   * input file; training columns that, scaled, float32 cannot tell apart); also when cached.
   */
  warnings: Array<DataWarning | TestOverlapWarning | ScaledValuesWarning>;
  timings: { readMs: number; transformMs: number; writeMs: number; totalMs: number };
}

/** The most common step of processed training rows, as training reads it (detectCadence); none below two rows. */
function stepOf(time: Float64Array): number | undefined {
  if (time.length < 2) return undefined;
  try {
    return detectCadence(time);
  } catch {
    return undefined;
  }
}

/**
 * The step a stored version's training rows were processed at: recorded since 2026-12; before, the training file's
 * as read, which is the rows' own when no sample was cut from it.
 */
function storedTrainStep(sidecar: ProcessedSidecar, unsampled: boolean): number | undefined {
  return sidecar.flts?.train_step_ms ?? (unsampled ? sidecar.flts?.time_steps?.train?.step_ms : undefined);
}

/** An input file's rows out of order and merged as its stored version recorded them, to warn of them again. */
function rowsRead(recorded: RowsAsRead | undefined): Pick<PreprocessInput, 'unorderedRows' | 'mergedRows'> {
  return recorded ? { unorderedRows: recorded.unordered_rows, mergedRows: recorded.merged_rows } : {};
}

/** A stored version's columns that float32 cannot tell apart, warned about again (none recorded before 2026-12). */
function storedScaleWarnings(sidecar: ProcessedSidecar): ScaledValuesWarning[] {
  return (sidecar.flts?.scaled_values_indistinct ?? []).map(scaledValuesWarning);
}

/** Each warning on the log as it is found, under its code: the result carries them too, for --json and the CLI. */
function logWarnings(logger: Logger, warnings: PreprocessResult['warnings']): void {
  for (const warning of warnings) logger.warn({ event: warning.code, reason: warning.message, ...warning.details }, warning.code);
}

/** The input files' warnings, each naming its file: test rows not after training, uneven steps, rows out of order, repeated timestamps. */
function inputWarnings(inputs: { train: PreprocessInput; test: PreprocessInput }): Array<DataWarning | TestOverlapWarning> {
  const overlap = testOverlapWarning(inputs.test.rowsNotAfterTrain ?? 0, { train: inputs.train.file, test: inputs.test.file });
  const perFile = Object.values(inputs).flatMap((input) => {
    const rows = `The rows of ${input.file}`;
    const found = [input.timeSteps && timeStepsWarning(input.timeSteps, rows), unorderedRowsWarning(input.unorderedRows ?? 0, rows), repeatedTimestampsWarning(input.mergedRows ?? 0, rows)];
    return found.filter((warning): warning is DataWarning => warning !== undefined).map((warning) => ({ ...warning, details: { file: input.file, ...warning.details } }));
  });
  return overlap ? [overlap, ...perFile] : perFile;
}

/** The test set must carry the training columns; extra test columns are ignored. */
function alignTestColumns(train: TimeFrame, test: TimeFrame, testFile: string): TimeFrame {
  // A set: a 10,000-column pair compared by includes took most of a second.
  const testColumns = new Set(test.columns);
  const missing = train.columns.filter((column) => !testColumns.has(column));
  if (missing.length > 0) {
    throw new FltsError('FLTS_DATA_MISSING_COLUMNS', `${testFile} lacks training column(s) ${listNames(missing)}; it has ${listNames(test.columns)}.`, {
      details: { file: testFile, missing },
      hint: 'The test file continues the training file in time, with the same columns: give the two files of one dataset (--train and --test, or --dataset NAME for NAME.csv and NAME_test.csv).',
    });
  }
  return selectColumns(test, train.columns);
}

/**
 * Reads a raw data file; a missing one given by a relative name (or a dataset name) says where it was looked for,
 * one named by the dataset because only the other file of the pair was given (`--train` alone) says so, and any
 * missing one names the files there whose names differ from it only in case.
 */
async function readDataFile(filePath: string, given: string, searched: string[], maxBytes: number, unpaired?: { role: 'train' | 'test'; dataset: string }, dataset?: string): Promise<Buffer> {
  try {
    return await readFileBytes(filePath, maxBytes);
  } catch (error) {
    if (!(error instanceof FltsError && error.code === 'FLTS_DATA_FILE_NOT_FOUND')) throw error;
    const absolute = path.isAbsolute(given);
    const name = absolute ? filePath : path.relative(searched[0], filePath);
    const otherCase = await namesInOtherCase(name, absolute ? [''] : searched);
    const meant = otherCase.length > 0 ? ` (file names are case-sensitive: did you mean ${otherCase.join(' or ')}?)` : '';
    if (absolute) {
      if (!meant) throw error;
      throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `${error.message}${meant}`, { cause: error, details: { ...error.details, similar: otherCase } });
    }
    const why = unpaired ? ` (the ${unpaired.role} file of dataset ${unpaired.dataset}: --${unpaired.role === 'train' ? 'test' : 'train'} was given without --${unpaired.role})` : '';
    const advice = dataset === undefined ? undefined : await datasetAdvice(dataset, searched, otherCase.length > 0);
    // FLTS_DATA_DIR=/data/sets misspelt read "looked in /data/stes" alone, as if the directory held other files.
    const absent = await absentDirectories(searched);
    const places = searched.map((directory) => (absent.includes(directory) ? `${directory} (no such directory)` : directory)).join(', ');
    const hint = advice?.hint ?? (unpaired ? 'Give both --train and --test (or TRAIN_FILE and TEST_FILE), or --dataset NAME for NAME.csv and NAME_test.csv.' : undefined);
    throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Data file ${name} not found${why}; looked in ${places}${meant}${advice?.text ?? ''}`, {
      cause: error,
      details: { file: name, searched, ...(absent.length > 0 ? { missingDirectories: absent } : {}), ...(otherCase.length > 0 ? { similar: otherCase } : {}), ...advice?.details },
      ...(hint ? { hint } : {}),
    });
  }
}

/**
 * The files of the directories looked in whose names differ from the one asked for only in case (`--dataset
 * poblesec` for PobleSec.csv): a name typed as said rather than as written, which a case-sensitive filesystem misses.
 */
async function namesInOtherCase(name: string, directories: string[]): Promise<string[]> {
  const wanted = path.basename(name);
  const found: string[] = [];
  for (const directory of directories) {
    const folder = path.join(directory, path.dirname(name));
    const entries = await readdir(folder).catch(() => [] as string[]);
    for (const entry of entries) if (entry !== wanted && entry.toLowerCase() === wanted.toLowerCase()) found.push(path.join(folder, entry));
  }
  return found;
}

/**
 * What to say of a dataset name whose file is missing: `--dataset example.csv` (it looked for example.csv.csv, a name
 * the user never typed) takes the name without its extension; `--dataset exmple` most likely meant the dataset of the
 * directories nearest to it, unless a file differing only in case (`nameInOtherCase`) answers it already.
 */
async function datasetAdvice(dataset: string, searched: string[], nameInOtherCase: boolean): Promise<{ text: string; hint: string; details: Record<string, string> } | undefined> {
  const bare = withoutDataExtension(dataset);
  if (bare !== undefined) {
    return {
      text: ` (--dataset takes the name without its extension: --dataset ${bare} reads ${bare}.csv and ${bare}_test.csv)`,
      hint: `Give --dataset (DATASET_NAME) the dataset's name alone: --dataset ${bare}.`,
      details: { dataset, datasetWithoutExtension: bare },
    };
  }
  const near = nameInOtherCase ? undefined : closestName(dataset, await datasetNames(searched));
  if (near === undefined) return undefined;
  return {
    text: ` (no dataset ${dataset}: did you mean --dataset ${near}?)`,
    hint: `Give --dataset (DATASET_NAME) a dataset of the directories looked in: --dataset ${near}.`,
    details: { dataset, similarDataset: near },
  };
}

/** The datasets the directories looked in hold: NAME for each NAME.csv (its test file NAME_test.csv not a dataset of its own). */
async function datasetNames(directories: string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const directory of directories) {
    const entries = await readdir(directory).catch(() => [] as string[]);
    for (const entry of entries) if (entry.endsWith('.csv') && !entry.endsWith('_test.csv')) names.add(entry.slice(0, -'.csv'.length));
  }
  return [...names];
}

/** The directories looked in that are not there (or are not directories). */
async function absentDirectories(directories: string[]): Promise<string[]> {
  const found = await Promise.all(directories.map((directory) => stat(directory).then((entry) => entry.isDirectory(), () => false)));
  return directories.filter((_, index) => !found[index]);
}

/** A dataset name given with a data file's extension, without it; undefined for a name without one. */
function withoutDataExtension(dataset: string): string | undefined {
  const match = /^(.+?)(?:_test)?\.(?:csv|tsv|txt|parquet|pq)$/i.exec(dataset);
  return match ? match[1] : undefined;
}

/** The dataset name a file of the pair was named from (neither --train nor --test named it), if any. */
function datasetOf(data: Settings['data'], role: 'train' | 'test'): string | undefined {
  return (role === 'train' ? data.trainFile : data.testFile) ? undefined : data.datasetName || DEFAULT_DATASET;
}

/** The file of the pair that the dataset name chose because only the other one was given, if any. */
function unpairedFile(data: Settings['data'], role: 'train' | 'test'): { role: 'train' | 'test'; dataset: string } | undefined {
  const [own, other] = role === 'train' ? [data.trainFile, data.testFile] : [data.testFile, data.trainFile];
  return !own && other ? { role, dataset: data.datasetName || DEFAULT_DATASET } : undefined;
}

/** Raw files -> processed, hashed, versioned train/test data in the object store (or the cached copy). */
export async function runPreprocess(settings: Settings, deps: PreprocessDeps): Promise<PreprocessResult> {
  const started = performance.now();
  const logger = (deps.logger ?? silentLogger).child({ service: 'preprocess' });
  const emit = deps.onEvent ?? ignoreEvents;
  assertTransformSettings(settings.preprocess);
  assertTrainableSample(settings.data.sampleTrainRows);
  const { canonical, configHash } = computeConfigHash(settings.preprocess, settings.data);
  const files = resolveDataFiles(settings.data);
  const { data } = settings;
  const bucket = settings.store.buckets.processed;

  // Both files are read at once, but a failure is reported for the training file first whichever read fails
  // first, so the same missing files always give the same error.
  const [trainRead, testRead] = await Promise.allSettled([
    readDataFile(files.trainPath, data.trainFile, files.searched, data.maxInputBytes, unpairedFile(data, 'train'), datasetOf(data, 'train')),
    readDataFile(files.testPath, data.testFile, files.searched, data.maxInputBytes, unpairedFile(data, 'test'), datasetOf(data, 'test')),
  ]);
  if (trainRead.status === 'rejected') throw trainRead.reason;
  if (testRead.status === 'rejected') throw testRead.reason;
  const [trainBytes, testBytes] = [trainRead.value, testRead.value];
  const fingerprints = { train: fingerprintBytes(files.trainPath, trainBytes), test: fingerprintBytes(files.testPath, testBytes) };
  const inputs = {
    train: { path: files.trainPath, file: files.trainName, bytes: trainBytes.byteLength },
    test: { path: files.testPath, file: files.testName, bytes: testBytes.byteLength },
  };
  const seedMatters = data.sampleStrategy === 'random' && (data.sampleTrainRows > 0 || data.sampleTestRows > 0);
  const base = { configHash, config: canonical, fingerprints, sampleSeed: data.sampleSeed, bucket, storeLocation: deps.store.location };

  const outputKeys = [processedKeys(settings), processedKeys(settings, configHash)].flatMap((keys) => Object.values(keys).filter((key): key is string => key !== undefined));

  /**
   * The result of a version found stored. One kept only under <config_hash>/ (settings changed and came back), or
   * only among its earlier versions (the inputs changed and came back), is made the latest again as it is:
   * recomputed, it would be written under a new created_at, dating rows processed before to now (the promoter never
   * moves to older data).
   */
  const keepStored = async (hit: CacheHit, kept: 'cached' | 'unchanged', found?: { inputs: { train: PreprocessInput; test: PreprocessInput }; warnings: PreprocessResult['warnings']; readMs: number; transformMs: number; trainStepMs?: number }, rowsNotAfterTrain?: number): Promise<PreprocessResult> => {
    const reused = hit.held !== 'latest';
    const sidecars = { train: hit.sidecar, test: hit.testSidecar };
    const restoredKeys =
      hit.held === 'earlier' ? await restoreEarlierVersion(deps.store, settings, configHash, hit.earlierSha256 as string, sidecars) : reused ? await restoreLatestFromVersion(deps.store, settings, configHash, sidecars) : [];
    const status = reused ? 'reused' : kept;
    logger.info({ event: 'skip_idempotent', config_hash: configHash, result: status }, 'skip_idempotent');
    const columns = hit.sidecar.column_names;
    const totalMs = performance.now() - started;
    emit({ type: 'preprocess.cached', configHash, status, durationMs: totalMs });
    const recorded = hit.sidecar.flts?.time_steps;
    const cachedInputs = found?.inputs ?? {
      train: { ...inputs.train, ...(recorded?.train ? { timeSteps: recorded.train } : {}), ...rowsRead(hit.sidecar.flts?.rows_as_read?.train) },
      test: { ...inputs.test, rowsNotAfterTrain: rowsNotAfterTrain ?? hit.sidecar.flts?.test_rows_not_after_train ?? 0, ...(recorded?.test ? { timeSteps: recorded.test } : {}), ...rowsRead(hit.sidecar.flts?.rows_as_read?.test) },
    };
    const [readMs, transformMs] = [found?.readMs ?? 0, found?.transformMs ?? 0];
    const trainStepMs = found ? found.trainStepMs : storedTrainStep(hit.sidecar, data.sampleTrainRows === 0);
    return {
      ...base,
      status,
      createdAt: processedCreatedAt(hit.sidecar),
      inputs: cachedInputs,
      warnings: found?.warnings ?? [...inputWarnings(cachedInputs), ...storedScaleWarnings(hit.sidecar)],
      train: { rows: hit.sidecar.row_count, columns: columns.length },
      ...(trainStepMs !== undefined ? { trainStepMs } : {}),
      test: { rows: hit.testRows, columns: columns.length },
      columns,
      outputKeys,
      ...(reused ? { restoredKeys } : {}),
      timings: { readMs, transformMs, writeMs: reused ? totalMs - readMs - transformMs : 0, totalMs },
    };
  };

  const limits = readTableLimits(data);
  /**
   * A stored version found by its input bytes records its test rows at or before the training end, 0 included, and is
   * taken at its word. One that records nothing was written before test files were checked against the training
   * period (2026-12), or (its sidecar) before 0 was recorded too: its files are read again and checked as processing
   * checks them. Reused unchecked, a test file lying wholly inside the training data went on to eval and backtest as
   * held-out rows, which a first processing of it refuses.
   */
  const checkedOverlap = (recorded: number | undefined): number => {
    if (recorded !== undefined) return recorded;
    const [train, test] = [readTableBytes(trainBytes, files.trainName, limits), readTableBytes(testBytes, files.testName, limits)];
    return assertTestFollowsTrain(test.frame, train.frame, { train: files.trainName, test: files.testName });
  };

  const sampleSeed = seedMatters ? data.sampleSeed : undefined;
  if (data.forceReprocess) {
    // The reference's fields: why, and the config_hash of the data processed last (the root sidecar's), which this
    // replaces; a sidecar that cannot be read names none.
    const previous = await getJsonIfExists<ProcessedSidecar>(deps.store, settings.store.buckets.processed, processedKeys(settings).trainSidecar).catch(() => undefined);
    logger.info({ event: 'force_reprocess', reason: 'forceReprocess', prev_config_hash: previous?.config_hash ?? null, config_hash: configHash }, 'force_reprocess');
  } else {
    const hit = await findCachedOutputs(deps.store, settings, { configHash, fingerprints, sampleSeed });
    if (hit) return keepStored(hit, 'cached', undefined, checkedOverlap(hit.sidecar.flts?.test_rows_not_after_train));
    // Bytes found before to make a stored version's rows: that version, known from their SHA-256 alone.
    const alias = await readInputAlias(deps.store, settings, configHash, { fingerprints, sampleSeed, version: toolVersion() });
    const aliased = alias && (await findStoredContent(deps.store, settings, configHash, alias.data_sha256));
    if (alias && aliased) {
      const asRead = (input: PreprocessInput, recorded: InputAlias['inputs']['train']): PreprocessInput => ({ ...input, unorderedRows: recorded.unordered_rows, ...(recorded.merged_rows !== undefined ? { mergedRows: recorded.merged_rows } : {}), ...(recorded.time_steps ? { timeSteps: recorded.time_steps } : {}) });
      const aliasedInputs = { train: asRead(inputs.train, alias.inputs.train), test: { ...asRead(inputs.test, alias.inputs.test), rowsNotAfterTrain: checkedOverlap(alias.inputs.test.rows_not_after_train) } };
      const warnings = [...inputWarnings(aliasedInputs), ...storedScaleWarnings(aliased.sidecar)];
      logWarnings(logger, warnings);
      return keepStored(aliased, 'unchanged', { inputs: aliasedInputs, warnings, readMs: 0, transformMs: 0, trainStepMs: storedTrainStep(aliased.sidecar, data.sampleTrainRows === 0) });
    }
  }

  // Parsing is the long part of reading (seconds for a large file, and it holds the event loop): said per file, before and after.
  const parse = (role: 'train' | 'test', bytes: Buffer, file: string, filesDone: number): ReadTableResult => {
    emit({ type: 'preprocess.reading', role, file, bytes: bytes.byteLength, files: 2 });
    const table = readTableBytes(bytes, file, limits);
    emit({ type: 'preprocess.read', role, file, rows: table.frame.time.length, columns: table.frame.columns.length, filesDone, files: 2 });
    return table;
  };
  const parsed = [parse('train', trainBytes, files.trainName, 1), parse('test', testBytes, files.testName, 2)] as const;
  const describe = (input: PreprocessInput, table: ReadTableResult): PreprocessInput => ({
    ...input,
    rows: table.frame.time.length,
    columns: table.frame.columns.length,
    droppedColumns: table.droppedColumns,
    mergedRows: table.mergedRows,
    infiniteCells: table.infiniteCells,
    unorderedRows: table.unorderedRows,
    ...(table.timeSteps ? { timeSteps: table.timeSteps } : {}),
  });
  // Before anything is written: a test file wholly inside (or before) the training period is refused.
  const overlapping = assertTestFollowsTrain(parsed[1].frame, parsed[0].frame, { train: files.trainName, test: files.testName });
  for (const [input, table] of [[inputs.train, parsed[0]], [inputs.test, parsed[1]]] as const) {
    if (table.infiniteCells > 0) logger.warn({ event: 'infinite_cells_missing', file: input.file, infinite_cells: table.infiniteCells }, 'infinite_cells_missing');
  }
  const described = { train: describe(inputs.train, parsed[0]), test: { ...describe(inputs.test, parsed[1]), rowsNotAfterTrain: overlapping } };
  const warnings: PreprocessResult['warnings'] = inputWarnings(described);
  logWarnings(logger, warnings);
  const rawTrain = sampleFrame(parsed[0].frame, { rows: data.sampleTrainRows, strategy: data.sampleStrategy, seed: data.sampleSeed });
  const rawTest = sampleFrame(alignTestColumns(parsed[0].frame, parsed[1].frame, files.testName), { rows: data.sampleTestRows, strategy: data.sampleStrategy, seed: data.sampleSeed });
  const read = performance.now();

  const { train, test, scaler, report, indistinct } = runTransformPipeline(rawTrain, rawTest, settings.preprocess);
  const scaleWarnings = indistinct.map(scaledValuesWarning);
  logWarnings(logger, scaleWarnings);
  warnings.push(...scaleWarnings);
  const dataSha256 = processedContentSha256(train, test, scaler);
  const trainStepMs = stepOf(train.time);
  const transformed = performance.now();
  if (!data.forceReprocess) {
    // Input files other in bytes that make the same rows (line endings, number formatting, a column dropped as not
    // numeric): the version stored keeps its created_at, since its rows are not new.
    const same = await findStoredContent(deps.store, settings, configHash, dataSha256);
    if (same) {
      const asRead = (input: PreprocessInput) => ({
        unordered_rows: input.unorderedRows ?? 0,
        merged_rows: input.mergedRows ?? 0,
        ...(input.timeSteps ? { time_steps: input.timeSteps } : {}),
        // Kept for the test file even when 0: an alias without it may be from before the check, and is checked again.
        ...(input.rowsNotAfterTrain !== undefined ? { rows_not_after_train: input.rowsNotAfterTrain } : {}),
      });
      await writeInputAlias(deps.store, settings, configHash, {
        version: toolVersion(),
        data_sha256: dataSha256,
        fingerprints,
        sample_seed: sampleSeed ?? null,
        inputs: { train: asRead(described.train), test: asRead(described.test) },
      });
      return keepStored(same, 'unchanged', { inputs: described, warnings, readMs: read - started, transformMs: transformed - read, trainStepMs });
    }
  }

  const createdAt = (deps.now ?? (() => new Date()))();
  emit({ type: 'preprocess.writing', configHash, trainRows: train.time.length, testRows: test.time.length, columns: train.columns.length });
  const writtenKeys = await writeProcessedOutputs(deps.store, settings, {
    configHash,
    canonicalConfig: canonical,
    train,
    test,
    trainSource: files.trainName,
    testSource: files.testName,
    createdAt,
    extras: {
      version: toolVersion(),
      fingerprints,
      sample_seed: data.sampleSeed,
      sample_strategy: data.sampleStrategy,
      scaler,
      time_column: TIME_COLUMN,
      dropped_columns: [...parsed[0].droppedColumns, ...report.droppedColumns],
      imputed_cells: report.imputedCells.train + report.imputedCells.test,
      merged_rows: parsed[0].mergedRows + parsed[1].mergedRows,
      infinite_cells: parsed[0].infiniteCells + parsed[1].infiniteCells,
      unordered_rows: parsed[0].unorderedRows + parsed[1].unorderedRows,
      rows_as_read: {
        train: { unordered_rows: parsed[0].unorderedRows, merged_rows: parsed[0].mergedRows },
        test: { unordered_rows: parsed[1].unorderedRows, merged_rows: parsed[1].mergedRows },
      },
      time_steps: { ...(parsed[0].timeSteps ? { train: parsed[0].timeSteps } : {}), ...(parsed[1].timeSteps ? { test: parsed[1].timeSteps } : {}) },
      data_sha256: dataSha256,
      ...(trainStepMs !== undefined ? { train_step_ms: trainStepMs } : {}),
      // 0 included: a cached run takes the sidecar at its word, and reads the files again only when it lacks the count.
      test_rows_not_after_train: overlapping,
      scaled_values_indistinct: indistinct,
    },
  }, deps.scratchDir);
  const finished = performance.now();
  const timings = { readMs: read - started, transformMs: transformed - read, writeMs: finished - transformed, totalMs: finished - started };
  // The reference preprocessor's own event name (reference-system.md 2.6), kept so that its log alerts read flts's lines too.
  logger.info({ event: 'success', config_hash: configHash, duration_ms: Math.round(timings.totalMs), result: 'ok' }, 'success');
  emit({ type: 'preprocess.done', configHash, durationMs: timings.totalMs });
  return {
    ...base,
    status: 'processed',
    createdAt: createdAt.toISOString(),
    inputs: described,
    train: { rows: train.time.length, columns: train.columns.length },
    ...(trainStepMs !== undefined ? { trainStepMs } : {}),
    test: { rows: test.time.length, columns: test.columns.length },
    columns: [...train.columns],
    outputKeys: writtenKeys,
    report,
    warnings,
    timings,
  };
}
