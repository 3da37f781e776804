import { existsSync, opendirSync } from 'node:fs';
import path from 'node:path';
import { dataDirectories, resolveDataFiles } from '../config/config-hash.js';
import type { DataSettings } from '../config/specs/data.js';
import type { SettingSource } from '../config/specs/setting-spec.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import { readPayloadFrame } from './request-payloads.js';

/**
 * Where the request rows come from: the data the settings name, the test file the served run was trained with, or
 * the default dataset's test file when neither is there to use.
 */
export type PayloadFileOrigin = 'named' | 'served-run' | 'default';

/** The test file request bodies are cut from, and why that one: a benchmark of a model on other data is not one. */
export interface BenchPayloadFile {
  path: string;
  origin: PayloadFileOrigin;
  /** Why this file, in words (what named it, or why the served run's own file was not used). */
  why: string;
  /** What to do about it, when the rows come from the default dataset although the served run names its own file. */
  hint?: string;
  /** Its rows, when read already (`readBenchPayloadFile`). */
  frame?: TimeFrame;
}

/**
 * The payload file with its rows read: a file named up front is read before the registry is, so a directory, an
 * empty file, a header alone or an unknown separator is refused as such, before a missing promotion is reported.
 */
export async function readBenchPayloadFile(payloadFile: BenchPayloadFile, maxBytes?: number): Promise<BenchPayloadFile> {
  return { ...payloadFile, frame: await readPayloadFrame(payloadFile.path, maxBytes) };
}

export interface PayloadFileChoice {
  /** What names the data in the settings (e.g. `--dataset`, `TEST_FILE`); undefined when they name none. */
  namedBy?: string;
  /** The test file the served run was trained with, by name, when the registry records it. */
  trainedWith?: string;
}

/**
 * What names the data of the settings, in the user's words (the flag, the environment variable, the config file),
 * from where each data setting came; undefined when both are defaults. A test file wins over a dataset name.
 */
export function dataNamedBy(resolved: { sources: Record<string, SettingSource>; envNames: Record<string, string> }): string | undefined {
  for (const [setting, flag] of [['data.testFile', undefined], ['data.datasetName', '--dataset']] as const) {
    const source = resolved.sources[setting] ?? 'default';
    if (source === 'flag') return flag ?? setting;
    if (source === 'env') return resolved.envNames[setting] ?? setting;
    if (source === 'file') return `${setting} of the config file`;
  }
  return undefined;
}

/**
 * With no data named, the rows come from the served run's own test file, whose name only the registry (or the
 * --target service) knows; but where the directories looked in hold no file at all (a misspelt or empty
 * FLTS_DATA_DIR), none is found whichever run is served: refused before the registry or the target is asked anything,
 * rather than after a missing promotion or an unreachable target is reported.
 */
export function assertDataToCutFrom(data: DataSettings): void {
  const searched = dataDirectories(data);
  if (searched.some(holdsAFile)) return;
  const why = searched.map((directory) => `${directory} ${existsSync(directory) ? 'holds no file' : 'does not exist'}`).join(', ');
  throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Request rows: no data file to cut them from: ${why}.`, { details: { searched }, hint: REQUEST_DATA_HINT });
}

function holdsAFile(directory: string): boolean {
  try {
    const entries = opendirSync(directory);
    try {
      // A link may lead to the file; what it leads to is read, and judged, once a file is chosen.
      for (let entry = entries.readSync(); entry !== null; entry = entries.readSync()) if (entry.isFile() || entry.isSymbolicLink()) return true;
      return false;
    } finally {
      entries.closeSync();
    }
  } catch {
    // Not there, not a directory, or not readable: no file of it can be read either.
    return false;
  }
}

const REQUEST_DATA_HINT = 'Request bodies are cut from a test file with the served run\'s columns: name its dataset as for `flts preprocess` (--dataset NAME or DATASET_NAME for NAME_test.csv, or TEST_FILE; FLTS_DATA_DIR for its directory).';

/**
 * The test file request bodies are cut from: the data the settings name (`namedBy`) wins; else the test file the
 * served run was trained with (by name, looked for where the data settings look), since the default dataset
 * (PobleSec) rarely matches the data a served run was trained on; else, or when that file is not found, the default
 * dataset's test file, saying so. Refused before any replica starts when missing, naming where it was looked for
 * (the data-file hint speaks of flags bench does not have).
 */
export function benchPayloadFile(data: DataSettings, choice: PayloadFileChoice = {}): BenchPayloadFile {
  // A name only: a run record read from a shared store names no directory of this machine.
  const runFile = !choice.namedBy && choice.trainedWith ? path.basename(choice.trainedWith) : undefined;
  if (runFile) {
    const trained = resolveDataFiles({ ...data, testFile: runFile });
    if (existsSync(trained.testPath)) return { path: trained.testPath, origin: 'served-run', why: 'the test file the served run was trained with' };
  }
  const files = resolveDataFiles(data);
  if (existsSync(files.testPath)) {
    if (choice.namedBy) return { path: files.testPath, origin: 'named', why: `named by ${choice.namedBy}` };
    if (!runFile) return { path: files.testPath, origin: 'default', why: 'the default dataset\'s test file: no data is named and the served run\'s own test file is not known' };
    return {
      path: files.testPath,
      origin: 'default',
      why: `the default dataset's test file, because the served run's own test file ${runFile} was not found (looked in ${files.searched.join(', ')})`,
      hint: `Put ${runFile} where the data is looked for (FLTS_DATA_DIR), or name the request data: --dataset NAME (NAME_test.csv) or TEST_FILE.`,
    };
  }
  const given = data.testFile || files.testName;
  const where = path.isAbsolute(given) ? '' : `; looked in ${files.searched.join(', ')}`;
  const missingRunFile = runFile ? ` (nor the served run's own test file ${runFile})` : '';
  throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Request rows: data file ${given} not found${missingRunFile}${where}`, {
    details: { file: given, searched: files.searched, ...(runFile ? { run_test_file: runFile } : {}) },
    hint: REQUEST_DATA_HINT,
  });
}
