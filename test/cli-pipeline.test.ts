import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';

const DATA = path.resolve(__dirname, '../../shared/datasets');
const hasData = existsSync(path.join(DATA, 'PobleSec.csv'));
const home = mkdtempSync(path.join(tmpdir(), 'flts-pipeline-'));
const store = path.join(home, 'store');
const env = { SAMPLE_TRAIN_ROWS: '600', SAMPLE_TEST_ROWS: '200', HIDDEN_SIZE: '16', EPOCHS: '2', FLTS_BACKEND: 'wasm' };
const json = (file: string): any => JSON.parse(readFileSync(path.join(store, file), 'utf8'));

describe.skipIf(!hasData)('cli > pipeline (preprocess, train, eval, promote on a PobleSec slice)', () => {
  let trained: any;

  beforeAll(async () => {
    const pre = await runCli(['preprocess', '--home', home, '--train', path.join(DATA, 'PobleSec.csv'), '--test', path.join(DATA, 'PobleSec_test.csv'), '--json'], { env });
    expect(pre.exitCode, pre.stderr).toBe(0);
    const train = await runCli(['train', '--home', home, '--model', 'LSTM,GRU,PROPHET,NAIVE', '--json'], { env, timeoutMs: 110_000 });
    expect(train.exitCode, train.stderr).toBe(0);
    trained = train.json.result;
  }, 150_000);

  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('records one SUCCESS run per model with every file serving needs', () => {
    expect(trained.runs.map((r: any) => r.model_type)).toEqual(['LSTM', 'GRU', 'PROPHET', 'NAIVE']);
    for (const run of trained.runs) {
      const dir = `runs/${run.run_id}`;
      const record = json(`${dir}/run.json`);
      expect(record).toMatchObject({ status: 'SUCCESS', config_hash: trained.config_hash, window: { inputSeqLen: 10, outputSeqLen: 1, targets: ['down'] } });
      // The networks leave out the calendar features a slice of a few days cannot teach (day of week, day of year).
      const recurrent = run.model_type === 'LSTM' || run.model_type === 'GRU';
      expect(record.window.features).toHaveLength(recurrent ? 13 : 17);
      expect(record.data.test_rows).toBe(200);
      expect(record.metrics.test.count).toBe(200);
      expect(Number.isFinite(record.metrics.test_rmse)).toBe(true);
      expect(json(`${dir}/scaler.json`).columns).toEqual(expect.arrayContaining(record.window.features));
      const predictions = json(`${dir}/predictions.json`);
      expect(predictions.actual.down).toHaveLength(200);
      expect(predictions.predicted.down.every(Number.isFinite)).toBe(true);
      const history = json(`${dir}/metrics.json`).epochs;
      if (run.model_type === 'LSTM' || run.model_type === 'GRU') {
        expect(history).toHaveLength(2);
        expect(record.best_epoch).toBe(history.reduce((a: any, b: any) => (b.val_loss < a.val_loss ? b : a)).epoch);
        expect(record.backend).toMatch(/^wasm/);
        expect(json(`${dir}/model/model.json`).weightsManifest[0].paths).toEqual(['./weights.bin']);
        expect(existsSync(path.join(store, dir, 'model/weights.bin'))).toBe(true);
        expect(readFileSync(path.join(store, dir, 'loss-curve.svg'), 'utf8')).toMatch(/^<svg[\s\S]*polyline[\s\S]*<\/svg>\n$/);
      } else {
        const file = run.model_type === 'PROPHET' ? 'prophet.json' : 'naive.json';
        expect(json(`${dir}/model/${file}`).format).toMatch(/^flts-/);
      }
    }
  });

  it('ranks the runs on the test file and plots the top ones', async () => {
    const result = await runCli(['eval', '--home', home, '--plot', '--json'], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    const board = result.json.result;
    expect(board.config_hash).toBe(trained.config_hash);
    expect(board.rows).toHaveLength(4);
    const scores = board.rows.map((r: any) => r.score);
    expect([...scores].sort((a, b) => a - b)).toEqual(scores);
    const naive = trained.runs.find((r: any) => r.model_type === 'NAIVE');
    expect(board.naive_run_id).toBe(naive.run_id);
    expect(board.rows.find((r: any) => r.run_id === naive.run_id).improvement_over_naive_pct).toBe(0);
    expect(board.plots).toHaveLength(3);
    for (const object of board.plots.flatMap((p: any) => p.objects)) expect(readFileSync(path.join(store, object), 'utf8')).toMatch(/^<svg/);
  });

  it('promotes the winner into the reference layout and refuses bad requests', async () => {
    const evalResult = await runCli(['eval', '--home', home, '--json'], { env });
    const winner = evalResult.json.result.rows[0];
    const promoted = await runCli(['promote', '--best', '--home', home, '--json'], { env });
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    // The outcome is the report; the structured log says only what went wrong, unless a level is asked for.
    expect(promoted.stderr).toBe('');
    const record = promoted.json.result.record;
    expect(record).toMatchObject({ run_id: winner.run_id, config_hash: trained.config_hash, model_uri: `runs:/${winner.run_id}/${winner.model_type}`, source: 'best' });
    const historyFile = `model-promotion/global/${trained.config_hash}/promotion-${record.timestamp.replace(/:/g, '-')}.json`;
    expect(json(historyFile)).toEqual(record);
    expect(json('model-promotion/global/current.json')).toEqual(record);
    expect(json('model-promotion/current.json')).toEqual(record);

    const unknown = await runCli(['promote', '--run', 'doesnotexist', '--home', home, '--json'], { env });
    expect(unknown.exitCode).toBe(4);
    expect(unknown.json.error.code).toBe('FLTS_RUN_NOT_FOUND');
    const again = await runCli(['promote', '--run', winner.run_id, '--reason', 'asked', '--home', home, '--log-level', 'info', '--json'], { env });
    // The winner is in service already: nothing is written, and the log at info says so.
    expect(again.json.result).toMatchObject({ changed: false, record });
    expect(again.stderr).toContain('"msg":"promotion_unchanged"');
    const rollback = await runCli(['promote', '--rollback', '--home', home, '--json'], { env });
    expect(rollback.exitCode).toBe(4);
    expect(rollback.json.error.code).toBe('FLTS_PROMOTE_NOTHING_TO_ROLLBACK');
  });

  it('records a failing run as FAILED and exits non-zero with its error', async () => {
    // A learning rate that breaks the weights at the first steps fails the run while it trains (a target that is no
    // column, say, is refused before any run is recorded).
    const failed = await runCli(['train', '--home', home, '--model', 'LSTM', '--learning-rate', '1e300', '--json'], { env });
    expect(failed.exitCode).toBe(2);
    expect(failed.json.error.code).toBe('FLTS_TRAIN_DIVERGED');
    const runId = failed.json.error.details.run_id;
    expect(json(`runs/${runId}/run.json`)).toMatchObject({ status: 'FAILED', error: { code: 'FLTS_TRAIN_DIVERGED' } });
  });
});
