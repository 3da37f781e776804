import { describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../config/settings.js';
import { modelTypesTooShort, trainingRowsNeeded, trainingRowsProblem } from './training-rows.js';
import { syntheticProcessedData } from './synthetic-data.fixture.js';

function settingsWith(flags: Record<string, unknown> = {}): Settings {
  return resolveSettings({ flags: { 'training.targets': ['down'], ...flags } }).settings;
}

describe('core > train > training-rows', () => {
  it('a window needs one window to fit and one for the validation tail', () => {
    expect(trainingRowsNeeded({ inputSeqLen: 10, outputSeqLen: 1 })).toBe(12);
    expect(trainingRowsNeeded({ inputSeqLen: 1, outputSeqLen: 1 })).toBe(3);
  });

  it.each(['NAIVE', 'PROPHET', 'LSTM', 'GRU'] as const)('%s: INPUT_SEQ_LEN + OUTPUT_SEQ_LEN + 1 training rows train, one fewer is refused naming both and the sample', (modelType) => {
    const settings = settingsWith({ 'training.inputSeqLen': 20, 'training.outputSeqLen': 3 });
    expect(trainingRowsProblem(modelType, syntheticProcessedData(24, 10), settings)).toBeUndefined();
    const problem = trainingRowsProblem(modelType, syntheticProcessedData(23, 10), settings);
    expect(problem).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { modelType, rows: 23, needed: 24, setting: 'data.sampleTrainRows' } });
    expect(problem?.message).toMatch(/needs at least 24 training rows.*has 23\..*SAMPLE_TRAIN_ROWS.*INPUT_SEQ_LEN or OUTPUT_SEQ_LEN/);
  });

  it('SNAIVE needs a day of rows (its season) whatever INPUT_SEQ_LEN says; MSTL the rows it smooths', () => {
    const settings = settingsWith({ 'training.inputSeqLen': 2 });
    // The synthetic series steps every 2 minutes: a day is 720 rows.
    expect(trainingRowsProblem('SNAIVE', syntheticProcessedData(721, 10), settings)).toMatchObject({ details: { needed: 722, inputSeqLen: 720 } });
    expect(trainingRowsProblem('SNAIVE', syntheticProcessedData(722, 10), settings)).toBeUndefined();
    expect(trainingRowsProblem('MSTL', syntheticProcessedData(31, 10), settings)).toMatchObject({ details: { needed: 32, inputSeqLen: 30 } });
    expect(trainingRowsProblem('MSTL', syntheticProcessedData(32, 10), settings)).toBeUndefined();
  });

  it('one training row is refused for every type, SNAIVE included (no series step to read a day from)', () => {
    for (const modelType of ['NAIVE', 'SNAIVE', 'MSTL'] as const) {
      expect(trainingRowsProblem(modelType, syntheticProcessedData(1, 10), settingsWith())).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { rows: 1, needed: 3 } });
    }
  });

  it('test rows fewer than the horizon leave nothing to score: refused naming SAMPLE_TEST_ROWS and OUTPUT_SEQ_LEN', () => {
    const settings = settingsWith({ 'training.outputSeqLen': 6 });
    expect(trainingRowsProblem('NAIVE', syntheticProcessedData(100, 6), settings)).toBeUndefined();
    const problem = trainingRowsProblem('NAIVE', syntheticProcessedData(100, 5), settings);
    expect(problem).toMatchObject({ code: 'FLTS_MODEL_TOO_FEW_ROWS', details: { testRows: 5, needed: 6, setting: 'data.sampleTestRows' } });
    expect(problem?.message).toMatch(/SAMPLE_TEST_ROWS.*OUTPUT_SEQ_LEN/);
  });

  it('a SNAIVE horizon past its season is the setting error it always was, found before training', () => {
    expect(trainingRowsProblem('SNAIVE', syntheticProcessedData(2000, 800), settingsWith({ 'training.outputSeqLen': 721 }))).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
  });

  it('names the model types to train that a number of processed rows cannot carry, SNAIVE a day of rows at the step given', () => {
    const training = settingsWith({ 'training.inputSeqLen': 10, 'training.outputSeqLen': 2 }).training;
    expect(modelTypesTooShort(12, { ...training, models: ['NAIVE', 'SNAIVE', 'MSTL', 'LSTM'] }, 120_000)).toEqual([
      { modelType: 'NAIVE', needed: 13 },
      { modelType: 'SNAIVE', needed: 723 },
      { modelType: 'MSTL', needed: 33 },
      { modelType: 'LSTM', needed: 13 },
    ]);
    expect(modelTypesTooShort(13, { ...training, models: ['NAIVE', 'SNAIVE'] }, 3_600_000)).toEqual([{ modelType: 'SNAIVE', needed: 27 }]);
    expect(modelTypesTooShort(27, { ...training, models: ['NAIVE', 'SNAIVE'] }, 3_600_000)).toEqual([]);
    // Without a step (a single row) there is no day to count: SNAIVE is left to training, which refuses the row.
    expect(modelTypesTooShort(13, { ...training, models: ['NAIVE', 'SNAIVE'] })).toEqual([]);
  });

  it('counts SNAIVE\'s day as its preflight does: the rows one fewer than it asks are the ones it refuses', () => {
    const settings = settingsWith({ 'training.inputSeqLen': 2 });
    const data = syntheticProcessedData(721, 10);
    const stepMs = data.train.time[1] - data.train.time[0];
    expect(modelTypesTooShort(721, { ...settings.training, models: ['SNAIVE'] }, stepMs)).toEqual([{ modelType: 'SNAIVE', needed: 722 }]);
    expect(trainingRowsProblem('SNAIVE', data, settings)).toMatchObject({ details: { needed: 722 } });
  });

  it('a target that is no processed column is refused before its rows are counted', () => {
    expect(trainingRowsProblem('NAIVE', syntheticProcessedData(100, 10), settingsWith({ 'training.targets': ['time'] }))).toMatchObject({ code: 'FLTS_MODEL_TARGET_MISSING', details: { missing: ['time'] } });
  });
});
