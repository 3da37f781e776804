import { describe, expect, it, vi } from 'vitest';
import { FltsError } from '../../src/core/errors.js';
import type { ForecastModel } from '../../src/core/models/forecast-model.js';
import { WINDOW, createMemorySource, createNaiveModel, naiveSource, postJson, requestData, serverPerTest } from './serve-fixtures.js';

/** A persistence model whose forward passes wait until the test opens the gate. */
function gatedModel(): { model: ForecastModel; open: () => void; disposed: () => boolean; started: Promise<void> } {
  const inner = createNaiveModel(WINDOW);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let calls = 0;
  let disposed = false;
  return {
    model: {
      modelType: 'NAIVE',
      window: WINDOW,
      async predict(batch) {
        // The first two calls are the warm-up; later ones are requests.
        if (++calls > 2) {
          markStarted();
          await gate;
        }
        return inner.predict(batch);
      },
      dispose: () => (disposed = true),
    },
    open,
    disposed: () => disposed,
    started,
  };
}

describe('serve > hot reload and degraded mode', () => {
  const startServer = serverPerTest();

  it('swaps to a newly promoted run while requests keep flowing, none failing', async () => {
    const source = naiveSource('run-a', 'run-b');
    source.promote('run-a');
    const server = await startServer(source, { holder: { pollIntervalMs: 10 } });
    const url = `${server.url}/predict`;
    const statuses: number[] = [];
    const runIds = new Set<string>();
    let promoted = false;
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) {
        const { status, json } = await postJson(url, { data: requestData(6) });
        statuses.push(status);
        runIds.add(json.run_id);
        if (promoted && json.run_id === 'run-b' && statuses.length > 50) stop = true;
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await vi.waitFor(() => expect(statuses.length).toBeGreaterThan(20), { timeout: 10_000, interval: 5 });
    source.promote('run-b');
    promoted = true;
    await Promise.all(clients);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect([...runIds].sort()).toEqual(['run-a', 'run-b']);
    expect(server.holder.status().current?.runId).toBe('run-b');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/flts_model_reloads_total\{result="success"\} 2/);
    expect(metrics).toMatch(/flts_model_info\{run_id="run-b",model_type="NAIVE",config_hash="hash-run-b"\} 1/);
    expect(metrics).not.toMatch(/flts_model_info\{run_id="run-a"/);
  });

  it('finishes in-flight requests on the old model and disposes it only afterwards', async () => {
    const source = naiveSource('run-b');
    const gated = gatedModel();
    source.runs.set('run-a', () => gated.model);
    source.promote('run-a');
    const server = await startServer(source);
    const inFlight = postJson(`${server.url}/predict`, { data: requestData(6) });
    await gated.started;
    source.promote('run-b');
    expect(await server.holder.reloadFromPointer()).toEqual({ result: 'loaded', runId: 'run-b' });
    expect(gated.disposed()).toBe(false);
    const during = await postJson(`${server.url}/predict`, { data: requestData(6) });
    expect(during.json.run_id).toBe('run-b');
    gated.open();
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(finished.json.run_id).toBe('run-a');
    expect(gated.disposed()).toBe(true);
  });

  it('keeps serving the last good model and reports degraded when the pointer names a broken or missing run (F3)', async () => {
    const source = naiveSource('run-a', 'run-c');
    source.runs.set('run-broken', () => {
      throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', 'Run run-broken has no model at run-broken/model/model.json.');
    });
    source.promote('run-a');
    const server = await startServer(source);

    for (const [runId, code] of [['run-broken', 'FLTS_MODEL_ARTIFACT_MISSING'], ['run-gone', 'FLTS_RUN_NOT_FOUND']]) {
      source.promote(runId);
      const outcome = await server.holder.reloadFromPointer();
      expect(outcome).toMatchObject({ result: 'failed', runId, error: { code } });
      const health: any = await (await fetch(`${server.url}/healthz`)).json();
      expect(health).toMatchObject({ status: 'ok', model_ready: true, run_id: 'run-a', degraded: true });
      expect(health.degraded_reason).toContain(runId);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const prediction = await postJson(`${server.url}/predict`, { data: requestData(6) });
      expect(prediction.status).toBe(200);
      expect(prediction.json.run_id).toBe('run-a');
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/flts_model_reloads_total\{result="failure"\} 2/);
    expect(metrics).toMatch(/flts_model_degraded 1/);

    source.pointerError = new FltsError('FLTS_STORE_UNAVAILABLE', 'store down');
    expect((await server.holder.reloadFromPointer()).result).toBe('failed');
    expect(((await (await fetch(`${server.url}/healthz`)).json()) as any).degraded_reason).toBe('The promotion pointer cannot be read (FLTS_STORE_UNAVAILABLE); still serving run run-a.');
    expect(server.holder.status().degraded?.detail).toMatch(/pointer cannot be read \(FLTS_STORE_UNAVAILABLE: store down\)/);
    source.pointerError = undefined;

    source.promote('run-c');
    expect(await server.holder.reloadFromPointer()).toEqual({ result: 'loaded', runId: 'run-c' });
    const healed = await (await fetch(`${server.url}/healthz`)).json();
    expect(healed).toMatchObject({ run_id: 'run-c', degraded: false, degraded_reason: null });
  });

  it('stays up and unready when the only promoted run is broken, and recovers by polling', async () => {
    const source = createMemorySource();
    source.promote('run-gone');
    const server = await startServer(source, { holder: { pollIntervalMs: 10, retryFailedMs: 0 } });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await postJson(`${server.url}/predict`, { data: requestData(6) })).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    source.runs.set('run-gone', () => createNaiveModel(WINDOW));
    await vi.waitFor(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 10 });
  });

  it('serves a pinned run and ignores promotions', async () => {
    const source = naiveSource('run-a', 'run-b');
    source.promote('run-b');
    const server = await startServer(source, { holder: { pinnedRunId: 'run-a', pollIntervalMs: 10 } });
    const health: any = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({ run_id: 'run-a', pinned_run_id: 'run-a' });
    expect(source.loaded.map((entry) => entry.runId)).toEqual(['run-a']);
  });

  it('fails to start when the pinned run does not exist', async () => {
    const server = await startServer(createMemorySource(), { holder: { pinnedRunId: 'run-x' }, load: false });
    await expect(server.holder.start()).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
  });
});
