import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, runCli } from '../helpers/run-cli.js';

const home = mkdtempSync(path.join(os.tmpdir(), 'flts-serve-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('commands > serve', () => {
  it('listens, answers liveness while waiting for a promotion, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--home', home, '--log-level', 'silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) resolve(match[1]);
        });
        child.on('exit', () => reject(new Error(`serve exited early: ${out}`)));
      });
      const health = await (await fetch(`${url}/healthz`)).json();
      expect(health).toMatchObject({ status: 'ok', service: 'inference-api', model_ready: false });
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('exits 4 with FLTS_RUN_NOT_FOUND when the pinned run does not exist', async () => {
    const result = await runCli(['serve', '--run', 'no-such-run', '--port', '0', '--home', home, '--json', '--log-level', 'silent']);
    expect(result.exitCode).toBe(4);
    expect(result.json).toMatchObject({ status: 'error', error: { code: 'FLTS_RUN_NOT_FOUND' } });
  });
});
