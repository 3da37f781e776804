import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type * as grpc from '@grpc/grpc-js';
import { createInferenceClient } from '../../src/core/serve/oip-grpc-service.js';
import { startInferenceService } from '../../src/core/serve/start-inference-service.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { heldSource, postJson, readJsonResponse, requestData } from './serve-fixtures.js';

describe('serve > /livez: 503 once a forward pass has run past serve.requestTimeoutMs, never for what readiness waits for', () => {
  let root: string;
  let settings: Settings;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'flts-serve-livez-'));
    const defaults = defaultSettings();
    settings = { ...defaults, serve: { ...defaults.serve, port: 0, grpcPort: 0, pollIntervalMs: 0, requestTimeoutMs: 30_000 } };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('live while waiting for the store and for a promotion; not live once a held pass outlasts the bound; live again once it returns', async () => {
    const held = heldSource();
    const { source } = held;
    // The store does not answer: nothing can be loaded, which is readiness's to say.
    source.pointerError = new FltsError('FLTS_STORE_UNAVAILABLE', 'The store does not answer.');
    let clock = 1_000;
    const service = await startInferenceService(settings, { store: createFsStore(root), source, logger: silentLogger, monotonic: () => clock });
    const livez = async () => readJsonResponse(await fetch(`${service.url}/livez`));
    const client = createInferenceClient(`127.0.0.1:${service.grpc?.port}`);
    const serverLive = () =>
      new Promise<{ live: boolean }>((resolve, reject) =>
        (client as unknown as { ServerLive: (request: object, callback: (error: grpc.ServiceError | null, response: { live: boolean }) => void) => void }).ServerLive({}, (error, response) => (error ? reject(error) : resolve(response))),
      );
    /** What the Open Inference Protocol's two liveness answers say, beside /livez. */
    const oipLive = async () => ({ http: await readJsonResponse(await fetch(`${service.url}/v2/health/live`)), grpc: await serverLive() });
    try {
      await service.holder.reloadFromPointer();
      expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
      expect(await livez()).toMatchObject({ status: 200, json: { status: 'live' } });
      expect(await oipLive()).toMatchObject({ http: { status: 200, json: { live: true } }, grpc: { live: true } });

      // Nothing promoted: still waiting, still live.
      source.pointerError = undefined;
      source.pointer = undefined;
      await service.holder.reloadFromPointer();
      expect(await livez()).toMatchObject({ status: 200, json: { status: 'live' } });

      source.promote('run-a');
      await service.holder.reloadFromPointer();
      held.state.warm = true;
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

      const hold = held.hold();
      const forecast = postJson(`${service.url}/predict`, { data: requestData(6), inference_length: 2 });
      await hold.entered;
      // Within the bound the pass is only slow.
      clock += 30_000;
      expect(await livez()).toMatchObject({ status: 200, json: { status: 'live' } });

      clock += 1;
      const stalled = await livez();
      expect(stalled.status).toBe(503);
      expect(stalled.json).toEqual({
        status: 'not_live',
        code: 'FLTS_SERVE_INFERENCE_STALLED',
        reason: 'A forward pass of the served model has run for 30001 ms, past serve.requestTimeoutMs (30000 ms): forecasts wait behind it.',
        stalled_ms: 30_001,
        bound_ms: 30_000,
      });
      // The Open Inference Protocol's liveness (KServe's probes) gives the same answer.
      expect(await oipLive()).toMatchObject({ http: { status: 503, json: { live: false } }, grpc: { live: false } });
      // The same answer for a daemon's serving role, which says it on the daemon's /livez.
      expect(service.liveness()).toMatchObject({ live: false, code: 'FLTS_SERVE_INFERENCE_STALLED' });
      // /healthz answers as before: its readers (probes of older charts, scripts) see no change.
      const healthz = await readJsonResponse(await fetch(`${service.url}/healthz`));
      expect(healthz).toMatchObject({ status: 200, json: { status: 'ok', model_ready: true } });
      // Ready still: a load balancer has nothing to route elsewhere that a restart would not mend better.
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

      hold.release();
      expect((await forecast).status).toBe(200);
      expect(await livez()).toMatchObject({ status: 200, json: { status: 'live' } });
      expect(await oipLive()).toMatchObject({ http: { status: 200, json: { live: true } }, grpc: { live: true } });
    } finally {
      client.close();
      await service.close();
    }
  });
});
