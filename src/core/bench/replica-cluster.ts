import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { ERROR_CATALOGUE, FltsError, type ErrorCode } from '../errors.js';
import { servingExecArgv } from '../serve/serving-heap.js';

/** How to start one `flts serve` process: the script the cluster workers run and its arguments. */
export interface ServerCommand {
  exec: string;
  args: readonly string[];
  env?: Record<string, string>;
  /** The NODE_OPTIONS the workers inherit from this process unless `env` sets its own: whether it sizes V8's young generation. */
  nodeOptions?: string;
}

export interface ReplicaSet {
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

export interface StartReplicasOptions {
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

/** The cell a stop cut short: what it had sent when it stopped, not a measurement. */
export interface InterruptedCell {
  phase: 'baseline' | 'predict' | 'warmup';
  protocol: string;
  variant?: string;
  replicas: number | null;
  connections: number;
  /** The duration asked for, and how long it ran. */
  durationSec: number;
  elapsedSec: number;
  requests: number;
}

/**
 * The user stopped the run (Ctrl-C, SIGTERM): not a failure of the benchmark or of the servers under test. Once load
 * was sent, the details say how many cells were measured in full and which one the stop cut short.
 */
export function benchAborted(progress?: { measuredCells: number; interrupted?: InterruptedCell }): FltsError {
  const details = progress ? { measured_cells: progress.measuredCells, ...(progress.interrupted ? { interrupted_cell: progress.interrupted } : {}) } : undefined;
  return new FltsError('FLTS_BENCH_ABORTED', 'Benchmark interrupted; the replicas were stopped.', details ? { details } : undefined);
}

/** How flts writes a coded error on stderr: `Error FLTS_...: message`. */
const CODED_ERROR_LINE = /^Error (FLTS_[A-Z0-9_]+): (.*)$/m;

/**
 * A replica that exited before it was ready. One that refused its settings (a --compare value, the config file, the
 * environment bench runs in) did so under a usage code: that code is kept, so the run ends as the usage error it is
 * (exit 2), not as a benchmark failure.
 */
function replicaExited(code: number | null, signal: string | null, stderrTail: string): FltsError {
  const coded = CODED_ERROR_LINE.exec(stderrTail);
  const known = coded && coded[1] in ERROR_CATALOGUE ? (coded[1] as ErrorCode) : undefined;
  if (known && ERROR_CATALOGUE[known].kind === 'usage') return new FltsError(known, `A serve replica refused its settings: ${coded?.[2]}`, { details: { exit_code: code } });
  return new FltsError('FLTS_BENCH_FAILED', `A serve replica exited before it was ready (code ${code}, signal ${signal}): ${stderrTail.slice(-600)}`);
}

/** Waits for the worker's own "model loaded" log line (its pino JSON on stderr) or its failure. */
function watchWorker(worker: Worker): { listening: Promise<number>; loaded: Promise<void> } {
  let stderrTail = '';
  const exited = new Promise<never>((_, reject) => {
    worker.once('exit', (code, signal) => reject(replicaExited(code, signal, stderrTail)));
  });
  exited.catch(() => undefined);
  const listening = Promise.race([exited, new Promise<number>((resolve) => worker.once('listening', (address: AddressInfo) => resolve(address.port)))]);
  const loaded = Promise.race([
    exited,
    new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: worker.process.stderr as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        stderrTail = `${stderrTail}${line}\n`.slice(-2000);
        if (!line.startsWith('{')) return;
        try {
          const record = JSON.parse(line) as { msg?: string; err?: string; code?: string };
          if (record.msg === 'serve_model_loaded') resolve();
          if (record.msg === 'serve_model_load_failed') reject(new FltsError('FLTS_BENCH_FAILED', `A serve replica could not load its model: ${record.code ?? ''} ${record.err ?? ''}`.trim()));
        } catch {
          // not a log record
        }
      });
    }),
  ]);
  worker.process.stdout?.resume();
  // A replica that exits before it listens fails `listening`, awaited first; `loaded` fails with it and is only
  // awaited after every replica listens: unobserved, its rejection ended bench with a stack.
  loaded.catch(() => undefined);
  return { listening, loaded };
}

function stopWorker(worker: Worker, graceMs: number): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), graceMs);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.process.kill('SIGINT');
  });
}

/**
 * Starts `count` serve processes as Node cluster workers of this process. The workers share one listening
 * port and the primary hands each new connection to the next worker (round robin), so a keep-alive
 * connection costs no proxy hop per request: on a 2-core machine a proxy would spend a large share of
 * the CPU the replicas need. Resolves once every worker has loaded its model.
 */
export async function startReplicas(count: number, command: ServerCommand, options: StartReplicasOptions = {}): Promise<ReplicaSet> {
  if (!cluster.isPrimary) throw new FltsError('FLTS_BENCH_FAILED', 'Replicas can only be started from a cluster primary process.');
  // An abort event fires once: a signal already stopped would never end the wait below, and every replica would load first.
  if (options.signal?.aborted) throw benchAborted();
  // As `flts serve` bounds its young generation when started alone (a worker with an IPC channel does not relaunch
  // itself): a replica measured here holds what one deployed holds. A NODE_OPTIONS of the variant that sizes it wins.
  cluster.setupPrimary({ exec: command.exec, args: [...command.args], execArgv: servingExecArgv(process.execArgv, command.env?.NODE_OPTIONS ?? command.nodeOptions), silent: true });
  const workers: Worker[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(workers.map((worker) => stopWorker(worker, 5000)));
  };
  try {
    const watched = Array.from({ length: count }, () => {
      // A replica is not the process a ready file speaks for: inheriting FLTS_READY_FILE (bench run in a container
      // beside its server), it would overwrite that server's file and then remove it at its stop.
      const worker = cluster.fork({ FLTS_READY_FILE: '', ...command.env });
      workers.push(worker);
      return watchWorker(worker);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FltsError('FLTS_BENCH_FAILED', `Serve replicas were not ready after ${timeoutMs / 1000} s.`)), timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => options.signal?.addEventListener('abort', () => reject(benchAborted()), { once: true }));
    try {
      const ports = await Promise.race([Promise.all(watched.map((w) => w.listening)), timeout, aborted]);
      await Promise.race([Promise.all(watched.map((w) => w.loaded)), timeout, aborted]);
      return { url: `http://127.0.0.1:${ports[0]}`, pids: workers.map((worker) => worker.process.pid as number), stop };
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
