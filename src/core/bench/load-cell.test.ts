import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadCell } from './load-cell.js';

describe('core > bench > load-cell', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('ends a cell shorter than a second at about its duration, not at the next whole second', async () => {
    const result = await runLoadCell({ url, method: 'GET', path: '/', bodies: [], connections: 2, durationSec: 0.2 });
    expect(result.successes).toBeGreaterThan(0);
    expect(result.errors.total).toBe(0);
    // autocannon's default one-second sampling ended every cell at 1 s or later.
    expect(result.elapsedSec).toBeGreaterThanOrEqual(0.2);
    expect(result.elapsedSec).toBeLessThan(0.8);
  });
});
