import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { resolveSettings } from './settings.js';
import { ALL_SPECS } from './specs/index.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof FltsError ? error.code : 'not an FltsError';
  }
  return undefined;
}

/**
 * Numbers that are no size: where any value only changes a result, or the data bounds what they can do
 * (a sample of more rows than the file has keeps them all; a fold stride past the test period leaves one fold).
 */
const UNBOUNDED_BY_DESIGN = new Set([
  'training.seed',
  'data.sampleSeed',
  'training.learningRate',
  'training.prophet.changepointPriorScale',
  'training.prophet.seasonalityPriorScale',
  'preprocess.outliers.factor',
  'eval.minImprovementPct',
  'bus.replicationFactor',
  'data.sampleTrainRows',
  'data.sampleTestRows',
  'backtest.stride',
  'backtest.folds',
  'backtest.refitEvery',
]);

/** Node turns a timer past 2^31 - 1 ms into 1 ms: a poll interval of 25 days would poll a thousand times a second. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

describe('every size a setting controls has an upper bound', () => {
  it('each integer or number setting declares a max, unless it is no size', () => {
    const unbounded = ALL_SPECS.filter((spec) => (spec.type === 'integer' || spec.type === 'number') && spec.max === undefined && !UNBOUNDED_BY_DESIGN.has(spec.path)).map((spec) => spec.path);
    expect(unbounded).toEqual([]);
  });

  it('no millisecond setting accepts a timer Node cannot hold', () => {
    const tooLong = ALL_SPECS.filter((spec) => /Ms$/.test(spec.path) && (spec.max === undefined || spec.max > LONGEST_TIMER_MS)).map((spec) => spec.path);
    expect(tooLong).toEqual([]);
  });

  it.each([
    ['HIDDEN_SIZE', '2048', '2049'],
    ['NUM_LAYERS', '8', '9'],
    ['INPUT_SEQ_LEN', '10000', '10001'],
    ['OUTPUT_SEQ_LEN', '10000', '10001'],
    ['BATCH_SIZE', '1000000', '1000001'],
    ['EPOCHS', '10000', '10001'],
    ['PATIENCE', '10000', '10001'],
    ['FLTS_REFIT_EPOCHS', '10000', '10001'],
    ['N_CHANGEPOINTS', '1000', '1001'],
    ['PROMOTION_SCOREBOARD_LIMIT', '10000', '10001'],
    ['EVAL_PLOT_TOP', '100', '101'],
    ['FLTS_EVAL_PLOT_TOP', '100', '101'],
    ['QUALITY_GATE_MIN_IMPROVEMENT_PCT', '100', '100.5'],
    ['PREDICT_MAX_ERROR_STEPS', '10000', '10001'],
    ['PREDICT_LOG_FEATURE_LIMIT', '1000', '1001'],
    ['FLTS_BACKTEST_HORIZON', '10000', '10001'],
    ['FLTS_BACKTEST_REFIT_EPOCHS', '10000', '10001'],
    ['NANS_KNN', '1000', '1001'],
    ['LAGS_N', '256', '257'],
    ['LAGS_STEP', '1000000', '1000001'],
    ['FLTS_DATA_MAX_INPUT_BYTES', '2147483647', '2147483648'],
    ['FLTS_SERVE_POLL_INTERVAL_MS', '86400000', '3000000000'],
    ['FLTS_SERVE_RETRY_FAILED_MS', '86400000', '86400001'],
    ['FLTS_SERVE_BODY_LIMIT_BYTES', '268435456', '268435457'],
    ['FLTS_SERVE_PREDICTION_LOG_FLUSH_MS', '3600000', '3600001'],
    ['FLTS_SERVE_PREDICTION_LOG_MAX_BUFFERED', '10000000', '10000001'],
    ['FLTS_LIVE_REPORT_INTERVAL_MS', '3600000', '3600001'],
    ['FLTS_DAEMON_HEARTBEAT_MS', '3600000', '3600001'],
    ['FLTS_DAEMON_LEASE_STALE_MS', '86400000', '86400001'],
    ['FLTS_DAEMON_RESYNC_INTERVAL_MS', '86400000', '86400001'],
    ['FLTS_KAFKA_CONNECTION_TIMEOUT_MS', '600000', '600001'],
    ['FLTS_BUS_RETRY_BACKOFF_MS', '3600000', '3600001'],
    ['FLTS_BUS_RETRY_MAX_BACKOFF_MS', '3600000', '3600001'],
  ])('%s accepts %s and refuses %s with a coded error naming the limit', (env, largest, over) => {
    expect(codeOf(() => resolveSettings({ env: { [env]: largest } }))).toBeUndefined();
    let message = '';
    try {
      resolveSettings({ env: { [env]: over } });
    } catch (error) {
      expect((error as FltsError).code).toBe('FLTS_CONFIG_INVALID_VALUE');
      message = (error as FltsError).message;
    }
    expect(message).toContain(env);
    expect(message.replace(/_/g, '')).toContain(`${largest}]`);
  });

  it('an integer past 2^53 is refused rather than read as a nearby number', () => {
    expect(codeOf(() => resolveSettings({ env: { FLTS_BACKTEST_FOLDS: '99999999999999999999' } }))).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(codeOf(() => resolveSettings({ env: { SEED: '9007199254740993' } }))).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(codeOf(() => resolveSettings({ file: { training: { seed: 2 ** 60 } } }))).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(resolveSettings({ env: { SEED: '9007199254740991' } }).settings.training.seed).toBe(9007199254740991);
  });

  it('a number in hexadecimal, binary or octal notation is refused rather than read as 16, 3 or 7', () => {
    for (const text of ['0x10', '0b11', '0o7', '1_0', '.', '1e', 'e3']) {
      expect(codeOf(() => resolveSettings({ env: { LEARNING_RATE: text } })), text).toBe('FLTS_CONFIG_INVALID_VALUE');
    }
    expect(codeOf(() => resolveSettings({ env: { FLTS_INTERVAL_LEVELS: '0.8,0x0' } }))).toBe('FLTS_CONFIG_INVALID_VALUE');
    for (const [text, value] of [['0.5', 0.5], [' .5 ', 0.5], ['5.', 5], ['1e-3', 0.001], ['+2E2', 200]] as const) {
      expect(resolveSettings({ env: { LEARNING_RATE: text } }).settings.training.learningRate, text).toBe(value);
    }
  });

  it("Prophet's changepoint range and prior scales are above 0, as augurs takes them (0 failed the training it started)", () => {
    for (const name of ['CHANGEPOINT_RANGE', 'CHANGEPOINT_PRIOR_SCALE', 'SEASONALITY_PRIOR_SCALE']) {
      expect(codeOf(() => resolveSettings({ env: { [name]: '0' } })), name).toBe('FLTS_CONFIG_INVALID_VALUE');
      expect(codeOf(() => resolveSettings({ env: { [name]: '0.001' } })), name).toBeUndefined();
    }
    expect(codeOf(() => resolveSettings({ file: { training: { prophet: { changepointRange: 0 } } } }))).toBe('FLTS_CONFIG_INVALID_VALUE');
  });

  it('at most 50 interval levels: each one multiplies what every forecast stores and returns', () => {
    const levels = (n: number) => Array.from({ length: n }, (_, i) => ((i + 1) / (n + 1)).toFixed(4)).join(',');
    expect(resolveSettings({ env: { FLTS_INTERVAL_LEVELS: levels(50) } }).settings.eval.intervalLevels).toHaveLength(50);
    let message = '';
    try {
      resolveSettings({ env: { FLTS_INTERVAL_LEVELS: levels(51) } });
    } catch (error) {
      expect((error as FltsError).code).toBe('FLTS_CONFIG_INVALID_VALUE');
      message = (error as FltsError).message;
    }
    expect(message).toMatch(/at most 50 .*\(51 given\)/);
  });
});
