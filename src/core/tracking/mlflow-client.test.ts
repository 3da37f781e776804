import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { createMlflowClient, LISTING_CALL_BUDGETS, MAX_SEARCH_PAGES, type MlflowClient, type MlflowClientDeps } from './mlflow-client.js';
import { listMlflowRunsByConfigHash } from './list-mlflow-runs.js';
import { failure, withServer } from './tracking-server.fixture.js';

type Answer = (path: string, body: Record<string, unknown>) => unknown;

/** A client of a server on 127.0.0.1 that answers each call with `answer(path, request body)` as JSON; counts the calls. */
async function withClient<T>(answer: Answer, body: (client: MlflowClient, calls: () => number) => Promise<T>, deps: MlflowClientDeps = {}): Promise<T> {
  let calls = 0;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    calls += 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(path, text ? JSON.parse(text) : {})));
    });
  };
  return withServer(listener, (uri) => {
    const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 1, 'tracking.backoffMs': 0 } }).settings;
    return body(createMlflowClient(settings.tracking, deps), () => calls);
  });
}

const run = (id: string, data?: unknown) => ({ info: { run_id: id, experiment_id: '1', status: 'FINISHED', start_time: '1' }, ...(data === undefined ? {} : { data }) });

describe('core > tracking > mlflow-client', () => {
  it('reports answers of the wrong shape as a server that is not MLflow, before anything reads them', async () => {
    const cases: Array<{ call: (client: MlflowClient) => Promise<unknown>; answer: unknown }> = [
      { call: (c) => c.createRun({ experimentId: '1', runName: 'NAIVE', startTime: 0, tags: [] }), answer: { run: null } },
      { call: (c) => c.createRun({ experimentId: '1', runName: 'NAIVE', startTime: 0, tags: [] }), answer: {} },
      { call: (c) => c.getRun('r'), answer: { run: { info: { experiment_id: '1' }, data: {} } } },
      { call: (c) => c.getRun('r'), answer: { run: run('r', { params: { config_hash: 'h' } }) } },
      { call: (c) => c.getExperimentByName('NonML'), answer: { experiment: [] } },
      { call: (c) => c.searchExperiments(), answer: { experiments: { a: 1 } } },
      { call: (c) => c.searchRuns({ experimentIds: ['1'] }), answer: { runs: 'abc' } },
      { call: (c) => c.searchRuns({ experimentIds: ['1'] }), answer: { runs: [{}] } },
      { call: (c) => c.createModelVersion({ name: 'm', source: 's', runId: 'r' }), answer: { model_version: null } },
      { call: (c) => c.searchModelVersions("name='m'"), answer: { model_versions: [{ name: 'm' }] } },
    ];
    for (const [index, { call, answer }] of cases.entries()) {
      const error = await withClient(() => answer, (client) => failure(call(client)));
      expect(error, `case ${index}`).toBeInstanceOf(FltsError);
      expect(error.code, `case ${index}`).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(error.details.reason, `case ${index}`).toMatch(/wrong_shape|not_json/);
    }
  });

  it('reads runs MLflow sends without a data field (no params, metrics or tags) as empty', async () => {
    const runs = await withClient(
      (path) => (path.endsWith('/experiments/search') ? { experiments: [{ experiment_id: '0', name: 'Default' }, { experiment_id: '1', name: 'NonML' }] } : path.endsWith('/runs/search') ? { runs: [run('a')] } : {}),
      async (client) => listMlflowRunsByConfigHash(resolveSettings({ flags: { 'tracking.uri': client.uri } }).settings, 'h', { client }),
    );
    expect(runs.map((r) => [r.mlflowRunId, r.params, r.tags])).toEqual([['a', {}, {}]]);
  });

  it('stops a listing whose page token comes back, after the second page', { timeout: 20_000 }, async () => {
    const error = await withClient(
      () => ({ experiments: [{ experiment_id: '1', name: 'NonML' }], next_page_token: 'same' }),
      async (client, calls) => {
        const failed = await failure(client.searchExperiments());
        expect(calls()).toBe(2);
        return failed;
      },
    );
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details.reason).toBe('endless_listing');
  });

  it('stops a listing that hands out new tokens forever after MAX_SEARCH_PAGES pages, even when its pages are empty', { timeout: 20_000 }, async () => {
    let token = 0;
    const error = await withClient(
      () => ({ runs: [], next_page_token: `t${(token += 1)}` }),
      async (client, calls) => {
        const failed = await failure(client.searchRuns({ experimentIds: ['1'], maxResults: 1000 }));
        expect(calls()).toBe(MAX_SEARCH_PAGES);
        return failed;
      },
    );
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.message).toContain(`after ${MAX_SEARCH_PAGES} pages`);
  });

  it('ends a listing whose server answers each page just inside the time limit at LISTING_CALL_BUDGETS call budgets, not MAX_SEARCH_PAGES', async () => {
    // The clock the client reads moves 0.9 of a call budget (2 x 5000 ms here) with each page the server answers:
    // three pages fit in three budgets, the fourth passes them, and no fifth is asked for.
    let clock = 0;
    let token = 0;
    const budgetMs = 2 * 5000;
    const answer = (): unknown => {
      clock += 0.9 * budgetMs;
      return { runs: [run(`r${token}`)], next_page_token: `t${(token += 1)}` };
    };
    for (const list of [(c: MlflowClient) => c.searchRuns({ experimentIds: ['1'] }), (c: MlflowClient) => c.searchExperiments()]) {
      clock = 0;
      const error = await withClient(
        (path) => (path.endsWith('/experiments/search') ? { experiments: [{ experiment_id: '1', name: 'NonML' }], next_page_token: (answer() as { next_page_token: string }).next_page_token } : answer()),
        async (client, calls) => {
          expect(client.budgetMs).toBe(budgetMs);
          const failed = await failure(list(client));
          expect(calls()).toBe(4);
          return failed;
        },
        { now: () => clock },
      );
      expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(error.details).toMatchObject({ reason: 'listing_deadline', pages: 4, listingBudgetMs: LISTING_CALL_BUDGETS * budgetMs });
    }
  });

  it('gives up on a page at the listing deadline rather than retrying it on its own budget', async () => {
    // The first page takes 2.9 of the listing's 3 call budgets; the second fails with a 503 that takes 0.2 more,
    // past the deadline: a retry (the page call's own budget would allow one) is not asked for.
    let clock = 0;
    const budgetMs = 2 * 5000;
    let requests = 0;
    const error = await withServer(
      (req, res) => {
        requests += 1;
        clock += requests === 1 ? 2.9 * budgetMs : 0.2 * budgetMs;
        req.resume().on('end', () =>
          requests === 1 ? res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ runs: [run('a')], next_page_token: 't' })) : res.writeHead(503).end('busy'),
        );
      },
      (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 1, 'tracking.backoffMs': 0 } }).settings;
        return failure(createMlflowClient(settings.tracking, { now: () => clock }).searchRuns({ experimentIds: ['1'] }));
      },
    );
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'listing_deadline', pages: 1 });
    expect(requests).toBe(2);
  });

  it('cuts the attempt in flight at the listing deadline and asks no retry of it', async () => {
    // The first page leaves 50 ms of the listing's clock; the second never answers. Its attempt is cut at those
    // 50 ms (not its 100 ms time limit) and, the listing's time being up, not retried though a retry is allowed.
    let clock = 0;
    let requests = 0;
    const budgetMs = 2 * 100;
    const error = await withServer(
      (req, res) => {
        requests += 1;
        if (requests > 1) return;
        clock = LISTING_CALL_BUDGETS * budgetMs - 50;
        req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ runs: [run('a')], next_page_token: 't' })));
      },
      (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 100, 'tracking.retries': 1, 'tracking.backoffMs': 0 } }).settings;
        return failure(createMlflowClient(settings.tracking, { now: () => clock }).searchRuns({ experimentIds: ['1'] }));
      },
    );
    expect(error.details).toMatchObject({ reason: 'listing_deadline', pages: 1 });
    expect(error.cause).toMatchObject({ details: { attempts: 1, reason: 'deadline' } });
    expect(requests).toBe(2);
  });

  it('keeps a page larger than the limit asked for to that limit, without spreading it onto the stack', async () => {
    const many = Array.from({ length: 200_000 }, (_, i) => run(`r${i}`, {}));
    const runs = await withClient(() => ({ runs: many, next_page_token: 'more' }), (client) => client.searchRuns({ experimentIds: ['1'], maxResults: 1000 }));
    expect(runs).toHaveLength(1000);
  });
});
