import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import type { ModelType } from '../../src/core/models/forecast-model.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { putJson } from '../../src/core/storage/json-objects.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { trainModels } from '../../src/core/workflows/train.js';

/** The reference datasets, read in place beside the repository. */
export const DATASETS = path.resolve(__dirname, '../../../shared/datasets');

export interface SliceHome {
  home: string;
  store: ObjectStore;
  settings: Settings;
  /** The flags the settings were resolved from: another version's settings for the same home start from them. */
  flags: Readonly<Record<string, unknown>>;
  /** Removes the home (retrying while servers finish their last writes). */
  remove(): void;
}

/**
 * A temporary home with a filesystem store, and settings for a small slice of PobleSec and a tiny network
 * (1 layer x 8 units, 1 epoch), so a test trains real models in seconds. `flags` add to or override these.
 */
export function createSliceHome(prefix: string, flags: Readonly<Record<string, unknown>> = {}): SliceHome {
  const home = mkdtempSync(path.join(os.tmpdir(), prefix));
  const sliceFlags = {
    home,
    'data.dataDir': DATASETS,
    'data.trainFile': 'PobleSec.csv',
    'data.testFile': 'PobleSec_test.csv',
    'data.sampleTrainRows': 400,
    'data.sampleTestRows': 150,
    'training.epochs': 1,
    'training.hiddenSize': 8,
    'training.numLayers': 1,
    ...flags,
  };
  const settings = resolveSettings({ flags: sliceFlags }).settings;
  return {
    home,
    flags: sliceFlags,
    store: createFsStore(path.join(home, 'store')),
    settings,
    remove: () => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }),
  };
}

export interface TrainedHome extends SliceHome {
  /** The runs trained, in the order of the models asked for. */
  runs: RunRecord[];
}

/**
 * A slice home whose data is preprocessed and `models` trained on it, the first run promoted through the root
 * pointer: what `flts serve` (or a library caller) finds after `flts preprocess`, `flts train` and reference eval.
 */
export async function createTrainedHome(prefix: string, models: ModelType[], flags: Readonly<Record<string, unknown>> = {}): Promise<TrainedHome> {
  const slice = createSliceHome(prefix, { 'training.models': models, ...flags });
  try {
    await runPreprocess(slice.settings, { store: slice.store });
    const { runs } = await trainModels({ models }, slice.settings, { store: slice.store });
    await writeRootPointer(slice.store, slice.settings, runs[0]);
    return { ...slice, runs };
  } catch (error) {
    slice.remove();
    throw error;
  }
}

/** A reference-shaped promotion record for `run`, written where reference eval writes the root pointer. */
export async function writeRootPointer(store: ObjectStore, settings: Settings, run: Pick<RunRecord, 'run_id' | 'config_hash' | 'model_type'>): Promise<void> {
  const record: PromotionRecord = {
    identifier: '',
    config_hash: run.config_hash,
    run_id: run.run_id,
    model_type: run.model_type,
    experiment: 'Default',
    model_uri: `runs:/${run.run_id}/${run.model_type}`,
    rmse: null,
    mae: null,
    mse: null,
    score: null,
    timestamp: new Date().toISOString(),
    weights: { rmse: 0.5, mae: 0.3, mse: 0.2 },
    source: 'manual',
    previous_run_id: null,
    reason: 'test',
  };
  await putJson(store, settings.store.buckets.promotion, 'current.json', record);
}

let rawTestLines: string[] | undefined;

/** `rows` rows of the raw PobleSec test file from row `from`, column-oriented as a request sends them. */
export function rawTestRows(rows: number, from = 0): Record<string, Array<string | number>> {
  rawTestLines ??= readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').trim().split('\n');
  const [header, ...lines] = rawTestLines;
  const names = header.split(',');
  const data: Record<string, Array<string | number>> = Object.fromEntries(names.map((name) => [name, []]));
  for (const line of lines.slice(from, from + rows)) line.split(',').forEach((cell, c) => data[names[c]].push(c === 0 ? cell : Number(cell)));
  return data;
}
