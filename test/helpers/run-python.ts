import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs a Python script with `input` as JSON on stdin and its stdout parsed as JSON. Its temporary files go to a
 * folder of its own, removed when it ends: mlflow.pyfunc.load_model downloads each model it loads into a tempfile
 * folder it never removes, which left seven folders in the system's temporary directory at every run of the suite.
 */
export function runPythonJson(python: string, script: string, input: unknown, timeoutMs = 120_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'flts-python-'));
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, env: { ...process.env, TMPDIR: scratch } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(scratch, { recursive: true, force: true });
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
