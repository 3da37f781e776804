import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { createMlflowClient, LISTING_CALL_BUDGETS, MAX_SEARCH_PAGES, type MlflowClient, type MlflowClientDeps } from './mlflow-client.js';
import { listMlflowRunsByConfigHash } from './list-mlflow-runs.js';
import { createMlflowServers } from './mlflow-servers.js';
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
    // 50 ms (not its 5 s time limit) and, the listing's time being up, not retried though a retry is allowed.
    // Reason 'deadline' is given only to an attempt whose limit the deadline cut; attempts 1 says no retry was asked.
    // The server may not see the cut attempt at all on a busy host (its 50 ms can pass before the request lands).
    let clock = 0;
    let requests = 0;
    const budgetMs = 2 * 5000;
    const error = await withServer(
      (req, res) => {
        requests += 1;
        if (requests > 1) return;
        clock = LISTING_CALL_BUDGETS * budgetMs - 50;
        req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ runs: [run('a')], next_page_token: 't' })));
      },
      (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 1, 'tracking.backoffMs': 0 } }).settings;
        return failure(createMlflowClient(settings.tracking, { now: () => clock }).searchRuns({ experimentIds: ['1'] }));
      },
    );
    expect(error.details).toMatchObject({ reason: 'listing_deadline', pages: 1 });
    expect(error.cause).toMatchObject({ details: { attempts: 1, reason: 'deadline' } });
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(2);
  });

  it('refuses a search page holding more entries than its max_results asked for as it arrives, leaving the rest unread', async () => {
    // Each page is endless (chunked, never closed): only counting its entries while reading can end the call before
    // the body size limit, and an answer that was parsed whole would never come.
    const endless = (key: string, entry: (i: number) => unknown) => (req: IncomingMessage, res: ServerResponse, sent: { bytes: number }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let i = 0;
      const pump = (): void => {
        while (!res.destroyed) {
          const text = `${i === 0 ? `{"${key}": [` : ','}${Array.from({ length: 100 }, () => JSON.stringify(entry((i += 1)))).join(',')}`;
          sent.bytes += text.length;
          if (!res.write(text)) return void res.once('drain', pump);
        }
      };
      pump();
    };
    const cases = [
      { key: 'runs', asked: 1000, list: (c: MlflowClient) => c.searchRuns({ experimentIds: ['1'] }), entry: (i: number) => run(`r${i}`, { params: [{ key: 'config_hash', value: 'h' }] }) },
      { key: 'runs', asked: 3, list: (c: MlflowClient) => c.searchRuns({ experimentIds: ['1'], maxResults: 3 }), entry: (i: number) => run(`r${i}`) },
      { key: 'experiments', asked: 1000, list: (c: MlflowClient) => c.searchExperiments(), entry: (i: number) => ({ experiment_id: String(i), name: `e${i}` }) },
      { key: 'model_versions', asked: 200, list: (c: MlflowClient) => c.searchModelVersions("name='m'"), entry: (i: number) => ({ name: 'm', version: String(i) }) },
    ];
    for (const { key, asked, list, entry } of cases) {
      const sent = { bytes: 0 };
      let requests = 0;
      const error = await withServer(
        (req, res) => {
          requests += 1;
          req.resume().on('end', () => endless(key, entry)(req, res, sent));
        },
        (uri) => failure(list(createMlflowClient(resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 20_000, 'tracking.retries': 2, 'tracking.backoffMs': 0 } }).settings.tracking))),
      );
      expect(error.code, key).toBe('FLTS_TRACKING_UNAVAILABLE');
      expect(error.details.reason, key).toBe('oversized_page');
      expect(error.message, key).toContain(`more than ${asked} ${key}`);
      expect(requests, key).toBe(1);
      // What the socket buffers took besides: far below the 32 MB a body may otherwise reach.
      expect(sent.bytes, key).toBeLessThan(8 << 20);
    }
  });

  it('refuses an oversized page too small to be counted as it arrives, or whose list name that count cannot match, once it is parsed', async () => {
    const runs = (count: number): string => Array.from({ length: count }, (_, i) => JSON.stringify(run(`r${i}`))).join(',');
    const cases = [
      { body: `{"runs": [${runs(1001)}]}`, list: (c: MlflowClient) => c.searchRuns({ experimentIds: ['1'] }) },
      { body: `{"runs": [${runs(4)}]}`, list: (c: MlflowClient) => c.searchRuns({ experimentIds: ['1'], maxResults: 3 }) },
      { body: `{"\\u0072uns": [${runs(4)}]}`, list: (c: MlflowClient) => c.searchRuns({ experimentIds: ['1'], maxResults: 3 }) },
    ];
    expect(Object.keys(JSON.parse(cases[2].body))).toEqual(['runs']);
    for (const [index, { body, list }] of cases.entries()) {
      const error = await withServer(
        (req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body)),
        (uri) => failure(list(createMlflowClient(resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.retries': 0 } }).settings.tracking))),
      );
      expect(error.details.reason, `case ${index}`).toBe('oversized_page');
    }
  });

  it('reads a listing of many full pages, each as large as asked for, to its limit or its end', async () => {
    const asked: number[] = [];
    const total = 2600;
    const answer: Answer = (path, body) => {
      const max = Number(body.max_results);
      asked.push(max);
      const from = Number(body.page_token ?? 0);
      const to = Math.min(total, from + max);
      return { runs: Array.from({ length: to - from }, (_, i) => run(`r${from + i}`)), ...(to < total ? { next_page_token: String(to) } : {}) };
    };
    const limited = await withClient(answer, (client) => client.searchRuns({ experimentIds: ['1'], maxResults: 2500 }));
    expect(limited).toHaveLength(2500);
    expect(asked).toEqual([1000, 1000, 500]);
    asked.length = 0;
    const all = await withClient(answer, (client) => client.searchRuns({ experimentIds: ['1'] }));
    expect(all.map((r) => r.info.run_id)).toEqual(Array.from({ length: total }, (_, i) => `r${i}`));
    expect(asked).toEqual([1000, 1000, 1000]);
  });

  it('reads one page of a search at a time from the token given, handing back the next one until the last page', async () => {
    const total = 1500;
    const answer: Answer = (_path, body) => {
      const from = Number(body.page_token ?? 0);
      const to = Math.min(total, from + Number(body.max_results));
      return { runs: Array.from({ length: to - from }, (_, i) => run(`r${from + i}`, i === 0 ? undefined : { tags: [] })), ...(to < total ? { next_page_token: String(to) } : {}) };
    };
    const pages = await withClient(answer, async (client, calls) => {
      const first = await client.searchRunsPage({ experimentIds: ['1'] });
      const last = await client.searchRunsPage({ experimentIds: ['1'], pageToken: first.nextPageToken });
      return { first, last, calls: calls() };
    });
    expect(pages.calls).toBe(2);
    expect(pages.first.runs).toHaveLength(1000);
    expect(pages.first.runs[0].data).toEqual({});
    expect(pages.first.nextPageToken).toBe('1000');
    expect(pages.last.runs.map((r) => r.info.run_id)).toEqual(Array.from({ length: 500 }, (_, i) => `r${1000 + i}`));
    expect(pages.last.nextPageToken).toBeUndefined();
  });

  /**
   * How `call` fails against a server that never answers, through a client whose clock stands still (two 5 s attempts
   * a call), and how many requests the server saw.
   */
  async function failureOfSilentServer(call: (client: MlflowClient) => Promise<unknown>): Promise<{ error: FltsError; requests: number }> {
    let requests = 0;
    const error = await withServer(
      () => {
        requests += 1;
      },
      (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 1, 'tracking.backoffMs': 0 } }).settings;
        return failure(call(createMlflowClient(settings.tracking, { now: () => 0 })));
      },
    );
    return { error, requests };
  }

  it('ends a page of a listing read a page at a time at the deadline its caller gives, with one attempt, not at its own budget', async () => {
    // The server never answers; the call's own budget (two attempts of 5 s) would hold the caller for 10 s. The
    // client's clock stands still, so the deadline leaves exactly 50 ms however late the call starts; the server may
    // not see the request before they pass on a busy host, so what proves a single attempt is the client's count.
    const { error, requests } = await failureOfSilentServer((client) => client.searchRunsPage({ experimentIds: ['1'], deadline: 50 }));
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'deadline', attempts: 1 });
    expect(requests).toBeLessThanOrEqual(1);
  });

  it('ends a whole search at the deadline its caller gives when sooner than the listing\'s own, with reason deadline', async () => {
    // The server never answers; the listing's own deadline (three budgets of two 5 s attempts) would hold the caller for 30 s.
    // As above: a still clock, and the client's count of attempts, not the server's, proves there was one.
    const { error, requests } = await failureOfSilentServer((client) => client.searchRuns({ experimentIds: ['1'], viewType: 'DELETED_ONLY', deadline: 50 }));
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'deadline', pages: 0 });
    expect(error.cause).toMatchObject({ details: { attempts: 1, reason: 'deadline' } });
    expect(requests).toBeLessThanOrEqual(1);
  });

  it('leaves an experiment an operator deleted deleted: refused with reason experiment_deleted, neither restored nor created again', async () => {
    const paths: string[] = [];
    const error = await withClient(
      (path) => {
        paths.push(path);
        if (path.endsWith('/experiments/get-by-name')) return { experiment: { experiment_id: '7', name: 'NonML', lifecycle_stage: 'deleted' } };
        return {};
      },
      (client) => failure(client.getOrCreateExperiment('NonML')),
    );
    expect(error.code).toBe('FLTS_TRACKING_REJECTED');
    expect(error.details).toMatchObject({ reason: 'experiment_deleted', experimentId: '7', experimentName: 'NonML' });
    expect(error.message).toContain('mlflow experiments restore --experiment-id 7');
    expect(paths).toEqual(['/api/2.0/mlflow/experiments/get-by-name']);
  });

  it('reads answers up to tracking.maxResponseMb and no further, naming the setting', async () => {
    // About 1.5 MB: past a limit of 1 MB, within one of 2.
    const page = { runs: Array.from({ length: 1000 }, (_, i) => run(`r${i}`, { tags: [{ key: 'note', value: 'x'.repeat(1500) }] })) };
    const read = (maxResponseMb: number) =>
      withServer(
        (req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page))),
        (uri) => createMlflowClient(resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.maxResponseMb': maxResponseMb, 'tracking.retries': 0 } }).settings.tracking).searchRuns({ experimentIds: ['1'] }),
      );
    expect(await read(2)).toHaveLength(1000);
    const error = await failure(read(1));
    expect(error.code).toBe('FLTS_TRACKING_UNAVAILABLE');
    expect(error.details.reason).toBe('too_large');
    expect(error.message).toContain('over 1 MB');
    expect(error.hint).toContain('FLTS_MLFLOW_MAX_RESPONSE_MB');
  });

  describe('logged models (MLflow 3)', () => {
    /** A server answering the n-th call with `answers[n]` (status, body), its last answer from then on. */
    const answering = (answers: Array<[number, unknown]>) => {
      let n = 0;
      return (req: IncomingMessage, res: ServerResponse): void => {
        req.resume().on('end', () => {
          const [status, body] = answers[Math.min(n++, answers.length - 1)];
          if (typeof body === 'string') res.writeHead(status, { 'content-type': 'text/html' }).end(body);
          else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        });
      };
    };
    const clientAt = (uri: string) => createMlflowClient(resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings.tracking);
    const search = (client: MlflowClient) => client.searchLoggedModels({ experimentIds: ['1'], filter: "source_run_id = 'r'" });

    it('takes a 404 page for a server without them (undefined, not asked again by the client), but not MLflow\'s RESOURCE_DOES_NOT_EXIST, nor a 404 once they answered', async () => {
      const page = '<!doctype html><title>404 Not Found</title>';
      let calls = 0;
      const counted = (listener: ReturnType<typeof answering>) => (req: IncomingMessage, res: ServerResponse) => void (calls++, listener(req, res));
      await withServer(counted(answering([[404, page]])), async (uri) => {
        const client = clientAt(uri);
        expect(await search(client)).toBeUndefined();
        expect(await client.createLoggedModel({ experimentId: '1', name: 'model', modelType: 'GRU', sourceRunId: 'r', params: [], tags: [] })).toBeUndefined();
        expect(calls).toBe(1);
      });
      await withServer(answering([[404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Experiment 1 not found' }]]), async (uri) => {
        expect((await failure(search(clientAt(uri)))).details).toMatchObject({ status: 404, mlflowErrorCode: 'RESOURCE_DOES_NOT_EXIST' });
      });
      await withServer(answering([[200, { models: [] }], [404, page]]), async (uri) => {
        const client = clientAt(uri);
        expect(await search(client)).toEqual([]);
        expect((await failure(search(client))).code).toBe('FLTS_TRACKING_REJECTED');
      });
    });

    it('keeps what it learnt with its server state: a server upgraded to logged models lets the backfill ask again, one that refused them does not, and another state knows nothing of either', async () => {
      const servers = createMlflowServers();
      await withServer(answering([[200, { models: [] }]]), async (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 5000, 'tracking.retries': 0 } }).settings;
        const shared = createMlflowClient(settings.tracking, { servers });
        expect(createMlflowClient(settings.tracking, { servers }).server).toBe(shared.server);
        expect(createMlflowClient(settings.tracking).server).not.toBe(shared.server);
        shared.server.backfill = 'unsupported';
        shared.server.loggedModelsUnsupportedTold = true;
        expect(await search(createMlflowClient(settings.tracking, { servers }))).toEqual([]);
        expect(shared.server).toMatchObject({ backfill: undefined, loggedModelsUnsupportedTold: false });
        shared.server.backfill = 'refused';
        expect(await search(shared)).toEqual([]);
        expect(shared.server.backfill).toBe('refused');
      });
    });
  });
});
