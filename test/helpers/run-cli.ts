import { execFile } from 'node:child_process';
import path from 'node:path';
import { ALL_SPECS } from '../../src/core/config/specs/index.js';

export const BIN = path.resolve(__dirname, '../../bin/run.js');
export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON (for `--json` runs). */
  json?: any;
}

export interface RunCliOptions {
  cwd?: string;
  /** Added to a clean environment: every flts setting variable of the calling process is removed first. */
  env?: Record<string, string>;
  /** Variables of the calling process left out of the command's environment. */
  unset?: readonly string[];
  timeoutMs?: number;
  /** Options for node itself, before the script (e.g. `--import` of a module preloaded into the command). */
  nodeArgs?: readonly string[];
}

/** Settings variables of the test runner's own environment must not leak into the command under test. */
export function cleanEnvironment(extra: Record<string, string>, unset: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of unset) delete env[name];
  for (const spec of ALL_SPECS) for (const name of spec.env ?? []) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('FLTS_')) delete env[name];
  return { ...env, ...extra };
}

/** Runs the built binary (`node bin/run.js ...args`); never throws for a non-zero exit. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), BIN, ...args],
      { cwd: options.cwd ?? REPO_ROOT, env: cleanEnvironment(options.env ?? {}, options.unset), timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let json: unknown;
        try {
          json = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ exitCode, stdout, stderr, json });
      },
    );
  });
}
