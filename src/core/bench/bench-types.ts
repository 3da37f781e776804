/** What `flts bench` measures and reports; the report is plain data, rendered by the CLI and the file writers. */

import type { PayloadFileOrigin } from './payload-file.js';

export type CellPhase = 'predict' | 'baseline';

/** /predict, the Open Inference Protocol over HTTP (JSON) and over gRPC. */
export type BenchProtocol = 'http' | 'oip-http' | 'oip-grpc';
export const BENCH_PROTOCOLS: readonly BenchProtocol[] = ['http', 'oip-http', 'oip-grpc'];

export interface LatencySummary {
  /** Milliseconds, from an HDR histogram recorded at microsecond resolution. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface ErrorSummary {
  /** Responses with a status outside 2xx, by status code (gRPC: by status name). */
  non2xx: Record<string, number>;
  timeouts: number;
  /** Connection-level failures (reset, refused, ...), by error code. */
  connection: Record<string, number>;
  total: number;
}

export interface CpuSummary {
  /** Mean CPU of all server processes together, in percent of one core (200 = both cores of a 2-core machine); null for --target, whose processes bench does not know. */
  serversPercent: number | null;
  /** Highest single server process mean, in percent of one core; null for --target. */
  busiestServerPercent: number | null;
  /** The load generator (this process), in percent of one core. */
  loadGeneratorPercent: number;
  /** Whole machine busy share over the cell, in percent of all cores. */
  machinePercent: number;
}

export interface BenchCell {
  phase: CellPhase;
  /** Baselines: 'http' (GET /healthz) or 'oip-grpc' (ServerLive), the ceiling of their transport. */
  protocol: BenchProtocol;
  /** The compared configuration (`--compare NAME=value`) the replicas ran with, when the run compares some. */
  variant?: string;
  /** The forward-pass engine the replicas reported on /readyz (onnx, wasm), null when they name none. */
  engine: string | null;
  /** Server processes behind the load balancer; null for --target (unknown). */
  replicas: number | null;
  connections: number;
  durationSec: number;
  route: string;
  requests: number;
  /** Successful (2xx) responses per second. */
  requestsPerSec: number;
  latency: LatencySummary;
  errors: ErrorSummary;
  cpu: CpuSummary | null;
  /** Largest resident memory of one server process at the end of the cell (MiB), null for --target. */
  serverRssMiB: number | null;
  /** requestsPerSec / the baseline cell's requestsPerSec at the same replicas and connections. */
  fractionOfBaseline: number | null;
}

export interface BenchMachine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  /** How the replicas are balanced, or 'external' for --target. */
  balancer: 'node-cluster' | 'external';
  target: string | null;
  runId: string | null;
  modelType: string | null;
  /** The model name the Open Inference Protocol load was sent to: the one the server said it serves, else bench's settings'. */
  modelName: string;
  /**
   * `source`: the test file the request rows were cut from; `origin` and `why`: what chose it (the data named by
   * the settings, the served run's own test file, or the default dataset's), `hint` when the run's file was missing.
   */
  payload: { source: string; origin: PayloadFileOrigin; why: string; hint?: string; rowsPerRequest: number; distinctBodies: number; meanBytes: number };
  matrix: { protocols: BenchProtocol[]; replicas: number[]; connections: number[]; durationSec: number; baselineDurationSec: number; warmupSec: number; variants?: string[] };
  machine: BenchMachine;
  cells: BenchCell[];
  files?: BenchFiles;
}

export interface BenchFiles {
  dir: string;
  csv: string;
  markdown: string;
  json: string;
  svg: string;
}
