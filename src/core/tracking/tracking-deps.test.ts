import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { createMlflowClient } from './mlflow-client.js';
import { clientUntil } from './tracking-deps.js';
import { failure, withServer } from './tracking-server.fixture.js';

describe('core > tracking > clientUntil', () => {
  it('aborts the request in flight when its signal aborts: the socket closes then, not at the end of the call\'s own time limit', { timeout: 20_000 }, async () => {
    // The server never answers. The call's own limit is two minutes, six times the test's timeout: the socket closing
    // within the test can only be the abort's doing. Before, the call was dropped at the abort and its request left
    // running, the connection held until that limit.
    const budget = new AbortController();
    let requests = 0;
    let closed!: Promise<void>;
    const outcome = await withServer(
      (req) => {
        requests += 1;
        const socket: Socket = req.socket;
        closed = new Promise((resolve) => socket.once('close', () => resolve()));
        budget.abort(new DOMException('The sync budget ran out', 'TimeoutError'));
      },
      async (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 120_000, 'tracking.retries': 0 } }).settings;
        const error = await failure(clientUntil(createMlflowClient(settings.tracking), budget.signal).searchExperiments());
        // Awaited while the server is still up: its closing would close the socket itself.
        await closed;
        return error;
      },
    );
    expect(requests).toBe(1);
    expect((outcome as unknown as DOMException).message).toBe('The sync budget ran out');
  });

  it('refuses a call once its signal has aborted, asking the server nothing', async () => {
    let requests = 0;
    const error = await withServer(
      () => {
        requests += 1;
      },
      (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.retries': 0 } }).settings;
        return failure(clientUntil(createMlflowClient(settings.tracking), AbortSignal.abort(new Error('spent'))).searchExperiments());
      },
    );
    expect((error as Error).message).toBe('spent');
    expect(requests).toBe(0);
  });
});
