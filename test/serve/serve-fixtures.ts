import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ScalerParams } from '../../src/core/data/scaler.js';
import type { TimeFrame } from '../../src/core/data/time-frame.js';
import { FltsError } from '../../src/core/errors.js';
import { withPredict, type ForecastModel, type WindowSpec } from '../../src/core/models/forecast-model.js';
import { createNaiveModel } from '../../src/core/models/naive-model.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../../src/core/models/recurrent-model.js';
import { TIME_FEATURE_COLUMNS, timeFeatureValues } from '../../src/core/preprocess/time-features.js';
import { buildServer, type BuildServerDeps } from '../../src/core/serve/build-server.js';
import { createModelHolder, type ModelHolder, type ModelHolderOptions } from '../../src/core/serve/model-holder.js';
import type { LoadedRun, ModelSource, PointerTarget } from '../../src/core/serve/model-source.js';
import { createServeMetrics, type ServeMetrics } from '../../src/core/serve/serve-metrics.js';
import { selectBackend } from '../../src/core/tf/backend.js';

export const RAW_COLUMNS = ['down', 'up'];
export const WINDOW: WindowSpec = { inputSeqLen: 4, outputSeqLen: 2, features: [...RAW_COLUMNS, ...TIME_FEATURE_COLUMNS], targets: ['down'] };
export const STEP_MS = 120_000;
export const START_MS = Date.UTC(2018, 1, 6, 0, 0, 0);

/** A MinMax-like scaler that is far from the identity, so a missing (or double) scaling shows in the numbers. */
export const SCALER: ScalerParams = {
  method: 'MinMaxScaler',
  columns: [...RAW_COLUMNS, ...TIME_FEATURE_COLUMNS],
  offset: [10, 0, -1, -1, -1, -1, -1, -1],
  scale: [100, 50, 2, 2, 2, 2, 2, 2],
};

/** Raw request data in the reference's column-oriented shape. */
export function requestData(rows: number, options: { start?: number; step?: number } = {}): Record<string, unknown[]> {
  const start = options.start ?? START_MS;
  const step = options.step ?? STEP_MS;
  const ts = Array.from({ length: rows }, (_, i) => new Date(start + i * step).toISOString().slice(0, 19).replace('T', ' '));
  return {
    ts,
    down: Array.from({ length: rows }, (_, i) => 20 + 7 * Math.sin(i / 3) + i),
    up: Array.from({ length: rows }, (_, i) => 5 + (i % 5)),
  };
}

/** The model's input window computed independently of the server: raw -> scaled, time features from the timestamps. */
export function expectedWindow(data: Record<string, unknown[]>, window: WindowSpec = WINDOW, scaler: ScalerParams = SCALER): Float32Array {
  const rows = (data.ts as string[]).length;
  const out = new Float32Array(window.inputSeqLen * window.features.length);
  for (let r = 0; r < window.inputSeqLen; r++) {
    const row = rows - window.inputSeqLen + r;
    const time = Date.parse(`${(data.ts as string[])[row].replace(' ', 'T')}Z`);
    const timeValues = timeFeatureValues(time);
    window.features.forEach((feature, f) => {
      const s = scaler.columns.indexOf(feature);
      const t = (TIME_FEATURE_COLUMNS as readonly string[]).indexOf(feature);
      const raw = t >= 0 ? timeValues[t] : (data[feature] as number[])[row];
      out[r * window.features.length + f] = s >= 0 ? (raw - scaler.offset[s]) / scaler.scale[s] : raw;
    });
  }
  return out;
}

export function lstmModel(window: WindowSpec = WINDOW, seed = 7): ForecastModel {
  return createRecurrentForecastModel('LSTM', window, buildRecurrentNetwork('LSTM', window, { hiddenSize: 8, numLayers: 1 }, seed));
}

/** A processed (scaled) test frame with every feature, as `flts preprocess` stores it. */
export function scaledTestFrame(rows: number, start = START_MS): TimeFrame {
  const time = Float64Array.from({ length: rows }, (_, i) => start + i * STEP_MS);
  const values: Record<string, Float64Array> = {};
  values.down = Float64Array.from({ length: rows }, (_, i) => 0.1 + 0.01 * i);
  values.up = Float64Array.from({ length: rows }, (_, i) => 0.5 - 0.01 * i);
  TIME_FEATURE_COLUMNS.forEach((column, t) => {
    values[column] = Float64Array.from(time, (ms) => (timeFeatureValues(ms)[t] + 1) / 2);
  });
  return { time, columns: WINDOW.features, values };
}

/**
 * An in-memory registry: runs by id (a factory per load, so each load gets a fresh model), a settable
 * promotion pointer and stored test frames. A factory that throws stands for a broken run.
 */
export interface MemorySource extends ModelSource {
  runs: Map<string, () => ForecastModel>;
  pointer?: PointerTarget;
  pointerError?: Error;
  testFrames: Map<string, TimeFrame>;
  loaded: Array<{ runId: string; model: ForecastModel }>;
  promote(runId: string): void;
}

export function createMemorySource(): MemorySource {
  const source: MemorySource = {
    runs: new Map(),
    testFrames: new Map(),
    loaded: [],
    promote(runId) {
      source.pointer = { runId, configHash: `hash-${runId}`, modelType: 'LSTM', source: 'current.json' };
    },
    async loadRun(runId): Promise<LoadedRun> {
      const factory = source.runs.get(runId);
      if (!factory) throw new FltsError('FLTS_RUN_NOT_FOUND', `No run ${runId}.`);
      const model = factory();
      source.loaded.push({ runId, model });
      return { run: { runId, modelType: model.modelType, configHash: `hash-${runId}` }, model, scaler: SCALER };
    },
    async readPointer() {
      if (source.pointerError) throw source.pointerError;
      return source.pointer;
    },
    async loadTestFrame(configHash) {
      const frame = source.testFrames.get(configHash);
      if (!frame) throw new FltsError('FLTS_DATA_NOT_PROCESSED', `No processed data for ${configHash}.`);
      return frame;
    },
  };
  return source;
}

/** A registry whose promoted run, run-a, is an LSTM with a stored test frame (for forecasts without data). */
export function promotedSource(): MemorySource {
  const source = createMemorySource();
  source.runs.set('run-a', () => lstmModel());
  source.testFrames.set('hash-run-a', scaledTestFrame(30));
  source.promote('run-a');
  return source;
}

/** A registry of persistence runs under `runIds`, none promoted yet. */
export function naiveSource(...runIds: string[]): MemorySource {
  const source = createMemorySource();
  for (const runId of runIds) source.runs.set(runId, () => createNaiveModel(WINDOW));
  return source;
}

export { createNaiveModel };

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  holder: ModelHolder;
  metrics: ServeMetrics;
  close(): Promise<void>;
}

/** Starts the real server on a free port of 127.0.0.1 (the holder is started by the caller when wanted). */
export async function startTestServer(
  source: ModelSource,
  holderOptions: Partial<ModelHolderOptions> = {},
  serverDeps: Partial<BuildServerDeps> = {},
): Promise<RunningServer> {
  const metrics = createServeMetrics({ processMetrics: true });
  const holder = createModelHolder({ source, pollIntervalMs: 0, batching: { maxBatch: 16, maxWaitMs: 0 }, metrics, logger: silent, ...holderOptions });
  const app = await buildServer({ holder, metrics, ...serverDeps });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    holder,
    metrics,
    async close() {
      await app.close();
      await holder.stop();
    },
  };
}

export interface TestServerOptions {
  holder?: Partial<ModelHolderOptions>;
  server?: Partial<BuildServerDeps>;
  /** Whether the promoted (or pinned) model is loaded before the server is handed over; default true. */
  load?: boolean;
}

async function startServer(source: ModelSource, options: TestServerOptions): Promise<RunningServer> {
  const server = await startTestServer(source, options.holder, options.server);
  if (options.load === false) return server;
  try {
    await server.holder.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}

/**
 * One server for the tests of a describe block, on a `promotedSource()`: started before them (with the TF.js backend
 * its LSTM needs) and closed after them. The returned server stands for the one started, so tests use it as they
 * would a `RunningServer`.
 */
export function useTestServer(options: TestServerOptions = {}): RunningServer {
  let started: RunningServer | undefined;
  const current = (): RunningServer => {
    if (!started) throw new Error('the test server starts in beforeAll: use it inside a hook or a test');
    return started;
  };
  beforeAll(async () => {
    await selectBackend('auto');
    started = await startServer(promotedSource(), options);
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  return {
    get url() {
      return current().url;
    },
    get app() {
      return current().app;
    },
    get holder() {
      return current().holder;
    },
    get metrics() {
      return current().metrics;
    },
    close: () => current().close(),
  };
}

/** Starts servers inside tests, each closed after its test whatever the outcome. */
export function serverPerTest(): (source: ModelSource, options?: TestServerOptions) => Promise<RunningServer> {
  const open: RunningServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((server) => server.close()));
  });
  return async (source, options = {}) => {
    const server = await startServer(source, options);
    open.push(server);
    return server;
  };
}

/** Runs `use` against a server of its own, closed afterwards whatever the outcome. */
export async function withTestServer<T>(source: ModelSource, options: TestServerOptions, use: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await startServer(source, options);
  try {
    return await use(server);
  } finally {
    await server.close();
  }
}

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

/** Any response as { status, json, headers }; a body that is not JSON comes back as its text. */
export async function readJsonResponse(response: Response): Promise<{ status: number; json: any; headers: Headers }> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}

export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; json: any; headers: Headers }> {
  return readJsonResponse(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init }));
}

/**
 * A persistence run whose forward passes can be held: `hold()` makes the next passes wait until `release()`, and
 * resolves `entered` once one is waiting. `passes` counts the passes after warm-up.
 */
export function heldSource() {
  const source = createMemorySource();
  let gate: Promise<void> | undefined;
  let open = (): void => {};
  let entered = (): void => {};
  const state = { passes: 0, warm: false };
  source.runs.set('run-a', () => {
    const inner = createNaiveModel(WINDOW);
    return withPredict(inner, async (batch) => {
      if (state.warm) state.passes++;
      if (gate) {
        entered();
        await gate;
      }
      return inner.predict(batch);
    });
  });
  source.promote('run-a');
  return {
    source,
    state,
    hold(): { entered: Promise<void>; release: () => void } {
      const waiting = new Promise<void>((resolve) => (entered = resolve));
      gate = new Promise<void>((resolve) => (open = resolve));
      return {
        entered: waiting,
        release: () => {
          gate = undefined;
          open();
        },
      };
    },
  };
}
