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
  return (await trainMirroredRun(env, unset)).created;
}

/** trainMirrored, with the run_id of each run the command trained. */
async function trainMirroredRun(env: Record<string, string>, unset: string[]): Promise<{ created: CreatedRun[]; trained: string[] }> {
  const trained: string[] = [];
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
      for (const trainedRun of run.json.result.runs as Array<{ run_id: string }>) trained.push(trainedRun.run_id);
    },
  );
  return { created, trained };
}

const userOf = (run: CreatedRun): { tag?: string; userId?: string } => ({ tag: run.tags.find((tag) => tag.key === 'mlflow.user')?.value, userId: run.user_id });
const runIdOf = (run: CreatedRun): string | undefined => run.tags.find((tag) => tag.key === 'flts.run_id')?.value;

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
    // The runs it trains, that is: the one ada trained, caught up by the same sync, stays hers.
    const unnamed = await trainMirroredRun({}, USER_VARIABLES);
    const trained = unnamed.created.filter((run) => unnamed.trained.includes(runIdOf(run) ?? ''));
    expect(trained.length).toBeGreaterThan(0);
    for (const run of trained) expect(userOf(run)).toEqual({ tag: account, userId: account });
    for (const run of unnamed.created.filter((created) => !trained.includes(created))) expect(userOf(run)).toEqual({ tag: 'ada', userId: 'ada' });
  }, 300_000);

  it('names a run trained while tracking was off after who trained it, not after whoever syncs it to MLflow later', async () => {
    data.writeInputs(300);
    expect((await runCli(['preprocess', '--json'], { env: data.env })).exitCode).toBe(0);
    const offline = await runCli(['train', '--model', 'NAIVE', '--json'], { env: { ...data.env, LOGNAME: 'ada' }, unset: [...USER_VARIABLES.filter((name) => name !== 'LOGNAME'), 'MLFLOW_TRACKING_URI'], timeoutMs: 120_000 });
    expect(offline.exitCode, offline.stderr).toBe(0);
    const [older] = (offline.json.result.runs as Array<{ run_id: string }>).map((run) => run.run_id);

    // Another user's train mirrors its own run and catches up ada's: before, both were stamped with that user's name.
    const { created, trained } = await trainMirroredRun({ LOGNAME: 'bob' }, USER_VARIABLES);
    const users = new Map(created.map((run) => [runIdOf(run), userOf(run)]));
    expect(users.get(older)).toEqual({ tag: 'ada', userId: 'ada' });
    expect(trained.length).toBeGreaterThan(0);
    for (const runId of trained) expect(users.get(runId)).toEqual({ tag: 'bob', userId: 'bob' });
  }, 300_000);
});
