import os from 'node:os';
import { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { BenchCell, BenchMachine, BenchReport, CellPhase } from './bench-types.js';
import { writeBenchFiles } from './bench-files.js';
import { runLoadCell } from './load-cell.js';
import { processRssMiB, startCpuWindow } from './process-cpu.js';
import { startReplicas, type ServerCommand } from './replica-cluster.js';
import type { BenchVariant } from './parse-matrix.js';
import { buildRequestPayloads } from './request-payloads.js';

export interface BenchInput {
  replicas: readonly number[];
  connections: readonly number[];
  durationSec: number;
  /** Duration of each baseline (trivial route) cell. */
  baselineDurationSec: number;
  /** Unrecorded load before each replica group's first cell (JIT, sockets, model warm). */
  warmupSec: number;
  /** Benchmark this running service instead of starting replicas. */
  target?: string;
  /** Raw data file the request bodies are cut from. */
  payloadFile: string;
  payloadRows: number;
  /**
   * `consecutive`: bodies start one row apart, so each request's rows bring the actual values of the forecasts
   * made for the bodies before it (what live scoring matches). Default `spread` over the whole file.
   */
  payloadLayout?: 'spread' | 'consecutive';
  /** How to start one serve replica (required without `target`). */
  server?: ServerCommand;
  /** Configurations compared side by side: each replica group runs once per variant, with its environment. */
  variants?: readonly BenchVariant[];
  /** Write CSV, Markdown, JSON and SVG here. */
  outDir?: string;
}

export interface BenchDeps {
  onEvent?: EventSink;
  signal?: AbortSignal;
}

const PREDICT_ROUTE = '/predict';
const BASELINE_ROUTE = '/healthz';

function machineInfo(): BenchMachine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageStart: os.loadavg(),
    loadAverageEnd: [],
  };
}

interface ReadyBody {
  run_id?: string;
  model_type?: string;
  engine?: string | null;
}

async function waitReady(url: string, timeoutMs: number, signal?: AbortSignal): Promise<ReadyBody> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && !signal?.aborted) {
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      const body = (await response.json()) as ReadyBody & { reason?: string };
      if (response.ok) return body;
      last = `HTTP ${response.status}: ${body.reason ?? ''}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new FltsError('FLTS_BENCH_FAILED', `${url}/readyz did not report ready within ${timeoutMs / 1000} s (last: ${last}).`, { details: { url } });
}

/** One request before the load, so a broken model or payload fails the run with the server's own message. */
async function probePredict(url: string, body: string): Promise<void> {
  const response = await fetch(`${url}${PREDICT_ROUTE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!response.ok) {
    throw new FltsError('FLTS_BENCH_FAILED', `POST ${PREDICT_ROUTE} answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`, { details: { url, status: response.status } });
  }
  await response.arrayBuffer();
}

/**
 * `flts bench`: for each replica count, starts the replicas behind the cluster balancer (or uses `target`),
 * then for each connection count measures the trivial route (the HTTP ceiling) and POST /predict with
 * realistic bodies, recording throughput, HDR latency percentiles, errors by kind and server CPU.
 */
export async function runBench(input: BenchInput, deps: BenchDeps = {}): Promise<BenchReport> {
  const emit = deps.onEvent ?? (() => {});
  if (!input.target && !input.server) throw new FltsError('FLTS_BENCH_FAILED', 'Either a target URL or a server command is needed.');
  const payloads = await buildRequestPayloads(input.payloadFile, input.payloadRows, 64, input.payloadLayout);
  const machine = machineInfo();
  const startedAt = new Date().toISOString();
  const cells: BenchCell[] = [];
  let model: ReadyBody = {};
  const replicaCounts: Array<number | null> = input.target ? [null] : [...input.replicas];
  const variants: ReadonlyArray<BenchVariant | undefined> = input.variants?.length && !input.target ? input.variants : [undefined];
  const groups = replicaCounts.flatMap((replicas) => variants.map((variant) => ({ replicas, variant })));

  for (const { replicas, variant } of groups) {
    if (deps.signal?.aborted) break;
    let url = input.target?.replace(/\/+$/, '') ?? '';
    let pids: number[] = [];
    let stop = async (): Promise<void> => {};
    if (replicas !== null) {
      emit({ type: 'bench.replicas_starting', replicas });
      const server = input.server as ServerCommand;
      const set = await startReplicas(replicas, variant ? { ...server, env: { ...server.env, ...variant.env } } : server, { signal: deps.signal });
      ({ url, pids, stop } = set);
    }
    try {
      model = await waitReady(url, 60_000, deps.signal);
      emit({ type: 'bench.replicas_ready', replicas, url, pids });
      await probePredict(url, payloads.bodies[0]);
      const measure = async (phase: CellPhase | 'warmup', connections: number, durationSec: number): Promise<BenchCell | undefined> => {
        emit({ type: 'bench.cell_start', phase, replicas, connections, durationSec });
        const cpu = startCpuWindow(pids);
        const predict = phase !== 'baseline';
        const result = await runLoadCell(
          { url, method: predict ? 'POST' : 'GET', path: predict ? PREDICT_ROUTE : BASELINE_ROUTE, bodies: predict ? payloads.bodies : [], connections, durationSec },
          (progress) => emit({ type: 'bench.cell_progress', phase, replicas, connections, durationSec, elapsedSec: progress.elapsedSec, requests: progress.requests }),
          deps.signal,
        );
        const usage = cpu.stop();
        const rss = pids.map(processRssMiB).filter((value): value is number => value !== undefined);
        const perServer = [...usage.perPid.values()];
        const cell: BenchCell = {
          phase: phase === 'warmup' ? 'predict' : phase,
          ...(variant ? { variant: variant.label } : {}),
          engine: model.engine ?? null,
          replicas,
          connections,
          durationSec: Math.round(result.elapsedSec * 100) / 100,
          route: predict ? `POST ${PREDICT_ROUTE}` : `GET ${BASELINE_ROUTE}`,
          requests: result.requests,
          requestsPerSec: Math.round((result.successes / result.elapsedSec) * 10) / 10,
          latency: result.latency,
          errors: result.errors,
          cpu:
            pids.length > 0
              ? {
                  serversPercent: Math.round(perServer.reduce((a, b) => a + b, 0)),
                  busiestServerPercent: Math.round(Math.max(0, ...perServer)),
                  loadGeneratorPercent: Math.round(usage.self),
                  machinePercent: Math.round(usage.machine),
                }
              : null,
          serverRssMiB: rss.length > 0 ? Math.round(Math.max(...rss)) : null,
          fractionOfBaseline: null,
        };
        emit({ type: 'bench.cell_done', phase, replicas, connections, requestsPerSec: cell.requestsPerSec, p99Ms: cell.latency.p99, errors: cell.errors.total });
        return phase === 'warmup' ? undefined : cell;
      };
      if (input.warmupSec > 0) await measure('warmup', Math.max(...input.connections), input.warmupSec);
      for (const connections of input.connections) {
        if (deps.signal?.aborted) break;
        const baseline = (await measure('baseline', connections, input.baselineDurationSec)) as BenchCell;
        const predict = (await measure('predict', connections, input.durationSec)) as BenchCell;
        predict.fractionOfBaseline = baseline.requestsPerSec > 0 ? Math.round((predict.requestsPerSec / baseline.requestsPerSec) * 1000) / 1000 : null;
        cells.push(baseline, predict);
      }
    } finally {
      await stop();
    }
  }
  if (deps.signal?.aborted) throw new FltsError('FLTS_BENCH_FAILED', 'Benchmark aborted.');

  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    balancer: input.target ? 'external' : 'node-cluster',
    target: input.target ?? null,
    runId: model.run_id ?? null,
    modelType: model.model_type ?? null,
    payload: { source: payloads.source, rowsPerRequest: payloads.rowsPerRequest, distinctBodies: payloads.bodies.length, meanBytes: payloads.meanBytes },
    matrix: { replicas: input.target ? [] : [...input.replicas], connections: [...input.connections], durationSec: input.durationSec, baselineDurationSec: input.baselineDurationSec, warmupSec: input.warmupSec, ...(variants[0] ? { variants: variants.map((v) => (v as BenchVariant).label) } : {}) },
    machine: { ...machine, loadAverageEnd: os.loadavg() },
    cells,
  };
  if (input.outDir) report.files = await writeBenchFiles(report, input.outDir);
  return report;
}
