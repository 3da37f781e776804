import type { TimeFrame } from '../data/time-frame.js';
import { formatTimestamp } from '../data/timestamps.js';
import { FltsError } from '../errors.js';

/** Test rows at or before the training file's last time: held-out metrics would score rows the models trained on. */
export interface TestOverlapWarning {
  code: 'test_overlaps_train';
  message: string;
  details: { file: string; train_file: string; rows_not_after_train: number };
}

/** Test rows at or before the last training time (both frames in time order, as read). */
export function rowsNotAfterTrain(test: TimeFrame, train: TimeFrame): number {
  const trainEnd = train.time[train.time.length - 1];
  let rows = 0;
  for (const time of test.time) if (time <= trainEnd) rows++;
  return rows;
}

const span = (frame: TimeFrame): string => `${formatTimestamp(frame.time[0])} to ${formatTimestamp(frame.time[frame.time.length - 1])}`;

/**
 * Refuses a test file none of whose rows comes after the training file's last time: eval would score rows the models
 * trained on, and backtest would append rows whose times run backwards after the training tail. Some rows at or
 * before it (a split that repeats the boundary row) stay a warning.
 */
export function assertTestFollowsTrain(test: TimeFrame, train: TimeFrame, files: { train: string; test: string }): number {
  const overlapping = rowsNotAfterTrain(test, train);
  if (test.time.length === 0 || train.time.length === 0 || overlapping < test.time.length) return overlapping;
  throw new FltsError(
    'FLTS_DATA_TEST_OVERLAPS_TRAIN',
    `${files.test} (${span(test)}) has no row after the last time of ${files.train} (${span(train)}): all ${test.time.length} of its rows lie at or before the end of the training data.`,
    {
      details: {
        train_file: files.train,
        test_file: files.test,
        train_from: formatTimestamp(train.time[0]),
        train_to: formatTimestamp(train.time[train.time.length - 1]),
        test_from: formatTimestamp(test.time[0]),
        test_to: formatTimestamp(test.time[test.time.length - 1]),
      },
    },
  );
}

/** The warning for `rows` test rows at or before the last training time; undefined for none. */
export function testOverlapWarning(rows: number, files: { train: string; test: string }): TestOverlapWarning | undefined {
  if (rows === 0) return undefined;
  return {
    code: 'test_overlaps_train',
    message: `${rows} row(s) of ${files.test} are not after the last time of ${files.train}: held-out metrics (eval, backtest) will include rows the models trained on.`,
    details: { file: files.test, train_file: files.train, rows_not_after_train: rows },
  };
}
