import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withServer } from '../src/core/tracking/tracking-server.fixture.js';
import { createGrowingDataHome, type GrowingDataHome } from './helpers/growing-data-home.js';
import { runCli } from './helpers/run-cli.js';

let data: GrowingDataHome;
beforeEach(() => {
  data = createGrowingDataHome('flts-cli-train-catch-up-');
});
afterEach(() => data.remove());

describe('cli > train with MLflow going away while older runs are caught up', () => {
  it('says the run just trained was mirrored and the catch-up resumes at the next sync', async () => {
    data.writeInputs(300);
    const env = data.env;
    expect((await runCli(['preprocess', '--json'], { env })).exitCode).toBe(0);
    // A run trained while MLflow was not configured: the next sync's backlog.
    const older = await runCli(['train', '--model', 'NAIVE', '--json'], { env, timeoutMs: 120_000 });
    expect(older.exitCode, older.stderr).toBe(0);

    const experiments: Array<{ experiment_id: string; name: string; lifecycle_stage: string }> = [];
    let created = 0;
    await withServer(
      (request, response) => {
        const url = new URL(request.url ?? '/', 'http://mlflow');
        const answer = (body: unknown, status = 200): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        request.resume();
        request.on('end', () => {
          if (url.pathname.endsWith('/experiments/search')) return answer({ experiments });
          if (url.pathname.endsWith('/experiments/get-by-name')) {
            const experiment = experiments.find((candidate) => candidate.name === url.searchParams.get('experiment_name'));
            return experiment ? answer({ experiment }) : answer({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such experiment' }, 404);
          }
          if (url.pathname.endsWith('/experiments/create')) {
            experiments.push({ experiment_id: '1', name: 'flts', lifecycle_stage: 'active' });
            return answer({ experiment_id: '1' });
          }
          if (url.pathname.endsWith('/runs/search')) return answer({ runs: [] });
          if (url.pathname.endsWith('/runs/create')) {
            created += 1;
            // The run just trained is mirrored; then the server goes away, as the older run's mirror starts.
            if (created > 1) return void request.socket.destroy();
            return answer({ run: { info: { run_id: 'm1', experiment_id: '1', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/1/m1/artifacts' }, data: { params: [], tags: [], metrics: [] } } });
          }
          return answer({});
        });
      },
      async (uri) => {
        const mirrored = await runCli(['train', '--model', 'NAIVE'], { env: { ...env, MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_RETRIES: '0' }, timeoutMs: 120_000 });
        expect(mirrored.exitCode, mirrored.stderr).toBe(0);
        expect(created).toBe(2);
        expect(mirrored.stdout).toMatch(/^mlflow: the run just trained was mirrored, but catching up older runs stopped \(.+\); it resumes at the next sync\.$/m);
      },
    );
  }, 240_000);
});
