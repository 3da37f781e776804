import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchFolders } from '../../../test/helpers/scratch-folders.js';
import { defaultSettings, resolveSettings } from '../config/settings.js';
import { assertDataToCutFrom, benchPayloadFile, dataNamedBy } from './payload-file.js';

const mkdtemp = scratchFolders();
const EXAMPLE_TEST = /examples[/\\]data[/\\]example_test\.csv$/;

/** A data directory holding only the default dataset's test file (PobleSec_test.csv). */
async function dataDirWithDefaultTestFile(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-payload-file-'));
  await writeFile(path.join(dir, 'PobleSec_test.csv'), 'time,down\n2024-01-01 00:00:00,1\n');
  return dir;
}

describe('core > bench > payload file', () => {
  it('finds the test file the served run was trained with by its name, and says it is the run\'s', () => {
    const data = defaultSettings().data;
    // Before, the run's file was not looked for: the default dataset's PobleSec_test.csv was, and was missing here.
    expect(benchPayloadFile(data, { trainedWith: 'example_test.csv' })).toMatchObject({ path: expect.stringMatching(EXAMPLE_TEST), origin: 'served-run', why: 'the test file the served run was trained with' });
    expect(benchPayloadFile(data, { trainedWith: '/elsewhere/example_test.csv' }).path).toMatch(EXAMPLE_TEST);
  });

  it('cuts from the data the settings name, saying what named it, even when the run\'s own file is there', () => {
    const data = { ...defaultSettings().data, datasetName: 'example' };
    const chosen = benchPayloadFile(data, { namedBy: '--dataset', trainedWith: 'PobleSec_test.csv' });
    expect(chosen).toEqual({ path: expect.stringMatching(EXAMPLE_TEST), origin: 'named', why: 'named by --dataset' });
  });

  it('says the rows come from the default dataset because the run\'s own file was not found, where it looked, and what to do', async () => {
    const dir = await dataDirWithDefaultTestFile();
    // Before, the default file was taken silently: nothing told the rows came from another dataset than the run's.
    const chosen = benchPayloadFile({ ...defaultSettings().data, dataDir: dir }, { trainedWith: '/store/gone_test.csv' });
    expect(chosen).toMatchObject({ path: path.join(dir, 'PobleSec_test.csv'), origin: 'default' });
    expect(chosen.why).toBe(`the default dataset's test file, because the served run's own test file gone_test.csv was not found (looked in ${dir})`);
    expect(chosen.hint).toContain('gone_test.csv');
    expect(chosen.hint).toContain('--dataset NAME');
    const unknown = benchPayloadFile({ ...defaultSettings().data, dataDir: dir });
    expect(unknown).toEqual({ path: path.join(dir, 'PobleSec_test.csv'), origin: 'default', why: expect.stringContaining('the served run\'s own test file is not known') });
  });

  it('refuses, with nothing named, a data directory that does not exist or holds no file, since no run\'s test file can be there', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'flts-payload-file-'));
    const missing = path.join(empty, 'nosuch');
    const refusal = (dataDir: string) => {
      try {
        assertDataToCutFrom({ ...defaultSettings().data, dataDir });
      } catch (error) {
        return error as { code: string; message: string; hint: string; details: Record<string, unknown> };
      }
    };
    expect(refusal(missing)).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', message: `Request rows: no data file to cut them from: ${missing} does not exist.`, details: { searched: [missing] } });
    expect(refusal(empty)).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', message: `Request rows: no data file to cut them from: ${empty} holds no file.` });
    expect(refusal(empty)?.hint).toContain('--dataset NAME');
    // Any file will do: the served run's test file may be named anything, and is judged once the registry names it.
    await writeFile(path.join(empty, 'holdout.csv'), 'time,down\n');
    expect(refusal(empty)).toBeUndefined();
    // Without FLTS_DATA_DIR the example data is always there to look in.
    expect(() => assertDataToCutFrom(defaultSettings().data)).not.toThrow();
  });

  it('refuses a missing test file naming where it looked, the run\'s own file too, and how to name the data', async () => {
    const data = defaultSettings().data;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'flts-payload-file-'));
    const refusal = (trainedWith?: string) => {
      try {
        benchPayloadFile({ ...data, dataDir: dir }, { trainedWith });
      } catch (error) {
        return error as { code: string; message: string; hint: string; details: Record<string, unknown> };
      }
    };
    expect(refusal()).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', message: `Request rows: data file PobleSec_test.csv not found; looked in ${dir}` });
    expect(refusal()?.hint).toContain('--dataset NAME');
    expect(refusal()?.hint).not.toContain('--train');
    expect(refusal('gone_test.csv')).toMatchObject({ message: `Request rows: data file PobleSec_test.csv not found (nor the served run's own test file gone_test.csv); looked in ${dir}`, details: { run_test_file: 'gone_test.csv' } });
  });

  it('names what named the data: the flag, the environment variable or the config file, a test file before a dataset', () => {
    const named = (layers: Parameters<typeof resolveSettings>[0]) => dataNamedBy(resolveSettings(layers));
    expect(named({ env: {} })).toBeUndefined();
    expect(named({ env: {}, flags: { 'data.datasetName': 'example' } })).toBe('--dataset');
    expect(named({ env: { DATASET_NAME: 'example' } })).toBe('DATASET_NAME');
    expect(named({ env: { DATASET_NAME: 'example', TEST_FILE: 'x_test.csv' } })).toBe('TEST_FILE');
    expect(named({ env: {}, file: { data: { testFile: 'x_test.csv' } } })).toBe('data.testFile of the config file');
  });
});
