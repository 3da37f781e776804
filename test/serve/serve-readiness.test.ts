import { mkdtempSync, rmSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { silentLogger } from '../../src/core/logger.js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { createMemorySource, createNaiveModel, readJsonResponse, WINDOW } from './serve-fixtures.js';

/** What each of the four readiness answers says of one state, side by side. */
async function readinessAnswers(service: InferenceService, client: grpc.Client) {
  const [readyz, ready, oip] = await Promise.all(['/readyz', '/ready', '/v2/health/ready'].map(async (route) => readJsonResponse(await fetch(`${service.url}${route}`))));
  const grpcReady = await new Promise<{ ready: boolean }>((resolve, reject) =>
    (client as unknown as { ServerReady: (request: object, callback: (error: grpc.ServiceError | null, response: { ready: boolean }) => void) => void }).ServerReady({}, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
  return { readyz, ready, oip, grpcReady };
}

describe('serve > readiness: /readyz, /ready, /v2/health/ready and gRPC ServerReady give one answer in every state', () => {
  let root: string;
  let settings: Settings;
  let release = (): void => {};

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-readiness-'));
    const defaults = defaultSettings();
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, grpcPort: 0, pollIntervalMs: 0 } };
  });
  afterEach(() => {
    release();
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('nothing promoted, no model (degraded), loading, ready, stopping', async () => {
    const source = createMemorySource();
    // run-a's load waits until released: the state of a server loading its first model.
    let loadGate = (): void => {};
    const gate = new Promise<void>((resolve) => (loadGate = resolve));
    release = loadGate;
    const load = source.loadRun.bind(source);
    source.loadRun = async (runId) => {
      if (runId === 'run-a') await gate;
      return load(runId);
    };
    source.runs.set('run-a', () => createNaiveModel(WINDOW));
    const service = await startInferenceService(settings, { store: createFsStore(root), source, logger: silentLogger });
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    try {
      const expectAgreement = (answers: Awaited<ReturnType<typeof readinessAnswers>>, ready: boolean) => {
        const status = ready ? 200 : 503;
        expect([answers.readyz.status, answers.ready.status, answers.oip.status]).toEqual([status, status, status]);
        expect(answers.readyz.json.status).toBe(ready ? 'ready' : 'not_ready');
        expect(answers.ready.json).toEqual({ status: ready ? 'ready' : 'not_ready' });
        expect(answers.oip.json).toEqual({ ready });
        expect(answers.grpcReady).toEqual({ ready });
      };

      // Nothing promoted yet: not ready, nothing degraded.
      const waitingAnswers = await readinessAnswers(service, client);
      expectAgreement(waitingAnswers, false);
      expect(waitingAnswers.readyz.json).toMatchObject({ reason: 'No model is loaded yet.', degraded: false, run_id: null });
      expect(waitingAnswers.readyz.json).not.toHaveProperty('code');

      // The pointer names a run the registry does not have: no model, degraded; its reason is the public one.
      source.promote('run-gone');
      await service.holder.reloadFromPointer();
      const degraded = service.holder.status().degraded;
      expect(degraded?.code).toBe('FLTS_RUN_NOT_FOUND');
      const noModelAnswers = await readinessAnswers(service, client);
      expectAgreement(noModelAnswers, false);
      expect(noModelAnswers.readyz.json).toMatchObject({ reason: degraded?.reason, degraded: true, degraded_code: 'FLTS_RUN_NOT_FOUND', run_id: null });
      expect(noModelAnswers.readyz.json).not.toHaveProperty('code');

      // run-a promoted and loading (its load held): not ready until it is warm.
      source.promote('run-a');
      const loading = service.holder.reloadFromPointer();
      const loadingAnswers = await readinessAnswers(service, client);
      expectAgreement(loadingAnswers, false);
      expect(loadingAnswers.readyz.json).toMatchObject({ reason: degraded?.reason, run_id: null });
      loadGate();
      expect(await loading).toEqual({ result: 'loaded', runId: 'run-a' });

      const readyAnswers = await readinessAnswers(service, client);
      expectAgreement(readyAnswers, true);
      expect(readyAnswers.readyz.json).toMatchObject({ status: 'ready', run_id: 'run-a', degraded: false });
      expect(readyAnswers.readyz.json).not.toHaveProperty('reason');
      expect(readyAnswers.readyz.json).not.toHaveProperty('code');

      service.beginStop();
      const stoppingAnswers = await readinessAnswers(service, client);
      expectAgreement(stoppingAnswers, false);
      expect(stoppingAnswers.readyz.json).toMatchObject({ code: 'FLTS_SERVE_STOPPING', run_id: 'run-a', reason: expect.stringMatching(/^The server is stopping/) });
    } finally {
      client.close();
      await service.close({ drainMs: 1000 });
    }
  });
});
