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

  it('rejects tracking URIs that are not http(s), naming the setting', () => {
    expect(() => assertTrackingUri('file:///tmp/mlruns')).toThrow(/MLFLOW_TRACKING_URI/);
    expect(assertTrackingUri('http://127.0.0.1:5000/')).toBe('http://127.0.0.1:5000');
  });
});
