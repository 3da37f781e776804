import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/core/config/settings.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createTrainedHome, writeRootPointer } from '../helpers/poblesec-slice.js';
import { startServe } from '../helpers/serve-process.js';
import { createMemorySource, createNaiveModel, postJson, WINDOW, withTestServer } from './serve-fixtures.js';

const BODY = '';

describe('serve > LSTM/GRU on the ONNX Runtime and wasm engines', () => {
  let store: ObjectStore;
  let settings: Settings;
  let remove: (() => void) | undefined;
  let home: string;
  let lstm: RunRecord;
  let gru: RunRecord;
  const services: InferenceService[] = [];

  const start = async (engine: string): Promise<InferenceService> => {
    const service = await startInferenceService({ ...settings, serve: { ...settings.serve, engine: engine as Settings['serve']['engine'] } }, { store });
    services.push(service);
    return service;
  };

  beforeAll(async () => {
    let runs: RunRecord[];
    ({ store, settings, remove, home, runs } = await createTrainedHome('flts-serve-engines-', ['LSTM', 'GRU'], {
      'data.sampleTestRows': 60,
      'training.numLayers': 2,
      'serve.port': 0,
      'serve.pollIntervalMs': 0,
      'serve.predictionLog.enabled': false,
    }));
    [lstm, gru] = runs;
  }, 180_000);

  afterAll(async () => {
    for (const service of services) await service.close();
    remove?.();
  });

  it('serves on ONNX Runtime by default, says so on /healthz, and forecasts what the wasm engine forecasts', async () => {
    const onnx = await start('auto');
    const wasm = await start('wasm');
    const health = await (await fetch(`${onnx.url}/healthz`)).json();
    expect(health).toMatchObject({ run_id: lstm.run_id, engine: 'onnx', engine_note: null });
    expect(await (await fetch(`${wasm.url}/healthz`)).json()).toMatchObject({ run_id: lstm.run_id, engine: 'wasm' });
    const [a, b] = await Promise.all([postJson(`${onnx.url}/predict`, BODY), postJson(`${wasm.url}/predict`, BODY)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const down = (r: typeof a) => (r.json.predictions as Array<{ down: number }>).map((p) => p.down);
    expect(down(a).length).toBeGreaterThan(0);
    down(a).forEach((value, i) => expect(Math.abs(value - down(b)[i]) / Math.abs(down(b)[i])).toBeLessThan(1e-5));
    await Promise.all([onnx.close(), wasm.close()]);
  });

  it('hot-reloads from LSTM to GRU on the ONNX engine under load without a failed request', async () => {
    const service = await start('onnx');
    let stop = false;
    const statuses = new Map<number, number>();
    const runsSeen = new Set<string>();
    const client = async (): Promise<void> => {
      while (!stop) {
        const { status, json } = await postJson(`${service.url}/predict`, BODY);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200) runsSeen.add(json.run_id);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    // Let the load settle on the first model, then promote the second and keep the load on it for a while.
    while ((statuses.get(200) ?? 0) < 50) await new Promise((resolve) => setImmediate(resolve));
    await writeRootPointer(store, settings, gru);
    expect(await service.holder.reloadFromPointer()).toEqual({ result: 'loaded', runId: gru.run_id });
    const afterSwap = statuses.get(200) ?? 0;
    while ((statuses.get(200) ?? 0) < afterSwap + 50) await new Promise((resolve) => setImmediate(resolve));
    stop = true;
    await Promise.all(clients);
    expect([...statuses.keys()]).toEqual([200]);
    expect(runsSeen).toEqual(new Set([lstm.run_id, gru.run_id]));
    expect(await (await fetch(`${service.url}/healthz`)).json()).toMatchObject({ run_id: gru.run_id, model_type: 'GRU', engine: 'onnx' });
  });

  /** The modules a `flts serve` process of `run` on `engine` loads, on its main thread and its threads, up to a first forecast. */
  const modulesOfServe = async (run: RunRecord, engine: string): Promise<string[]> => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-module-trace-'));
    const trace = path.join(dir, 'modules.txt');
    try {
      const server = await startServe(
        ['--home', home, '--run', run.run_id, '--log-level', 'silent'],
        { FLTS_SERVE_ENGINE: engine, FLTS_TEST_MODULE_TRACE: trace, FLTS_SERVE_PREDICTION_LOG: 'false', FLTS_LIVE_SCORING: 'false' },
        { untilServing: true, nodeArgs: ['--import', path.resolve(import.meta.dirname, '../helpers/module-trace.mjs')] },
      );
      try {
        expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ run_id: run.run_id, engine });
        expect((await postJson(`${server.url}/predict`, BODY)).status).toBe(200);
      } finally {
        expect(await server.stop()).toBe(0);
      }
      return readFileSync(trace, 'utf8').split('\n').filter(Boolean);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('serves on ONNX Runtime without loading tfjs on any thread; the wasm engine loads it', async () => {
    const tfjs = (modules: string[]) => modules.filter((line) => line.includes('/@tensorflow/'));
    const onnx = await modulesOfServe(gru, 'onnx');
    expect(onnx.some((line) => line.includes('/onnxruntime-node/'))).toBe(true);
    expect(tfjs(onnx)).toEqual([]);
    const wasm = await modulesOfServe(gru, 'wasm');
    expect(tfjs(wasm).length).toBeGreaterThan(0);
  }, 60_000);
});

describe('serve > the engine note on the public health routes', () => {
  it('says the wasm engine serves for want of ONNX Runtime, not the load error, which can name a local path', async () => {
    const note = "ONNX Runtime is not available, serving on the wasm engine: ONNX Runtime could not be loaded: Cannot find module '/srv/app/node_modules/onnxruntime-node/bin/napi-v3/linux/x64/onnxruntime_binding.node'";
    const source = createMemorySource();
    source.runs.set('run-a', () => {
      const model = createNaiveModel(WINDOW);
      return new Proxy(model, { get: (target, name) => (name === 'engineNote' ? note : Reflect.get(target, name)) });
    });
    source.promote('run-a');
    await withTestServer(source, {}, async (server) => {
      expect(server.holder.status().current?.engineNote).toBe(note);
      for (const route of ['/healthz', '/readyz']) {
        const body = (await (await fetch(`${server.url}${route}`)).json()) as { engine_note: string };
        expect({ route, note: body.engine_note }).toEqual({ route, note: 'ONNX Runtime is not available, serving on the wasm engine (the serve_model_loaded log line says why).' });
      }
    });
  });
});
