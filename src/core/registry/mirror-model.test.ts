import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import { createMlflowClient } from '../tracking/mlflow-client.js';
import { createMlflowServers, type MlflowServers } from '../tracking/mlflow-servers.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import type { MlflowKeyValue, MlflowLoggedModel, MlflowMetric, MlflowRun } from '../tracking/mlflow-types.js';
import type { RunExport } from './export-run.js';
import { MemoryMlflow } from './memory-mlflow.fixture.js';
import { writeMirroredModel, type MirroredModelPlan } from './mirror-model.js';
import { mirrorRun } from './mirror-run.js';
import { fakeRun } from './run-record.fixture.js';
import { saveRunRecord } from './run-store.js';
import { createFsStore } from '../storage/fs-store.js';

// A network run's export without training one: the mirror's plan is the ONNX bytes below (see `plan`).
vi.mock('./mirror-model.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./mirror-model.js')>();
  return { ...original, planMirroredModel: async () => plan };
});

const root = mkdtempSync(path.join(tmpdir(), 'flts-mirror-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/**
 * MLflow 3 as far as a mirror's model asks it: one run, its artifacts (by proxy path), its outputs and metric points,
 * and the logged-model endpoints with the search filter flts sends (source_run_id AND the flts.run_id tag). `older`
 * answers those endpoints as a server before MLflow 3 does: Flask's 404 page.
 */
class LoggedModelsServer {
  readonly requests: string[] = [];
  readonly uploads = new Map<string, string>();
  readonly models: MlflowLoggedModel[] = [];
  readonly deleted: string[] = [];
  readonly metrics: MlflowMetric[] = [];
  readonly outputs: string[] = [];
  /** Called when a logged model is created, before the answer: another writer may create its own there. */
  onCreate?: () => void;
  private next = 0;

  constructor(private readonly older = false) {}

  readonly run: MlflowRun = {
    info: { run_id: 'r-mirror', experiment_id: '7', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/7/r-mirror/artifacts' },
    data: { tags: [{ key: 'flts.run_id', value: 'r1' }, { key: 'mlflow.user', value: 'ana' }], params: [] },
  };

  addModel(status: string, tags: MlflowKeyValue[] = [{ key: 'flts.run_id', value: 'r1' }], created = 1000 + this.next): MlflowLoggedModel {
    const id = `m-${String(this.next++).padStart(4, '0')}`;
    const model: MlflowLoggedModel = {
      info: { model_id: id, experiment_id: '7', name: 'model', source_run_id: this.run.info.run_id, status, creation_timestamp_ms: created, artifact_uri: `mlflow-artifacts:/7/models/${id}/artifacts`, tags },
      data: { params: [] },
    };
    this.models.push(model);
    return model;
  }

  private matches(model: MlflowLoggedModel, filter: string): boolean {
    const tags = Object.fromEntries((model.info.tags ?? []).map((tag) => [tag.key, tag.value]));
    return filter.split(' AND ').every((clause) => {
      const source = /^source_run_id = '([^']*)'$/.exec(clause);
      if (source) return model.info.source_run_id === source[1];
      const tag = /^tags\.`([^`]+)` = '([^']*)'$/.exec(clause);
      if (tag) return tags[tag[1]] === tag[2];
      throw new Error(`filter not understood: ${clause}`);
    });
  }

  private answer(method: string, url: string, body: Record<string, any>): [number, unknown] {
    const models = '/api/2.0/mlflow/logged-models';
    if (url.startsWith(models) && this.older) return [404, '<!doctype html><title>404 Not Found</title><h1>Not Found</h1>'];
    if (method === 'POST' && url === `${models}/search`) {
      const found = this.models.filter((model) => body.experiment_ids.includes(model.info.experiment_id) && this.matches(model, body.filter));
      return [200, { models: found.sort((a, b) => Number(a.info.creation_timestamp_ms) - Number(b.info.creation_timestamp_ms)) }];
    }
    if (method === 'POST' && url === models) {
      this.onCreate?.();
      const model = this.addModel('LOGGED_MODEL_PENDING', body.tags);
      model.info.model_type = body.model_type;
      model.info.name = body.name;
      model.data = { params: body.params };
      return [200, { model }];
    }
    const one = new RegExp(`^${models}/([^/]+)$`).exec(url);
    const model = one && this.models.find((candidate) => candidate.info.model_id === one[1]);
    if (one && !model) return [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such model' }];
    if (model && method === 'PATCH') {
      model.info.status = body.status;
      return [200, { model }];
    }
    if (model && method === 'DELETE') {
      this.models.splice(this.models.indexOf(model), 1);
      this.deleted.push(model.info.model_id);
      return [200, {}];
    }
    if (method === 'PUT' && url.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      this.uploads.set(decodeURIComponent(url.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)), body.text);
      return [200, {}];
    }
    if (url === '/api/2.0/mlflow/runs/outputs') {
      if (this.outputs.includes(body.models[0].model_id)) return [400, { error_code: 'BAD_REQUEST', message: 'UNIQUE constraint failed: inputs.source_type' }];
      this.outputs.push(...body.models.map((output: { model_id: string }) => output.model_id));
      return [200, {}];
    }
    if (url.startsWith('/api/2.0/mlflow/runs/get')) return [200, { run: { ...this.run, outputs: { model_outputs: this.outputs.map((id) => ({ model_id: id, step: 0 })) } } }];
    if (url === '/api/2.0/mlflow/runs/log-batch') {
      this.metrics.push(...(body.metrics ?? []));
      return [200, {}];
    }
    return [200, {}];
  }

  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = (request.url ?? '').split('?')[0];
      const method = request.method ?? 'GET';
      this.requests.push(`${method} ${url}`);
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = method === 'PUT' ? { text: raw } : raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      const [status, answer] = this.answer(method, url, body);
      if (typeof answer === 'string') response.writeHead(status, { 'content-type': 'text/html' }).end(answer);
      else response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  };
}

const plan: Extract<MirroredModelPlan, { kind: 'onnx' }> = {
  kind: 'onnx',
  record: { ...fakeRun('r1', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'), timings: { started_at: '2026-12-01T00:00:00.000Z', finished_at: '2026-12-01T00:01:00.000Z' } },
  exported: { bytes: new TextEncoder().encode('onnx bytes') } as RunExport,
};
const params = [{ key: 'epochs', value: '3' }];
const finalMetrics: MlflowMetric[] = [{ key: 'rmse', value: 1, timestamp: 1_796_000_000_000, step: 2 }];

function clientOf(uri: string, logger?: Logger, servers?: MlflowServers) {
  const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings;
  return createMlflowClient(settings.tracking, { logger, servers });
}

function warnings(): { logger: Logger; events: string[] } {
  const events: string[] = [];
  const logger: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: (_fields, event) => void events.push(event ?? ''), error: () => {}, child: () => logger };
  return { logger, events };
}

describe('core > registry > writeMirroredModel > MLflow 3 logged models', () => {
  it("logs the run's ONNX model as a logged model of its own: its files at the model's artifact location, MLmodel naming it, READY, an output of the run, the final metrics linked", async () => {
    const mlflow = new LoggedModelsServer();
    const model = await withServer(mlflow.listener, (uri) => writeMirroredModel(clientOf(uri), mlflow.run, plan, { params, metrics: finalMetrics }));

    expect(mlflow.models).toHaveLength(1);
    const [logged] = mlflow.models;
    const id = logged.info.model_id;
    expect(model).toMatchObject({ kind: 'onnx', artifactPath: 'model', modelId: id });
    expect(logged.info).toMatchObject({ name: 'model', model_type: 'GRU', source_run_id: 'r-mirror', status: 'LOGGED_MODEL_READY' });
    expect(Object.fromEntries((logged.info.tags ?? []).map((tag) => [tag.key, tag.value]))).toEqual({
      'flts.run_id': 'r1',
      'flts.mlflow_model': 'onnx',
      'mlflow.source.name': 'flts',
      'mlflow.source.type': 'LOCAL',
      'mlflow.user': 'ana',
    });
    expect(logged.data?.params).toEqual(params);
    // The model's own copy, beside the run's model/ (runs:/<id>/model and older clients).
    const own = `7/models/${id}/artifacts`;
    expect([...mlflow.uploads.keys()].filter((key) => key.startsWith(own)).sort()).toEqual(['MLmodel', 'conda.yaml', 'model.onnx', 'python_env.yaml', 'requirements.txt'].map((file) => `${own}/${file}`));
    expect(mlflow.uploads.get(`${own}/MLmodel`)).toContain(`model_id: ${id}\n`);
    expect(mlflow.uploads.get(`${own}/MLmodel`)).toContain(`artifact_path: "mlflow-artifacts:/${own}"\n`);
    expect(mlflow.uploads.get('7/r-mirror/artifacts/model/MLmodel')).toContain('model_id: null\n');
    expect(mlflow.outputs).toEqual([id]);
    expect(mlflow.metrics).toEqual([{ ...finalMetrics[0], model_id: id }]);
    // Finalized once its files are up, so a READY model is never missing one.
    const finalized = mlflow.requests.indexOf(`PATCH /api/2.0/mlflow/logged-models/${id}`);
    expect(finalized).toBeGreaterThan(mlflow.requests.findLastIndex((request) => request.startsWith(`PUT /api/2.0/mlflow-artifacts/artifacts/${own}`)));
  });

  it('written again (a resync, one cut short) finds the model by its run and flts run id: no second one, a PENDING one finished, a READY one left as it is', async () => {
    const mlflow = new LoggedModelsServer();
    // Another flts run's model of the same MLflow run (an operator's re-tag) is not taken for it.
    mlflow.addModel('LOGGED_MODEL_READY', [{ key: 'flts.run_id', value: 'other' }]);
    const pending = mlflow.addModel('LOGGED_MODEL_PENDING');
    await withServer(mlflow.listener, async (uri) => {
      const first = await writeMirroredModel(clientOf(uri), mlflow.run, plan, { params, metrics: finalMetrics });
      expect(first).toMatchObject({ modelId: pending.info.model_id });
      expect(pending.info.status).toBe('LOGGED_MODEL_READY');
      expect(mlflow.uploads.has(`7/models/${pending.info.model_id}/artifacts/model.onnx`)).toBe(true);
      mlflow.uploads.clear();
      mlflow.requests.length = 0;

      const again = await writeMirroredModel(clientOf(uri), mlflow.run, plan, { params, metrics: finalMetrics });
      expect(again).toMatchObject({ modelId: pending.info.model_id });
    });
    expect(mlflow.models).toHaveLength(2);
    expect(mlflow.requests.filter((request) => request === 'POST /api/2.0/mlflow/logged-models' || request.startsWith('PATCH '))).toEqual([]);
    expect([...mlflow.uploads.keys()].some((key) => key.includes('/models/'))).toBe(false);
    // The output the first write linked is found on the run again rather than doubled.
    expect(mlflow.outputs).toEqual([pending.info.model_id]);
  });

  it('two writers that each create one settle on the oldest: the later one is deleted and the files go to the keeper', async () => {
    const mlflow = new LoggedModelsServer();
    mlflow.onCreate = () => {
      mlflow.onCreate = undefined;
      mlflow.addModel('LOGGED_MODEL_PENDING', undefined, 1);
    };
    const model = await withServer(mlflow.listener, (uri) => writeMirroredModel(clientOf(uri), mlflow.run, plan));
    expect(mlflow.models.map((kept) => kept.info.model_id)).toEqual(['m-0000']);
    expect(mlflow.deleted).toEqual(['m-0001']);
    expect(model).toMatchObject({ modelId: 'm-0000' });
    expect(mlflow.models[0].info.status).toBe('LOGGED_MODEL_READY');
  });

  it('on a server without logged models (404 page, MLflow before 3) writes the run\'s model/ as before, asks once per client and says so once per server state', async () => {
    const mlflow = new LoggedModelsServer(true);
    const { logger, events } = warnings();
    const other = warnings();
    const servers = createMlflowServers();
    await withServer(mlflow.listener, async (uri) => {
      const client = clientOf(uri, logger, servers);
      for (let i = 0; i < 2; i += 1) expect(await writeMirroredModel(client, mlflow.run, plan, { params, metrics: finalMetrics })).toEqual({ kind: 'onnx', artifactPath: 'model', files: expect.arrayContaining(['model/MLmodel', 'model/model.onnx']) });
      // A later sync's client of the same state asks again (the server may have been upgraded), and says nothing more.
      await writeMirroredModel(clientOf(uri, logger, servers), mlflow.run, plan);
      // A client of its own (a library user's, logging elsewhere) says it to its logger.
      await writeMirroredModel(clientOf(uri, other.logger), mlflow.run, plan);
    });
    expect(mlflow.requests.filter((request) => request.includes('/logged-models'))).toEqual(Array(3).fill('POST /api/2.0/mlflow/logged-models/search'));
    expect(events).toEqual(['mlflow_logged_models_unsupported']);
    expect(other.events).toEqual(['mlflow_logged_models_unsupported']);
    expect(mlflow.uploads.has('7/r-mirror/artifacts/model/model.onnx')).toBe(true);
    expect(mlflow.metrics).toEqual([]);
  });

  it('a mirror deleted as the duplicate of a concurrent writer\'s takes its logged model with it: the Models tab lists the keeper\'s alone', async () => {
    const settings = resolveSettings({ flags: { 'tracking.uri': 'http://127.0.0.1:19403' } }).settings;
    const store = createFsStore(path.join(root, 'duplicate'));
    await saveRunRecord(store, settings, plan.record);
    const mlflow = new MemoryMlflow();
    const models: MlflowLoggedModel[] = [];
    const client = {
      ...mlflow.client,
      // Another writer completes its mirror of the run while this one writes its own.
      createRun: async (input: never) => {
        const mine = await mlflow.client.createRun(input);
        mlflow.addMirror('r1');
        return mine;
      },
      searchLoggedModels: async (input: { filter: string }) => models.filter((model) => input.filter.includes(`'${model.info.source_run_id}'`)),
      createLoggedModel: async (input: { sourceRunId: string }) => {
        const model = { info: { model_id: `m-${models.length}`, experiment_id: '1', source_run_id: input.sourceRunId, status: 'LOGGED_MODEL_PENDING', artifact_uri: 'mlflow-artifacts:/1/models/x/artifacts' } };
        models.push(model);
        return model;
      },
      finalizeLoggedModel: async () => undefined,
      deleteLoggedModel: async (id: string) => void models.splice(models.findIndex((model) => model.info.model_id === id), 1),
      logOutputs: async () => undefined,
    } as unknown as typeof mlflow.client;

    const result = await mirrorRun(store, settings, 'r1', { client });

    expect(result).toMatchObject({ mlflowRunId: mlflow.mirrorOf('r1')!.info.run_id, created: false });
    expect(models).toEqual([]);
  });
});
