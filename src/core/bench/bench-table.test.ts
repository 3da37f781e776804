import { describe, expect, it } from 'vitest';
import { benchMarkdown, BENCH_COLUMNS } from './bench-table.js';
import type { BenchReport } from './bench-types.js';

const report = {
  startedAt: '2026-01-01T00:00:00.000Z',
  target: null,
  runId: 'r1',
  modelType: 'LSTM',
  machine: { cpus: 2, cpuModel: 'cpu', memoryGiB: 4, platform: 'linux', node: 'v24', loadAverageStart: [0, 0, 0], loadAverageEnd: [0, 0, 0] },
  matrix: { protocols: ['http', 'oip-http', 'oip-grpc'], replicas: [1, 2], connections: [16], durationSec: 5, baselineDurationSec: 5, warmupSec: 2 },
  payload: { source: 'x_test.csv', why: 'named', rowsPerRequest: 16, distinctBodies: 64, meanBytes: 3000 },
  cells: [],
} as unknown as BenchReport;

describe('core > bench > bench.md', () => {
  it('says what each derived column holds: the ceiling a share is of, and whose CPU each CPU column is', () => {
    const legend = benchMarkdown(report).split('\n').filter((line) => line.startsWith('- ')).join('\n');
    expect(BENCH_COLUMNS).toEqual(expect.arrayContaining(['of ceiling', 'server CPU %', 'busiest %', 'loadgen CPU %']));
    expect(legend).toMatch(/of ceiling: req\/s as a share of the baseline of the same transport, replicas and connections \(GET \/healthz for POST \/predict and the Open Inference Protocol HTTP route, gRPC ServerLive for gRPC ModelInfer\)/);
    expect(legend).toMatch(/server CPU % = all replicas together/);
    expect(legend).toMatch(/busiest % = the busiest replica alone/);
    expect(legend).toMatch(/loadgen CPU % = this bench process/);
  });
});
