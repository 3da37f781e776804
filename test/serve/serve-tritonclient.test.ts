/**
 * A real `flts serve` (HTTP and gRPC) driven by tritonclient from PyPI, the client Triton's and KServe's
 * Open Inference Protocol docs use: health and metadata, inference over HTTP JSON, HTTP binary and gRPC,
 * each compared with POST /predict for the same rows, and bad requests answered in the protocol's error
 * form with the flts code, never a 5xx.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTable } from '../../src/core/data/read-table.js';
import { DATASETS, createSliceHome } from '../helpers/poblesec-slice.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { skipNote, useServers } from '../helpers/servers.js';
import { runPythonJson } from '../helpers/run-python.js';
import { postJson } from './serve-fixtures.js';

const SCRIPT = path.join(REPO_ROOT, 'test/fixtures/oip/tritonclient_calls.py');
const ROWS = 40;
const LENGTH = 4;
/** Steps with bands: the horizon's and the recursive step after it; the last two rows get none. */
const INTERVAL_STEPS = 2;
const slice = createSliceHome('flts-tritonclient-');
const env = {
  FLTS_DATA_DIR: DATASETS,
  TRAIN_FILE: 'PobleSec.csv',
  TEST_FILE: 'PobleSec_test.csv',
  SAMPLE_TRAIN_ROWS: '400',
  HIDDEN_SIZE: '8',
  NUM_LAYERS: '1',
  EPOCHS: '1',
  FLTS_INTERVAL_STEPS: String(INTERVAL_STEPS),
  FLTS_BACKEND: 'wasm',
};

const tritonclient = await useServers('tritonclient');

describe.skipIf(Boolean(tritonclient.skip))(`serve > Open Inference Protocol with tritonclient (HTTP JSON, HTTP binary, gRPC)${skipNote(tritonclient)}`, () => {
  let server: ServeProcess;
  let answers: any;
  let predicted: Record<string, unknown[]>;
  let runId: string;

  beforeAll(async () => {
    const pre = await runCli(['preprocess', '--home', slice.home, '--json'], { env });
    expect(pre.exitCode, pre.stderr).toBe(0);
    const train = await runCli(['train', '--home', slice.home, '--model', 'LSTM', '--json'], { env, timeoutMs: 110_000 });
    expect(train.exitCode, train.stderr).toBe(0);
    runId = train.json.result.runs[0].run_id;
    server = await startServe(['--run', runId, '--home', slice.home, '--grpc-port', '0', '--log-level', 'silent'], env, { untilServing: true });

    const { frame } = await readTable(path.join(DATASETS, 'PobleSec_test.csv'));
    const start = 100;
    const columns: Record<string, unknown[]> = {
      time: Array.from(frame.time.subarray(start, start + ROWS), (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ')),
    };
    for (const column of frame.columns) columns[column] = Array.from(frame.values[column].subarray(start, start + ROWS));
    const { status, json } = await postJson(`${server.url}/predict`, { data: columns, index_col: 'time', inference_length: LENGTH });
    expect(status).toBe(200);
    predicted = { timestamp: json.predictions.map((row: { ts: string }) => row.ts) };
    const targets = Object.keys(json.predictions[0]).filter((key) => key !== 'ts' && key !== 'intervals');
    for (const target of targets) predicted[target] = json.predictions.map((row: Record<string, number>) => row[target]);
    // The prediction intervals travel as extra outputs, null on rows past the model horizon.
    type Row = { intervals?: Record<string, Record<string, [number, number]>> };
    for (const target of targets) {
      for (const level of Object.keys(json.predictions[0].intervals[target])) {
        predicted[`${target}_lower_${level}`] = json.predictions.map((row: Row) => row.intervals?.[target]?.[level]?.[0] ?? null);
        predicted[`${target}_upper_${level}`] = json.predictions.map((row: Row) => row.intervals?.[target]?.[level]?.[1] ?? null);
      }
    }
    answers = await runPythonJson(tritonclient.vars.FLTS_TEST_TRITONCLIENT_PYTHON, SCRIPT, { http: server.url.replace('http://', ''), grpc: server.grpcAddress, model: 'flts', columns, inference_length: LENGTH });
  }, 400_000);

  afterAll(async () => {
    await server?.stop();
    slice.remove();
  }, 30_000);

  it('answers health and metadata the same on both transports', () => {
    for (const transport of ['http', 'grpc']) {
      const health = answers[`${transport}_health`];
      expect(health).toMatchObject({ live: true, ready: true, model_ready: true, server: { name: 'flts', extensions: ['binary_tensor_data'] } });
      expect(health.model).toMatchObject({ name: 'flts', versions: [runId], platform: 'flts-lstm' });
      expect(health.model.inputs[0]).toEqual({ name: 'timestamp', datatype: 'BYTES', shape: [-1] });
      expect(health.model.outputs.map((output: { name: string }) => output.name)).toEqual(Object.keys(predicted));
    }
    // gRPC's ModelMetadataResponse has no parameters field; everything else is the same.
    const { parameters, ...httpModel } = answers.http_health.model;
    expect(parameters).toMatchObject({ run_id: runId, model_type: 'LSTM' });
    expect(answers.grpc_health.model).toEqual(httpModel);
  });

  it('forecasts what /predict forecasts for the same rows, over HTTP JSON, HTTP binary and gRPC', () => {
    expect(predicted.timestamp).toHaveLength(LENGTH);
    expect(predicted['down_lower_0.8']).toEqual([expect.any(Number), expect.any(Number), null, null]);
    for (const transport of ['http_json', 'http_binary', 'http_default', 'grpc']) expect({ transport, outputs: answers[transport] }).toEqual({ transport, outputs: predicted });
    // JSON outputs came back as JSON data, binary ones as binary_data_size sections of 8 bytes per FP64 value.
    expect(answers.http_json_response.outputs.every((output: { data?: unknown[] }) => Array.isArray(output.data))).toBe(true);
    expect(answers.http_binary_sizes.slice(1)).toEqual(Object.keys(predicted).slice(1).map(() => LENGTH * 8));
    expect(answers.http_json_response.parameters).toMatchObject({ run_id: runId, horizon: 1, recursive: true });
    expect(answers.grpc_model_version).toBe(runId);
  });

  it('serves the version the metadata lists when the client names it, on both transports', () => {
    for (const transport of ['http', 'grpc']) {
      expect({ transport, ...answers[`${transport}_versioned`] }).toEqual({ transport, model_ready: true, versions: [runId], outputs: predicted });
    }
  });

  it('answers bad requests in the protocol error form with the flts code, never a 5xx', () => {
    const http = answers.http_errors;
    expect(http.unknown_model).toEqual({ status: '404', message: expect.stringMatching(/^FLTS_REQUEST_ROUTE_NOT_FOUND: No model named 'nope'/) });
    expect(http.too_few_rows).toEqual({ status: '400', message: expect.stringMatching(/^FLTS_REQUEST_INVALID: Too few rows: 2 given/) });
    expect(http.missing_column).toEqual({ status: '400', message: expect.stringMatching(/^FLTS_REQUEST_INVALID: Missing required feature columns/) });
    expect(http.bad_length).toEqual({ status: '400', message: expect.stringMatching(/inference_length/) });
    expect(http.unknown_model_ready).toEqual({ ok: false });
    const grpc = answers.grpc_errors;
    expect(grpc.unknown_model).toEqual({ status: 'StatusCode.NOT_FOUND', message: expect.stringMatching(/^FLTS_REQUEST_ROUTE_NOT_FOUND: No model named 'nope'/) });
    expect(grpc.too_few_rows).toEqual({ status: 'StatusCode.INVALID_ARGUMENT', message: expect.stringMatching(/^FLTS_REQUEST_INVALID: Too few rows: 2 given/) });
    expect(grpc.missing_column).toEqual({ status: 'StatusCode.INVALID_ARGUMENT', message: expect.stringMatching(/^FLTS_REQUEST_INVALID: Missing required feature columns/) });
    expect(grpc.bad_length).toEqual({ status: 'StatusCode.INVALID_ARGUMENT', message: expect.stringMatching(/inference_length/) });
    expect(grpc.unknown_model_ready).toEqual({ status: 'StatusCode.NOT_FOUND', message: expect.stringMatching(/^FLTS_REQUEST_ROUTE_NOT_FOUND/) });
    // A version not in service: a 404 (NOT_FOUND) naming the one served; tritonclient's HTTP readiness reads it as false.
    const oldVersion = `FLTS_REQUEST_ROUTE_NOT_FOUND: Model 'flts' has no version 'run-old' here; it serves version '${runId}'.`;
    for (const [answer, status] of [[http.old_version, '404'], [http.old_version_metadata, '404'], [grpc.old_version, 'StatusCode.NOT_FOUND'], [grpc.old_version_metadata, 'StatusCode.NOT_FOUND'], [grpc.old_version_ready, 'StatusCode.NOT_FOUND']]) {
      expect(answer).toEqual({ status, message: oldVersion });
    }
    expect(http.old_version_ready).toEqual({ ok: false });
  });
});
