import { describe, expect, it } from 'vitest';
import type { FltsEvent } from '../core/events.js';
import { createBenchProgress } from './bench-progress.js';

/** A group of `--engine onnx,wasm` from start to its last cell, as runBench emits it. */
const WASM_GROUP: FltsEvent[] = [
  { type: 'bench.payload_file', file: '/data/example_test.csv', origin: 'named', why: 'named by --dataset' },
  { type: 'bench.replicas_starting', replicas: 1, variant: 'FLTS_SERVE_ENGINE=wasm' },
  { type: 'bench.replicas_ready', replicas: 1, variant: 'FLTS_SERVE_ENGINE=wasm', url: 'http://127.0.0.1:40000', pids: [11] },
  { type: 'bench.cell_start', phase: 'predict', protocol: 'http', replicas: 1, variant: 'FLTS_SERVE_ENGINE=wasm', connections: 16, durationSec: 30 },
  { type: 'bench.cell_progress', phase: 'predict', protocol: 'http', replicas: 1, variant: 'FLTS_SERVE_ENGINE=wasm', connections: 16, durationSec: 30, elapsedSec: 0.25, requests: 40 },
  { type: 'bench.cell_done', phase: 'predict', protocol: 'http', replicas: 1, variant: 'FLTS_SERVE_ENGINE=wasm', connections: 16, requestsPerSec: 5082.4, p99Ms: 25.7, errors: 0 },
  { type: 'bench.cell_interrupted', phase: 'baseline', protocol: 'http', replicas: 1, variant: 'FLTS_SERVE_ENGINE=wasm', connections: 64, durationSec: 5, elapsedSec: 1.04, requests: 900 },
];

describe('cli > bench progress', () => {
  it('says a cell the run was stopped in is interrupted, with how far it ran, and gives it no rate', () => {
    const lines: string[] = [];
    const progress = createBenchProgress({ tty: false, say: (line) => lines.push(line) });
    progress.onEvent({ type: 'bench.cell_done', phase: 'baseline', protocol: 'http', replicas: 2, connections: 16, requestsPerSec: 1234.4, p99Ms: 1.5, errors: 0 });
    progress.onEvent({ type: 'bench.cell_interrupted', phase: 'predict', protocol: 'http', replicas: 2, connections: 16, durationSec: 30, elapsedSec: 0.04, requests: 0 });
    progress.stop();
    expect(lines).toEqual([
      '2 replica(s), 16 conn., GET /healthz: 1234 req/s, p99 1.50 ms, 0 errors',
      '2 replica(s), 16 conn., POST /predict: interrupted after 0.0 of 30 s (0 requests sent), not measured',
    ]);
  });

  it('names the compared group of each line: two groups of one replica count read alike before', () => {
    const lines: string[] = [];
    const progress = createBenchProgress({ tty: false, say: (line) => lines.push(line) });
    for (const event of WASM_GROUP) progress.onEvent(event);
    progress.stop();
    expect(lines).toEqual([
      'Request rows from /data/example_test.csv: named by --dataset.',
      'Starting 1 serve replica(s) with FLTS_SERVE_ENGINE=wasm behind the Node cluster balancer...',
      'Ready at http://127.0.0.1:40000 (pids 11)',
      '1 replica(s), FLTS_SERVE_ENGINE=wasm, 16 conn., POST /predict: 5082 req/s, p99 25.70 ms, 0 errors',
      '1 replica(s), FLTS_SERVE_ENGINE=wasm, 64 conn., GET /healthz: interrupted after 1.0 of 5 s (900 requests sent), not measured',
    ]);
  });
});
