import { execFile } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runLibraryExample } from '../examples/library-usage.js';
import { freePort } from './helpers/free-port.js';
import { scratchFolders } from './helpers/scratch-folders.js';
import { infraSkipReason } from './integration/infra-env.js';

/** Temporary folders of this file, removed when it ends. */
const mkdtemp = scratchFolders();

const ROOT = path.resolve(__dirname, '..');
const FAST = { EPOCHS: '1', HIDDEN_SIZE: '8' };

async function runScript(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [script], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

// The examples are independent (a home each, a salt of its own on the shared servers) and spend much of their time
// waiting (for servers to start, the daemon's messages, polls): side by side, one's waits are another's work.
describe.concurrent('examples', () => {
  it("the README's main command runs the whole local pipeline on the example data and prints forecasts of the promoted run", async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = /^## Main command\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
    const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
    expect(blocks).toHaveLength(1);
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-quickstart-'));
    const { stdout } = await promisify(execFile)('bash', ['-c', blocks[0]], { cwd: ROOT, env: { ...process.env, ...FAST, FLTS_HOME: home }, maxBuffer: 16 * 1024 * 1024 });
    const promoted = /promoted run (\w+)/.exec(stdout)?.[1];
    expect(promoted).toMatch(/^[0-9a-f]{32}$/);
    const bodies = stdout.split('\n').filter((line) => line.startsWith('{"status"')).map((line) => JSON.parse(line));
    expect(bodies).toHaveLength(2);
    expect(bodies.map((body) => body.run_id)).toEqual([promoted, promoted]);
    expect(bodies[0].predictions[0].down).toEqual(expect.any(Number));
    expect(bodies[1].predictions).toHaveLength(3);
    expect(bodies[1].source).toBe('request');
  }, 300_000); // the whole pipeline: about 15 s on an idle machine, minutes on a loaded one (or beside the others)

  it('the example data is what examples/generate-data.mjs writes', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'flts-example-data-'));
    cpSync(path.join(ROOT, 'examples/generate-data.mjs'), path.join(copy, 'generate-data.mjs'));
    await promisify(execFile)(process.execPath, [path.join(copy, 'generate-data.mjs')]);
    for (const file of ['example.csv', 'example_test.csv']) {
      expect(readFileSync(path.join(copy, 'data', file), 'utf8')).toBe(readFileSync(path.join(ROOT, 'examples/data', file), 'utf8'));
    }
  });

  it('custom-dataset.sh forecasts a target of its own over a multi-step horizon', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-energy-'));
    const stdout = await runScript('examples/custom-dataset.sh', { ...FAST, FLTS_HOME: home });
    expect(stdout).toMatch(/LSTM\s+\w+ SUCCESS/);
    expect(stdout).toContain('rmse(load_mw)');
  }, 300_000);

  const infraMissing = infraSkipReason();
  it.skipIf(infraMissing !== undefined)(`distributed.sh: the daemon trains and promotes the data just preprocessed, the serving replica switches to it, and a run on a store serving newer data says why it is not promoted${infraMissing ? ` (skipped: ${infraMissing})` : ''}`, async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-distributed-'));
    // A salt of its own gives this run a config_hash no earlier run on the shared servers has.
    const salt = `examples-${Date.now().toString(36)}`;
    const stdout = await runScript('examples/distributed.sh', { ...FAST, FLTS_HOME: home, EXTRA_HASH_SALT: salt, DAEMON_PORT: String(await freePort()), SERVE_PORT: String(await freePort()) });
    expect(stdout).toContain(`using Kafka at ${process.env.KAFKA_BOOTSTRAP_SERVERS}`);
    const configHash = /config_hash (\w+)/.exec(stdout)?.[1];
    const servedRun = /serving run (\w+)/.exec(stdout)?.[1];
    expect(servedRun).toMatch(/^[0-9a-f]{32}$/);
    const forecast = JSON.parse(stdout.split('\n').find((line) => line.startsWith('{"status"')) ?? '{}');
    expect(forecast.run_id).toBe(servedRun);
    expect(forecast.config_hash).toBe(configHash);
    expect(forecast.predictions[0].down).toEqual(expect.any(Number));

    // Newer data on the same servers, promoted by hand as another pipeline would: a second run of the example says
    // that its data will not be promoted, where it used to poll for over 5 minutes and fail naming nothing (its
    // re-preprocess trains nothing, so only the daemon's resync judged the data superseded).
    const flts = async (args: string[]): Promise<any> => {
      const { stdout: json } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args, '--json'], { cwd: ROOT, env: { ...process.env, ...FAST, FLTS_HOME: home, FLTS_STORE: 's3', FLTS_BUS: 'kafka' } });
      return JSON.parse(json).result;
    };
    const newer = await flts(['preprocess', '--train', 'examples/data/example.csv', '--test', 'examples/data/example_test.csv', '--salt', `${salt}-newer`]);
    await flts(['train', '--model', 'NAIVE', '--config-hash', newer.config_hash]);
    await flts(['promote', '--best', '--config-hash', newer.config_hash]);
    const again = await runScript('examples/distributed.sh', { ...FAST, FLTS_HOME: home, EXTRA_HASH_SALT: salt, DAEMON_PORT: String(await freePort()), SERVE_PORT: String(await freePort()) }).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(again?.code).toBe(1);
    expect(again?.stdout).toContain('automatic promotion only moves forward');
    expect(again?.stdout).toContain(`is older than ${newer.config_hash}`);
  }, 300_000);

  it('library-usage.ts runs the pipeline through the public API', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-library-'));
    // With the embedded bus, the example's promotion is announced as `flts promote --best` announces it.
    const result = await runLibraryExample(home, { 'training.epochs': 1, 'training.hiddenSize': 8, 'bus.kind': 'fs' });
    expect(result.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(result.forecast[0].down).toEqual(expect.any(Number));
    const announced = readFileSync(path.join(home, 'bus', 'topics', 'model-selected.log'), 'utf8').trim().split('\n');
    expect(announced.map((line) => JSON.parse(JSON.parse(line).value).run_id)).toEqual([result.winner]);
  }, 300_000);
});
