import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runLoadCell } from './load-cell.js';

/** What each cell asked autocannon for; autocannon itself runs the cell. */
const asked = vi.hoisted(() => [] as Array<{ duration?: number; sampleInt?: number }>);
vi.mock('autocannon', async (importOriginal) => {
  const real = (await importOriginal<{ default: (options: { duration?: number; sampleInt?: number }, done: unknown) => unknown }>()).default;
  const recording = (options: { duration?: number; sampleInt?: number }, done: unknown): unknown => {
    asked.push(options);
    return real(options, done);
  };
  return { default: Object.assign(recording, real) };
});

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
    expect(result.elapsedSec).toBeGreaterThanOrEqual(0.2);
    // autocannon notices the end of its duration only at a sample, every second by default, so it ended every cell
    // at 1 s or later. The cell asks for samples often enough to end within a fraction of its duration; how soon
    // it really ends is the host's to say, measured in bench/, not here.
    expect(asked).toHaveLength(1);
    expect(asked[0].duration).toBe(0.2);
    expect(asked[0].sampleInt).toBeLessThanOrEqual((0.2 * 1000) / 4);
  });
});
