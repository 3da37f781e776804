import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { resolveSettings } from './settings.js';

function errorOf(fn: () => unknown): FltsError {
  try {
    fn();
  } catch (error) {
    return error as FltsError;
  }
  throw new Error('expected an error');
}

describe('core > config > settings', () => {
  it('layers defaults < file < env < flags', () => {
    const file = { data: { sampleTrainRows: 10, sampleTestRows: 20 }, preprocess: { outliers: { factor: 2 } } };
    const { settings, sources } = resolveSettings({ file, env: { SAMPLE_TEST_ROWS: '30', CLIP_FACTOR: '3' }, flags: { 'preprocess.outliers.factor': 4 } });
    expect(settings.data.sampleTrainRows).toBe(10);
    expect(sources['data.sampleTrainRows']).toBe('file');
    expect(settings.data.sampleTestRows).toBe(30);
    expect(sources['data.sampleTestRows']).toBe('env');
    expect(settings.preprocess.outliers.factor).toBe(4);
    expect(sources['preprocess.outliers.factor']).toBe('flag');
    expect(settings.preprocess.handleNans.threshold).toBe(0.33);
  });

  it('parses the reference env spellings: booleans, lower-cased choices, stripped scaler, empty scaler', () => {
    const { settings } = resolveSettings({ env: { HANDLE_NANS: 'Off', CLIP_METHOD: 'PERCENTILE', SCALER: ' StandardScaler ', TIME_FEATURES_ENABLE: 'yes' } });
    expect(settings.preprocess.handleNans.enabled).toBe(false);
    expect(settings.preprocess.outliers.method).toBe('percentile');
    expect(settings.preprocess.scaling.method).toBe('StandardScaler');
    expect(settings.preprocess.timeFeatures.enabled).toBe(true);
    expect(resolveSettings({ env: { SCALER: '' } }).settings.preprocess.scaling.method).toBe('');
  });

  it.each([
    [{ SAMPLE_TRAIN_ROWS: 'fifty' }, 'SAMPLE_TRAIN_ROWS', 'an integer'],
    [{ SAMPLE_STRATEGY: 'tail' }, 'SAMPLE_STRATEGY', '"head", "random"'],
    [{ SCALER: 'ZScaler' }, 'SCALER', '"MinMaxScaler"'],
    [{ HANDLE_NANS: 'maybe' }, 'HANDLE_NANS', 'a boolean'],
    [{ NANS_THRESHOLD: '1.5' }, 'NANS_THRESHOLD', '[0, 1]'],
    [{ FLTS_INTERVAL_LEVELS: 'abc' }, 'FLTS_INTERVAL_LEVELS', 'numbers in (0, 1)'],
    [{ FLTS_INTERVAL_LEVELS: '0' }, 'FLTS_INTERVAL_LEVELS', 'numbers in (0, 1)'],
    [{ FLTS_INTERVAL_LEVELS: '0.8,1' }, 'FLTS_INTERVAL_LEVELS', 'numbers in (0, 1)'],
    [{ FLTS_INTERVAL_LEVELS: '1.5' }, 'FLTS_INTERVAL_LEVELS', 'eval.intervalLevels'],
    [{ TARGETS: 'down, down' }, 'TARGETS', '"down" is given more than once'],
    // A repeated role was quietly run once, while a repeated target was refused: both are refused now.
    [{ FLTS_DAEMON_ROLES: 'trainer,promoter,TRAINER' }, 'FLTS_DAEMON_ROLES', '"trainer" is given more than once'],
    [{ EXPECTED_MODEL_TYPES: 'LSTM,GRUU' }, 'EXPECTED_MODEL_TYPES', '"PROPHET"'],
    [{ IDENTIFIER: 'a/b' }, 'IDENTIFIER', 'no "/"'],
    [{ IDENTIFIER: '../x' }, 'IDENTIFIER', 'no "/"'],
    [{ IDENTIFIER: '..' }, 'IDENTIFIER', 'not "." or ".."'],
    [{ IDENTIFIER: 'a\\b' }, 'IDENTIFIER', 'no "/"'],
    [{ IDENTIFIER: 'a\nb' }, 'IDENTIFIER', 'control'],
    [{ IDENTIFIER: 'x'.repeat(129) }, 'IDENTIFIER', 'up to 128'],
    // Accepted before, then refused deep in a command as FLTS_STORE_KEY_OUTSIDE_ROOT: the store reads `z:1/...` as absolute.
    [{ IDENTIFIER: 'z:1' }, 'IDENTIFIER', 'not opening with a drive letter'],
    [{ IDENTIFIER: 'Z:' }, 'IDENTIFIER', 'not opening with a drive letter'],
    [{ IDENTIFIER: 'site\u202egnp' }, 'IDENTIFIER', 'bidirectional characters'],
    [{ IDENTIFIER: 'site\u2066a' }, 'IDENTIFIER', 'bidirectional characters'],
    [{ IDENTIFIER: 'site\u0085a' }, 'IDENTIFIER', 'control'],
    [{ IDENTIFIER: 'site\u2028a' }, 'IDENTIFIER', 'line-separator'],
  ])('rejects %o naming the setting and the accepted values', (env, name, accepted) => {
    const error = errorOf(() => resolveSettings({ env }));
    expect(error.code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(error.message).toContain(name);
    expect(error.message).toContain(accepted);
  });

  // Before, the empty item was dropped: 0.8,,0.95 ran with two levels, LSTM,,GRU with two models, without a word.
  it.each([
    [{ FLTS_INTERVAL_LEVELS: '0.8,,0.95' }, 'FLTS_INTERVAL_LEVELS (setting eval.intervalLevels)', 'item 2 of 3 is empty'],
    [{ TARGETS: 'down,' }, 'TARGETS (setting training.targets)', 'item 2 of 2 is empty'],
    [{ MODEL_TYPE: ',LSTM' }, 'MODEL_TYPE (setting training.models)', 'item 1 of 2 is empty'],
    [{ FLTS_BACKTEST_MODELS: 'NAIVE,,MSTL' }, 'FLTS_BACKTEST_MODELS', 'item 2 of 3 is empty'],
    [{ FLTS_DAEMON_ROLES: 'trainer, ,promoter' }, 'FLTS_DAEMON_ROLES', 'item 2 of 3 is empty'],
    [{ FLTS_TRAINER_MODELS: 'GRU,,LSTM' }, 'FLTS_TRAINER_MODELS', 'item 2 of 3 is empty'],
    [{ EXPECTED_MODEL_TYPES: 'GRU,,LSTM' }, 'EXPECTED_MODEL_TYPES', 'item 2 of 3 is empty'],
    [{ KAFKA_BOOTSTRAP_SERVERS: 'a:9092,,b:9092' }, 'KAFKA_BOOTSTRAP_SERVERS', 'item 2 of 3 is empty'],
  ])('refuses an empty item in the comma list %o, naming the setting', (env, name, why) => {
    const error = errorOf(() => resolveSettings({ env }));
    expect(error.code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(error.message).toContain(name);
    expect(error.message).toContain(why);
  });

  it('refuses an empty item in a list from a flag or the config file, and still reads an empty value as the empty list', () => {
    expect(errorOf(() => resolveSettings({ flags: { 'training.models': 'LSTM,,GRU' } })).message).toContain('flag for training.models');
    expect(errorOf(() => resolveSettings({ file: { eval: { intervalLevels: ['0.8', '', '0.95'] } } })).message).toContain('eval.intervalLevels in the config file');
    expect(errorOf(() => resolveSettings({ file: { eval: { intervalLevels: '0.8,,0.95' } } })).message).toContain('item 2 of 3 is empty');
    expect(resolveSettings({ env: { FLTS_BACKTEST_MODELS: '', KAFKA_BOOTSTRAP_SERVERS: ' ' } }).settings).toMatchObject({ backtest: { models: [] }, bus: { kafka: { brokers: [] } } });
  });

  it('refuses a role named twice from a flag or a config file as a repeated target is', () => {
    expect(errorOf(() => resolveSettings({ flags: { 'daemon.roles': 'trainer,trainer' } })).message).toMatch(/flag for daemon\.roles .*"trainer" is given more than once/);
    const fromFile = errorOf(() => resolveSettings({ file: { daemon: { roles: ['serving', 'Serving'] } } }));
    expect(fromFile).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'daemon.roles', source: 'file' } });
    expect(resolveSettings({ env: { FLTS_DAEMON_ROLES: 'trainer,serving' } }).settings.daemon.roles).toEqual(['trainer', 'serving']);
  });

  // Before, each of these ran as if the repeat were not there (trained, backtested, expected, interval once), or, for
  // the trainer's models, subscribed one consumer group twice, without a word: a repeated target or role was refused.
  it.each([
    [{ MODEL_TYPE: 'LSTM,GRU,lstm' }, 'MODEL_TYPE (setting training.models)', '"LSTM" is given more than once'],
    [{ FLTS_TRAINER_MODELS: 'GRU,gru' }, 'FLTS_TRAINER_MODELS (setting daemon.trainerModels)', '"GRU" is given more than once'],
    [{ FLTS_BACKTEST_MODELS: 'NAIVE,MSTL,Naive' }, 'FLTS_BACKTEST_MODELS (setting backtest.models)', '"NAIVE" is given more than once'],
    [{ FLTS_INTERVAL_LEVELS: '0.8,0.95,0.8' }, 'FLTS_INTERVAL_LEVELS (setting eval.intervalLevels)', '"0.8" is given more than once'],
    // One level written two ways: a level is a number, and both were one band.
    [{ FLTS_INTERVAL_LEVELS: '0.8,0.80' }, 'FLTS_INTERVAL_LEVELS (setting eval.intervalLevels)', '"0.80" is given more than once, first as "0.8"'],
    [{ FLTS_INTERVAL_LEVELS: '.95, 0.950' }, 'FLTS_INTERVAL_LEVELS (setting eval.intervalLevels)', '"0.950" is given more than once, first as ".95"'],
  ])('refuses a repeat in the list %o, naming the variable and the repeated item', (env, name, why) => {
    const error = errorOf(() => resolveSettings({ env }));
    expect(error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { source: 'env' } });
    expect(error.message).toContain(name);
    expect(error.message).toContain(why);
  });

  it('refuses a repeated model type or level from a flag or the config file, and keeps lists named once', () => {
    expect(errorOf(() => resolveSettings({ flags: { 'training.models': 'NAIVE,NAIVE' } })).message).toMatch(/flag for training\.models .*"NAIVE" is given more than once/);
    expect(errorOf(() => resolveSettings({ flags: { 'daemon.trainerModels': 'LSTM,LSTM' } })).details).toMatchObject({ setting: 'daemon.trainerModels', source: 'flag' });
    expect(errorOf(() => resolveSettings({ flags: { 'backtest.models': 'MSTL,MSTL' } })).details).toMatchObject({ setting: 'backtest.models', source: 'flag' });
    expect(errorOf(() => resolveSettings({ file: { eval: { intervalLevels: ['0.9', '0.90'] } } })).details).toMatchObject({ setting: 'eval.intervalLevels', source: 'file' });
    expect(errorOf(() => resolveSettings({ file: { daemon: { expectedModelTypes: ['GRU', 'GRU'] } } })).details).toMatchObject({ setting: 'daemon.expectedModelTypes', source: 'file' });
    const { settings, warnings } = resolveSettings({ env: { MODEL_TYPE: 'lstm,gru', FLTS_INTERVAL_LEVELS: '0.5,0.05', EXPECTED_MODEL_TYPES: 'GRU,LSTM' } });
    expect(settings.training.models).toEqual(['LSTM', 'GRU']);
    expect(settings.eval.intervalLevels).toEqual(['0.5', '0.05']);
    expect(settings.daemon.expectedModelTypes).toEqual(['GRU', 'LSTM']);
    expect(warnings).toEqual([]);
  });

  // The reference upper-cases EXPECTED_MODEL_TYPES into a set, so a deployment's GRU,LSTM,gru waits for two types there:
  // flts reads it so too, where it quietly did before, and now says it dropped the repeat.
  it('drops a repeat in EXPECTED_MODEL_TYPES, as the reference reads it, with a warning naming the variable and the type', () => {
    const { settings, warnings } = resolveSettings({ env: { EXPECTED_MODEL_TYPES: 'GRU,LSTM,gru,GRU' } });
    expect(settings.daemon.expectedModelTypes).toEqual(['GRU', 'LSTM']);
    expect(warnings).toEqual([
      {
        code: 'settings_env_repeats_dropped',
        setting: 'daemon.expectedModelTypes',
        env: 'EXPECTED_MODEL_TYPES',
        repeated: ['GRU', 'GRU'],
        value: ['GRU', 'LSTM'],
        message: expect.stringMatching(/^EXPECTED_MODEL_TYPES \(setting daemon\.expectedModelTypes\) names GRU more than once: read as a set, as the reference reads it, so GRU,LSTM\./),
      },
    ]);
  });

  it.each(['Poble Sec', '_edge', 'cell:7', 'site.1', 'x'.repeat(128), 'zz:1', '1:z', 'Sant Antoni é', ':z'])('keeps IDENTIFIER %j, a scope earlier releases made and upgraded homes hold', (identifier) => {
    expect(resolveSettings({ env: { IDENTIFIER: identifier } }).settings.identifier).toBe(identifier);
  });

  // Each makes a scope that shows as "siteb" or "site b" does in every listing, label and log line; an earlier release
  // took it, and a deployment named so keeps its promotions and logs under it: taken, with a warning naming the character.
  it.each([
    ['site\u200Bb', '"site\\u200bb"', 'U+200B ZERO WIDTH SPACE at position 5'],
    ['site\u200Db', '"site\\u200db"', 'U+200D ZERO WIDTH JOINER at position 5, allowed only inside an emoji sequence, or beside the virama of a conjunct'],
    ['site\u2060b', '"site\\u2060b"', 'U+2060 WORD JOINER at position 5'],
    ['\uFEFFsite', '"\\ufeffsite"', 'U+FEFF ZERO WIDTH NO-BREAK SPACE at position 1'],
    ['site\u00ADb', '"site\\u00adb"', 'U+00AD SOFT HYPHEN at position 5'],
    ['Poble\u00A0Sec', '"Poble\\u00a0Sec"', 'U+00A0 NO-BREAK SPACE at position 6'],
  ])('takes IDENTIFIER %j from the environment, a flag and the config file with a warning naming the character', (identifier, shown, character) => {
    const tail = `${shown} holds ${character}, so this scope shows as another name in every listing, label and log line. Taken, as the scope of what this deployment stored under it; a request naming another series with such a character is refused. A new deployment should name its scope without it.`;
    const env = resolveSettings({ env: { IDENTIFIER: identifier } });
    const flag = resolveSettings({ flags: { identifier } });
    const file = resolveSettings({ file: { identifier } });
    for (const resolved of [env, flag, file]) expect(resolved.settings.identifier).toBe(identifier);
    expect(env.warnings).toEqual([{ code: 'settings_identifier_lookalike', setting: 'identifier', env: 'IDENTIFIER', value: identifier, message: `IDENTIFIER (setting identifier) = ${tail}` }]);
    expect(flag.warnings.map((warning) => warning.message)).toEqual([`--identifier (setting identifier) = ${tail}`]);
    expect(file.warnings.map((warning) => warning.message)).toEqual([`identifier in the config file = ${tail}`]);
  });

  it('gives no identifier warning for one that shows as itself', () => {
    for (const identifier of ['', 'site-b', 'Poble Sec', 'Sant Antoni \u00e9', '\u{1F600}']) expect(resolveSettings({ env: { IDENTIFIER: identifier } }).warnings).toEqual([]);
  });

  it('counts IDENTIFIER\'s 128 in characters, as a user does: 128 emoji are taken, 129 refused as 129 characters', () => {
    // Before, 65 emoji (130 UTF-16 units) were refused as over 128 characters.
    expect(resolveSettings({ env: { IDENTIFIER: '\u{1F600}'.repeat(128) } }).settings.identifier).toBe('\u{1F600}'.repeat(128));
    expect(resolveSettings({ env: { IDENTIFIER: `site-${'\u{1F600}'.repeat(123)}` } }).settings.identifier).toHaveLength(5 + 246);
    expect(errorOf(() => resolveSettings({ env: { IDENTIFIER: '\u{1F600}'.repeat(129) } })).message).toMatch(/up to 128 characters: .* \(it is 129 characters long\)\.$/);
    expect(errorOf(() => resolveSettings({ env: { IDENTIFIER: 'x'.repeat(129) } })).message).toMatch(/\(it is 129 characters long\)\.$/);
  });

  it('takes an empty FLTS_BUS or FLTS_STORE as unset, as an empty FLTS_HOME (compose files often leave them empty)', () => {
    expect(resolveSettings({ env: { FLTS_BUS: '', FLTS_STORE: '' } })).toMatchObject({ settings: { bus: { kind: 'none' }, store: { kind: 'fs' } } });
    expect(resolveSettings({ file: { bus: { kind: 'fs' } }, env: { FLTS_BUS: '' } }).settings.bus.kind).toBe('fs');
  });

  it('takes an empty home from any layer as unset, so the store never lands in the working directory', () => {
    expect(resolveSettings({ env: { FLTS_HOME: '' } })).toMatchObject({ settings: { home: '.flts' }, sources: { home: 'default' } });
    expect(resolveSettings({ flags: { home: '' } }).settings.home).toBe('.flts');
    expect(resolveSettings({ file: { home: '/data/flts' }, env: { FLTS_HOME: '' }, flags: { home: '' } })).toMatchObject({ settings: { home: '/data/flts' }, sources: { home: 'file' } });
    expect(resolveSettings({ file: { home: '' }, env: { FLTS_HOME: '/srv/flts' } }).settings.home).toBe('/srv/flts');
  });

  it('takes an empty group of settings in the config file as setting nothing, and a value in a group\'s place as mistyped, not unknown', () => {
    // Before, both were "Unknown setting(s) in the config file: training".
    expect(resolveSettings({ file: { training: {}, serve: { predictionLog: {} } } })).toMatchObject({ settings: { training: { epochs: 30 } }, sources: { 'training.epochs': 'default' } });
    const mistyped = errorOf(() => resolveSettings({ file: { training: 5 } }));
    expect(mistyped).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting: 'training' } });
    expect(mistyped.message).toBe('training in the config file = 5 is not valid: it is a group of settings (training.models, training.targets, training.inputSeqLen, ...), written as an object of them, e.g. "training": {"models":"..."}.');
    expect(errorOf(() => resolveSettings({ file: { serve: { predictionLog: 'on' } } })).message).toContain('serve.predictionLog in the config file = "on" is not valid: it is a group of settings (serve.predictionLog.enabled');
    // A name that is neither a setting nor a group is still unknown, empty or not.
    expect(errorOf(() => resolveSettings({ file: { trainning: {} } }))).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY', details: { keys: ['trainning'] } });
  });

  it('refuses a config-file key holding a dot, which the nested file would otherwise pass over setting nothing', () => {
    // Before, {"training.epochs": 2} was taken for the setting training.epochs by the key check and then never read:
    // epochs stayed 30 without a word.
    const dotted = errorOf(() => resolveSettings({ file: { 'training.epochs': 2 } }));
    expect(dotted).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY', details: { keys: ['training.epochs'] } });
    expect(dotted.message).toBe('Unknown setting(s) in the config file: "training.epochs": a key holding a dot names no setting, for the file nests settings by their path: write "training.epochs" as "training":{"epochs":"..."}.');
    expect(errorOf(() => resolveSettings({ file: { training: { 'prophet.nChangepoints': 5 } } }))).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY', details: { keys: ['training.prophet.nChangepoints'] } });
    expect(errorOf(() => resolveSettings({ file: { 'training.prophet': { nChangepoints: 5 } } }))).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY', details: { keys: ['training.prophet'] } });
    // The nested form sets it, and a top-level "$schema" stays free.
    expect(resolveSettings({ file: { $schema: 'x', training: { epochs: 2 } } }).settings.training.epochs).toBe(2);
  });

  it('names an unknown key nested far below any setting, where the walk overflowed the stack', () => {
    // Before, a file nested 100,000 objects deep (valid JSON, which JSON.parse reads) ended in "Maximum call stack size
    // exceeded", FLTS_INTERNAL, from the walk over the file's keys.
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) deep = { a: deep };
    const error = errorOf(() => resolveSettings({ file: { training: deep as Record<string, unknown> } }));
    expect(error).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY' });
    expect(error.message).toBe('Unknown setting(s) in the config file: training.a.a.a.a.');
    let dotted: unknown = { 'x.y': 1 };
    for (let i = 0; i < 100_000; i += 1) dotted = { a: dotted };
    expect(errorOf(() => resolveSettings({ file: { $comment: dotted as Record<string, unknown>, serve: dotted as Record<string, unknown> } }))).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY' });
  });

  it('names the first ten of many unknown keys and counts the rest, each shown as itself', () => {
    // Before, every key of a file of 20,000 unknown keys was compared with every setting's name for what it may have
    // meant (past a minute for 200,000), and all were printed; an escape sequence in a key reached the terminal as it was.
    const wide: Record<string, number> = { 'e\u001b[2Jpochs': 1 };
    for (let i = 0; i < 20_000; i += 1) wide[`k${i}`] = i;
    const error = errorOf(() => resolveSettings({ file: { training: wide } }));
    expect(error).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY', details: { count: 20_001 } });
    expect(error.details?.keys).toHaveLength(10);
    expect(error.message).toBe(`Unknown setting(s) in the config file: training.e\\u001b[2Jpochs, ${Array.from({ length: 9 }, (_, i) => `training.k${i}`).join(', ')} and 19991 more.`);
    const dotted: Record<string, number> = {};
    for (let i = 0; i < 20_000; i += 1) dotted[`a.${i}`] = i;
    expect(errorOf(() => resolveSettings({ file: dotted })).message).toMatch(/^Unknown setting\(s\) in the config file: "a\.0", .* "a\.9" and 19990 more: a key holding a dot/);
  });

  it('names the setting an unknown config-file key may have meant', () => {
    // Before, the message named the key alone, where an unknown FLTS_ variable is answered with the variables it may mean.
    expect(errorOf(() => resolveSettings({ file: { training: { epoch: 2 } } })).message).toBe('Unknown setting(s) in the config file: training.epoch (did you mean training.epochs?).');
    expect(errorOf(() => resolveSettings({ file: { trainning: { epochs: 2 } } })).message).toContain('trainning.epochs (did you mean training.epochs?)');
    expect(errorOf(() => resolveSettings({ file: { serve: { epochs: 2 } } })).message).toContain('serve.epochs (did you mean training.epochs?)');
    const far = errorOf(() => resolveSettings({ file: { frobnicate: 1 } }));
    expect(far).toMatchObject({ code: 'FLTS_CONFIG_UNKNOWN_KEY', details: { keys: ['frobnicate'] } });
    expect(far.message).toBe('Unknown setting(s) in the config file: frobnicate.');
  });

  it('rejects unknown keys and mistyped values in the config file', () => {
    expect(errorOf(() => resolveSettings({ file: { preprocess: { scalling: {} } } })).code).toBe('FLTS_CONFIG_UNKNOWN_KEY');
    expect(errorOf(() => resolveSettings({ file: { data: { sampleTrainRows: '10' } } })).message).toContain('data.sampleTrainRows');
    expect(errorOf(() => resolveSettings({ file: { eval: { intervalLevels: ['0.8', '95'] } } })).message).toContain('eval.intervalLevels');
    expect(errorOf(() => resolveSettings({ file: { training: { targets: ['down', 'up', 'down'] } } })).message).toContain('training.targets');
    expect(resolveSettings({ env: { FLTS_INTERVAL_LEVELS: ' 0.5 , 0.99 ', TARGETS: 'down,up' } }).settings).toMatchObject({ eval: { intervalLevels: ['0.5', '0.99'] }, training: { targets: ['down', 'up'] } });
  });
});

describe('core > config > settings strictness', () => {
  it('refuses an empty model list and a learning rate of 0', () => {
    expect(errorOf(() => resolveSettings({ flags: { 'training.models': '' } })).code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(errorOf(() => resolveSettings({ env: { MODEL_TYPE: ' , ' } })).message).toMatch(/at least 1/);
    expect(errorOf(() => resolveSettings({ flags: { 'training.learningRate': '0' } })).message).toMatch(/in \(0, inf\]/);
    expect(resolveSettings({ flags: { 'training.learningRate': '0.001' } }).settings.training.learningRate).toBe(0.001);
  });
});

describe('core > config > bearer tokens', () => {
  it('refuses an admin or API token no request could send as a bearer token, without showing it', () => {
    for (const env of ['FLTS_SERVE_ADMIN_TOKEN', 'FLTS_SERVE_API_TOKEN']) {
      for (const token of ['s3cret\n', ' s3cret', 's3 cret', 's3cr\u00e9t', '   ']) {
        const error = errorOf(() => resolveSettings({ env: { [env]: token } }));
        expect({ env, token, code: error.code, message: error.message }).toEqual({
          env,
          token,
          code: 'FLTS_CONFIG_INVALID_VALUE',
          message: expect.stringMatching(new RegExp(`^${env} \\(setting serve\\.(admin|api)Token\\) = <hidden> is not valid: expected a bearer token`)),
        });
        expect(error.message).not.toContain('s3');
      }
    }
    const { serve } = resolveSettings({ env: { FLTS_SERVE_ADMIN_TOKEN: 'Ab0-._~+/=!#$%&*?@^|', FLTS_SERVE_API_TOKEN: '' } }).settings;
    expect(serve).toMatchObject({ adminToken: 'Ab0-._~+/=!#$%&*?@^|', apiToken: '' });
  });
});

describe('core > config > profiles', () => {
  it('--profile reference reproduces the reference deployment exactly, and its env names still win', () => {
    const reference = resolveSettings({ flags: { profile: 'reference' } }).settings.training;
    expect(reference).toMatchObject({
      models: ['LSTM'],
      targets: ['down'],
      inputSeqLen: 10,
      outputSeqLen: 1,
      hiddenSize: 128,
      numLayers: 2,
      batchSize: 64,
      epochs: 10,
      learningRate: 1e-4,
      earlyStopping: true,
      patience: 30,
      validationSplit: 0.1,
      seed: 42,
      targetForm: 'level',
      calendarFeatures: 'all',
      weightAverage: 0,
      lrDrops: 0,
      refit: 'none',
      inputScaling: 'none',
    });
    const fromEnv = resolveSettings({ env: { FLTS_PROFILE: 'reference', EPOCHS: '3', LEARNING_RATE: '0.01' } });
    expect(fromEnv.settings.training).toMatchObject({ epochs: 3, learningRate: 0.01, hiddenSize: 128 });
    expect(fromEnv.sources['training.epochs']).toBe('env');
    expect(fromEnv.sources['training.hiddenSize']).toBe('default');
  });

  it('the default profile trains every baseline and both recurrent types with measured settings', () => {
    const training = resolveSettings().settings.training;
    expect(training.models).toEqual(['LSTM', 'GRU', 'PROPHET', 'NAIVE', 'SNAIVE', 'MSTL']);
    expect(training).toMatchObject({ learningRate: 1e-3, earlyStopping: true, patience: 5, hiddenSize: 64, numLayers: 1, lrDrops: 2, refit: 'none', inputScaling: 'none', targetForm: 'change', changeWeight: 0.5 });
    expect(() => resolveSettings({ env: { FLTS_PROFILE: 'fast' } })).toThrow(/FLTS_PROFILE/);
  });
});
