import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../src/core/config/settings.js';
import { columnAffine, type ScalerParams } from '../src/core/data/scaler.js';
import { exportRun } from '../src/core/registry/export-run.js';
import { decodeOnnxModel } from '../src/core/models/onnx/onnx-proto.js';
import { runPreprocess } from '../src/core/preprocess/run-preprocess.js';
import { loadRunForServing } from '../src/core/registry/load-run.js';
import type { RunRecord } from '../src/core/registry/run-record.js';
import type { ObjectStore } from '../src/core/storage/object-store.js';
import { trainModels } from '../src/core/workflows/train.js';
import { createRandom } from '../src/core/train/seeded-random.js';
import { createSliceHome, DATASETS } from './helpers/poblesec-slice.js';
import { TIME_FEATURE_COLUMNS, timeFeatureValues } from '../src/core/preprocess/time-features.js';
import { createRegistryModelSource } from '../src/core/serve/registry-model-source.js';
import { postJson, startTestServer } from './serve/serve-fixtures.js';
import { runCli } from './helpers/run-cli.js';
import { keepOnnxTelemetryOff } from '../src/core/models/onnx/runtime-telemetry.js';

// These checks create sessions on plain ONNX Runtime, as a user of an exported graph would: telemetry off as flts keeps it.
keepOnnxTelemetryOff();

/** Largest |a - b| relative to the largest |b| (the forecast's own scale). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let size = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    size = Math.max(size, Math.abs(expected[i]));
  }
  return worst / size;
}

/** Windows per comparison of an export with serving. */
const SIZE = 9;

/**
 * Runs the exported graph with onnxruntime-node on SIZE windows (`scaledWindows(length)`, on the scaled scale,
 * given to the graph in original units) and expects both its outputs within 1e-5 of the run's own forecasts
 * as serving loads it; returns the graph's outputs.
 */
async function expectExportMatchesServing(store: ObjectStore, settings: Settings, run: RunRecord, bytes: Uint8Array, scaledWindows: (length: number) => Float32Array): Promise<ort.InferenceSession.OnnxValueMapType> {
  const { model, scaler } = await loadRunForServing(store, settings, run.run_id);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const { features, targets, inputSeqLen, outputSeqLen } = run.window;
    const scaled = scaledWindows(SIZE * inputSeqLen * features.length);
    const f = columnAffine(scaler, features);
    const t = columnAffine(scaler, targets);
    const raw = Float32Array.from(scaled, (v, i) => v * f.scale[i % features.length] + f.offset[i % features.length]);
    const outputs = await session.run({ input: new ort.Tensor('float32', raw, [SIZE, inputSeqLen, features.length]) });
    const expected = await model.predict({ windows: scaled, size: SIZE, forecastTimes: new Float64Array(SIZE * outputSeqLen) });
    expect(relativeError(outputs.forecast_scaled.data as Float32Array, expected)).toBeLessThanOrEqual(1e-5);
    const unscaled = Float64Array.from(expected, (v, i) => v * t.scale[i % targets.length] + t.offset[i % targets.length]);
    expect(relativeError(outputs.forecast.data as Float32Array, unscaled)).toBeLessThanOrEqual(1e-5);
    return outputs;
  } finally {
    model.dispose();
    await session.release();
  }
}

describe('flts export --format onnx', () => {
  let store: ObjectStore;
  let settings: Settings;
  let home: string;
  let remove: (() => void) | undefined;
  let runs: RunRecord[];

  beforeAll(async () => {
    ({ store, settings, home, remove } = createSliceHome('flts-export-', { 'training.models': ['LSTM', 'GRU', 'NAIVE'], 'training.numLayers': 2 }));
    await runPreprocess(settings, { store });
    runs = (await trainModels({ models: ['LSTM', 'GRU', 'NAIVE'] }, settings, { store })).runs;
  }, 120_000);

  afterAll(() => remove?.());

  for (const kind of ['LSTM', 'GRU']) {
    it(`${kind}: onnxruntime-node runs the export to the run's own forecasts (relative error <= 1e-5), in original and scaled units`, async () => {
      const run = runs.find((r) => r.model_type === kind)!;
      const exported = await exportRun(store, settings, run.run_id);
      const random = createRandom(4);
      const outputs = await expectExportMatchesServing(store, settings, run, exported.bytes, (length) => Float32Array.from({ length }, () => 3 * random() - 1.5));
      expect(outputs.forecast.dims).toEqual([SIZE, run.window.outputSeqLen, run.window.targets.length]);
    });
  }

  it('a GRU that learned windows relative to their own mean exports to the forecasts serving gives (relative error <= 1e-5)', async () => {
    const windowed: Settings = { ...settings, training: { ...settings.training, targetForm: 'window', numLayers: 1 } };
    const [run] = (await trainModels({ models: ['GRU'] }, windowed, { store })).runs;
    expect(run.window.targetForm).toBe('window');
    const exported = await exportRun(store, windowed, run.run_id);
    expect(exported.metadata.target_form).toBe('window');
    const windowValues = run.window.inputSeqLen * run.window.features.length;
    const random = createRandom(5);
    // Each window at its own level, so a graph that skipped the window's centre would miss by that level.
    await expectExportMatchesServing(store, windowed, run, exported.bytes, (length) => Float32Array.from({ length }, (_, i) => random() + Math.floor(i / windowValues) * 0.2));
  }, 120_000);

  /**
   * `count` rows of the test file ending at its busiest one (a forecast well above the targets' floors), as /predict
   * takes them, and the export's input for them: original units, time features as flts computes them.
   */
  function testRows(count: number, features: readonly string[], inputSeqLen: number): { body: unknown; input: Float32Array } {
    const lines = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const all = lines.slice(1).map((line) => line.split(','));
    const down = header.indexOf('down');
    const busiest = all.reduce((best, row, i) => (Number(row[down]) > Number(all[best][down]) ? i : best), count);
    const rows = all.slice(busiest + 1 - count, busiest + 1);
    const data = Object.fromEntries(header.map((name, c) => [name, rows.map((row) => (name === 'time' ? row[c] : Number(row[c])))]));
    const input = new Float32Array(inputSeqLen * features.length);
    for (let r = 0; r < inputSeqLen; r++) {
      const row = rows[count - inputSeqLen + r];
      const time = timeFeatureValues(Date.parse(`${row[header.indexOf('time')].replace(' ', 'T')}Z`));
      features.forEach((feature, f) => {
        const t = (TIME_FEATURE_COLUMNS as readonly string[]).indexOf(feature);
        input[r * features.length + f] = t >= 0 ? time[t] : Number(row[header.indexOf(feature)]);
      });
    }
    return { body: { index_col: 'time', data }, input };
  }

  it('forecasts what the server answers for raw rows sent to /predict, for each target form (error <= 1e-5 of the target\'s scale)', async () => {
    const formed = async (targetForm: Settings['training']['targetForm'], kind: 'LSTM' | 'GRU') =>
      (await trainModels({ models: [kind] }, { ...settings, training: { ...settings.training, targetForm, numLayers: 1 } }, { store })).runs[0];
    const others = [await formed('window-median', 'LSTM'), await formed('level', 'GRU')];
    expect(others.map((run) => run.window.targetForm ?? 'level')).toEqual(['window-median', 'level']);
    for (const run of [...runs.filter((r) => r.model_type !== 'NAIVE'), ...others]) {
      const { features, targets, inputSeqLen } = run.window;
      const { body, input } = testRows(inputSeqLen + 5, features, inputSeqLen);
      const session = await ort.InferenceSession.create((await exportRun(store, settings, run.run_id)).bytes);
      const server = await startTestServer(createRegistryModelSource(store, settings), { pinnedRunId: run.run_id });
      try {
        await server.holder.start();
        const answer = await postJson(`${server.url}/predict`, body);
        expect(answer.status).toBe(200);
        expect(answer.json.run_id).toBe(run.run_id);
        const served = (answer.json.predictions as Array<Record<string, number>>).flatMap((step) => targets.map((target) => step[target]));
        const graph = Array.from((await session.run({ input: new ort.Tensor('float32', input, [1, inputSeqLen, features.length]) })).forecast.data as Float32Array);
        const scale = columnAffine((await loadRunForServing(store, settings, run.run_id)).scaler, targets).scale;
        expect(graph).toHaveLength(served.length);
        graph.forEach((value, i) => expect(Math.abs(value - served[i]) / scale[i % targets.length], `${run.window.targetForm} ${run.model_type}`).toBeLessThanOrEqual(1e-5));
      } finally {
        await server.close();
        await session.release();
      }
    }
  }, 120_000);

  it('writes the file from the CLI with the run, window, features, targets and scaler in the metadata', async () => {
    const run = runs.find((r) => r.model_type === 'GRU')!;
    const out = path.join(home, 'gru.onnx');
    const result = await runCli(['export', '--run', run.run_id, '--format', 'onnx', '--out', out, '--home', home, '--json']);
    expect(result.exitCode).toBe(0);
    expect(result.json?.result).toMatchObject({ run_id: run.run_id, model_type: 'GRU', path: out, opset: 17, inputs: ['input'], outputs: ['forecast', 'forecast_scaled'] });
    const model = decodeOnnxModel(readFileSync(out)) as { metadata_props: Array<{ key: string; value: string }>; graph: { node: Array<{ op_type: string }> } };
    const metadata = Object.fromEntries(model.metadata_props.map((p) => [p.key, p.value]));
    expect(metadata).toMatchObject({ run_id: run.run_id, config_hash: run.config_hash, model_type: 'GRU', target_form: 'change', change_weight: '0.5' });
    expect(JSON.parse(metadata.features)).toEqual(run.window.features);
    expect(JSON.parse(metadata.targets)).toEqual(run.window.targets);
    expect(JSON.parse(metadata.window)).toEqual({ input_seq_len: run.window.inputSeqLen, output_seq_len: run.window.outputSeqLen });
    expect((JSON.parse(metadata.scaler) as ScalerParams).columns).toEqual(expect.arrayContaining([...run.window.targets]));
    expect(model.graph.node.filter((n) => n.op_type === 'GRU')).toHaveLength(2);
  });

  it('answers --out in a directory that does not exist with FLTS_PATH_UNUSABLE naming the path, exit 2', async () => {
    const run = runs.find((r) => r.model_type === 'GRU')!;
    const out = path.join(home, 'no-such-dir', 'gru.onnx');
    const result = await runCli(['export', '--run', run.run_id, '--out', out, '--home', home, '--json']);
    expect(result.json?.error).toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: out, errno: 'ENOENT' } });
    expect(result.json.error.message).toContain(out);
    expect(result.exitCode).toBe(2);
  });

  it('refuses a model type without a network with a coded 4xx-kind error', async () => {
    const naive = runs.find((r) => r.model_type === 'NAIVE')!;
    const result = await runCli(['export', '--run', naive.run_id, '--home', home, '--json']);
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('FLTS_EXPORT_UNSUPPORTED');
  });
});
