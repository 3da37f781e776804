import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withServer } from '../src/core/tracking/tracking-server.fixture.js';
import { createGrowingDataHome, type GrowingDataHome } from './helpers/growing-data-home.js';
import { BIN, cleanEnvironment, REPO_ROOT, runCli } from './helpers/run-cli.js';

let data: GrowingDataHome;
beforeEach(() => {
  data = createGrowingDataHome('flts-cli-train-mlflow-stop-');
});
afterEach(() => data.remove());

describe('cli > train stopped by Ctrl-C while it mirrors to MLflow', () => {
  // Before, the stop was taken for an MLflow outage: the mirror was reported unavailable and train exited 0.
  it('ends with FLTS_TRAIN_ABORTED (exit 5), saying the run is complete and its mirror left to the next sync', async () => {
    data.writeInputs(300);
    expect((await runCli(['preprocess', '--json'], { env: data.env })).exitCode).toBe(0);
    let child: ReturnType<typeof spawn> | undefined;
    let signalled = false;
    const mirrorCalls: string[] = [];
    const run = await withServer(
      (request) => {
        // A tracking server that takes each call and never answers; the first call is the mirror's, and Ctrl-C comes then.
        mirrorCalls.push(request.url ?? '');
        request.resume();
        if (!signalled) {
          signalled = true;
          child?.kill('SIGINT');
        }
      },
      async (uri) => {
        const env = cleanEnvironment({ ...data.env, MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_RETRIES: '0' });
        child = spawn(process.execPath, [BIN, 'train', '--model', 'NAIVE', '--json'], { cwd: REPO_ROOT, env });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exitCode = await new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
        return { exitCode, stdout, stderr };
      },
    );
    expect(signalled).toBe(true);
    expect(run.exitCode, run.stderr).toBe(5);
    const error = (JSON.parse(run.stdout) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
    expect(error.code).toBe('FLTS_TRAIN_ABORTED');
    expect(error.message).toMatch(/^Training was stopped while its runs were mirrored to MLflow: NAIVE run \S+ is complete here; its MLflow mirror is left to the next sync /);
    // The run stands as trained: its record in the store is SUCCESS, and the error names it.
    const runsDir = path.join(data.env.FLTS_HOME, 'store', 'runs');
    const runIds = readdirSync(runsDir).filter((name) => /^[0-9a-f-]{8,}/i.test(name));
    expect(runIds).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(runsDir, runIds[0], 'run.json'), 'utf8'))).toMatchObject({ status: 'SUCCESS', model_type: 'NAIVE' });
    expect(error.details).toMatchObject({ succeeded: [runIds[0]], mirror_deferred: [runIds[0]] });
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
