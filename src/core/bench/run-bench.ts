import { createServer } from 'node:net';
import os from 'node:os';
import { clip } from '../clip-text.js';
import { ALL_SPECS } from '../config/specs/index.js';
import { parseSettingText } from '../config/specs/setting-spec.js';
import { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { BenchCell, BenchMachine, BenchProtocol, BenchReport, CellPhase } from './bench-types.js';
import { claimBenchDir, prepareBenchDir, refuseEarlierReport, writeBenchFiles } from './bench-files.js';
import type { GrpcLoadCellInput } from './grpc-load-cell.js';
import { refusesCredentials, runLoadCell, type LoadCellProgress, type LoadCellResult } from './load-cell.js';
import { processRssMiB, startCpuWindow } from './process-cpu.js';
import { benchAborted, startReplicas, type InterruptedCell, type ServerCommand } from './replica-cluster.js';
import { checkGrpcTarget, type BenchVariant } from './parse-matrix.js';
import type { BenchPayloadFile } from './payload-file.js';
import { assertPayloadCoversWindow, assertPayloadHasColumns, defaultPayloadRows, READY_CHECK_TIMEOUT_MS, windowAt, type ServedWindow } from './payload-window.js';
import { buildRequestPayloads } from './request-payloads.js';
import type { WaitingForReader } from '../write-file-whole.js';

/** @grpc/grpc-js and its protobuf loader (~110 modules) load with the first gRPC cell, not for HTTP-only runs. */
async function runGrpcLoadCell(input: GrpcLoadCellInput, onProgress?: (progress: LoadCellProgress) => void, signal?: AbortSignal): Promise<LoadCellResult> {
  const { runGrpcLoadCell: run } = await import('./grpc-load-cell.js');
  return run(input, onProgress, signal);
}

/** What the load is cut from: the data file, and the window of the run it is sent to when known before starting. */
export interface BenchData {
  /** Raw data file the request bodies are cut from, and why that one (reported with the results). */
  payloadFile: BenchPayloadFile;
  /** The window of the run to be served, when known before starting: a payload shorter than it is refused up front. */
  window?: ServedWindow;
}

interface BenchSettings {
  replicas: readonly number[];
  connections: readonly number[];
  durationSec: number;
  /** Duration of each baseline (trivial route) cell. */
  baselineDurationSec: number;
  /** Unrecorded load before each replica group's first cell (JIT, sockets, model warm). */
  warmupSec: number;
  /** Benchmark this running service instead of starting replicas. */
  target?: string;
  /** host:port of the target's Open Inference Protocol gRPC service (needed for oip-grpc with `target`). */
  grpcTarget?: string;
  /** What is measured: /predict, the Open Inference Protocol over HTTP (JSON), over gRPC; each in every cell. */
  protocols: readonly BenchProtocol[];
  /** Model name of the Open Inference Protocol requests. */
  modelName: string;
  /** Bearer token of the prediction routes (serve.apiToken): replicas started with it refuse requests without it. */
  apiToken?: string;
  /** The largest request body the servers accept (serve.bodyLimitBytes): a --payload-rows past it is refused. */
  bodyLimitBytes?: number;
  /** The largest payload file read (FLTS_DATA_MAX_INPUT_BYTES); 1 GiB when not given. */
  payloadMaxBytes?: number;
  /**
   * Raw rows per request body; by default DEFAULT_PAYLOAD_ROWS, or the window of the run to serve (`window`) when
   * that is longer: a default no request of that run could be answered with would fail every bench of it.
   */
  payloadRows?: number;
  /**
   * `consecutive`: bodies start one row apart, so each request's rows bring the actual values of the forecasts
   * made for the bodies before it (what live scoring matches). Default `spread` over the whole file.
   */
  payloadLayout?: 'spread' | 'consecutive';
  /** How to start one serve replica (required without `target`). */
  server?: ServerCommand;
  /** Configurations compared side by side: each replica group runs once per variant, with its environment. */
  variants?: readonly BenchVariant[];
  /** Write CSV, Markdown, JSON and SVG here; a directory holding an earlier run's report is refused unless `replaceReport`. */
  outDir?: string;
  /** Replace the report files of an earlier run in `outDir` (refused otherwise, FLTS_BENCH_REPORT_EXISTS). */
  replaceReport?: boolean;
  /** Without `outDir`: write them into a new directory of this run's own under `parent`, named `name` (see claimBenchDir). */
  newOutDir?: { parent: string; name: string };
  /** How long the service may take to report ready on /readyz (default 60 s). */
  readyTimeoutMs?: number;
  /** How long the one probe request before the load may take (default 30 s). */
  probeTimeoutMs?: number;
}

/**
 * The matrix and how to reach the service, with the data the load is cut from given (`payloadFile`, `window`), or
 * found by `source` (reading the data and the run registry, asking the target) once runBench has checked the rest:
 * a refused input (a replica environment that would write into the scope, an --out holding a report) then reads
 * nothing and is refused as itself, not as a run or data missing.
 */
export type BenchInput = BenchSettings & (BenchData | { source: () => Promise<BenchData>; payloadFile?: never; window?: never });

export interface BenchDeps {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Told when a report file in `outDir` is a named pipe that waits for its reader (writeFileWhole). */
  onWaitingForReader?: WaitingForReader;
}

/**
 * What bench's replicas start with whatever bench's own environment or config file says: their load is synthetic, and
 * they serve the home's scope. Scoring it live fed the probation of the real promotion there (18 of its 500 paired
 * points in a 20 s bench; a long one could decide or roll it back), and its prediction records joined the scope's real
 * ones. With both off a replica writes nothing to the store, and nothing runBench is given may turn them on again there
 * (refuseScopeWrites): a service of its own is measured with them on through --target.
 */
export const BENCH_REPLICA_ENV: Readonly<Record<string, string>> = { FLTS_LIVE_SCORING: 'false', FLTS_SERVE_PREDICTION_LOG: 'false' };

/** What each of BENCH_REPLICA_ENV's names would let the synthetic load write into the scope, turned back on. */
const SCOPE_WRITES: Readonly<Record<string, string>> = {
  FLTS_LIVE_SCORING: "be scored into the live probation of the scope's promotion (enough of it decides that probation, or rolls the promotion back)",
  FLTS_SERVE_PREDICTION_LOG: "be written into the scope's prediction logs among its real records",
};

/**
 * Refuses, before anything is read or any replica starts, an environment for bench's replicas (a --compare group's,
 * or the one of `server`) that sets one of BENCH_REPLICA_ENV's names to another value than bench's: those replicas
 * serve the home's real scope, and the synthetic load would be written into it. A value that means the same (0, off)
 * is let through. Checked here alone, so that every caller of runBench, the command as any other, is held to it.
 */
function refuseScopeWrites(server: ServerCommand | undefined, variants: readonly BenchVariant[] = []): void {
  const given = [...variants.map((variant) => ({ env: variant.env, flag: 'compare' })), { env: server?.env, flag: undefined }];
  for (const { env, flag } of given) {
    for (const [name, benchValue] of Object.entries(BENCH_REPLICA_ENV)) {
      const value = env?.[name];
      if (value === undefined || sameSetting(name, value, benchValue)) continue;
      const shown = `${name}=${clip(value)}`;
      throw new FltsError(
        'FLTS_USAGE_INVALID_FLAG',
        `${flag ? `--${flag}` : "The replicas' environment"} ${shown} is refused: bench's replicas serve the home's real scope and run with ${name}=${benchValue}; with ${shown} their synthetic load would ${SCOPE_WRITES[name]}. To measure with it, start flts serve with ${shown} on a home of its own and bench it with --target.`,
        { details: { ...(flag ? { flag } : {}), value: shown, setting: name, bench_value: benchValue } },
      );
    }
  }
}

/** Whether two environment texts of a setting mean one value ("false", "0", "off"); an invalid text means none. */
function sameSetting(name: string, text: string, other: string): boolean {
  const spec = ALL_SPECS.find((candidate) => candidate.env?.includes(name));
  if (!spec) return text === other;
  try {
    return parseSettingText(spec, text, 'env', name) === parseSettingText(spec, other, 'env', name);
  } catch {
    return false;
  }
}

const PREDICT_ROUTE = '/predict';
const BASELINE_ROUTE = '/healthz';

/** The trivial call of each transport, whose throughput is the ceiling the predict cells are compared with. */
const baselineOf = (protocol: BenchProtocol): BenchProtocol => (protocol === 'oip-grpc' ? 'oip-grpc' : 'http');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
  /** The name the service's Open Inference Protocol routes answer to (absent from a flts before it said so). */
  model_name?: string;
  run_id?: string;
  model_type?: string;
  engine?: string | null;
}

/** How long the probe request may take before the target counts as not answering. */
const PROBE_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;

/**
 * Why a request to the service under test got no HTTP answer, in a user's words: fetch's own message is "fetch
 * failed" whatever happened, the socket's reason is in its cause.
 */
export function describeFetchFailure(error: unknown, timeoutMs: number): string {
  const failure = error as Error & { cause?: { code?: string; message?: string } };
  if (failure?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = failure?.cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` (${cause.message})` : ''}`;
  return cause?.message ?? failure?.message ?? String(error);
}

/** A service under test that does not become ready or does not answer: not a bug of flts, and retriable. */
function targetUnavailable(url: string, message: string): FltsError {
  return new FltsError('FLTS_BENCH_TARGET_UNAVAILABLE', message, { details: { url } });
}

/**
 * The service under test refused bench's credentials: its token is not the one bench sends (or bench sends none).
 * Every request after would be refused alike, so the run ends here, said as what it is, never with the token.
 */
function authFailed(url: string, call: string, answer: string, tokenSent: boolean, variant: BenchVariant | undefined, during?: { requests: number }): FltsError {
  const sent = tokenSent ? 'the bearer token bench sends (serve.apiToken, FLTS_SERVE_API_TOKEN) was refused' : 'bench sends no bearer token (serve.apiToken, FLTS_SERVE_API_TOKEN, is empty)';
  const when = during ? ` during the load, after ${during.requests} answered request${during.requests === 1 ? '' : 's'}` : '';
  return new FltsError('FLTS_BENCH_AUTH_FAILED', `Authentication failed: ${call} at ${url} answered ${answer}${when}${variant ? ` (group ${variant.label})` : ''}; ${sent}.`, {
    details: { url, call, answer, token_sent: tokenSent, ...(variant ? { variant: variant.label } : {}), ...(during ? { answered_requests: during.requests } : {}) },
  });
}

async function waitReady(url: string, timeoutMs: number, signal?: AbortSignal): Promise<ReadyBody> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && !signal?.aborted) {
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
      const text = await response.text();
      let body: (ReadyBody & { reason?: string }) | undefined;
      try {
        body = JSON.parse(text) as ReadyBody & { reason?: string };
      } catch {
        body = undefined;
      }
      if (response.ok && body) return body;
      // A gateway in front that wants credentials: asking again for a minute would not change its answer.
      if (refusesCredentials(response.status)) throw authFailed(url, 'GET /readyz', `HTTP ${response.status}`, false, undefined);
      last = `HTTP ${response.status}${body ? `: ${body.reason ?? ''}` : ', not a flts answer (not JSON)'}`;
    } catch (error) {
      if (error instanceof FltsError) throw error;
      last = describeFetchFailure(error, READY_CHECK_TIMEOUT_MS);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (signal?.aborted) throw benchAborted();
  throw targetUnavailable(url, `${url}/readyz did not report ready within ${timeoutMs / 1000} s (last: ${last}).`);
}

/**
 * One request before the load, so a broken model or payload fails the run with the server's own message. A stop
 * ends the wait for its answer at once, not after the probe's time limit.
 */
async function probePredict(url: string, body: string, route = PREDICT_ROUTE, timeoutMs = PROBE_TIMEOUT_MS, headers: Record<string, string> = {}, stop?: AbortSignal, variant?: BenchVariant): Promise<void> {
  let response: Response;
  try {
    const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
    response = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal });
  } catch (error) {
    if (stop?.aborted) throw benchAborted();
    throw targetUnavailable(url, `POST ${url}${route} got no answer: ${describeFetchFailure(error, timeoutMs)}.`);
  }
  if (refusesCredentials(response.status)) {
    await response.arrayBuffer();
    throw authFailed(url, `POST ${route}`, `HTTP ${response.status}`, headers.authorization !== undefined, variant);
  }
  if (!response.ok) {
    throw new FltsError('FLTS_BENCH_FAILED', `POST ${route} answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`, { details: { url, status: response.status } });
  }
  await response.arrayBuffer();
}

/**
 * `flts bench`: for each replica count, starts the replicas behind the cluster balancer (or uses `target`),
 * then for each connection count measures the trivial route (the HTTP ceiling) and POST /predict with
 * realistic bodies, recording throughput, HDR latency percentiles, errors by kind and server CPU.
 */
export async function runBench(input: BenchInput, deps: BenchDeps = {}): Promise<BenchReport> {
  if (!input.target && !input.server) throw new FltsError('FLTS_BENCH_FAILED', 'Either a target URL or a server command is needed.');
  checkGrpcTarget(input.grpcTarget, input.target, input.protocols);
  if (!input.target) refuseScopeWrites(input.server, input.variants);
  if (input.outDir && !input.replaceReport) await refuseEarlierReport(input.outDir);
  const data = 'source' in input && input.source ? await input.source() : (input as BenchData);
  // Said first: which data the load is made of matters to every number that follows, and to a refusal.
  const { path: file, origin, why, hint } = data.payloadFile;
  deps.onEvent?.({ type: 'bench.payload_file', file, origin, why, ...(hint ? { hint } : {}) });
  const payloadRows = input.payloadRows ?? defaultPayloadRows(data.window);
  if (data.window) assertPayloadCoversWindow(payloadRows, data.window);
  const claimed = !input.outDir && input.newOutDir ? await claimBenchDir(input.newOutDir.parent, input.newOutDir.name) : undefined;
  const removeUnused = input.outDir ? await prepareBenchDir(input.outDir) : claimed?.remove;
  try {
    return await measureMatrix({ ...input, payloadFile: data.payloadFile, window: data.window, outDir: input.outDir ?? claimed?.dir, payloadRows }, deps);
  } catch (error) {
    await removeUnused?.();
    throw error;
  }
}

/** The matrix of runBench, once its input is checked and its output directory made. */
async function measureMatrix(input: BenchSettings & BenchData & { payloadRows: number }, deps: BenchDeps): Promise<BenchReport> {
  const emit = deps.onEvent ?? (() => {});
  const { path: payloadPath, origin, why, hint } = input.payloadFile;
  const window = input.window;
  const checkColumns = window ? (columns: readonly string[]) => assertPayloadHasColumns(input.payloadFile, columns, window) : undefined;
  const cutPayloads = (modelName: string) => buildRequestPayloads(payloadPath, input.payloadRows, modelName, 64, input.payloadLayout, input.payloadMaxBytes, { frame: input.payloadFile.frame, checkColumns, maxBodyBytes: input.bodyLimitBytes });
  let modelName = input.modelName;
  let payloads = await cutPayloads(modelName);
  let oipPath = `/v2/models/${encodeURIComponent(modelName)}/infer`;
  const machine = machineInfo();
  const startedAt = new Date().toISOString();
  const cells: BenchCell[] = [];
  let interrupted: InterruptedCell | undefined;
  let model: ReadyBody = {};
  const replicaCounts: Array<number | null> = input.target ? [null] : [...input.replicas];
  const variants: ReadonlyArray<BenchVariant | undefined> = input.variants?.length && !input.target ? input.variants : [undefined];
  const groups = replicaCounts.flatMap((replicas) => variants.map((variant) => ({ replicas, variant })));

  for (const { replicas, variant } of groups) {
    if (deps.signal?.aborted) break;
    let url = input.target?.replace(/\/+$/, '') ?? '';
    let grpcAddress = input.grpcTarget ?? '';
    let pids: number[] = [];
    let stop = async (): Promise<void> => {};
    // A variant that sets the token its replicas require is sent with it; every other group with bench's own.
    const apiToken = variant?.apiToken ?? input.apiToken;
    const auth: Record<string, string> = apiToken ? { authorization: `Bearer ${apiToken}` } : {};
    // Which of the compared configurations the events are of: two groups of one replica count are told apart by it.
    const group = variant ? { variant: variant.label } : {};
    if (replicas !== null) {
      emit({ type: 'bench.replicas_starting', replicas, ...group });
      const server = input.server as ServerCommand;
      let args = server.args;
      if (input.protocols.includes('oip-grpc')) {
        // One port for all replicas: the cluster shares it like the HTTP port, connection by connection.
        const port = await freePort();
        grpcAddress = `127.0.0.1:${port}`;
        args = [...args, '--grpc-port', String(port)];
      }
      const set = await startReplicas(replicas, { ...server, args, env: { ...BENCH_REPLICA_ENV, ...server.env, ...variant?.env } }, { signal: deps.signal });
      ({ url, pids, stop } = set);
    }
    try {
      model = await waitReady(url, input.readyTimeoutMs ?? READY_TIMEOUT_MS, deps.signal);
      // A --target (or a variant) configured with another serve.modelName answers the protocol under its own name only:
      // the name bench's settings give would have every OIP request refused as an unknown model.
      if (typeof model.model_name === 'string' && model.model_name !== '' && model.model_name !== modelName) {
        modelName = model.model_name;
        payloads = await cutPayloads(modelName);
        oipPath = `/v2/models/${encodeURIComponent(modelName)}/infer`;
      }
      emit({ type: 'bench.replicas_ready', replicas, ...group, url, pids });
      // A --target, or a variant serving another run, has a window only the server can tell.
      const served = await windowAt(url, model.run_id ?? null);
      if (served) assertPayloadCoversWindow(input.payloadRows, served);
      await probePredict(url, payloads.bodies[0], PREDICT_ROUTE, input.probeTimeoutMs, auth, deps.signal, variant);
      if (input.protocols.includes('oip-http')) await probePredict(url, payloads.oipBodies[0], oipPath, input.probeTimeoutMs, auth, deps.signal, variant);
      if (input.protocols.includes('oip-grpc')) {
        const probe = await runGrpcLoadCell({ address: grpcAddress, requests: payloads.grpcRequests.slice(0, 1), connections: 1, durationSec: 0.001, apiToken });
        if (probe.authRefused) throw authFailed(grpcAddress, 'gRPC ModelInfer', probe.authRefused, Boolean(apiToken), variant);
        if (probe.successes === 0 && probe.errors.connection.UNAVAILABLE) {
          throw targetUnavailable(grpcAddress, `gRPC ModelInfer at ${grpcAddress} got no answer (UNAVAILABLE): nothing serves gRPC there, or it cannot be reached.`);
        }
        if (probe.successes === 0) throw new FltsError('FLTS_BENCH_FAILED', `gRPC ModelInfer at ${grpcAddress} failed: ${JSON.stringify(probe.errors)}`, { details: { address: grpcAddress } });
      }
      const routeOf = (phase: CellPhase, protocol: BenchProtocol): string => {
        if (protocol === 'oip-grpc') return phase === 'baseline' ? 'gRPC ServerLive' : 'gRPC ModelInfer';
        if (phase === 'baseline') return `GET ${BASELINE_ROUTE}`;
        return protocol === 'oip-http' ? `POST ${oipPath}` : `POST ${PREDICT_ROUTE}`;
      };
      const load = (phase: CellPhase, protocol: BenchProtocol, connections: number, durationSec: number, onProgress: (progress: LoadCellProgress) => void): Promise<LoadCellResult> => {
        if (protocol === 'oip-grpc') {
          return runGrpcLoadCell({ address: grpcAddress, requests: phase === 'baseline' ? [] : payloads.grpcRequests, connections, durationSec, apiToken }, onProgress, deps.signal);
        }
        if (phase === 'baseline') return runLoadCell({ url, method: 'GET', path: BASELINE_ROUTE, bodies: [], connections, durationSec }, onProgress, deps.signal);
        const oip = protocol === 'oip-http';
        return runLoadCell({ url, method: 'POST', path: oip ? oipPath : PREDICT_ROUTE, bodies: oip ? payloads.oipBodies : payloads.bodies, connections, durationSec, headers: auth }, onProgress, deps.signal);
      };
      /** A cell's result, or undefined for a warm-up and for a cell the run was stopped in (`interrupted`). */
      const measure = async (phase: CellPhase | 'warmup', protocol: BenchProtocol, connections: number, durationSec: number): Promise<BenchCell | undefined> => {
        if (deps.signal?.aborted) return undefined;
        emit({ type: 'bench.cell_start', phase, protocol, replicas, ...group, connections, durationSec });
        const cpu = startCpuWindow(pids);
        const cellPhase: CellPhase = phase === 'warmup' ? 'predict' : phase;
        const result = await load(cellPhase, protocol, connections, durationSec, (progress) =>
          emit({ type: 'bench.cell_progress', phase, protocol, replicas, ...group, connections, durationSec, elapsedSec: progress.elapsedSec, requests: progress.requests }),
        );
        const usage = cpu.stop();
        if (result.authRefused && !deps.signal?.aborted) {
          // Refused after the probe was let in (the token changed, or a proxy in front refuses): not a rate to report.
          throw authFailed(protocol === 'oip-grpc' ? grpcAddress : url, routeOf(cellPhase, protocol), result.authRefused, Boolean(apiToken) && (cellPhase === 'predict' || protocol === 'oip-grpc'), variant, { requests: result.requests });
        }
        if (deps.signal?.aborted) {
          // Cut short, its load is not the measurement asked for: said as what it is, never as a result (0 req/s
          // when the stop came as it started), and kept out of the cells.
          const elapsedSec = Math.round(result.elapsedSec * 100) / 100;
          interrupted = { phase, protocol, ...(variant ? { variant: variant.label } : {}), replicas, connections, durationSec, elapsedSec, requests: result.requests };
          emit({ type: 'bench.cell_interrupted', phase, protocol, replicas, ...group, connections, durationSec, elapsedSec, requests: result.requests });
          return undefined;
        }
        const rss = pids.map(processRssMiB).filter((value): value is number => value !== undefined);
        const perServer = [...usage.perPid.values()];
        const cell: BenchCell = {
          phase: cellPhase,
          protocol,
          ...(variant ? { variant: variant.label } : {}),
          engine: model.engine ?? null,
          replicas,
          connections,
          durationSec: Math.round(result.elapsedSec * 100) / 100,
          route: routeOf(cellPhase, protocol),
          requests: result.requests,
          requestsPerSec: Math.round((result.successes / result.elapsedSec) * 10) / 10,
          latency: result.latency,
          errors: result.errors,
          // The load generator is this process, with --target too: only the servers' processes are unknown then.
          cpu: {
            serversPercent: pids.length > 0 ? Math.round(perServer.reduce((a, b) => a + b, 0)) : null,
            busiestServerPercent: pids.length > 0 ? Math.round(Math.max(0, ...perServer)) : null,
            loadGeneratorPercent: Math.round(usage.self),
            machinePercent: Math.round(usage.machine),
          },
          serverRssMiB: rss.length > 0 ? Math.round(Math.max(...rss)) : null,
          fractionOfBaseline: null,
        };
        emit({ type: 'bench.cell_done', phase, protocol, replicas, ...group, connections, requestsPerSec: cell.requestsPerSec, p99Ms: cell.latency.p99, errors: cell.errors.total });
        return phase === 'warmup' ? undefined : cell;
      };
      if (input.warmupSec > 0) {
        for (const protocol of input.protocols) await measure('warmup', protocol, Math.max(...input.connections), input.warmupSec);
      }
      const baselines = [...new Set(input.protocols.map(baselineOf))];
      for (const connections of input.connections) {
        if (deps.signal?.aborted) break;
        const ceiling = new Map<BenchProtocol, BenchCell>();
        for (const protocol of baselines) {
          const baseline = await measure('baseline', protocol, connections, input.baselineDurationSec);
          if (!baseline) break;
          ceiling.set(protocol, baseline);
          cells.push(baseline);
        }
        for (const protocol of input.protocols) {
          const predict = await measure('predict', protocol, connections, input.durationSec);
          if (!predict) break;
          const baseline = ceiling.get(baselineOf(protocol)) as BenchCell;
          predict.fractionOfBaseline = baseline.requestsPerSec > 0 ? Math.round((predict.requestsPerSec / baseline.requestsPerSec) * 1000) / 1000 : null;
          cells.push(predict);
        }
      }
    } finally {
      await stop();
    }
  }
  if (deps.signal?.aborted) throw benchAborted({ measuredCells: cells.length, interrupted });

  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    balancer: input.target ? 'external' : 'node-cluster',
    target: input.target ?? null,
    runId: model.run_id ?? null,
    modelType: model.model_type ?? null,
    modelName,
    payload: { source: payloads.source, origin, why, ...(hint ? { hint } : {}), rowsPerRequest: payloads.rowsPerRequest, distinctBodies: payloads.bodies.length, meanBytes: payloads.meanBytes },
    matrix: { protocols: [...input.protocols], replicas: input.target ? [] : [...input.replicas], connections: [...input.connections], durationSec: input.durationSec, baselineDurationSec: input.baselineDurationSec, warmupSec: input.warmupSec, ...(variants[0] ? { variants: variants.map((v) => (v as BenchVariant).label) } : {}) },
    machine: { ...machine, loadAverageEnd: os.loadavg() },
    cells,
  };
  if (input.outDir) report.files = await writeBenchFiles(report, input.outDir, { onWaitingForReader: deps.onWaitingForReader, signal: deps.signal, replace: input.replaceReport });
  return report;
}
