import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withServer } from '../src/core/tracking/tracking-server.fixture.js';
import { createGrowingDataHome, type GrowingDataHome } from './helpers/growing-data-home.js';
import { runCli } from './helpers/run-cli.js';

let data: GrowingDataHome;
beforeEach(() => {
  data = createGrowingDataHome('flts-cli-train-mlflow-user-');
});
afterEach(() => data.remove());

/** The variables getpass.getuser() reads, in its order; none is left to the command unless the test gives it. */
const USER_VARIABLES = ['LOGNAME', 'USER', 'LNAME', 'USERNAME'];

interface CreatedRun {
  user_id?: string;
  tags: Array<{ key: string; value: string }>;
}

/** `flts train` against a tracking server double that keeps the body of each runs/create. */
async function trainMirrored(env: Record<string, string>, unset: string[]): Promise<CreatedRun[]> {
  const created: CreatedRun[] = [];
  await withServer(
    (request, response) => {
      const url = new URL(request.url ?? '/', 'http://mlflow');
      const answer = (body: unknown, status = 200): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (url.pathname.endsWith('/experiments/search')) return answer({ experiments: [{ experiment_id: '1', name: 'NonML', lifecycle_stage: 'active' }] });
        if (url.pathname.endsWith('/runs/search')) return answer({ runs: [] });
        if (url.pathname.endsWith('/runs/create')) {
          created.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CreatedRun);
          return answer({ run: { info: { run_id: `m${created.length}`, experiment_id: '1', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/1/m/artifacts' }, data: {} } });
        }
        return answer({});
      });
    },
    async (uri) => {
      const run = await runCli(['train', '--model', 'NAIVE', '--json'], { env: { ...data.env, ...env, MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_RETRIES: '0' }, unset, timeoutMs: 120_000 });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.json.result.tracking).toMatchObject({ status: 'ok' });
    },
  );
  return created;
}

const userOf = (run: CreatedRun): { tag?: string; userId?: string } => ({ tag: run.tags.find((tag) => tag.key === 'mlflow.user')?.value, userId: run.user_id });

describe('cli > train names the user of the runs it creates in MLflow', () => {
  it('tags each run mlflow.user as MLflow\'s own clients do: the login variables first, else the account, never the runner\'s by chance', async () => {
    data.writeInputs(300);
    expect((await runCli(['preprocess', '--json'], { env: data.env })).exitCode).toBe(0);
    // Before, runs carried no mlflow.user: MLflow's UI showed no user for any run flts created.
    const named = await trainMirrored({ LOGNAME: 'ada', USER: 'not-this-one' }, USER_VARIABLES);
    expect(named.length).toBeGreaterThan(0);
    for (const run of named) expect(userOf(run)).toEqual({ tag: 'ada', userId: 'ada' });

    // No login variable (a CI job, a container): the account of the process's uid, or "unknown" where it has none.
    let account: string;
    try {
      account = os.userInfo().username || 'unknown';
    } catch {
      account = 'unknown';
    }
    const unnamed = await trainMirrored({}, USER_VARIABLES);
    expect(unnamed.length).toBeGreaterThan(0);
    for (const run of unnamed) expect(userOf(run)).toEqual({ tag: account, userId: account });
  }, 300_000);
});
