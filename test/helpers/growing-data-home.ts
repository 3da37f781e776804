import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATASETS } from './poblesec-slice.js';

const TRAIN_LINES = readFileSync(path.join(DATASETS, 'PobleSec.csv'), 'utf8').trim().split('\n');
const TEST_LINES = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').trim().split('\n');

/** A temporary CLI home whose data folder holds train.csv and test.csv: new rows written under the same names. */
export interface GrowingDataHome {
  /** The environment of a CLI run on this home: its store, its data folder and the two file names. */
  env: Record<string, string>;
  /** Writes the header and the first `rows` rows of PobleSec as train.csv (the same name every time), 100 test rows as test.csv. */
  writeInputs(rows: number): void;
  remove(): void;
}

export function createGrowingDataHome(prefix: string): GrowingDataHome {
  const home = mkdtempSync(path.join(os.tmpdir(), prefix));
  const data = path.join(home, 'data');
  mkdirSync(data);
  return {
    env: { FLTS_HOME: home, FLTS_DATA_DIR: data, TRAIN_FILE: 'train.csv', TEST_FILE: 'test.csv' },
    writeInputs(rows) {
      writeFileSync(path.join(data, 'train.csv'), `${TRAIN_LINES.slice(0, rows + 1).join('\n')}\n`);
      writeFileSync(path.join(data, 'test.csv'), `${TEST_LINES.slice(0, 101).join('\n')}\n`);
    },
    remove: () => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }),
  };
}
