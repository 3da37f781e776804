import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { defaultSettings, resolveSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import { MemoryMlflow } from './memory-mlflow.fixture.js';
import { createMlflowClient, experimentDeleted, type MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowRun } from '../tracking/mlflow-types.js';
import { MIRROR_TAGS } from '../tracking/tracking-deps.js';
import { withServer } from '../tracking/tracking-server.fixture.js';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { DIGEST_TAG_READS_PER_SYNC, FULL_LISTING_FROM, LISTING_PAGE_RUNS, LISTING_PAGE_RUNS_MIN, MARKERS_AUDITED_PER_SYNC, mirrorPendingRuns, REMOVED_RUNS_CHECKED_PER_SYNC } from './mirror-pending-runs.js';
import { listMirrorMarkers, readMirrorMarkers, saveUnwrittenMarkers } from './mirror-markers.js';
import { PROCESSED_SHA256_TAG } from './mirror-source.js';
import { fakeRun } from './run-record.fixture.js';
import type { RunRecord } from './run-record.js';
import { saveRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-mirror-pending-'));
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** The record of a run trained since run records name their processed rows: its mirror is tagged with them. */
const withDigest = (run: RunRecord): RunRecord => ({ ...run, data: { ...run.data, processed_sha256: 'f'.repeat(64) } });

const settingsFor = (uri: string) => resolveSettings({ flags: { 'tracking.uri': uri } }).settings;

async function registryOf(dir: string, ids: readonly string[]) {
  const store = createFsStore(mkdtempSync(path.join(root, dir)));
  for (const [at, id] of ids.entries()) await saveRunRecord(store, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
  return store;
}

const COMPLETE_FILTER = `tags.\`${MIRROR_TAGS.complete}\` = 'true'`;
/** A search of every complete mirror: a listing's first page, or one from a position by start time. */
const completeListing = (search: { filter?: string; viewType?: string }) =>
  search.viewType !== 'DELETED_ONLY' && (search.filter === COMPLETE_FILTER || /^tags\.`[^`]+` = 'true' AND attributes\.start_time >= \d+$/.test(search.filter ?? '') && search.filter!.startsWith(COMPLETE_FILTER));

/**
 * Budgets of `budgetMs` (a sync's backlog, its audit) that run out when the test says so (`spend`: those begun so far),
 * not by the clock: Date stands still but for `spend`, and a budget's timer (AbortSignal.timeout of `budgetMs`) is a
 * signal the test aborts, so a loaded machine neither ends a budget before the step a test cuts (the listing's first
 * page, say) nor lets it outlast the cut. `overrun` moves the clock past the end of the budgets begun so far and fires
 * none of their timers: a loaded host, whose timers fire late.
 */
function heldBudget(budgetMs: number): { spend: () => void; overrun: () => void } {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  const timers: AbortController[] = [];
  const timeout = AbortSignal.timeout.bind(AbortSignal);
  vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms) => {
    if (ms !== budgetMs) return timeout(ms);
    const timer = new AbortController();
    timers.push(timer);
    return timer.signal;
  });
  return {
    spend: () => {
      vi.setSystemTime(Date.now() + budgetMs);
      for (const timer of timers.splice(0)) timer.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    },
    overrun: () => vi.setSystemTime(Date.now() + budgetMs),
  };
}

/** A tracking server on 127.0.0.1 for the length of `body` that records the path of each request and answers `answer(path)`. */
async function withRecordingServer<T>(answer: (path: string) => { status: number; body: unknown }, body: (uri: string, requests: string[]) => Promise<T>): Promise<T> {
  const requests: string[] = [];
  return withServer(
    (request, response) => {
      request.resume();
      request.on('end', () => {
        const path = (request.url ?? '').split('?')[0];
        requests.push(path);
        const { status, body: json } = answer(path);
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      });
    },
    (uri) => body(uri, requests),
  );
}

describe('core > registry > mirrorPendingRuns', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('looks up only the runs MLflow lacks, oldest first, without listing every object of the runs bucket', async () => {
    const inner = createFsStore(root);
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const [at, id] of ids.entries()) {
      await saveRunRecord(inner, settings, withDigest(fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, `2025-01-0${at + 1}T00:00:00.000Z`)));
      for (const file of ['model/model.json', 'model/weights.bin', 'scaler.json', 'predictions.json', 'intervals.json']) await inner.put('runs', `${id}/${file}`, '{}');
    }
    // Saved last, so its record is the newest: pending runs go oldest first.
    await saveRunRecord(inner, settings, withDigest(fakeRun('r2', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-02T00:00:00.000Z', 'SUCCESS')));
    await inner.put('runs', 'live/global/replicas/a.json', '{}');
    const mlflow = new MemoryMlflow();
    for (const id of ['r1', 'r3', 'r4', 'r6']) mlflow.addMirror(id);
    // The first sync asks MLflow about each run it has no marker of, and marks the complete mirrors it finds.
    const first = await mirrorPendingRuns(inner, settings, {}, { client: mlflow.client });
    expect(first.found.map((run) => run.runId)).toEqual(['r1', 'r3', 'r4', 'r6']);
    expect(first.mirrored.map((run) => run.runId)).toEqual(['r5', 'r2']);
    await saveRunRecord(inner, settings, withDigest(fakeRun('r7', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-07T00:00:00.000Z')));
    const { store, calls } = recordingStore(inner);

    const result = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });

    expect(result.pending).toEqual(['r7']);
    expect(result.mirrored.map((run) => [run.runId, run.upToDate])).toEqual([['r7', false]]);
    // The folders by name, the markers, then the run MLflow lacks: never the bucket whole, nor a marked run.
    expect(calls.filter((call) => call.method === 'list' && !call.key)).toEqual([]);
    const touched = new Set(calls.flatMap((call) => (call.key ? [call.key.split('/')[0]] : [])));
    expect([...touched].sort()).toEqual(['live', 'mlflow-mirrors', 'r7']);
    expect(mlflow.created).toEqual(['r5', 'r2', 'r7']);
  });

  it('a sync with nothing to do reads no listing of every mirror: the marked runs are audited a bounded number at a time', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 30 }, (_, at) => `n${String(at).padStart(4, '0')}`);
    const store = await registryOf('idle-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);

    // Mirrors written before markers existed: one listing finds them all and marks them, nothing is mirrored again.
    const first = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(first.pending).toEqual([]);
    expect(mlflow.searches.filter(completeListing)).toHaveLength(1);

    const from = mlflow.searches.length;
    const idle = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(idle).toMatchObject({ pending: [], mirrored: [], failed: [] });
    expect(mlflow.searches.slice(from).filter(completeListing)).toEqual([]);
    expect(mlflow.runsReturnedSince(from)).toBe(MARKERS_AUDITED_PER_SYNC);
    expect(mlflow.created).toEqual([]);
  });

  it('on a server too slow for the sync, the check of the markers and the search for untagged mirrors end by the sync deadline, the markers kept', async () => {
    const ids = ['d1', 'd2', 'd3'];
    const store = await registryOf('audit-deadline-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    const marked = await listMirrorMarkers(store, settings);
    expect(marked).toHaveLength(ids.length);
    const backlogBudgetMs = 60_000;
    const budget = heldBudget(backlogBudgetMs);
    const searches: Array<{ filter?: string; deadline?: number }> = [];
    // A server that answers searches long after the sync's budget: the client ends a search at the deadline it is given
    // (reason `deadline`, as mlflow-client does), once the budget runs out; without one, it fails as a server away.
    const slowSearch = async (input: { filter?: string; deadline?: number }): Promise<never> => {
      searches.push({ filter: input.filter, deadline: input.deadline });
      if (input.deadline !== undefined) budget.spend();
      throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'no answer within the time limit', { details: { reason: input.deadline === undefined ? undefined : 'deadline' } });
    };
    const started = Date.now();

    const slow = await mirrorPendingRuns(store, settings, { backlogBudgetMs }, { client: { ...mlflow.client, searchRuns: slowSearch } as MlflowClient });

    expect(slow).toMatchObject({ pending: [], mirrored: [], failed: [], tagged: [] });
    expect(slow.interrupted).toBeUndefined();
    // The deleted mirrors' search (the audit's first) and the untagged mirrors' search, each by its deadline.
    expect(searches.map((search) => search.filter)).toEqual([`tags.\`${MIRROR_TAGS.complete}\` = 'true'`, `tags.\`${MIRROR_TAGS.complete}\` = 'true' AND tags.\`${PROCESSED_SHA256_TAG}\` IS NULL`]);
    for (const search of searches) expect(search.deadline).toBeGreaterThanOrEqual(started);
    expect(searches[0].deadline).toBeLessThanOrEqual(searches[1].deadline!);
    expect(searches[1].deadline).toBeLessThanOrEqual(Date.now());
    expect(await listMirrorMarkers(store, settings)).toEqual(marked);
  });

  it('on a server without `attributes.run_id IN`, the lookup of each audited marker ends by the sync deadline too, the markers kept', { timeout: 30_000 }, async () => {
    const ids = ['k1', 'k2', 'k3'];
    const store = await registryOf('audit-lookups-', ids);
    const backlogBudgetMs = 60_000;
    const lookups: string[] = [];
    let budget: ReturnType<typeof heldBudget> | undefined;
    // An MLflow older than `IN` that takes the lookups of runs by id and never answers them: the budget runs out once
    // every audited marker is being looked up. Each lookup's own time limit is past the test's.
    await withServer(
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const path = (request.url ?? '').split('?')[0];
          const answer = (status: number, body: unknown): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
          if (path.endsWith('/experiments/search')) return answer(200, { experiments: [{ experiment_id: '1', name: 'Default', lifecycle_stage: 'active' }] });
          if (path.endsWith('/runs/search')) {
            const { filter } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { filter?: string };
            if (filter?.includes(' IN (')) return answer(400, { error_code: 'INVALID_PARAMETER_VALUE', message: `Invalid filter '${filter}'` });
            return answer(200, { runs: [] });
          }
          if (path.endsWith('/runs/get')) {
            lookups.push(new URL(request.url ?? '', 'http://x').searchParams.get('run_id') ?? '');
            if (lookups.length === ids.length) budget?.spend();
            return;
          }
          answer(404, { error_code: 'ENDPOINT_NOT_FOUND', message: path });
        });
      },
      async (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.retries': 0, 'tracking.timeoutMs': 600_000 } }).settings;
        const mlflow = new MemoryMlflow('older');
        for (const id of ids) mlflow.addMirror(id);
        await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
        const marked = await listMirrorMarkers(store, settings);
        expect(marked).toHaveLength(ids.length);
        budget = heldBudget(backlogBudgetMs);

        const cut = await mirrorPendingRuns(store, settings, { backlogBudgetMs });

        expect(lookups.sort()).toEqual(marked.map((marker) => marker.mlflowRunId).sort());
        expect(cut).toMatchObject({ pending: [], mirrored: [], failed: [], deferred: [] });
        expect(cut.interrupted).toBeUndefined();
        expect(await listMirrorMarkers(store, settings)).toEqual(marked);
      },
    );
  });

  /** `inner`, whose writes of marker objects past the `after`th go through `beforeWrite` first. */
  function interceptingMarkerWrites(inner: ObjectStore, after: number, beforeWrite: () => Promise<void>): ObjectStore {
    let writes = 0;
    const isMarker = (key: string): boolean => key.startsWith('mlflow-mirrors/') && !key.endsWith('.json');
    return new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'put') return typeof value === 'function' ? value.bind(target) : value;
        return async (bucket: string, key: string, ...rest: unknown[]) => {
          if (isMarker(key) && ++writes > after) await beforeWrite();
          return (value as (...args: unknown[]) => Promise<void>).apply(target, [bucket, key, ...rest]);
        };
      },
    });
  }

  /**
   * Every run of `ids` has exactly one marker, naming its one complete mirror; no other object is left in the folder but
   * the record of the listing, which owes no marker.
   */
  async function expectMarkedOnce(store: ObjectStore, mlflow: MemoryMlflow, ids: readonly string[]): Promise<void> {
    const { written, unwritten } = await readMirrorMarkers(store, settings);
    expect(written.map((marker) => [marker.runId, marker.mlflowRunId]).sort()).toEqual([...ids].sort().map((id) => [id, mlflow.mirrorOf(id)!.info.run_id]));
    expect(unwritten).toEqual([]);
    expect((await store.list('runs', 'mlflow-mirrors/')).filter((object) => !object.key.endsWith('/unwritten.json'))).toHaveLength(ids.length);
  }

  it('writes the markers a listing found owed within the backlog budget; the next sync writes the rest without listing MLflow again', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 60 }, (_, at) => `g${String(at).padStart(4, '0')}`);
    const inner = await registryOf('owed-budget-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    const backlogBudgetMs = 60_000;
    const budget = heldBudget(backlogBudgetMs);
    // The budget runs out at the eleventh marker write: the writes under way end, no other starts.
    const slow = interceptingMarkerWrites(inner, 10, async () => budget.spend());

    const cut = await mirrorPendingRuns(slow, settings, { backlogBudgetMs }, { client: mlflow.client });
    expect(cut).toMatchObject({ pending: [], mirrored: [], failed: [] });
    const written = await listMirrorMarkers(inner, settings);
    expect(written.length).toBeLessThan(ids.length);
    for (const marker of written) expect(marker.mlflowRunId).toBe(mlflow.mirrorOf(marker.runId)!.info.run_id);

    const next = await mirrorPendingRuns(inner, settings, { backlogBudgetMs: 60_000 }, { client: mlflow.client });
    expect(next).toMatchObject({ pending: [], mirrored: [], found: [], failed: [], deferred: [] });
    expect(mlflow.searches.filter(completeListing)).toHaveLength(1);
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(inner, mlflow, ids);
  });

  it.each([
    ['stopped (SIGTERM)', 'stop'],
    ['killed while writing them', 'crash'],
  ] as const)('a sync %s mid-way through the owed markers leaves the next one to finish them, with no duplicate mirror nor a second listing', async (_, how) => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `s${String(at).padStart(4, '0')}`);
    const inner = await registryOf(`owed-${how}-`, ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    await saveRunRecord(inner, settings, fakeRun('new', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-03-01T00:00:00.000Z'));
    const stop = new AbortController();
    // A process killed outright writes nothing more, the record of owed markers included.
    const cutting = interceptingMarkerWrites(inner, 5, async () => {
      stop.abort();
      if (how === 'crash') throw new Error('the process is gone');
    });

    const cut = mirrorPendingRuns(cutting, settings, {}, { client: mlflow.client, signal: stop.signal });
    if (how === 'crash') await cut.catch(() => undefined);
    else expect((await cut).failed).toEqual([]);
    expect((await listMirrorMarkers(inner, settings)).length).toBeLessThan(ids.length);

    const next = await mirrorPendingRuns(inner, settings, {}, { client: mlflow.client });
    expect(next.failed).toEqual([]);
    expect(mlflow.searches.filter(completeListing)).toHaveLength(1);
    expect(mlflow.created).toEqual(['new']);
    await expectMarkedOnce(inner, mlflow, [...ids, 'new']);
  });

  /** `mlflow`'s client, whose searches of every complete mirror (a page, or all of them) go through `onListing` once answered. */
  function listingWatched(mlflow: MemoryMlflow, onListing: () => Promise<void>): MlflowClient {
    const watched =
      <I extends { filter?: string; viewType?: string }, O>(search: (input: I) => Promise<O>) =>
      async (input: I): Promise<O> => {
        const answer = await search(input);
        if (completeListing(input)) await onListing();
        return answer;
      };
    return { ...mlflow.client, searchRuns: watched(mlflow.client.searchRuns), searchRunsPage: watched(mlflow.client.searchRunsPage) } as MlflowClient;
  }

  /** Runs MLflow returned to the searches of every complete mirror since the `from`th search. */
  const listingRunsSince = (mlflow: MemoryMlflow, from = 0): number => mlflow.searches.slice(from).filter(completeListing).reduce((sum, search) => sum + search.returned, 0);

  it.each([
    ['its backlog budget runs out', 'budget'],
    ['it is stopped (SIGTERM)', 'stop'],
  ] as const)('the first listing of every complete mirror stops where the sync does when %s, and the next syncs read on from there', async (_, how) => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 150 }, (_, at) => `l${String(at).padStart(4, '0')}`);
    const store = await registryOf(`listing-${how}-`, ids);
    const mlflow = new MemoryMlflow();
    mlflow.pageSize = 50;
    for (const [at, id] of ids.entries()) mlflow.addMirror(id, { start: Date.UTC(2026, 0, 1) + at * 1000 });
    const backlogBudgetMs = 60_000;
    const budget = how === 'budget' ? heldBudget(backlogBudgetMs) : undefined;
    const stop = new AbortController();
    let listings = 0;
    // The budget runs out with the first answer to the listing; the stop comes with the second one.
    const client = listingWatched(mlflow, async () => {
      listings += 1;
      if (budget) budget.spend();
      else if (listings === 2) stop.abort();
    });

    const cut = await mirrorPendingRuns(store, settings, how === 'budget' ? { backlogBudgetMs } : {}, { client, signal: stop.signal });
    expect(cut.failed).toEqual([]);
    expect(listingRunsSince(mlflow)).toBeLessThanOrEqual(2 * mlflow.pageSize);
    // No marker of a mirror the listing has not found complete.
    for (const marker of await listMirrorMarkers(store, settings)) expect(marker.mlflowRunId).toBe(mlflow.mirrorOf(marker.runId)!.info.run_id);

    const next = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(next).toMatchObject({ pending: [], mirrored: [], failed: [], deferred: [] });
    // Each page of the listing read once over both syncs, a page from a position bringing the run it was taken at again.
    expect(listingRunsSince(mlflow)).toBeGreaterThanOrEqual(ids.length);
    expect(listingRunsSince(mlflow)).toBeLessThan(ids.length + mlflow.searches.filter(completeListing).length);
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('a page of the listing still under way when the backlog budget runs out is cut at the budget, not waited for, and read again by the next sync at half the size', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `c${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-page-cut-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    const backlogBudgetMs = 60_000;
    const budget = heldBudget(backlogBudgetMs);
    const deadlines: Array<number | undefined> = [];
    let answered = false;
    // A page MLflow is slow to send: the budget runs out while it is under way, and the client ends its call at the
    // deadline it is given (reason `deadline`, as mlflow-http does); without one, the page comes after the budget.
    const slowPage = async (input: { deadline?: number }): Promise<never> => {
      deadlines.push(input.deadline);
      budget.spend();
      if (input.deadline === undefined) answered = true;
      throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'no answer within the time limit', { details: { reason: 'deadline' } });
    };
    const started = Date.now();

    const cut = await mirrorPendingRuns(store, settings, { backlogBudgetMs }, { client: { ...mlflow.client, searchRunsPage: slowPage } as MlflowClient });
    expect(cut).toMatchObject({ mirrored: [], found: [], failed: [] });
    expect(cut.interrupted).toBeUndefined();
    expect(answered).toBe(false);
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]).toBeGreaterThanOrEqual(started);
    expect(deadlines[0]).toBeLessThanOrEqual(Date.now());
    // Nothing of the page was taken: no marker, and the listing begins at its first page next time, with smaller pages.
    expect(await listMirrorMarkers(store, settings)).toEqual([]);
    expect((await readMirrorMarkers(store, settings)).listing).toMatchObject({ pages: 0, pageRuns: LISTING_PAGE_RUNS / 2 });

    const asked: Array<number | undefined> = [];
    const watched = { ...mlflow.client, searchRunsPage: (input: { maxResults?: number }) => (asked.push(input.maxResults), mlflow.client.searchRunsPage(input as never)) } as MlflowClient;
    const next = await mirrorPendingRuns(store, settings, {}, { client: watched });
    expect(asked).toEqual([LISTING_PAGE_RUNS / 2]);
    expect(next).toMatchObject({ pending: [], mirrored: [], failed: [], deferred: [] });
    expect(listingRunsSince(mlflow)).toBe(ids.length);
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('starts no run of the backlog once the clock is past its budget, though the timer has not fired yet (a loaded host)', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 5 }, (_, at) => `o${String(at).padStart(4, '0')}`);
    const unmirrored = ids.slice(FULL_LISTING_FROM);
    const mlflow = new MemoryMlflow();
    for (const id of ids.slice(0, FULL_LISTING_FROM)) mlflow.addMirror(id);
    const backlogBudgetMs = 60_000;
    const budget = heldBudget(backlogBudgetMs);
    // The clock passes the budget's end with the listing's answer; the runs MLflow lacks are left for the backlog.
    const client = listingWatched(mlflow, async () => budget.overrun());
    // The backlog's calls go through the client passed; the configured server would hear of any other.
    await withRecordingServer(
      () => ({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'not here' } }),
      async (uri, requests) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.retries': 0 } }).settings;
        const store = await registryOf('overrun-', ids);

        const late = await mirrorPendingRuns(store, settings, { backlogBudgetMs }, { client });

        expect(requests).toEqual([]);
        expect(late).toMatchObject({ mirrored: [], found: [], failed: [], deferred: unmirrored });
        expect(late.interrupted).toBeUndefined();
        expect(mlflow.created).toEqual([]);

        const next = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
        expect(next.mirrored.map((run) => run.runId)).toEqual(unmirrored);
        expect(next).toMatchObject({ failed: [], deferred: [] });
        expect(requests).toEqual([]);
      },
    );
  });

  it("with a budget, the backlog's calls go through the client the caller passes, not one built from the settings", async () => {
    const ids = ['c1', 'c2', 'c3'];
    const mlflow = new MemoryMlflow();
    await withRecordingServer(
      () => ({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'not here' } }),
      async (uri, requests) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.retries': 0 } }).settings;
        const store = await registryOf('passed-client-', ids);

        const synced = await mirrorPendingRuns(store, settings, { runIds: ['c3'], backlogBudgetMs: 60_000 }, { client: mlflow.client });

        expect(requests).toEqual([]);
        expect(mlflow.created).toEqual(['c3', 'c1', 'c2']);
        expect(synced).toMatchObject({ failed: [], deferred: [] });
        expect(synced.mirrored.map((run) => run.runId)).toEqual(['c3', 'c1', 'c2']);
      },
    );
  });

  it("with a budget, a call of the caller's client cut at it is aborted: its connection is closed at the budget, not at the call's own time limit", { timeout: 30_000 }, async () => {
    // The server lists the experiments, then never answers the lookup of the backlog's run. The budget is 1 s; the
    // call's own limit two minutes, four times the test's timeout: only the budget's abort can close the socket in time.
    let closed: Promise<void> | undefined;
    await withServer(
      (request, response) => {
        const path = (request.url ?? '').split('?')[0];
        request.resume();
        if (path.endsWith('/experiments/search')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ experiments: [{ experiment_id: '1', name: 'Default' }] }));
        const socket = request.socket;
        closed ??= new Promise((resolve) => socket.once('close', () => resolve()));
      },
      async (uri) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.timeoutMs': 120_000, 'tracking.retries': 0 } }).settings;
        const store = await registryOf('aborted-call-', ['a1']);
        const client = createMlflowClient(settings.tracking);

        const synced = await mirrorPendingRuns(store, settings, { backlogBudgetMs: 1000 }, { client });

        expect(synced).toMatchObject({ mirrored: [], failed: [], deferred: ['a1'] });
        expect(closed).toBeDefined();
        // Awaited while the server is up: closing it would close the socket itself.
        await closed;
      },
    );
  });

  it('pages cut at every sync get smaller down to LISTING_PAGE_RUNS_MIN, and the listing moves on with pages of at least that size', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `h${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-page-halved-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    const asked: Array<number | undefined> = [];
    const backlogBudgetMs = 60_000;
    const budget = heldBudget(backlogBudgetMs);
    // A server that sends no page larger than the floor before the deadline: the sync's budget runs out while it is under way.
    const slowLargePages = async (input: { maxResults?: number; deadline?: number }) => {
      asked.push(input.maxResults);
      if ((input.maxResults ?? LISTING_PAGE_RUNS) <= LISTING_PAGE_RUNS_MIN) return mlflow.client.searchRunsPage(input as never);
      budget.spend();
      throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'no answer within the time limit', { details: { reason: 'deadline' } });
    };
    const client = { ...mlflow.client, searchRunsPage: slowLargePages } as MlflowClient;
    for (let sync = 0; sync < 6 && (await listMirrorMarkers(store, settings)).length < ids.length; sync += 1) await mirrorPendingRuns(store, settings, { backlogBudgetMs }, { client });
    expect(asked.slice(0, 4)).toEqual([LISTING_PAGE_RUNS, LISTING_PAGE_RUNS / 2, LISTING_PAGE_RUNS / 4, LISTING_PAGE_RUNS_MIN]);
    expect(asked.filter((size) => size === undefined || size < LISTING_PAGE_RUNS_MIN)).toEqual([]);
    const next = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(next).toMatchObject({ pending: [], mirrored: [], found: [], failed: [], deferred: [] });
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('pages halved on a loaded server grow back, twice the size a page at a time, once pages come well within their time', { timeout: 60_000 }, async () => {
    const ids = Array.from({ length: 800 }, (_, at) => `w${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-page-grown-', ids);
    const mlflow = new MemoryMlflow();
    for (const [at, id] of ids.entries()) mlflow.addMirror(id, { start: Date.UTC(2026, 0, 1) + at * 1000 });
    // Left by syncs whose pages were cut: the next listing asks for pages of the floor.
    await saveUnwrittenMarkers(store, settings, [], { experimentIds: ['1'], pages: 0, pageRuns: LISTING_PAGE_RUNS_MIN });
    const asked: Array<number | undefined> = [];
    const client = { ...mlflow.client, searchRunsPage: (input: { maxResults?: number }) => (asked.push(input.maxResults), mlflow.client.searchRunsPage(input as never)) } as MlflowClient;

    const synced = await mirrorPendingRuns(store, settings, { backlogBudgetMs: 60_000 }, { client });

    expect(synced).toMatchObject({ pending: [], mirrored: [], failed: [], deferred: [] });
    expect(asked).toEqual([LISTING_PAGE_RUNS_MIN, 2 * LISTING_PAGE_RUNS_MIN, 4 * LISTING_PAGE_RUNS_MIN, LISTING_PAGE_RUNS]);
    expect((await readMirrorMarkers(store, settings)).listing?.pageRuns).toBeUndefined();
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('an owed marker whose mirror an operator deleted before it was written is never written: the run is mirrored again', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `e${String(at).padStart(4, '0')}`);
    const inner = await registryOf('owed-deleted-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    const stop = new AbortController();
    await mirrorPendingRuns(interceptingMarkerWrites(inner, 5, async () => stop.abort()), settings, {}, { client: mlflow.client, signal: stop.signal });
    const written = new Set((await listMirrorMarkers(inner, settings)).map((marker) => marker.runId));
    const [gone] = ids.filter((id) => !written.has(id));
    const deleted = mlflow.mirrorOf(gone)!.info.run_id;
    await mlflow.client.deleteRun(deleted);

    const next = await mirrorPendingRuns(inner, settings, {}, { client: mlflow.client });
    expect(next.pending).toEqual([gone]);
    expect(mlflow.created).toEqual([gone]);
    await expectMarkedOnce(inner, mlflow, ids);
    expect((await listMirrorMarkers(inner, settings)).map((marker) => marker.mlflowRunId)).not.toContain(deleted);
  });

  it('two syncs side by side (the daemon and a CLI sync) settle on one complete mirror per run, and mark that one', async () => {
    const ids = ['p1', 'p2', 'p3'];
    const store = await registryOf('side-by-side-', ids);
    const mlflow = new MemoryMlflow();
    // Each run's mirror is created by both syncs: the second createRun of a run lets both go on.
    const bothCreating = new Map<string, { arrived: number; release: () => void; released: Promise<void> }>();
    const client = {
      ...mlflow.client,
      createRun: async (input: { tags: Array<{ key: string; value: string }> }) => {
        const runId = toRecord(input.tags)[MIRROR_TAGS.runId];
        if (!bothCreating.has(runId)) {
          let release = (): void => undefined;
          const released = new Promise<void>((resolve) => (release = resolve));
          bothCreating.set(runId, { arrived: 0, release, released });
        }
        const gate = bothCreating.get(runId)!;
        gate.arrived += 1;
        if (gate.arrived === 2) gate.release();
        await gate.released;
        return (mlflow.client.createRun as (input: unknown) => Promise<MlflowRun>)(input);
      },
    } as unknown as MlflowClient;

    const results = await Promise.all([mirrorPendingRuns(store, settings, {}, { client }), mirrorPendingRuns(store, settings, {}, { client })]);
    expect(mlflow.created.sort()).toEqual([...ids, ...ids].sort());
    for (const result of results) expect(result.failed).toEqual([]);
    for (const id of ids) {
      const active = mlflow.runs.filter((run) => run.info.lifecycle_stage === 'active' && toRecord(run.data.tags)[MIRROR_TAGS.runId] === id);
      expect(active).toHaveLength(1);
      expect(toRecord(active[0].data.tags)[MIRROR_TAGS.complete]).toBe('true');
    }
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('runs that fail to mirror at every sync do not bring back the listing of every mirror', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `k${String(at).padStart(4, '0')}`);
    const store = await registryOf('failing-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    const broken = Array.from({ length: FULL_LISTING_FROM + 10 }, (_, at) => `x${String(at).padStart(4, '0')}`);
    for (const id of broken) await saveRunRecord(store, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-02-01T00:00:00.000Z'));
    const refusing = { ...mlflow.client, createRun: async () => Promise.reject(new FltsError('FLTS_TRACKING_REJECTED', 'MLflow refuses the run.')) } as MlflowClient;

    const from = mlflow.searches.length;
    for (let sync = 0; sync < 2; sync += 1) {
      const result = await mirrorPendingRuns(store, settings, {}, { client: refusing });
      expect(result.failed).toHaveLength(broken.length);
    }
    expect(mlflow.searches.slice(from).filter(completeListing)).toEqual([]);
  });

  it('a mirror MLflow completed but the store never marked (a crash between the two) is found complete, marked, and not mirrored twice', async () => {
    const store = await registryOf('crash-', ['c1', 'c2']);
    const mlflow = new MemoryMlflow();
    mlflow.addMirror('c1');
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    // The marker of c2's mirror is lost, as when the process died right after MLflow took `flts.mirror_complete`.
    const [lost] = (await listMirrorMarkers(store, settings)).filter((marker) => marker.runId === 'c2');
    await store.delete('runs', lost.key);

    const again = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(again).toMatchObject({ pending: [], mirrored: [], found: [{ runId: 'c2', mlflowRunId: mlflow.mirrorOf('c2')!.info.run_id }] });
    expect(mlflow.created).toEqual(['c2']);
    expect((await listMirrorMarkers(store, settings)).map((marker) => marker.runId).sort()).toEqual(['c1', 'c2']);
  });

  it("notices a mirror an operator deleted in MLflow at the next sync, and one purged by `mlflow gc` through the audit, and mirrors both again", async () => {
    const store = await registryOf('deleted-', ['d1', 'd2', 'd3']);
    const mlflow = new MemoryMlflow();
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    await mlflow.client.deleteRun(mlflow.mirrorOf('d1')!.info.run_id);
    mlflow.runs.splice(mlflow.runs.indexOf(mlflow.mirrorOf('d2')!), 1);

    const after = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(after.pending.sort()).toEqual(['d1', 'd2']);
    expect(mlflow.created.slice(3).sort()).toEqual(['d1', 'd2']);
    const markers = await listMirrorMarkers(store, settings);
    expect(markers.map((marker) => [marker.runId, marker.mlflowRunId]).sort()).toEqual(['d1', 'd2', 'd3'].map((id) => [id, mlflow.mirrorOf(id)!.info.run_id]));
  });

  it('checks the newest markers at every sync, so the mirrors a server restored from a backup lacks are mirrored again at once', async () => {
    const ids = Array.from({ length: 3 * MARKERS_AUDITED_PER_SYNC }, (_, at) => `b${String(at).padStart(4, '0')}`);
    const dir = mkdtempSync(path.join(root, 'restored-'));
    const store = createFsStore(dir);
    for (const [at, id] of ids.entries()) await saveRunRecord(store, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
    const mlflow = new MemoryMlflow();
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    // The markers were written a day apart, the last runs' last: the backup was taken before the last three.
    for (const [at, marker] of (await listMirrorMarkers(store, settings)).entries()) {
      const written = new Date(Date.UTC(2026, 0, 1) + Number(marker.runId.slice(1)) * 86_400_000 + at);
      utimesSync(path.join(dir, 'runs', marker.key), written, written);
    }
    const lost = ids.slice(-3);
    for (const id of lost) mlflow.runs.splice(mlflow.runs.indexOf(mlflow.mirrorOf(id)!), 1);

    const after = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(after.pending).toEqual(lost);
    expect(mlflow.created.slice(ids.length)).toEqual(lost);
  });

  it('takes a server that has none of the audited mirrors for wiped, and mirrors every run again; markers of another server are not trusted', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 5 }, (_, at) => `w${String(at).padStart(4, '0')}`);
    const store = await registryOf('wiped-', ids);
    const before = new MemoryMlflow();
    for (const id of ids) before.addMirror(id);
    await mirrorPendingRuns(store, settings, {}, { client: before.client });

    const wiped = new MemoryMlflow();
    const after = await mirrorPendingRuns(store, settings, {}, { client: wiped.client });
    expect(after.pending).toHaveLength(ids.length);
    expect(wiped.created).toHaveLength(ids.length);

    const elsewhere = new MemoryMlflow();
    const moved = await mirrorPendingRuns(store, settingsFor('http://elsewhere.example:5000'), {}, { client: elsewhere.client });
    expect(moved.pending).toHaveLength(ids.length);
  });

  it('lists the complete mirrors again for many runs recorded since the last listing began with mirrors made by other means', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `u${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-again-', ids);
    const mlflow = new MemoryMlflow();
    for (const id of ids) mlflow.addMirror(id);
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    // Brought in from another registry, say, their mirrors with them.
    const more = Array.from({ length: 2 * ids.length }, (_, at) => `w${String(at).padStart(4, '0')}`);
    for (const id of more) {
      await saveRunRecord(store, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-02-01T00:00:00.000Z'));
      mlflow.addMirror(id);
    }

    const from = mlflow.searches.length;
    const again = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(again).toMatchObject({ pending: [], found: [], failed: [] });
    expect(mlflow.searches.slice(from).filter(completeListing)).toHaveLength(1);
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, [...ids, ...more]);
  });

  it('a listing whose page token the server no longer takes is started over by the next sync, still with no duplicate mirror', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 50 }, (_, at) => `t${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-token-', ids);
    const mlflow = new MemoryMlflow();
    mlflow.pageSize = 50;
    for (const id of ids) mlflow.addMirror(id);
    const tokens: Array<string | undefined> = [];
    const syncWith = async (options: { stopAtPage?: number; refuseTokens?: boolean }) => {
      const stop = new AbortController();
      let pages = 0;
      const client = {
        ...mlflow.client,
        searchRunsPage: async (input: { filter?: string; pageToken?: string }) => {
          tokens.push(input.pageToken);
          if (options.refuseTokens && input.pageToken !== undefined) {
            stop.abort();
            throw new FltsError('FLTS_TRACKING_REJECTED', 'Invalid page token.');
          }
          const page = await mlflow.client.searchRunsPage(input as Parameters<MlflowClient['searchRunsPage']>[0]);
          if ((pages += 1) === options.stopAtPage) stop.abort();
          return page;
        },
      } as MlflowClient;
      return mirrorPendingRuns(store, settings, {}, { client, signal: stop.signal });
    };

    await syncWith({ stopAtPage: 1 });
    expect((await syncWith({ refuseTokens: true })).failed).toEqual([]);
    tokens.length = 0;
    expect(await syncWith({})).toMatchObject({ pending: [], failed: [] });
    expect(tokens[0]).toBeUndefined();
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('a listing stopped part-way reads on after the mirror it stopped at, whatever MLflow deleted before it: none is skipped and asked about', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 50 }, (_, at) => `k${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-deleted-before-', ids);
    const mlflow = new MemoryMlflow();
    mlflow.pageSize = 50;
    for (const [at, id] of ids.entries()) mlflow.addMirror(id, { start: Date.UTC(2026, 0, 1) + at * 1000 });
    const stop = new AbortController();
    const client = listingWatched(mlflow, async () => stop.abort());
    await mirrorPendingRuns(store, settings, {}, { client, signal: stop.signal });
    expect((await readMirrorMarkers(store, settings)).listing).toMatchObject({ pages: 1 });
    // An operator deletes a mirror of the first page.
    await mlflow.client.deleteRun(mlflow.mirrorOf(ids[10])!.info.run_id);

    const next = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });

    expect(next).toMatchObject({ found: [], failed: [], deferred: [] });
    expect(next.mirrored.map((run) => run.runId)).toEqual([ids[10]]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('a server that refuses start_time filters has its listing read by page token', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 50 }, (_, at) => `o${String(at).padStart(4, '0')}`);
    const store = await registryOf('listing-unkeyed-', ids);
    const mlflow = new MemoryMlflow('older');
    mlflow.pageSize = 50;
    for (const [at, id] of ids.entries()) mlflow.addMirror(id, { start: Date.UTC(2026, 0, 1) + at * 1000 });

    const synced = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });

    expect(synced).toMatchObject({ pending: [], mirrored: [], found: [], failed: [], deferred: [] });
    expect(mlflow.created).toEqual([]);
    await expectMarkedOnce(store, mlflow, ids);
  });

  it('a server taken for wiped is listed once, not again at each sync that mirrors part of the registry to it again', async () => {
    const ids = Array.from({ length: FULL_LISTING_FROM + 20 }, (_, at) => `v${String(at).padStart(4, '0')}`);
    const store = await registryOf('wiped-again-', ids);
    const before = new MemoryMlflow();
    for (const id of ids) before.addMirror(id);
    await mirrorPendingRuns(store, settings, {}, { client: before.client });

    // The wiped server takes 10 new mirrors a sync (the others refused, as a backlog cut by its budget would leave them).
    const wiped = new MemoryMlflow();
    let allowed = 0;
    const client = {
      ...wiped.client,
      createRun: async (input: { tags: Array<{ key: string; value: string }> }) => {
        if (wiped.created.length >= allowed) throw new FltsError('FLTS_TRACKING_REJECTED', 'MLflow refuses the run.');
        return (wiped.client.createRun as (input: unknown) => Promise<MlflowRun>)(input);
      },
    } as unknown as MlflowClient;
    for (let sync = 1; sync <= 3; sync += 1) {
      allowed = 10 * sync;
      await mirrorPendingRuns(store, settings, {}, { client });
    }
    expect(wiped.created).toHaveLength(30);
    expect(wiped.searches.filter(completeListing)).toHaveLength(1);
  });

  it('on a server without `attributes.run_id IN` and `IS NULL` checks the markers one run at a time and still tags the newest mirrors', async () => {
    const store = await registryOf('older-', ['o1', 'o2']);
    const mlflow = new MemoryMlflow('older');
    const untagged = mlflow.addMirror('o1', { start: 1, tags: { [PROCESSED_SHA256_TAG]: '' } });
    await saveRunRecord(store, settings, withDigest(fakeRun('o1', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z')));
    const first = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(first.tagged).toEqual([{ runId: 'o1', mlflowRunId: untagged.info.run_id }]);
    await mlflow.client.deleteRun(mlflow.mirrorOf('o2')!.info.run_id);
    mlflow.runs.splice(mlflow.runs.indexOf(untagged), 1);

    const after = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(after.failed).toEqual([]);
    expect(after.mirrored.map((run) => run.runId).sort()).toEqual(['o1', 'o2']);
  });

  it('drops the markers of runs removed from the store by hand, a bounded number of runs per sync, never those of a run that is there', async () => {
    const ids = Array.from({ length: REMOVED_RUNS_CHECKED_PER_SYNC + 20 }, (_, at) => `h${String(at).padStart(4, '0')}`);
    const dir = mkdtempSync(path.join(root, 'removed-'));
    const inner = createFsStore(dir);
    // Recorded after the sync's listing of run folders (a run trained meanwhile): in the store, though the listing lacks it.
    const late = 'a-late';
    for (const [at, id] of [late, ...ids].entries()) await saveRunRecord(inner, settings, fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
    const mlflow = new MemoryMlflow();
    for (const id of [late, ...ids]) mlflow.addMirror(id);
    await mirrorPendingRuns(inner, settings, {}, { client: mlflow.client });
    const store = new Proxy(inner, {
      get: (target, name, receiver) =>
        name === 'listFolders' ? async (bucket: string, prefix?: string) => (await target.listFolders(bucket, prefix)).filter((folder) => folder !== `${late}/`) : Reflect.get(target, name, receiver),
    });
    const removed = ids.slice(0, REMOVED_RUNS_CHECKED_PER_SYNC + 5);
    for (const id of removed) rmSync(path.join(dir, 'runs', id), { recursive: true });
    const markedRuns = async (): Promise<string[]> => (await listMirrorMarkers(inner, settings)).map((marker) => marker.runId).sort();

    const first = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(first).toMatchObject({ pending: [], mirrored: [], failed: [] });
    const left = (await markedRuns()).filter((runId) => removed.includes(runId));
    expect(left.length).toBeGreaterThan(0);
    expect(removed.length - left.length).toBeLessThanOrEqual(REMOVED_RUNS_CHECKED_PER_SYNC);

    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(await markedRuns()).toEqual([late, ...ids.filter((id) => !removed.includes(id))].sort());
    expect(mlflow.created).toEqual([]);
  });

  it('lists the experiments once per sync and once more per new mirror, for its last check for duplicates', async () => {
    const store = await registryOf('experiments-', ['x1', 'x2', 'x3', 'found']);
    const mlflow = new MemoryMlflow();
    // Complete in MLflow, its marker never written: looked up in the sync's listing of the experiments.
    mlflow.addMirror('found');

    const result = await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(result).toMatchObject({ pending: ['x1', 'x2', 'x3'], found: [{ runId: 'found' }], failed: [] });
    expect(mlflow.created).toEqual(['x1', 'x2', 'x3']);
    expect(mlflow.experimentListings).toBe(1 + 3);
  });

  /**
   * A server whose experiments are `NonML` (id 7), deleted unless `stage` says otherwise, and `Default` (id 1), its runs
   * kept by `mlflow`; the calls of each client method are counted (`calls`, reset by the test).
   */
  function withExperiments(mlflow: MemoryMlflow, stage: { nonMl: 'active' | 'deleted' | 'purged' }) {
    const calls: string[] = [];
    const nonMl = () => ({ experiment_id: '7', name: 'NonML', lifecycle_stage: stage.nonMl === 'active' ? 'active' : 'deleted' });
    const experiments = () => [{ experiment_id: '1', name: 'Default', lifecycle_stage: 'active' }, ...(stage.nonMl === 'active' ? [nonMl()] : [])];
    const served = {
      ...mlflow.client,
      searchExperiments: async () => experiments(),
      getExperiment: async (id: string) => (id === '7' ? (stage.nonMl === 'purged' ? undefined : nonMl()) : experiments().find((e) => e.experiment_id === id)),
      getOrCreateExperiment: async (name: string) => {
        if (name !== 'NonML') return { experiment_id: '1', name };
        if (stage.nonMl === 'deleted') throw experimentDeleted(nonMl());
        return { ...nonMl(), lifecycle_stage: 'active' };
      },
    } as MlflowClient;
    const client = new Proxy(served, {
      get: (target, name, receiver) => {
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? (...args: unknown[]) => (calls.push(String(name)), (value as (...a: unknown[]) => unknown)(...args)) : value;
      },
    });
    return { client, calls };
  }

  async function registryOfTypes(dir: string, runs: ReadonlyArray<[string, 'NAIVE' | 'LSTM']>) {
    const store = createFsStore(mkdtempSync(path.join(root, dir)));
    for (const [at, [id, type]] of runs.entries()) await saveRunRecord(store, settings, fakeRun(id, type, { rmse: 1, mae: 1, mse: 1 }, new Date(Date.UTC(2026, 0, 1) + at * 1000).toISOString()));
    return store;
  }

  const warningsOf = () => {
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const logger = { ...silentLogger, warn: (fields: Record<string, unknown>, message: string) => void warnings.push({ fields, message }), child: () => logger } as Logger;
    return { logger, warnings };
  };

  it('parks the runs of an experiment an operator deleted once, with its reason and one warning naming it, and mirrors the others', async () => {
    const store = await registryOfTypes('deleted-experiment-', [['x1', 'NAIVE'], ['x2', 'LSTM'], ['x3', 'NAIVE']]);
    const { client, calls } = withExperiments(new MemoryMlflow(), { nonMl: 'deleted' });
    const { logger, warnings } = warningsOf();

    const synced = await mirrorPendingRuns(store, settings, {}, { client, logger });

    const refusal = experimentDeleted({ experiment_id: '7', name: 'NonML' });
    // Held back on purpose and said once, not failures: a daemon's trainer counts each run in `failed` in its
    // tracking-failure metric, which a deleted experiment raised by one per run trained into it.
    expect(synced.failed).toEqual([]);
    expect(synced.parked).toEqual([
      { runId: 'x1', reason: 'experiment_deleted', experimentName: 'NonML', experimentId: '7' },
      { runId: 'x3', reason: 'experiment_deleted', experimentName: 'NonML', experimentId: '7' },
    ]);
    expect(synced.mirrored.map((run) => run.runId)).toEqual(['x2']);
    // The deleted experiment is asked about once, for the first of its runs (Default is among those listed).
    expect(calls.filter((call) => call === 'getOrCreateExperiment')).toHaveLength(1);
    const mlflowWarnings = warnings.filter(({ message }) => message.includes('mlflow'));
    expect(mlflowWarnings).toHaveLength(1);
    expect(mlflowWarnings[0].fields).toMatchObject({ reason: 'experiment_deleted', experiment_name: 'NonML', experiment_id: '7' });
    expect(mlflowWarnings[0].message).toBe('mlflow_experiment_deleted');
    expect(mlflowWarnings[0].fields.hint).toMatch(/restored in MLflow .*tracking\.experiments/);
    expect(mlflowWarnings[0].fields.err).toBe(refusal.message);
    expect(mlflowWarnings[0].fields.err).toContain('mlflow experiments restore --experiment-id 7');
    expect((await readMirrorMarkers(store, settings)).parked.map((run) => [run.runId, run.experimentId])).toEqual([
      ['x1', '7'],
      ['x3', '7'],
    ]);
  });

  it('leaves parked runs alone while their experiment stays deleted: one question per sync about the experiment, none per run, no failure, no warning', async () => {
    const store = await registryOfTypes('deleted-experiment-idle-', [['x1', 'NAIVE'], ['x2', 'LSTM'], ['x3', 'NAIVE']]);
    const mlflow = new MemoryMlflow();
    const { client, calls } = withExperiments(mlflow, { nonMl: 'deleted' });
    await mirrorPendingRuns(store, settings, {}, { client });
    // A run trained since, of the deleted experiment: refused without asking MLflow about the experiment again.
    await saveRunRecord(store, settings, fakeRun('x4', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-02-01T00:00:00.000Z'));
    const { logger, warnings } = warningsOf();

    for (const sync of [1, 2]) {
      calls.length = 0;
      const searchesFrom = mlflow.searches.length;
      const synced = await mirrorPendingRuns(store, settings, {}, { client, logger });
      const newRun = sync === 1 ? ['x4'] : [];
      expect(synced.failed, `sync ${sync}`).toEqual([]);
      expect(synced.parked?.map((run) => run.runId) ?? [], `sync ${sync}`).toEqual(newRun);
      expect(synced.pending, `sync ${sync}`).toEqual(newRun);
      expect(synced.waiting, `sync ${sync}`).toEqual([{ experimentName: 'NonML', experimentId: '7', runs: sync === 1 ? 2 : 3 }]);
      expect(calls.filter((call) => call === 'getExperiment'), `sync ${sync}`).toHaveLength(1);
      expect(calls.filter((call) => call === 'getOrCreateExperiment' || call === 'createRun'), `sync ${sync}`).toEqual([]);
      // No lookup of a parked run's mirror: its flts.run_id is in no search.
      expect(mlflow.searches.slice(searchesFrom).filter((search) => /x[13]/.test(search.filter ?? '')), `sync ${sync}`).toEqual([]);
    }
    expect(warnings.filter(({ message }) => message.includes('mlflow')).map(({ fields }) => fields.experiment_name)).toEqual(['NonML']);
  });

  it('mirrors parked runs again once their experiment is restored, purged, or another one is named in its place', async () => {
    for (const change of ['restored', 'purged', 'renamed'] as const) {
      const store = await registryOfTypes(`deleted-experiment-${change}-`, [['x1', 'NAIVE'], ['x2', 'LSTM'], ['x3', 'NAIVE']]);
      const mlflow = new MemoryMlflow();
      const stage: { nonMl: 'active' | 'deleted' | 'purged' } = { nonMl: 'deleted' };
      const { client } = withExperiments(mlflow, stage);
      await mirrorPendingRuns(store, settings, {}, { client });
      let synced = await mirrorPendingRuns(store, settings, {}, { client });
      expect(synced.mirrored, change).toEqual([]);

      let now = settings;
      if (change === 'restored') stage.nonMl = 'active';
      if (change === 'purged') stage.nonMl = 'purged';
      if (change === 'renamed') now = resolveSettings({ flags: { 'tracking.experiments.statistical': 'Statistical' } }).settings;
      synced = await mirrorPendingRuns(store, now, {}, { client });

      expect(synced.mirrored.map((run) => run.runId).sort(), change).toEqual(['x1', 'x3']);
      expect(synced.failed, change).toEqual([]);
      expect(synced.waiting, change).toBeUndefined();
      expect((await readMirrorMarkers(store, now)).parked, change).toEqual([]);
    }
  });

  it("leaves a reference trainer's runs (no flts tags) as they are", async () => {
    const store = await registryOf('foreign-', ['f1']);
    const mlflow = new MemoryMlflow();
    const foreign = mlflow.addMirror('', { tags: { [MIRROR_TAGS.complete]: '', [PROCESSED_SHA256_TAG]: '' } });
    const untouched = structuredClone(foreign);
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    await mirrorPendingRuns(store, settings, {}, { client: mlflow.client });
    expect(foreign).toEqual(untouched);
  });
});

describe('core > registry > mirrorPendingRuns > mirrors written before the processed-data tag', () => {
  const digestOf = (id: string): string => id.padEnd(64, '0');

  /** A tracking server holding complete mirrors, started in the order given, whose setTag writes into them. */
  function serverOf(mirrors: MlflowRun[], failAt?: number): { client: MlflowClient; setTags: string[] } {
    const setTags: string[] = [];
    const mlflow = new MemoryMlflow();
    mlflow.runs.push(...mirrors);
    const setTag = mlflow.client.setTag;
    const client = {
      ...mlflow.client,
      setTag: async (mlflowRunId: string, key: string, value: string) => {
        if (setTags.length === failAt) throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'MLflow went away.');
        setTags.push(mlflowRunId);
        await setTag(mlflowRunId, key, value);
      },
    } as MlflowClient;
    return { client, setTags };
  }

  /** A complete, finished mirror of flts run `runId` as flts wrote it before the processed-data tag. */
  const completeMirror = (runId: string): MlflowRun => ({
    info: { run_id: `mlflow-${runId}`, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active' },
    data: { tags: [{ key: MIRROR_TAGS.runId, value: runId }, { key: MIRROR_TAGS.complete, value: 'true' }] },
  });

  const mirrorOf = (runId: string, at: number, tags: Array<{ key: string; value: string }> = []): MlflowRun => ({
    ...completeMirror(runId),
    info: { run_id: `mlflow-${runId}`, experiment_id: '1', status: 'FINISHED', start_time: at, lifecycle_stage: 'active' },
    data: { tags: [...(completeMirror(runId).data.tags ?? []), ...tags] },
  });

  it('tags the complete mirrors whose run.json records the digest, newest first and a bounded number per sync, until none is left', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'digests-')));
    const ids = Array.from({ length: DIGEST_TAG_READS_PER_SYNC + 2 }, (_, at) => `d${String(at).padStart(2, '0')}`);
    for (const [at, id] of ids.entries()) {
      const run = fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, `2026-01-01T00:00:${String(at).padStart(2, '0')}.000Z`);
      await saveRunRecord(store, settings, { ...run, data: { ...run.data, processed_sha256: digestOf(id) } });
    }
    // Recorded before digests existed: nothing to tag it with.
    await saveRunRecord(store, settings, fakeRun('legacy', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z'));
    const mirrors = [
      mirrorOf('legacy', 0),
      ...ids.map((id, at) => mirrorOf(id, 1000 + at)),
      mirrorOf('tagged', 5000, [{ key: PROCESSED_SHA256_TAG, value: digestOf('tagged') }]),
      // Another registry's run, mirrored to the same server: not this sync's to read.
      mirrorOf('elsewhere', 6000),
    ];
    const server = serverOf(mirrors);

    const first = await mirrorPendingRuns(store, settings, {}, { client: server.client });
    expect(first.pending).toEqual([]);
    expect(first.tagged.map((tag) => tag.runId)).toEqual(ids.slice(2).reverse());
    const second = await mirrorPendingRuns(store, settings, {}, { client: server.client });
    expect(second.tagged).toEqual([{ runId: ids[1], mlflowRunId: `mlflow-${ids[1]}` }, { runId: ids[0], mlflowRunId: `mlflow-${ids[0]}` }]);
    for (const id of ids) expect(toRecord(mirrors.find((run) => run.info.run_id === `mlflow-${id}`)?.data.tags)[PROCESSED_SHA256_TAG]).toBe(digestOf(id));

    // Everything taggable is tagged: a later sync sets nothing again.
    const third = await mirrorPendingRuns(store, settings, {}, { client: server.client });
    expect(third.tagged).toEqual([]);
    expect(server.setTags).toHaveLength(ids.length);
    expect(toRecord(mirrors[0].data.tags)[PROCESSED_SHA256_TAG]).toBeUndefined();
  });

  it('tags no more mirrors once the clock is past the backlog budget, though its timer has not fired yet (a loaded host)', async () => {
    const ids = ['t1', 't2', 't3'];
    const store = createFsStore(mkdtempSync(path.join(root, 'digests-overrun-')));
    const records = ids.map((id) => fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z'));
    for (const record of records) await saveRunRecord(store, settings, record);
    const server = serverOf(ids.map((id, at) => mirrorOf(id, at)));
    const backlogBudgetMs = 60_000;
    let budget: ReturnType<typeof heldBudget> | undefined;
    // The tags go through the client passed, whose first answer comes past the budget; the configured server hears nothing.
    const client = {
      ...server.client,
      setTag: async (...args: Parameters<MlflowClient['setTag']>) => {
        await server.client.setTag(...args);
        budget?.overrun();
      },
    } as MlflowClient;
    await withRecordingServer(
      () => ({ status: 200, body: {} }),
      async (uri, requests) => {
        const settings = resolveSettings({ flags: { 'tracking.uri': uri, 'tracking.retries': 0 } }).settings;
        // Marked by a first sync, when their records had no digest yet; the records name it since.
        await mirrorPendingRuns(store, settings, {}, { client });
        for (const record of records) await saveRunRecord(store, settings, { ...record, data: { ...record.data, processed_sha256: digestOf(record.run_id) } });
        budget = heldBudget(backlogBudgetMs);

        const late = await mirrorPendingRuns(store, settings, { backlogBudgetMs }, { client });

        expect(requests).toEqual([]);
        expect(server.setTags).toEqual(['mlflow-t3']);
        expect(late.tagged.map((tag) => tag.runId)).toEqual(['t3']);
        expect(late).toMatchObject({ pending: [], failed: [] });
      },
    );
  });

  it('stops at an unavailable server, reports it as a failed mirror write, and the next sync finishes', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'digests-down-')));
    for (const id of ['a1', 'a2', 'a3']) {
      const run = fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z');
      await saveRunRecord(store, settings, { ...run, data: { ...run.data, processed_sha256: digestOf(id) } });
    }
    const mirrors = ['a1', 'a2', 'a3'].map((id, at) => mirrorOf(id, at));
    const cut = await mirrorPendingRuns(store, settings, {}, { client: serverOf(mirrors, 1).client });
    expect(cut.tagged.map((tag) => tag.runId)).toEqual(['a3']);
    expect(cut.failed).toEqual([{ runId: 'a2', code: 'FLTS_TRACKING_UNAVAILABLE', message: 'MLflow went away.' }]);

    const resumed = await mirrorPendingRuns(store, settings, {}, { client: serverOf(mirrors).client });
    expect(resumed.tagged.map((tag) => tag.runId)).toEqual(['a2', 'a1']);
    expect(resumed.failed).toEqual([]);
  });
});
