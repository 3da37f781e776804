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
  /**
   * Resolves with the first match of `pattern` in stderr. stdout and stderr are two pipes read apart: a log line the
   * process wrote before a stdout line may reach this process after it.
   */
  waitForLogs(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
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
  const waitForMatch = (text: () => string, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray> =>
    waitUntil(
      async () => {
        // What an exited process wrote is all there is; its last chunks may still be on their way, so one more look.
        const match = pattern.exec(text());
        if (match || !done) return match ?? undefined;
        throw new Error(`flts ${args[0]} exited: ${stdout}\n${stderr.slice(-3000)}`);
      },
      `${pattern} in the ${what} of flts ${args.join(' ')}`,
      timeoutMs,
      100,
    );
  return {
    child,
    output: () => `${stdout}\n--- stderr (tail) ---\n${stderr.slice(-4000)}`,
    logs: () => stderr,
    waitForOutput: (pattern, timeoutMs = 60_000) => waitForMatch(() => stdout, pattern, 'output', timeoutMs),
    waitForLogs: (pattern, timeoutMs = 60_000) => waitForMatch(() => stderr, pattern, 'logs', timeoutMs),
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}

