import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { assertTrackingUri, createMlflowHttp, trackingCallBudgetMs } from './mlflow-http.js';

/** A server that accepts connections and never answers: the hung tracking server of F4. */
let silent: Server;
const sockets: Socket[] = [];
let silentUri: string;
let closedUri: string;

beforeAll(async () => {
  silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUri = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedUri = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  sockets.forEach((socket) => socket.destroy());
  await new Promise((resolve) => silent.close(resolve));
});

async function failure(promise: Promise<unknown>): Promise<FltsError> {
  try {
    await promise;
  } catch (error) {
    return error as FltsError;
  }
  throw new Error('expected the call to fail');
}

describe('core > tracking > mlflow-http', () => {
  it('reports a server that never answers as FLTS_TRACKING_UNAVAILABLE after every attempt timed out', async () => {
    const options = { uri: silentUri, timeoutMs: 200, retry: { retries: 2, baseDelayMs: 10 }, logger: silentLogger };
    const error = await failure(createMlflowHttp(options)({ method: 'GET', path: '/api/2.0/mlflow/experiments/get-by-name', query: { experiment_name: 'Default' } }));
    expect(error).toBeInstanceOf(FltsError);
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.details.attempts).toBe(3);
    expect(error.message).toMatch(/no answer within the time limit/);
    // Each attempt is cut off by its time limit, so the call ends within its stated budget.
    expect(error.details.elapsedMs as number).toBeGreaterThanOrEqual(3 * 200);
    expect(error.details.elapsedMs as number).toBeLessThanOrEqual(trackingCallBudgetMs(options) + 1000);
  });

  it('reports a closed port as unavailable with the connection error', async () => {
    const options = { uri: closedUri, timeoutMs: 1000, retry: { retries: 1, baseDelayMs: 10 }, logger: silentLogger };
    const error = await failure(createMlflowHttp(options)({ method: 'POST', path: '/api/2.0/mlflow/runs/search', json: {} }));
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details.attempts).toBe(2);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('retries a write that lost a race with another writer of the same row, and no other 400', async () => {
    // MLflow's answer when two writers insert the same tag at once (SQLite backend), then its answer to a bad value.
    const answers = [
      { status: 400, body: { error_code: 'BAD_REQUEST', message: '(sqlite3.IntegrityError) UNIQUE constraint failed: tags.key, tags.run_uuid' } },
      { status: 200, body: {} },
      { status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Changing param values is not allowed.' } },
    ];
    let requests = 0;
    const server = createHttpServer((req, res) => {
      const answer = answers[requests++];
      req.resume().on('end', () => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const call = createMlflowHttp({ uri: `http://127.0.0.1:${(server.address() as { port: number }).port}`, timeoutMs: 2000, retry: { retries: 2, baseDelayMs: 1 }, logger: silentLogger });
      const tag = { method: 'POST', path: '/api/2.0/mlflow/runs/set-tag', json: { run_id: 'r', key: 'flts.mirror_complete', value: 'true' } } as const;
      await expect(call(tag)).resolves.toEqual({});
      expect(requests).toBe(2);
      const error = await failure(call({ method: 'POST', path: '/api/2.0/mlflow/runs/log-parameter', json: {} }));
      expect(error.code).toBe('FLTS_TRACKING_REJECTED');
      expect(requests).toBe(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects tracking URIs that are not http(s), naming the setting', () => {
    expect(() => assertTrackingUri('file:///tmp/mlruns')).toThrow(/MLFLOW_TRACKING_URI/);
    expect(assertTrackingUri('http://127.0.0.1:5000/')).toBe('http://127.0.0.1:5000');
  });
});
