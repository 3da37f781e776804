import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, cleanEnvironment, REPO_ROOT } from './run-cli.js';
import { waitUntil } from './wait-until.js';

/** A `flts` command running in the background. */
export interface FltsProcess {
  child: ChildProcess;
  output(): string;
  /** Everything written to stderr (the structured logs), up to its last 2 MB. */
  logs(): string;
  /** Resolves with the first match of `pattern` in stdout. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  /** Sends the signal (if still running) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `flts <args>` in the background, with this process's flts settings replaced by `env` (as runCli does). */
export function startFltsProcess(args: string[], env: Record<string, string>): FltsProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: cleanEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    output: () => `${stdout}\n--- stderr (tail) ---\n${stderr.slice(-4000)}`,
    logs: () => stderr,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      return waitUntil(
        async () => {
          if (done) throw new Error(`flts ${args[0]} exited: ${stdout}\n${stderr.slice(-3000)}`);
          return pattern.exec(stdout) ?? undefined;
        },
        `${pattern} in the output of flts ${args.join(' ')}`,
        timeoutMs,
        100,
      );
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}

