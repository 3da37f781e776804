import cliProgress from 'cli-progress';
import type { EventSink, FltsEvent } from '../core/events.js';
import type { Logger } from '../core/logger.js';

export interface BenchProgressOptions {
  json: boolean;
  tty: boolean;
  say: (line: string) => void;
  /**
   * Under --json, where stdout holds the report alone: the run's progress as log lines on stderr (info), and the
   * request rows being the default dataset's as a warning.
   */
  logger?: Pick<Logger, 'info' | 'warn'>;
  stream?: NodeJS.WriteStream;
}

type CellEvent = Extract<FltsEvent, { type: 'bench.cell_start' | 'bench.cell_progress' | 'bench.cell_done' | 'bench.cell_interrupted' }>;

const WHAT: Record<string, Record<CellEvent['phase'], string>> = {
  http: { baseline: 'GET /healthz', predict: 'POST /predict', warmup: 'warm-up /predict' },
  'oip-http': { baseline: 'GET /healthz', predict: 'OIP HTTP infer', warmup: 'warm-up OIP HTTP' },
  'oip-grpc': { baseline: 'gRPC ServerLive', predict: 'OIP gRPC ModelInfer', warmup: 'warm-up OIP gRPC' },
};

const label = (event: CellEvent): string => `${event.replicas === null ? 'target' : `${event.replicas} replica(s)`}${event.variant ? `, ${event.variant}` : ''}, ${event.connections} conn., ${WHAT[event.protocol]?.[event.phase] ?? event.phase}`;

/** Draws bench events: a live bar per cell (elapsed seconds, requests, req/s) on a terminal, one line per cell otherwise. */
export function createBenchProgress(options: BenchProgressOptions): { onEvent: EventSink; stop(): void } {
  if (options.json) return { onEvent: (event) => (options.logger ? logProgress(event, options.logger) : undefined), stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  const stopBar = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onEvent = (event: FltsEvent): void => {
    switch (event.type) {
      case 'bench.payload_file':
        for (const line of payloadFileLines(event.file, event.why, event.hint)) options.say(line);
        break;
      case 'bench.replicas_starting':
        options.say(`Starting ${event.replicas} serve replica(s)${event.variant ? ` with ${event.variant}` : ''} behind the Node cluster balancer...`);
        break;
      case 'bench.replicas_ready':
        options.say(`Ready at ${event.url}${event.pids.length ? ` (pids ${event.pids.join(', ')})` : ''}`);
        break;
      case 'bench.cell_start':
        if (!options.tty) break;
        bar = new cliProgress.SingleBar(
          { format: `${label(event)} [{bar}] {value}/{total} s | {requests} requests | {rate} req/s`, stream: options.stream ?? process.stderr, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.ceil(event.durationSec), 0, { requests: 0, rate: 0 });
        break;
      case 'bench.cell_progress':
        bar?.update(Math.min(Math.ceil(event.durationSec), Math.floor(event.elapsedSec)), { requests: event.requests, rate: event.elapsedSec > 0 ? Math.round(event.requests / event.elapsedSec) : 0 });
        break;
      case 'bench.cell_interrupted':
        stopBar();
        options.say(`${label(event)}: interrupted after ${event.elapsedSec.toFixed(1)} of ${event.durationSec} s (${event.requests} requests sent), not measured`);
        break;
      case 'bench.cell_done':
        stopBar();
        options.say(`${label(event)}: ${event.requestsPerSec.toFixed(0)} req/s, p99 ${event.p99Ms.toFixed(2)} ms, ${event.errors} errors`);
        break;
      default:
        break;
    }
  };
  return { onEvent, stop: stopBar };
}

/** Which file the request rows were cut from and why, with what to do when that is not the served run's own data. */
export function payloadFileLines(file: string, why: string, hint?: string): string[] {
  return [`Request rows from ${file}: ${why}.`, ...(hint ? [`  Hint: ${hint}`] : [])];
}

/**
 * A --json run's progress, for whoever reads its stderr while stdout waits for the report: one log line as each
 * replica group starts and is ready and as each cell starts and ends, the fields of the text lines. Rows of the
 * default dataset rarely fit the served run: said as a warning, since the report says so only at the end.
 */
function logProgress(event: FltsEvent, logger: Pick<Logger, 'info' | 'warn'>): void {
  const group = (at: { replicas: number | null; variant?: string }) => ({ replicas: at.replicas, ...(at.variant ? { variant: at.variant } : {}) });
  switch (event.type) {
    case 'bench.payload_file':
      if (event.origin === 'default') logger.warn({ event: 'bench_default_request_rows', file: event.file, why: event.why, ...(event.hint ? { hint: event.hint } : {}) }, 'bench_default_request_rows');
      else logger.info({ file: event.file, origin: event.origin, why: event.why }, 'bench_request_rows');
      break;
    case 'bench.replicas_starting':
      logger.info(group(event), 'bench_replicas_starting');
      break;
    case 'bench.replicas_ready':
      logger.info({ ...group(event), url: event.url, pids: event.pids }, 'bench_replicas_ready');
      break;
    case 'bench.cell_start':
      logger.info({ phase: event.phase, protocol: event.protocol, ...group(event), connections: event.connections, duration_sec: event.durationSec }, 'bench_cell_started');
      break;
    case 'bench.cell_done':
      logger.info({ phase: event.phase, protocol: event.protocol, ...group(event), connections: event.connections, requests_per_sec: event.requestsPerSec, p99_ms: event.p99Ms, errors: event.errors }, 'bench_cell_done');
      break;
    case 'bench.cell_interrupted':
      logger.info({ phase: event.phase, protocol: event.protocol, ...group(event), connections: event.connections, duration_sec: event.durationSec, elapsed_sec: event.elapsedSec, requests: event.requests }, 'bench_cell_interrupted');
      break;
    default:
      break;
  }
}
