import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFltsProcess } from '../helpers/flts-process.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { maxReplicasFor } from '../../src/core/bench/parse-matrix.js';
import { usableCpus } from '../../src/core/cpu-budget.js';

const DATA = path.resolve(REPO_ROOT, '../shared/datasets');
const hasData = existsSync(path.join(DATA, 'PobleSec_test.csv'));
const home = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-cli-'));
const env = { FLTS_DATA_DIR: DATA, TRAIN_FILE: 'PobleSec.csv', TEST_FILE: 'PobleSec_test.csv', SAMPLE_TRAIN_ROWS: '400', HIDDEN_SIZE: '8', NUM_LAYERS: '1', EPOCHS: '1', FLTS_BACKEND: 'wasm' };
// The checks are of the report's shape and consistency, not of the rates: a cell needs some answered requests (tens
// even on a loaded machine), not hundreds; the time of these tests goes to starting replicas, not to loading them.
// Long enough that a loaded host still completes requests in each cell.
const SHORT = ['--connections', '4', '--duration', '1s', '--baseline-duration', '1s', '--warmup', '0', '--payload-rows', '12'];

/** 2xx POST /predict responses counted by the server itself (its Prometheus counter). */
async function servedPredictions(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^flts_http_requests_total\{([^}]*)\} (\d+)/gm)]
    .filter(([, labels]) => labels.includes('route="/predict"') && labels.includes('method="POST"') && /status="2\d\d"/.test(labels))
    .reduce((sum, match) => sum + Number(match[2]), 0);
}

function checkCell(cell: any, phase: string, replicas: number | null): void {
  expect(cell).toMatchObject({ phase, replicas, connections: 4 });
  expect(cell.requests).toBeGreaterThan(0);
  expect(cell.errors).toEqual({ non2xx: {}, timeouts: 0, connection: {}, total: 0 });
  expect(cell.requests_per_sec).toBeGreaterThan(0);
  const { p50, p90, p99, max } = cell.latency;
  expect(p50).toBeGreaterThan(0);
  expect(p50).toBeLessThanOrEqual(p90);
  expect(p90).toBeLessThanOrEqual(p99);
  expect(p99).toBeLessThanOrEqual(max);
}

describe.skipIf(!hasData)('commands > bench', () => {
  let runId: string;

  beforeAll(async () => {
    const pre = await runCli(['preprocess', '--home', home, '--json'], { env });
    expect(pre.exitCode, pre.stderr).toBe(0);
    const train = await runCli(['train', '--home', home, '--model', 'LSTM', '--json'], { env, timeoutMs: 110_000 });
    expect(train.exitCode, train.stderr).toBe(0);
    runId = train.json.result.runs[0].run_id;
  }, 180_000);
  afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('starts a replica per engine, measures the baseline and /predict on each, and writes csv, md, json and svg', async () => {
    const out = path.join(home, 'results');
    // The ready file of a server beside the bench (the image sets FLTS_READY_FILE): its replicas leave it alone.
    const readyFile = path.join(home, 'ready.json');
    writeFileSync(readyFile, '{"command":"serve"}\n');
    const result = await runCli(['bench', '--home', home, '--run', runId, '--engine', 'onnx,wasm', '--replicas', '1', ...SHORT, '--out', out, '--json'], { env: { ...env, FLTS_READY_FILE: readyFile }, timeoutMs: 120_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(readyFile, 'utf8')).toBe('{"command":"serve"}\n');
    const report = result.json.result;
    expect(report).toMatchObject({ balancer: 'node-cluster', run_id: runId, model_type: 'LSTM', matrix: { variants: ['FLTS_SERVE_ENGINE=onnx', 'FLTS_SERVE_ENGINE=wasm'], replicas: [1], connections: [4] } });
    // Each group's engine is the one its replicas report on /readyz, not just the one asked for.
    expect(report.cells.map((cell: any) => [cell.variant, cell.engine, cell.phase])).toEqual([
      ['FLTS_SERVE_ENGINE=onnx', 'onnx', 'baseline'],
      ['FLTS_SERVE_ENGINE=onnx', 'onnx', 'predict'],
      ['FLTS_SERVE_ENGINE=wasm', 'wasm', 'baseline'],
      ['FLTS_SERVE_ENGINE=wasm', 'wasm', 'predict'],
    ]);
    for (const [k, cell] of report.cells.entries()) {
      checkCell(cell, k % 2 === 0 ? 'baseline' : 'predict', 1);
      expect(cell.route).toBe(k % 2 === 0 ? 'GET /healthz' : 'POST /predict');
      expect(cell.server_rss_mib).toBeGreaterThan(0);
    }
    const predict = report.cells[1];
    expect(predict.fraction_of_baseline).toBeCloseTo(predict.requests_per_sec / report.cells[0].requests_per_sec, 2);
    expect(predict.cpu.servers_percent).toBeGreaterThan(0);
    expect(report.payload).toMatchObject({ rows_per_request: 12, distinct_bodies: 64 });

    const files = report.files;
    expect(JSON.parse(readFileSync(files.json, 'utf8')).cells).toEqual(report.cells);
    const csv = readFileSync(files.csv, 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    const header = csv[0].split(',');
    const row = Object.fromEntries(csv[2].split(',').map((value, i) => [header[i], value]));
    expect(row).toMatchObject({ phase: 'predict', engine: 'onnx', replicas: '1', connections: '4', route: 'POST /predict', variant: 'FLTS_SERVE_ENGINE=onnx' });
    expect(Number(row.server_rss_mib)).toBeGreaterThan(0);
    expect(readFileSync(files.markdown, 'utf8')).toContain(`| FLTS_SERVE_ENGINE=onnx | onnx | 1 | 4 | POST /predict | ${predict.requests_per_sec.toFixed(0)} |`);
    const svg = readFileSync(files.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('FLTS_SERVE_ENGINE=onnx, 4 connections');
    expect(svg).toContain('FLTS_SERVE_ENGINE=wasm, 4 connections');
  }, 130_000);

  it('measures /predict and the Open Inference Protocol over HTTP and gRPC in one run, each against its transport ceiling', async () => {
    const out = path.join(home, 'protocols');
    const result = await runCli(['bench', '--home', home, '--run', runId, '--replicas', '1', ...SHORT, '--protocol', 'http,oip-http,oip-grpc', '--out', out, '--json'], { env, timeoutMs: 120_000 });
    expect(result.exitCode, result.stdout.slice(0, 1500)).toBe(0);
    const report = result.json.result;
    expect(report.matrix.protocols).toEqual(['http', 'oip-http', 'oip-grpc']);
    expect(report.cells.map((cell: any) => [cell.phase, cell.protocol, cell.route])).toEqual([
      ['baseline', 'http', 'GET /healthz'],
      ['baseline', 'oip-grpc', 'gRPC ServerLive'],
      ['predict', 'http', 'POST /predict'],
      ['predict', 'oip-http', 'POST /v2/models/flts/infer'],
      ['predict', 'oip-grpc', 'gRPC ModelInfer'],
    ]);
    for (const cell of report.cells) checkCell(cell, cell.phase, 1);
    const [httpCeiling, grpcCeiling, , oipHttp, oipGrpc] = report.cells;
    expect(oipHttp.fraction_of_baseline).toBeCloseTo(oipHttp.requests_per_sec / httpCeiling.requests_per_sec, 2);
    expect(oipGrpc.fraction_of_baseline).toBeCloseTo(oipGrpc.requests_per_sec / grpcCeiling.requests_per_sec, 2);
    const svg = readFileSync(report.files.svg, 'utf8');
    expect(svg).toContain('oip-grpc, 4 connections');
    expect(readFileSync(report.files.csv, 'utf8').trim().split('\n')[5].endsWith(',oip-grpc')).toBe(true);
  }, 130_000);

  it('refuses oip-grpc against --target without the gRPC address, and unknown protocols', async () => {
    // Flags for the replicas bench starts would be silently ignored against a running service.
    const ignoredFlags = [['--compare', 'FLTS_LIVE_SCORING=false,true'], ['--engine', 'onnx,wasm'], ['--run', 'r1']];
    // Independent refusals: run at once, their start-ups overlap.
    const [missing, unknown, notUrl, ...ignoredRuns] = await Promise.all([
      runCli(['bench', '--home', home, '--target', 'http://127.0.0.1:9', '--protocol', 'oip-grpc', ...SHORT, '--json'], { env }),
      runCli(['bench', '--home', home, '--protocol', 'http,smtp', ...SHORT, '--json'], { env }),
      // Refused at once: a timeout shorter than the minute of readiness retries an unusable target used to get.
      runCli(['bench', '--home', home, '--target', 'notaurl', ...SHORT, '--json'], { env, timeoutMs: 20_000 }),
      ...ignoredFlags.map((flag) => runCli(['bench', '--home', home, '--target', 'http://127.0.0.1:9', ...flag, ...SHORT, '--json'], { env, timeoutMs: 20_000 })),
    ]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.json.error.message).toMatch(/--grpc-target/);
    expect(unknown.json.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG' });
    expect(notUrl.json?.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'target', value: 'notaurl' } });
    expect(notUrl.exitCode).toBe(2);
    for (const [i, flag] of ignoredFlags.entries()) {
      const ignored = ignoredRuns[i];
      expect(ignored.json?.error, flag[0]).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG' });
      expect(ignored.json.error.message).toContain('--target');
      expect(ignored.exitCode).toBe(2);
    }
  });

  it("refuses --payload-rows shorter than the run's input window before starting a server, as a usage error", async () => {
    const short = await runCli(['bench', '--home', home, '--run', runId, '--replicas', '1', '--connections', '4', '--duration', '1s', '--warmup', '0', '--payload-rows', '5', '--json'], { env, timeoutMs: 20_000 });
    expect(short.json?.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'payload-rows', value: 5, needed: 10, input_seq_len: 10, run_id: runId } });
    expect(short.json.error.message).toContain('--payload-rows 10 or more');
    expect(short.exitCode).toBe(2);
  });

  it("leaves the home's store as it was: its replicas neither score the synthetic load live nor log its predictions", async () => {
    // Before, a replica scored the load live against the scope's promotion (a bench fed its probation) and wrote its
    // prediction records beside the real ones; both go to the store, here the files under the home.
    const listing = (): string[] => readdirSync(home, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => { const file = path.join(entry.parentPath, entry.name); return `${path.relative(home, file)} ${statSync(file).size} ${statSync(file).mtimeMs}`; })
      .sort();
    const out = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-out-'));
    try {
      const before = listing();
      const result = await runCli(['bench', '--home', home, '--run', runId, '--replicas', '1', ...SHORT, '--payload-layout', 'consecutive', '--out', out, '--json'], { env: { ...env, FLTS_LIVE_SCORING: 'true', FLTS_LIVE_REPORT_INTERVAL_MS: '50', FLTS_SERVE_PREDICTION_LOG_FLUSH_MS: '10' }, timeoutMs: 120_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.json.result.cells[1].requests).toBeGreaterThan(0);
      expect(listing()).toEqual(before);
      expect(readFileSync(path.join(out, 'bench.md'), 'utf8')).toContain('with live scoring and prediction records off (FLTS_LIVE_SCORING=false, FLTS_SERVE_PREDICTION_LOG=false');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 130_000);

  describe('--target', () => {
    let server: ServeProcess;
    let url: string;

    beforeAll(async () => {
      server = await startServe(['--run', runId, '--home', home, '--log-level', 'silent'], env);
      url = server.url;
    }, 60_000);
    // Waiting for the exit keeps the outer cleanup from racing the server's last writes into the store.
    afterAll(async () => {
      await server?.stop();
    }, 30_000);

    it('measures a running service, and every reported /predict response was answered by that server', async () => {
      const before = await servedPredictions(url);
      const result = await runCli(['bench', '--home', home, '--target', url, ...SHORT, '--out', path.join(home, 'target-results'), '--json'], { env, timeoutMs: 120_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      const report = result.json.result;
      expect(report).toMatchObject({ balancer: 'external', target: url, run_id: runId });
      const [baseline, predict] = report.cells;
      checkCell(baseline, 'baseline', null);
      checkCell(predict, 'predict', null);
      const served = (await servedPredictions(url)) - before;
      // The probe request plus every 2xx the report counts; requests cut off at the end may add more.
      expect(served).toBeGreaterThanOrEqual(predict.requests + 1);
    }, 130_000);

    it("refuses --payload-rows shorter than the served model's window before any load", async () => {
      const before = await servedPredictions(url);
      const short = await runCli(['bench', '--home', home, '--target', url, ...SHORT.slice(0, -2), '--payload-rows', '3', '--json'], { env, timeoutMs: 30_000 });
      expect(short.json?.error).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'payload-rows', value: 3, needed: 10, run_id: runId } });
      expect(short.exitCode).toBe(2);
      expect(await servedPredictions(url)).toBe(before);
    }, 40_000);
  });
});

describe('commands > bench > request rows', () => {
  const exampleHome = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-rows-'));
  // No PobleSec here, and no data settings: the rows can only come from the data the run was trained with.
  const run = (args: string[]) => runCli(['bench', '--home', exampleHome, ...args, '--json'], { cwd: exampleHome, timeoutMs: 60_000 });
  afterAll(() => rmSync(exampleHome, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
  /** The run the tests below serve, promoted by the first that trains one. */
  let promotedRunId: string;

  it('refuses a replica or connection list with an empty, zero or repeated entry as a usage error, before the registry is read', async () => {
    // Before, "1,,2" ran as 1,2: with no promoted run here the user was told of the model, not of the flag.
    // More replicas than the machine's CPUs can run (4 per CPU): before, up to 64 were started on any machine. And
    // --compare with one value, which compares nothing: before, it ran as a comparison of one group.
    const tooMany = maxReplicasFor(usableCpus()) + 1;
    // Flags given empty (an unset shell variable): before, read as absent, --run "" benched the promoted run and
    // --out "" wrote no files; with no promoted run here the user was told of the model.
    const empty = ['run', 'out', 'compare', 'engine', 'baseline-duration'];
    const refusals = await Promise.all([
      run(['--replicas', '1,,2']),
      run(['--replicas', '0,1']),
      run(['--replicas', '2,2']),
      run(['--replicas', '1', '--connections', '16,']),
      run(['--replicas', `1,${tooMany}`]),
      run(['--replicas', '1', '--compare', 'FLTS_LIVE_SCORING=true']),
      ...empty.map((flag) => run(['--replicas', '1', `--${flag}`, ''])),
    ]);
    for (const [i, flag] of ['replicas', 'replicas', 'replicas', 'connections', 'replicas', 'compare', ...empty].entries()) {
      expect(refusals[i].json?.error, refusals[i].stdout).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag } });
      expect(refusals[i].exitCode).toBe(2);
    }
    expect(refusals[4].json.error.message).toMatch(tooMany > 64 ? /from 1 to 64/ : new RegExp(`^--replicas ${tooMany} is more than the \\d+ CPUs? usable here`));
    expect(refusals[5].json.error.message).toContain('--compare needs two or more values of FLTS_LIVE_SCORING');
    expect(existsSync(path.join(exampleHome, 'bench-results'))).toBe(false);
  });

  it("refuses a --compare that turns live scoring or prediction records back on in the home's scope, before the registry is read", async () => {
    // Before, the registry was read (here: no promoted run) and, with a run, each group's replicas started with the
    // value given, scoring the synthetic load into the scope's live probation or writing it into its prediction logs.
    const refusals = await Promise.all([run(['--replicas', '1', '--compare', 'FLTS_LIVE_SCORING=false,true']), run(['--replicas', '1', '--compare', 'FLTS_SERVE_PREDICTION_LOG=true,false'])]);
    for (const [i, setting] of ['FLTS_LIVE_SCORING', 'FLTS_SERVE_PREDICTION_LOG'].entries()) {
      expect(refusals[i].json?.error, refusals[i].stdout + refusals[i].stderr).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'compare', value: `${setting}=true`, setting } });
      expect(refusals[i].json.error.message).toContain('--target');
      expect(refusals[i].exitCode).toBe(2);
    }
    expect(existsSync(path.join(exampleHome, 'bench-results'))).toBe(false);
  });

  it('refuses --replicas with --target, which measures the one service there is, before asking the target anything', async () => {
    // Before, the replica counts were dropped without a word and the service measured as it was.
    const refused = await run(['--target', 'http://127.0.0.1:9', '--replicas', '1,2']);
    expect(refused.json?.error, refused.stdout + refused.stderr).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG' });
    expect(refused.json.error.message).toContain('--replicas=1,2 cannot also be provided when using --target');
    expect(refused.exitCode).toBe(2);
  });

  it('refuses --payload-rows whose request bodies a flts serve refuses as too large, before asking the target anything', async () => {
    // Before, the target was asked next (here unavailable); a live one answered every request 413, and bodies of tens
    // of thousands of rows ran bench out of memory before that.
    const refused = await runCli(['bench', '--home', exampleHome, '--target', 'http://127.0.0.1:9', '--dataset', 'example', '--payload-rows', '200', '--json'], { cwd: exampleHome, env: { FLTS_SERVE_BODY_LIMIT_BYTES: '4096' } });
    expect(refused.json?.error, refused.stdout + refused.stderr).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'payload-rows', value: 200, body_limit_bytes: 4096 } });
    expect(refused.json.error.message).toMatch(/^--payload-rows 200 makes request bodies of \d+ bytes, more than the 4096 a flts serve accepts \(serve.bodyLimitBytes\): every request would be answered 413; about \d+ rows fit\.$/);
    expect(refused.exitCode).toBe(2);
  });

  it('refuses named data that is not there before asking the registry for a run, which there is none of yet', async () => {
    // Before, the registry was read first: with no promoted run the user was told of the model, not of the data.
    const [flag, variable] = await Promise.all([run(['--dataset', 'nosuch', '--replicas', '1']), runCli(['bench', '--home', exampleHome, '--replicas', '1', '--json'], { cwd: exampleHome, env: { TEST_FILE: 'nosuch_test.csv' } })]);
    for (const refused of [flag, variable]) {
      expect(refused.json?.error, refused.stdout).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { file: 'nosuch_test.csv' } });
      expect(refused.exitCode).toBe(4);
    }
  });

  it('refuses, with no data named, a data directory with no file in it before asking the registry or the target anything', async () => {
    // Before, the registry was read first: with no promoted run the user was told of the model, and a --target that
    // does not answer was reported as such, though no test file could be found whatever run is served.
    const empty = mkdtempSync(path.join(exampleHome, 'empty-'));
    const missing = path.join(empty, 'nosuch');
    const [emptyDir, missingDir, target] = await Promise.all([
      runCli(['bench', '--home', exampleHome, '--replicas', '1', '--json'], { cwd: exampleHome, env: { FLTS_DATA_DIR: empty } }),
      runCli(['bench', '--home', exampleHome, '--replicas', '1'], { cwd: exampleHome, env: { FLTS_DATA_DIR: missing } }),
      runCli(['bench', '--home', exampleHome, '--target', 'http://127.0.0.1:9', '--json'], { cwd: exampleHome, env: { FLTS_DATA_DIR: empty } }),
    ]);
    for (const refused of [emptyDir, target]) {
      expect(refused.json?.error, refused.stdout).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', message: `Request rows: no data file to cut them from: ${empty} holds no file.`, details: { searched: [empty] } });
      expect(refused.exitCode).toBe(4);
    }
    expect(missingDir.exitCode).toBe(4);
    expect(missingDir.stderr).toContain(`Error FLTS_DATA_FILE_NOT_FOUND: Request rows: no data file to cut them from: ${missing} does not exist.`);
  });

  it('refuses a named file it cannot cut rows from as such, before the registry is read (none of it is made)', async () => {
    // Before, the file was only checked to exist: with no promoted run, each was reported as FLTS_SERVE_NO_MODEL.
    const fresh = mkdtempSync(path.join(exampleHome, 'fresh-'));
    const dataDir = mkdtempSync(path.join(exampleHome, 'data-'));
    const header = readFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), 'utf8').split('\n')[0];
    mkdirSync(path.join(dataDir, 'folder_test.csv'));
    writeFileSync(path.join(dataDir, 'empty_test.csv'), '');
    writeFileSync(path.join(dataDir, 'header_test.csv'), `${header}\n`);
    writeFileSync(path.join(dataDir, 'pipes_test.csv'), `${header.replaceAll(',', '|')}\n2024-01-08 00:00:00${'|1'.repeat(11)}\n`);
    const cases = [['folder', 'FLTS_DATA_NOT_A_FILE'], ['empty', 'FLTS_DATA_EMPTY'], ['header', 'FLTS_DATA_EMPTY'], ['pipes', 'FLTS_DATA_UNREADABLE']] as const;
    const runs = await Promise.all(cases.map(([dataset]) => runCli(['bench', '--home', path.join(fresh, 'home'), '--dataset', dataset, '--replicas', '1', '--json'], { cwd: fresh, env: { FLTS_DATA_DIR: dataDir } })));
    runs.forEach((refused, i) => {
      expect(refused.json?.error, refused.stdout).toMatchObject({ code: cases[i][1], hint: expect.any(String) });
      expect(refused.exitCode).toBe(3);
    });
    expect(existsSync(path.join(fresh, 'home'))).toBe(false);
  });

  it('cuts them from the test file the promoted run was trained with when no data is named, and from --dataset when it is', async () => {
    expect((await runCli(['preprocess', '--home', exampleHome, '--dataset', 'example', '--sample-train-rows', '400', '--json'], { cwd: exampleHome })).exitCode).toBe(0);
    const train = await runCli(['train', '--home', exampleHome, '--model', 'NAIVE', '--json'], { cwd: exampleHome });
    expect(train.exitCode, train.stderr).toBe(0);
    promotedRunId = train.json.result.runs[0].run_id;
    expect((await runCli(['promote', '--home', exampleHome, '--run', promotedRunId, '--json'], { cwd: exampleHome })).exitCode).toBe(0);
    // Before, the default dataset's PobleSec_test.csv was looked for and not found (FLTS_DATA_FILE_NOT_FOUND).
    // The refusal of a named dataset starts no replica: it runs alongside.
    const [bench, named] = await Promise.all([
      run(['--replicas', '1', '--connections', '1', '--duration', '300ms', '--baseline-duration', '200ms', '--warmup', '0', '--out', path.join(exampleHome, 'results')]),
      run(['--dataset', 'nosuch', '--replicas', '1']),
    ]);
    expect(bench.exitCode, bench.stdout).toBe(0);
    expect(bench.json.result.payload).toMatchObject({ source: expect.stringMatching(/examples[/\\]data[/\\]example_test\.csv$/), origin: 'served-run', why: 'the test file the served run was trained with' });
    expect(readFileSync(bench.json.result.files.markdown, 'utf8')).toContain(`- Request rows: cut from ${bench.json.result.payload.source}, the test file the served run was trained with.`);
    expect(named.exitCode).toBe(4);
    expect(named.json.error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', details: { file: 'nosuch_test.csv' } });
  }, 90_000);

  it('sends each --compare FLTS_SERVE_API_TOKEN group the token its replicas require, and prints neither', async () => {
    // Before, bench sent its own token (none here) to replicas started with tok-a: the probe was refused, HTTP 401.
    const bench = await run(['--compare', 'FLTS_SERVE_API_TOKEN=tok-alpha,tok-beta', '--replicas', '1', '--connections', '1', '--duration', '300ms', '--baseline-duration', '200ms', '--warmup', '0', '--out', path.join(exampleHome, 'token-results')]);
    expect(bench.exitCode, bench.stdout.slice(0, 1500)).toBe(0);
    const report = bench.json.result;
    expect(report.cells.map((cell: any) => [cell.variant, cell.phase])).toEqual([
      ['FLTS_SERVE_API_TOKEN=***1', 'baseline'],
      ['FLTS_SERVE_API_TOKEN=***1', 'predict'],
      ['FLTS_SERVE_API_TOKEN=***2', 'baseline'],
      ['FLTS_SERVE_API_TOKEN=***2', 'predict'],
    ]);
    for (const cell of report.cells) expect(cell.errors.total).toBe(0);
    const files = Object.values(report.files as Record<string, string>).filter((file) => file !== report.files.dir);
    expect(bench.stdout + bench.stderr + files.map((file) => readFileSync(file, 'utf8')).join('')).not.toMatch(/tok-(alpha|beta)/);
  }, 90_000);

  it('cuts them, with --target and no data named, from the test file of the run the service says it serves, and refuses when that run is not known', async () => {
    const server = await startServe(['--home', exampleHome, '--log-level', 'silent']);
    const elsewhere = mkdtempSync(path.join(exampleHome, 'elsewhere-'));
    const silent = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const other = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      const short = ['--connections', '1', '--duration', '300ms', '--baseline-duration', '200ms', '--warmup', '0'];
      // Before, the run was never looked up: PobleSec_test.csv was looked for, which is not here (FLTS_DATA_FILE_NOT_FOUND).
      const [bench, unknownRun, noRun, noAnswer] = await Promise.all([
        run(['--target', server.url, ...short, '--out', path.join(exampleHome, 'target-results')]),
        runCli(['bench', '--home', path.join(elsewhere, 'home'), '--target', server.url, ...short, '--json'], { cwd: elsewhere }),
        run(['--target', other, ...short]),
        run(['--target', 'http://127.0.0.1:9', ...short]),
      ]);
      expect(bench.exitCode, bench.stdout).toBe(0);
      expect(bench.json.result).toMatchObject({ run_id: promotedRunId, payload: { source: expect.stringMatching(/examples[/\\]data[/\\]example_test\.csv$/), origin: 'served-run' } });
      expect(unknownRun.json?.error, unknownRun.stdout).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'dataset', target: server.url, run_id: promotedRunId } });
      expect(unknownRun.json.error.message).toContain('--dataset NAME');
      expect(noRun.json?.error, noRun.stdout).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'dataset', target: other } });
      expect([unknownRun.exitCode, noRun.exitCode]).toEqual([2, 2]);
      // A target that does not answer is said to be unavailable, at once, not a flag mistyped.
      expect(noAnswer.json?.error, noAnswer.stdout).toMatchObject({ code: 'FLTS_BENCH_TARGET_UNAVAILABLE', details: { url: 'http://127.0.0.1:9' } });
    } finally {
      await server.stop();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 90_000);

  it('writes each of two runs started in the same millisecond into a results directory of its own', async () => {
    const server = await startServe(['--home', exampleHome, '--log-level', 'silent']);
    const cwd = mkdtempSync(path.join(exampleHome, 'same-ms-'));
    try {
      const nodeArgs = ['--import', path.join(REPO_ROOT, 'test/helpers/frozen-iso-time.mjs')];
      const args = ['bench', '--home', exampleHome, '--target', server.url, '--connections', '1', '--duration', '300ms', '--baseline-duration', '200ms', '--warmup', '0', '--json'];
      const runs = await Promise.all([runCli(args, { cwd, nodeArgs }), runCli(args, { cwd, nodeArgs })]);
      for (const bench of runs) expect(bench.exitCode, bench.stdout + bench.stderr).toBe(0);
      // Before, both wrote into bench-results/2026-12-07T04-14-50-123Z/, the later files over the earlier.
      const dirs = runs.map((bench) => bench.json.result.files.dir);
      expect(dirs.sort()).toEqual([path.join('bench-results', '2026-12-07T04-14-50-123Z'), path.join('bench-results', '2026-12-07T04-14-50-123Z-2')]);
      for (const bench of runs) {
        const written = JSON.parse(readFileSync(path.join(cwd, bench.json.result.files.json), 'utf8'));
        expect(written.cells).toEqual(bench.json.result.cells);
      }
    } finally {
      await server.stop();
    }
  }, 90_000);

  it('ends on SIGINT while a report file in --out, a named pipe, waits for its reader, with FLTS_BENCH_ABORTED naming the files written', async () => {
    const server = await startServe(['--home', exampleHome, '--log-level', 'silent']);
    const out = mkdtempSync(path.join(exampleHome, 'pipe-results-'));
    const pipe = path.join(out, 'bench.md');
    await promisify(execFile)('mkfifo', [pipe]);
    try {
      const bench = startFltsProcess(['bench', '--home', exampleHome, '--target', server.url, '--connections', '1', '--duration', '300ms', '--baseline-duration', '200ms', '--warmup', '0', '--out', out, '--json'], {});
      await bench.waitForLogs(/output_waiting_for_reader/, 60_000);
      // Before, the stop was not heard by that wait: held for its minute, then the run failed on the pipe nobody read.
      expect(await bench.stop('SIGINT'), bench.output()).toBe(5);
      const { error } = JSON.parse(bench.output().split('\n--- stderr')[0]);
      expect(error).toMatchObject({ code: 'FLTS_BENCH_ABORTED', details: { waiting_for_reader: pipe, written: [path.join(out, 'bench.csv')], not_written: [pipe, path.join(out, 'bench.svg'), path.join(out, 'bench.json')] } });
      expect(error.details.measured_cells).toBeGreaterThan(0);
      expect(lstatSync(pipe).isFIFO()).toBe(true);
    } finally {
      await server.stop();
    }
  }, 90_000);

  it("says, before anything else, that the rows come from the default dataset because the run's own test file is not here", async () => {
    // Data with the run's columns under the default dataset's name, where the run's example_test.csv is not.
    const dataDir = mkdtempSync(path.join(exampleHome, 'data-'));
    copyFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), path.join(dataDir, 'PobleSec_test.csv'));
    // Before, the default file was taken silently; then it was said as the run started alone, scrolled away by the end.
    const bench = await runCli(['bench', '--home', exampleHome, '--replicas', '1', '--connections', '1', '--duration', '300ms', '--baseline-duration', '200ms', '--warmup', '0', '--out', path.join(dataDir, 'results')], { cwd: exampleHome, env: { FLTS_DATA_DIR: dataDir } });
    expect(bench.exitCode, bench.stderr).toBe(0);
    const said = `Request rows from ${path.join(dataDir, 'PobleSec_test.csv')}: the default dataset's test file, because the served run's own test file example_test.csv was not found (looked in ${dataDir}).`;
    const hint = /^ {2}Hint: Put example_test\.csv where the data is looked for \(FLTS_DATA_DIR\), or name the request data: --dataset NAME/;
    const lines = bench.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(said);
    expect(lines[1]).toMatch(hint);
    const afterTable = lines.findIndex((line) => line.startsWith('Wrote ')) - 4;
    expect(lines.slice(afterTable, afterTable + 3)).toEqual(['', said, expect.stringMatching(hint)]);
    expect(lines[afterTable - 1]).toMatch(/POST \/predict/);
  }, 60_000);

  it('logs on stderr under --json that the rows come from the default dataset, leaving stdout one JSON document', async () => {
    const dataDir = mkdtempSync(path.join(exampleHome, 'data-'));
    copyFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), path.join(dataDir, 'PobleSec_test.csv'));
    const file = path.join(dataDir, 'PobleSec_test.csv');
    // Before, only the final JSON document said it. --out naming a file ends the run before any replica starts.
    const bench = await runCli(['bench', '--home', exampleHome, '--replicas', '1', '--out', file, '--json'], { cwd: exampleHome, env: { FLTS_DATA_DIR: dataDir } });
    expect(bench.json?.error, bench.stdout + bench.stderr).toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
    expect(bench.stdout).not.toContain('Request rows from');
    const notices = bench.stderr.split('\n').filter((line) => line.includes('bench_default_request_rows'));
    expect(notices, bench.stderr).toHaveLength(1);
    expect(JSON.parse(notices[0])).toMatchObject({
      level: expect.anything(),
      event: 'bench_default_request_rows',
      file,
      msg: 'bench_default_request_rows',
      why: `the default dataset's test file, because the served run's own test file example_test.csv was not found (looked in ${dataDir})`,
      hint: expect.stringContaining('Put example_test.csv where the data is looked for'),
    });
  }, 30_000);

  it("refuses rows without the served run's columns before any replica starts: the default dataset's file, or one named", async () => {
    // Before, every replica started and answered the probe 400 (FLTS_BENCH_FAILED, 'the servers may have failed to start').
    const dataDir = mkdtempSync(path.join(exampleHome, 'data-'));
    const firstColumns = (text: string) => text.trim().split('\n').map((line) => line.split(',').slice(0, 3).join(',')).join('\n');
    const rows = firstColumns(readFileSync(path.join(REPO_ROOT, 'examples/data/example_test.csv'), 'utf8'));
    writeFileSync(path.join(dataDir, 'PobleSec_test.csv'), rows);
    writeFileSync(path.join(dataDir, 'narrow_test.csv'), rows);
    const missing = ['rnti_count', 'mcs_down', 'mcs_down_var', 'mcs_up', 'mcs_up_var', 'rb_down', 'rb_down_var', 'rb_up', 'rb_up_var'];
    const [fallback, named] = await Promise.all([
      runCli(['bench', '--home', exampleHome, '--replicas', '1', '--json'], { cwd: exampleHome, env: { FLTS_DATA_DIR: dataDir } }),
      runCli(['bench', '--home', exampleHome, '--replicas', '1', '--dataset', 'narrow'], { cwd: exampleHome, env: { FLTS_DATA_DIR: dataDir } }),
    ]);
    expect(fallback.exitCode, fallback.stdout).toBe(3);
    expect(fallback.json.error).toMatchObject({
      code: 'FLTS_DATA_MISSING_COLUMNS',
      details: { file: path.join(dataDir, 'PobleSec_test.csv'), origin: 'default', missing },
      hint: expect.stringContaining('Put example_test.csv where the data is looked for'),
    });
    expect(named.exitCode).toBe(3);
    expect(named.stdout).not.toContain('Starting');
    expect(named.stderr).toContain(`Error FLTS_DATA_MISSING_COLUMNS: Request rows: ${path.join(dataDir, 'narrow_test.csv')} lacks column(s) rnti_count, `);
    expect(named.stderr).toMatch(/Hint: .*--dataset NAME/);
  }, 30_000);
});

describe('commands > bench --target --protocol oip-grpc', () => {
  it('names the missing --grpc-target before asking the target anything, with no data named', async () => {
    // Before, GET /healthz of the target came first: a dead target read as unavailable, a live one as missing data.
    const requests: string[] = [];
    const target = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-grpc-target-'));
    try {
      const url = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
      const missing = await runCli(['bench', '--home', dir, '--target', url, '--protocol', 'http,oip-grpc', ...SHORT, '--json'], { cwd: dir, timeoutMs: 20_000 });
      expect(missing.json?.error, missing.stdout + missing.stderr).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'grpc-target' } });
      expect(missing.json.error.message).toContain('--grpc-target host:port');
      expect(missing.exitCode).toBe(2);
      expect(requests).toEqual([]);
    } finally {
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a --grpc-target nothing would use, without --target or without oip-grpc, before any replica starts or the target is asked', async () => {
    // Before, it was accepted and ignored: the replicas were started (or the target measured) without it.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-unused-grpc-target-'));
    try {
      const [noTarget, noGrpc] = await Promise.all([
        runCli(['bench', '--home', dir, '--grpc-target', '127.0.0.1:1', '--protocol', 'http,oip-grpc', '--replicas', '1', ...SHORT, '--json'], { cwd: dir, timeoutMs: 20_000 }),
        runCli(['bench', '--home', dir, '--target', 'http://127.0.0.1:9', '--grpc-target', '127.0.0.1:1', ...SHORT, '--json'], { cwd: dir, timeoutMs: 20_000 }),
      ]);
      for (const refused of [noTarget, noGrpc]) {
        expect(refused.json?.error, refused.stdout + refused.stderr).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'grpc-target' } });
        expect(refused.exitCode).toBe(2);
      }
      expect(noTarget.json.error.message).toContain('give --target too');
      expect(noGrpc.json.error.message).toContain('add oip-grpc to --protocol');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('commands > bench > against a stand-in service', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-bench-stand-in-'));
  const requests: string[] = [];
  // Ready, serving run r1, answering every call 200: what bench needs of a --target, without a model or a replica.
  const target = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume().on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(request.url === '/readyz' ? '{"run_id":"r1"}' : '{}'));
  });
  let url: string;
  // Rows named (the example data), so that no store is asked which run the target serves.
  const bench = (args: string[]) => runCli(['bench', '--home', path.join(dir, 'home'), '--target', url, '--dataset', 'example', ...SHORT, ...args], { cwd: dir, timeoutMs: 30_000 });
  beforeAll(async () => {
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('under --json prints the report alone on stdout and its progress as log lines on stderr', async () => {
    // Before, a --json run said nothing until its report, however long the matrix ran.
    const [run, quiet] = await Promise.all([bench(['--json']), bench(['--json', '--log-level', 'warn'])]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.status).toBe('ok');
    const lines = run.stderr.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.msg, line.phase])).toEqual([
      ['bench_request_rows', undefined],
      ['bench_replicas_ready', undefined],
      ['bench_cell_started', 'baseline'],
      ['bench_cell_done', 'baseline'],
      ['bench_cell_started', 'predict'],
      ['bench_cell_done', 'predict'],
    ]);
    expect(lines[1]).toMatchObject({ level: 30, replicas: null, url });
    expect(lines[3]).toMatchObject({ protocol: 'http', replicas: null, connections: 4, requests_per_sec: run.json.result.cells[0].requests_per_sec, errors: 0 });
    expect(lines[4]).toMatchObject({ duration_sec: 1 });
    // A level asked for is obeyed: warnings only.
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('refuses an --out holding the report of an earlier run before sending any request, and replaces it with --force', async () => {
    const out = path.join(dir, 'results');
    const first = await bench(['--out', out, '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    const earlier = readFileSync(path.join(out, 'bench.json'), 'utf8');
    requests.length = 0;
    // Before, the second run measured again and replaced the first one's four files without a word.
    const [again, text] = await Promise.all([bench(['--out', out, '--json']), bench(['--out', out])]);
    expect(again.json?.error, again.stdout + again.stderr).toMatchObject({ code: 'FLTS_BENCH_REPORT_EXISTS', details: { path: out, files: ['bench.csv', 'bench.md', 'bench.json', 'bench.svg'].map((name) => path.join(out, name)) } });
    expect(again.json.error.hint).toContain('--force');
    expect(again.exitCode).toBe(5);
    expect(text.exitCode).toBe(5);
    expect(text.stderr).toContain(`Error FLTS_BENCH_REPORT_EXISTS: --out ${out} holds the report of an earlier run (${path.join(out, 'bench.csv')}, `);
    expect(requests).toEqual([]);
    expect(readFileSync(path.join(out, 'bench.json'), 'utf8')).toBe(earlier);
    const forced = await bench(['--out', out, '--force', '--json']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8')).started_at).toBe(forced.json.result.started_at);
  });

  it('refuses --force without --out, where each run writes a directory of its own', async () => {
    requests.length = 0;
    const refused = await bench(['--force', '--json']);
    expect(refused.json?.error, refused.stdout + refused.stderr).toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { flag: 'force' } });
    expect(refused.exitCode).toBe(2);
    expect(requests).toEqual([]);
  });
});
