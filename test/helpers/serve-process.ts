import { spawn } from 'node:child_process';
import { BIN, REPO_ROOT } from './run-cli.js';

export interface ServeProcess {
  url: string;
  /** The process id node was started with (a serve that relaunches itself keeps it). */
  pid: number;
  /** host:port of the Open Inference Protocol gRPC service, when started with --grpc-port. */
  grpcAddress?: string;
  /** Sends `signal` (SIGINT unless given) and resolves with the exit code once the process has exited (its files are flushed by then). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends `signal` (e.g. SIGKILL) and resolves once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** What the process printed on stdout so far. */
  output(): string;
  /** What the process printed on stderr so far (its JSON log lines). */
  errors(): string;
}

/**
 * The line `flts serve` says as its start ends: a model loaded, or none promoted to load. "Listening on" comes before
 * the first read of the promotion pointer, so a signal sent on it may still find the server starting ("stopped while
 * starting", not "stopping"). Both lines are said within that start, with nothing left for it to wait for.
 */
const STARTED = /^(Serving run \S+|No run is promoted yet)/m;

/**
 * Starts `flts serve` on a free port and resolves once it prints where it listens (with `untilServing`,
 * once it also prints that a model is loaded and warm; with `untilStarted`, once its start has ended, a model loaded
 * or none promoted). `nodeArgs` go to node before the script (e.g. `--import`).
 */
export function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: { untilServing?: boolean; untilStarted?: boolean; nodeArgs?: readonly string[] } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, 'serve', '--port', '0', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close', not 'exit': stdout is read to its end by then.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stop = (signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise<ServeProcess>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)(?: \(Open Inference Protocol gRPC on grpc:\/\/([^)]+)\))?\n/.exec(out);
      if (match && (!options.untilServing || /^Serving run \S+/m.test(out)) && (!options.untilStarted || STARTED.test(out))) {
        resolve({
          url: match[1],
          pid: child.pid as number,
          ...(match[2] ? { grpcAddress: match[2] } : {}),
          stop,
          output: () => out,
          errors: () => err,
          kill: async (signal) => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        });
      }
    });
    child.on('exit', () => reject(new Error(`serve exited before listening: ${out}`)));
  });
}
