import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './run-cli.js';

/**
 * The python of the cached tritonclient venv (scripts/tritonclient/install.sh installs it from PyPI the
 * first time, a few seconds' check afterwards). FLTS_TEST_TRITONCLIENT_PYTHON names another one.
 */
export function tritonclientPython(): string {
  if (process.env.FLTS_TEST_TRITONCLIENT_PYTHON) return process.env.FLTS_TEST_TRITONCLIENT_PYTHON;
  const install = spawnSync('bash', [path.join(REPO_ROOT, 'scripts/tritonclient/install.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (install.status !== 0) throw new Error(`scripts/tritonclient/install.sh failed (${install.status ?? install.signal}): ${install.stderr.slice(-2000)}`);
  return install.stdout.trim().split('\n').pop() as string;
}

/** Runs a Python script with `input` as JSON on stdin and its stdout parsed as JSON. */
export function runPythonJson(python: string, script: string, input: unknown, timeoutMs = 120_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${path.basename(script)} exited with ${code}: ${stderr.slice(-3000)}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${path.basename(script)} printed no JSON: ${stdout.slice(0, 500)} ${stderr.slice(-1000)}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}
