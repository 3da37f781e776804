import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { scratchFolders } from './helpers/scratch-folders.js';

describe('cli > a model type named twice in a list flag is refused, as a repeated target or role is', () => {
  const scratch = scratchFolders();
  let home: string;

  beforeAll(async () => {
    home = await scratch(path.join(os.tmpdir(), 'flts-cli-repeats-'));
  });

  // Before, each ran the type once (train and backtest) or subscribed its consumer group twice (daemon), without a
  // word, and got as far as the missing processed data or bus; now the settings refuse it, naming the flag and the type.
  it.each([
    ['train', ['train', '--model', 'LSTM', '-m', 'lstm'], {}, 'training.models', 'model', '--model (setting training.models)'],
    // Named as typed too: the user wrote --models.
    ['train --models', ['train', '--models', 'NAIVE,GRU,naive'], {}, 'training.models', 'model', '--models (--model, setting training.models)'],
    ['daemon', ['daemon', '--roles', 'trainer', '--models', 'GRU,Gru', '--port', '0'], { FLTS_BUS: 'fs' }, 'daemon.trainerModels', 'models', '--models (setting daemon.trainerModels)'],
    ['backtest', ['backtest', '--models', 'MSTL,NAIVE,mstl'], {}, 'backtest.models', 'models', '--models (setting backtest.models)'],
  ])('%s', async (_, args, env, setting, flag, named) => {
    const run = await runCli([...args, '--home', home, '--json'], { env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.json?.error).toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', details: { setting, flag } });
    expect(run.json.error.message).toContain(named);
    expect(run.json.error.message).toMatch(/"(LSTM|NAIVE|GRU|MSTL)" is given more than once/);
  });

  it('drops a repeat in EXPECTED_MODEL_TYPES, which the reference reads as a set, and says so on stderr', async () => {
    const run = await runCli(['config', 'show', '--home', home, '--json'], { env: { EXPECTED_MODEL_TYPES: 'GRU,LSTM,gru' } });
    expect(run.exitCode, run.stderr).toBe(0);
    const row = (run.json.result.settings as Array<{ path: string; value: unknown }>).find((setting) => setting.path === 'daemon.expectedModelTypes');
    expect(row?.value).toEqual(['GRU', 'LSTM']);
    const lines = run.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'settings_env_repeats_dropped', variable: 'EXPECTED_MODEL_TYPES', setting: 'daemon.expectedModelTypes', repeated: ['GRU'], value: ['GRU', 'LSTM'], reason: expect.stringContaining('names GRU more than once') }),
    ]);
  });
});
