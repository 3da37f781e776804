import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withServer } from '../src/core/tracking/tracking-server.fixture.js';
import { createGrowingDataHome, type GrowingDataHome } from './helpers/growing-data-home.js';
import { runCli } from './helpers/run-cli.js';

let data: GrowingDataHome;
beforeEach(() => {
  data = createGrowingDataHome('flts-cli-train-deleted-experiment-');
});
afterEach(() => data.remove());

describe('cli > train with the MLflow experiment of its runs deleted by an operator', () => {
  it('says how many runs wait on the deleted experiment and how to restore it, and --json carries them', async () => {
    data.writeInputs(300);
    const env = data.env;
    expect((await runCli(['preprocess', '--json'], { env })).exitCode).toBe(0);
    // A run trained while MLflow was not configured: the next sync's backlog.
    expect((await runCli(['train', '--model', 'NAIVE', '--json'], { env, timeoutMs: 120_000 })).exitCode).toBe(0);

    const deleted = { experiment_id: '7', name: 'NonML', lifecycle_stage: 'deleted' };
    const created: string[] = [];
    await withServer(
      (request, response) => {
        const url = new URL(request.url ?? '/', 'http://mlflow');
        const answer = (body: unknown, status = 200): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        request.resume();
        request.on('end', () => {
          if (url.pathname.endsWith('/experiments/search')) return answer({ experiments: [] });
          if (url.pathname.endsWith('/experiments/get-by-name')) return url.searchParams.get('experiment_name') === 'NonML' ? answer({ experiment: deleted }) : answer({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such experiment' }, 404);
          if (url.pathname.endsWith('/experiments/get')) return url.searchParams.get('experiment_id') === '7' ? answer({ experiment: deleted }) : answer({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such experiment' }, 404);
          if (url.pathname.endsWith('/runs/search')) return answer({ runs: [] });
          created.push(url.pathname);
          return answer({ error_code: 'INVALID_STATE', message: `unexpected ${url.pathname}` }, 400);
        });
      },
      async (uri) => {
        const tracked = { ...env, MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_RETRIES: '0' };
        const first = await runCli(['train', '--model', 'NAIVE'], { env: tracked, timeoutMs: 120_000 });
        expect(first.exitCode, first.stderr).toBe(0);
        expect(first.stdout).toContain(
          'mlflow: 2 runs not mirrored (tracking.experiments.statistical): MLflow experiment "NonML" (id 7) is deleted, and flts does not restore it: runs of its model types are not mirrored. Restore it (`mlflow experiments restore --experiment-id 7`)',
        );
        // The two parked runs wait; the run trained now is parked beside them: one line for the three.
        const second = await runCli(['train', '--model', 'NAIVE', '--json'], { env: tracked, timeoutMs: 120_000 });
        expect(second.exitCode, second.stderr).toBe(0);
        const tracking = JSON.parse(second.stdout).result.tracking;
        expect(tracking.status).toBe('ok');
        expect(tracking.value.waiting).toEqual([{ experiment_name: 'NonML', experiment_id: '7', runs: 2 }]);
        expect(tracking.value.parked).toEqual([expect.objectContaining({ reason: 'experiment_deleted', experiment_name: 'NonML', experiment_id: '7' })]);
        expect(created).toEqual([]);
      },
    );
  }, 240_000);
});
