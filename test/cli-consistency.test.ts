import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../src/core/errors.js';
import { REPO_ROOT, runCli } from './helpers/run-cli.js';

const DATA = path.resolve(REPO_ROOT, '../shared/datasets');
const TRAIN = path.join(DATA, 'PobleSec.csv');
const TEST = path.join(DATA, 'PobleSec_test.csv');

/** Every key of a JSON document that is camelCase, by its path, leaving out the keys of maps keyed by data names. */
function camelCaseKeys(value: unknown, at = '', namedByData = false): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => camelCaseKeys(item, `${at}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...(!namedByData && /^[a-z][a-z0-9]*[A-Z]/.test(key) ? [`${at}.${key}`] : []),
    ...camelCaseKeys(item, `${at}.${key}`, ['targets', 'target_floors', 'coverage', 'intervals', 'params', 'tags'].includes(key)),
  ]);
}

const homes: string[] = [];
function tempHome(): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flts-cli-consistency-'));
  homes.push(home);
  return home;
}
afterAll(() => homes.forEach((home) => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })));

describe('cli > consistency across commands', () => {
  it('an invalid setting has one hint, whether it came from a flag or from the environment', async () => {
    const home = tempHome();
    const byFlag = await runCli(['preprocess', '--home', home, '--sample-strategy', 'sideways', '--json']);
    const byEnv = await runCli(['preprocess', '--home', home, '--json'], { env: { SAMPLE_STRATEGY: 'sideways' } });
    expect(byFlag.json.error.code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(byEnv.json.error.code).toBe('FLTS_CONFIG_INVALID_VALUE');
    expect(byFlag.json.error.message).toMatch(/--sample-strategy/);
    expect(byFlag.json.error.hint).toBe(ERROR_CATALOGUE.FLTS_CONFIG_INVALID_VALUE.hint);
    expect(byEnv.json.error.hint).toBe(byFlag.json.error.hint);
  });

  it('says in every --help what --json prints, and in which field style', async () => {
    for (const id of ['preprocess', 'bench', 'promote']) {
      const help = await runCli([id, '--help']);
      expect(help.stdout.replace(/\s+/g, ' '), id).toMatch(/--json Print one JSON document on stdout: .*fields in snake_case/);
      expect(help.stdout.match(/\[--json\]/g)?.length, id).toBe(id === 'promote' ? 4 : id === 'bench' ? 2 : 1);
    }
  });

  it('tells a new user with nothing stored yet which commands come before eval and promote --best', async () => {
    const home = tempHome();
    for (const args of [['eval'], ['promote', '--best']]) {
      const run = await runCli([...args, '--home', home, '--json']);
      expect(run.json.error, args.join(' ')).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', hint: expect.stringContaining('`flts preprocess`, then `flts train`') });
    }
  });

  it('ends predict with nothing promoted as not found (exit 4), saying how to promote, not as a wait to retry (exit 6)', async () => {
    const home = tempHome();
    // Before: FLTS_SERVE_NO_MODEL, kind unavailable, exit 6: the server's and the daemon's wait for a promotion, which
    // running this one-shot command again does not end.
    const refused = await runCli(['predict', '--data', 'processed-data/test_processed_data.parquet', '--home', home, '--json']);
    expect(refused.exitCode).toBe(4);
    expect(refused.json.error).toMatchObject({ code: 'FLTS_PREDICT_NO_PROMOTION', kind: 'not_found', message: expect.stringMatching(/^No promoted model: promote one with flts promote --run <id> or --best\. /), details: { bucket: 'model-promotion' } });
    const text = await runCli(['predict', '--data', 'processed-data/test_processed_data.parquet', '--home', home]);
    expect(text.exitCode).toBe(4);
    expect(text.stderr).toContain('No promoted model: promote one with flts promote --run <id> or --best.');
  });

  it('names in the hint for want of a promoted run commands that run as written', async () => {
    const home = tempHome();
    const refused = await runCli(['predict', '--data', 'processed-data/test_processed_data.parquet', '--home', home, '--json']);
    expect(refused.json.error.code).toBe('FLTS_PREDICT_NO_PROMOTION');
    const commands = [...(refused.json.error.hint as string).matchAll(/`flts ([^`]+)`/g)].map((match) => match[1]!.replaceAll('<id>', 'no-such-run').split(' '));
    expect(commands.length).toBeGreaterThan(0);
    for (const args of commands) {
      const run = await runCli([...args, '--home', home, '--json']);
      // Refused for what is stored (nothing yet), never for how the command is written.
      expect(run.json.error.code, args.join(' ')).not.toMatch(/^FLTS_USAGE_/);
    }
  });

  it('says that eval --plot is a switch when given a file, as predict --plot and backtest --plot take one', async () => {
    const run = await runCli(['eval', '--plot', 'plots.svg', '--home', tempHome(), '--json']);
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: 'Unexpected argument: plots.svg; --plot is a switch and takes no value' });
  });

  it('refuses a switch given a value (--json=true) naming the switch, as JSON when it is --json with a true word', async () => {
    // Before, --json=true was "Unexpected argument: true" printed as text with nothing on stdout, and after a repeatable
    // flag the value became a model type: --model NAIVE --json=true asked for the models NAIVE,TRUE.
    const home = tempHome();
    const [json, afterModel, force, no] = await Promise.all([
      runCli(['eval', '--json=true', '--home', home]),
      runCli(['train', '--model', 'NAIVE', '--json=yes', '--home', home]),
      runCli(['promote', '--best', '--force=1', '--home', home, '--json']),
      runCli(['eval', '--json=false', '--home', home]),
    ]);
    expect(json.exitCode).toBe(2);
    expect(json.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', message: '--json is a switch and takes no value: give --json alone, or leave it out ("--json=true").', details: { flag: 'json', value: 'true' } });
    expect(afterModel.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'json', value: 'yes' } });
    expect(force.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'force', value: '1' } });
    // --json=false asks for no JSON: the refusal is text on stderr.
    expect(no.exitCode).toBe(2);
    expect(no.stdout).toBe('');
    expect(no.stderr).toContain('--json is a switch and takes no value');
    expect(existsSync(path.join(home, 'store'))).toBe(false);
  });

  it('refuses a --config-hash that is not a whole config_hash as the flag it is, in every command that takes one', async () => {
    const home = tempHome();
    const prefix = 'a68dce291270';
    for (const args of [['train'], ['eval'], ['backtest'], ['promote', '--best'], ['promote-manual', '--yes', '--run', 'r', '--reason', 'x']]) {
      const run = await runCli([...args, '--config-hash', prefix, '--home', home, '--json']);
      expect(run.exitCode, args[0]).toBe(2);
      expect(run.json.error, args[0]).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'config-hash', value: prefix } });
      expect(run.json.error.message).toContain('64 lower-case hex characters');
    }
  });

  it.skipIf(!existsSync(TRAIN))('takes the model types as --model or --models in train and backtest alike', async () => {
    const home = tempHome();
    const cli = (...args: string[]) => runCli([...args, '--home', home, '--json', '--log-level', 'silent']);
    expect((await cli('preprocess', '--train', TRAIN, '--test', TEST, '--sample-train-rows', '400', '--sample-test-rows', '150')).exitCode).toBe(0);
    const trained = await cli('train', '--models', 'NAIVE');
    expect(trained.exitCode, trained.stdout).toBe(0);
    expect(trained.json.result.runs.map((run: { model_type: string }) => run.model_type)).toEqual(['NAIVE']);
    const backtest = await cli('backtest', '--model', 'NAIVE', '--folds', '1');
    expect(backtest.exitCode, backtest.stdout).toBe(0);
    expect(backtest.json.result.models.map((model: { model_type: string }) => model.model_type)).toEqual(['NAIVE']);
  });

  it.skipIf(!existsSync(TRAIN))('names the fields of every --json result in snake_case, preprocess and train as eval and predict do', async () => {
    const home = tempHome();
    const results: Record<string, unknown> = {};
    for (const args of [
      ['preprocess', '--train', TRAIN, '--test', TEST, '--sample-train-rows', '400', '--sample-test-rows', '150'],
      ['train', '--model', 'NAIVE'],
      ['eval'],
      ['promote', '--best'],
      ['predict', '--data', TEST],
      ['backtest', '--models', 'NAIVE', '--folds', '1'],
    ]) {
      const run = await runCli([...args, '--home', home, '--json', '--log-level', 'silent']);
      expect(run.exitCode, run.stdout).toBe(0);
      results[args[0]] = run.json.result;
    }
    expect(camelCaseKeys(results)).toEqual([]);
    // Its text says which scale its figures are on: eval's are scaled, predict's in the data's own units.
    expect((await runCli(['predict', '--data', TEST, '--home', home])).stdout).toMatch(/vs actuals \(\d+ rows, original units/);
    expect((await runCli(['backtest', '--models', 'NAIVE', '--folds', '1', '--home', home])).stdout).toMatch(/rmse and score on the scaled data/);
    expect(results.preprocess).toMatchObject({ config_hash: expect.stringMatching(/^[0-9a-f]{64}$/), created_at: expect.any(String), timings: { total_ms: expect.any(Number) } });
  }, 120_000);
});

