import cliProgress from 'cli-progress';
import type { EventSink, FltsEvent } from '../core/events.js';

export interface BenchProgressOptions {
  tty: boolean;
  say: (line: string) => void;
  stream?: NodeJS.WriteStream;
}

type CellEvent = Extract<FltsEvent, { type: 'bench.cell_start' | 'bench.cell_progress' | 'bench.cell_done' | 'bench.cell_interrupted' }>;

const WHAT: Record<string, Record<CellEvent['phase'], string>> = {
  http: { baseline: 'GET /healthz', predict: 'POST /predict', warmup: 'warm-up /predict' },
  'oip-http': { baseline: 'GET /healthz', predict: 'OIP HTTP infer', warmup: 'warm-up OIP HTTP' },
  'oip-grpc': { baseline: 'gRPC ServerLive', predict: 'OIP gRPC ModelInfer', warmup: 'warm-up OIP gRPC' },
};

const label = (event: CellEvent): string => `${event.replicas === null ? 'target' : `${event.replicas} replica(s)`}${event.variant ? `, ${event.variant}` : ''}, ${event.connections} conn., ${WHAT[event.protocol]?.[event.phase] ?? event.phase}`;

/** Draws bench events: a live bar per cell (elapsed seconds, requests, req/s) on a terminal, one line per cell otherwise (under --json: progress-log.ts). */
export function createBenchProgress(options: BenchProgressOptions): { onEvent: EventSink; stop(): void } {
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
