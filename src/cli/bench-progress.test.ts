import { describe, expect, it } from 'vitest';
import { createBenchProgress } from './bench-progress.js';

describe('cli > bench progress', () => {
  it('says a cell the run was stopped in is interrupted, with how far it ran, and gives it no rate', () => {
    const lines: string[] = [];
    const progress = createBenchProgress({ json: false, tty: false, say: (line) => lines.push(line) });
    progress.onEvent({ type: 'bench.cell_done', phase: 'baseline', protocol: 'http', replicas: 2, connections: 16, requestsPerSec: 1234.4, p99Ms: 1.5, errors: 0 });
    progress.onEvent({ type: 'bench.cell_interrupted', phase: 'predict', protocol: 'http', replicas: 2, connections: 16, durationSec: 30, elapsedSec: 0.04, requests: 0 });
    progress.stop();
    expect(lines).toEqual([
      '2 replica(s), 16 conn., GET /healthz: 1234 req/s, p99 1.50 ms, 0 errors',
      '2 replica(s), 16 conn., POST /predict: interrupted after 0.0 of 30 s (0 requests sent), not measured',
    ]);
  });
});
