import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { guardTracking } from './guard-tracking.js';
import { CREDENTIALS_HINT } from './mlflow-credentials.js';
import { createMlflowClient } from './mlflow-client.js';
import { withServer } from './tracking-server.fixture.js';

/** A tracking server that refuses every call with `status`, as an auth proxy or MLflow's basic-auth app does. */
const refusing = (status: number) => (_request: IncomingMessage, response: ServerResponse) =>
  void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'UNAUTHENTICATED', message: 'You are not authenticated.' }));

describe('core > tracking > guardTracking', () => {
  it('says which credentials MLflow refused (401, 403), never the password, so a caller can tell the next sync will not catch up alone', async () => {
    for (const status of [401, 403]) {
      const outcome = await withServer(refusing(status), async (uri) => {
        const { settings } = resolveSettings({ env: { MLFLOW_TRACKING_URI: uri, MLFLOW_TRACKING_USERNAME: 'ana', MLFLOW_TRACKING_PASSWORD: 'pw-not-shown', FLTS_MLFLOW_RETRIES: '0' } });
        return guardTracking(settings, {}, () => createMlflowClient(settings.tracking).searchExperiments());
      });
      expect(outcome).toMatchObject({ status: 'unavailable', code: 'FLTS_TRACKING_REJECTED', hint: CREDENTIALS_HINT.username });
      expect(JSON.stringify(outcome)).not.toContain('pw-not-shown');
    }
  });

  it('gives no credentials hint for a server that does not answer: nothing is wrong with them', async () => {
    const outcome = await withServer(
      (_request, response) => void response.writeHead(503).end(),
      async (uri) => {
        const { settings } = resolveSettings({ env: { MLFLOW_TRACKING_URI: uri, MLFLOW_TRACKING_TOKEN: 'tok-not-shown', FLTS_MLFLOW_RETRIES: '0' } });
        return guardTracking(settings, {}, () => createMlflowClient(settings.tracking).searchExperiments());
      },
    );
    expect(outcome).toMatchObject({ status: 'unavailable', code: 'FLTS_TRACKING_UNAVAILABLE' });
    expect(outcome).not.toHaveProperty('hint');
  });
});
