import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FltsEvent } from '../events.js';
import type { BenchReport } from './bench-types.js';
import type { BenchPayloadFile } from './payload-file.js';
import { runBench, type BenchInput } from './run-bench.js';

const PAYLOAD_FILE: BenchPayloadFile = { path: path.resolve(__dirname, '../../../examples/data/example_test.csv'), origin: 'named', why: 'named by the test' };
const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function benchAgainst(target: string, limits: Partial<BenchInput>): Promise<unknown> {
  return runBench({ replicas: [1], connections: [1], durationSec: 0.1, baselineDurationSec: 0.1, warmupSec: 0, target, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, payloadRows: 20, ...limits });
}

describe('core > bench > runBench against a target that does not answer', () => {
  it('names a refused connection, not "fetch failed", as an unavailable target', async () => {
    const url = await serve(() => undefined);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    await expect(benchAgainst(url, { readyTimeoutMs: 600 })).rejects.toMatchObject({ code: 'FLTS_BENCH_TARGET_UNAVAILABLE', kind: 'unavailable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('says a --grpc-target nothing answers on is unavailable, not an internal failure of the benchmark', async () => {
    const { url } = await tokenTarget('tok');
    const closed = await serve(() => undefined);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const address = closed.replace('http://', '');
    // Before, FLTS_BENCH_FAILED (internal, exit 1): 'gRPC ModelInfer at ... failed: {"connection":{"UNAVAILABLE":1},...}'.
    await expect(benchAgainst(url, { apiToken: 'tok', protocols: ['http', 'oip-grpc'], grpcTarget: address })).rejects.toMatchObject({ code: 'FLTS_BENCH_TARGET_UNAVAILABLE', kind: 'unavailable', details: { url: address }, message: expect.stringContaining('got no answer (UNAVAILABLE)') });
  });

  it('says a readiness answer that is not JSON is not a flts answer', async () => {
    const url = await serve((_request, response) => response.writeHead(500, { 'content-type': 'text/html' }).end('<html>proxy error</html>'));
    await expect(benchAgainst(url, { readyTimeoutMs: 600 })).rejects.toMatchObject({ code: 'FLTS_BENCH_TARGET_UNAVAILABLE', message: expect.stringContaining('HTTP 500, not a flts answer') });
  });

  it('gives up on a probe request that is never answered instead of waiting for ever', async () => {
    const url = await serve((request, response) => {
      if (request.url === '/readyz') response.writeHead(200, { 'content-type': 'application/json' }).end('{"run_id":"r1"}');
      else if (request.url === '/predict_ping') response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      // POST /predict: read and never answered.
      else request.resume();
    });
    await expect(benchAgainst(url, { probeTimeoutMs: 300 })).rejects.toMatchObject({ code: 'FLTS_BENCH_TARGET_UNAVAILABLE', message: expect.stringContaining('no answer within 0.3 s') });
  });
});

/** A stand-in for flts serve: ready, and answering POST routes 200 with the token, 401 without it (counted), every method and path noted. */
async function tokenTarget(token: string): Promise<{ url: string; answered: { ok: number; refused: number; paths: Set<string> } }> {
  const answered = { ok: 0, refused: 0, paths: new Set<string>() };
  const json = { 'content-type': 'application/json' };
  const url = await serve((request, response) => {
    answered.paths.add(`${request.method} ${request.url}`);
    if (request.method === 'GET') {
      response.writeHead(200, json).end(request.url?.endsWith('/readyz') ? '{"run_id":"r1"}' : '{}');
      return;
    }
    request.resume().on('end', () => {
      const ok = request.headers.authorization === `Bearer ${token}`;
      if (ok) answered.ok++;
      else answered.refused++;
      response.writeHead(ok ? 200 : 401, json).end('{}');
    });
  });
  return { url, answered };
}

describe('core > bench > runBench requests', () => {
  it('sends the serve API token with the probe and every /predict request, which a protected server refused', async () => {
    const { url, answered } = await tokenTarget('tok');
    const report = (await benchAgainst(url, { apiToken: 'tok' })) as BenchReport;
    const predict = report.cells.find((cell) => cell.phase === 'predict')!;
    expect(predict.requests).toBeGreaterThan(0);
    expect(predict.errors.total).toBe(0);
    expect(answered.refused).toBe(0);
    // The probe, every request the report counts, and maybe one cut off at the end of the cell.
    expect(answered.ok).toBeGreaterThanOrEqual(predict.requests + 1);
  });

  it('says which file the request rows were cut from and why, as it starts, in the report and in bench.md', async () => {
    const { url } = await tokenTarget('tok');
    const outDir = mkdtempSync(path.join(tmpdir(), 'flts-bench-source-'));
    const payloadFile: BenchPayloadFile = { ...PAYLOAD_FILE, origin: 'default', why: 'the default dataset\'s test file, because the served run\'s own test file gone_test.csv was not found', hint: 'Put gone_test.csv where the data is looked for.' };
    const events: Array<{ type: string }> = [];
    try {
      const report = await runBench({ replicas: [1], connections: [1], durationSec: 0.1, baselineDurationSec: 0.1, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile, payloadRows: 20, apiToken: 'tok', outDir }, { onEvent: (event) => events.push(event) });
      // Before, the report named the file alone, and nothing said it was not the run's own data.
      expect(report.payload).toMatchObject({ source: PAYLOAD_FILE.path, origin: 'default', why: payloadFile.why, hint: payloadFile.hint });
      expect(events[0]).toEqual({ type: 'bench.payload_file', file: PAYLOAD_FILE.path, origin: 'default', why: payloadFile.why, hint: payloadFile.hint });
      expect(readFileSync(report.files!.markdown, 'utf8')).toContain(`- Request rows: cut from ${PAYLOAD_FILE.path}, ${payloadFile.why}. ${payloadFile.hint}\n`);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("cuts bodies as long as the run's window when none are asked for and the window is longer than the default, and 16 rows otherwise", async () => {
    const rowsSent = async (window: BenchInput['window']): Promise<number[]> => {
      const rows: number[] = [];
      const url = await serve((request, response) => {
        if (request.method === 'GET') return void response.writeHead(200, { 'content-type': 'application/json' }).end(request.url === '/readyz' ? '{"run_id":"r1"}' : '{}');
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
          rows.push((JSON.parse(Buffer.concat(chunks).toString()) as { data: { time: unknown[] } }).data.time.length);
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await runBench({ replicas: [1], connections: [1], durationSec: 0.1, baselineDurationSec: 0.1, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, window });
      return [...new Set(rows)];
    };
    // An MSTL run's window: before, the default of 16 rows refused every bench of it as a usage error.
    expect(await rowsSent({ runId: 'r1', inputSeqLen: 30, requestColumns: ['down', 'up'] })).toEqual([30]);
    expect(await rowsSent({ runId: 'r1', inputSeqLen: 10, requestColumns: ['down', 'up'] })).toEqual([16]);
    expect(await rowsSent(undefined)).toEqual([16]);
  });

  it('sends the load under the path of a --target behind a prefix, where the readiness check and the probe went', async () => {
    const { url, answered } = await tokenTarget('tok');
    const report = (await benchAgainst(`${url}/gw/`, { apiToken: 'tok' })) as BenchReport;
    expect(report.cells.find((cell) => cell.phase === 'predict')!.errors.total).toBe(0);
    expect([...answered.paths].sort()).toEqual(['GET /gw/healthz', 'GET /gw/predict_ping', 'GET /gw/readyz', 'POST /gw/predict']);
  });

  it('sends the Open Inference Protocol load under the model name the --target says it serves, not the name of its own settings', async () => {
    const paths = new Set<string>();
    const json = { 'content-type': 'application/json' };
    const url = await serve((request, response) => {
      paths.add(`${request.method} ${request.url}`);
      if (request.method === 'GET') {
        response.writeHead(200, json).end(request.url === '/readyz' ? '{"status":"ready","model_name":"energy","run_id":"r1"}' : '{}');
        return;
      }
      request.resume().on('end', () => {
        const known = request.url === '/predict' || request.url === '/v2/models/energy/infer';
        response.writeHead(known ? 200 : 404, json).end(known ? '{}' : '{"error":"No model named \'flts\' is served here."}');
      });
    });
    const report = (await benchAgainst(url, { protocols: ['http', 'oip-http'], modelName: 'flts' })) as BenchReport;
    const oip = report.cells.find((cell) => cell.protocol === 'oip-http' && cell.phase === 'predict')!;
    expect({ route: oip.route, errors: oip.errors.total }).toEqual({ route: 'POST /v2/models/energy/infer', errors: 0 });
    expect(oip.requests).toBeGreaterThan(0);
    expect([...paths].filter((p) => p.includes('/v2/'))).toEqual(['POST /v2/models/energy/infer']);
  });

  it('names the model of a --target in bench.md, and fills its loadgen CPU % (this process) while the servers\' CPU stays blank', async () => {
    const json = { 'content-type': 'application/json' };
    const url = await serve((request, response) => {
      if (request.method === 'GET') return void response.writeHead(200, json).end(request.url === '/readyz' ? '{"status":"ready","model_name":"energy","run_id":"r1","model_type":"NAIVE"}' : '{}');
      request.resume().on('end', () => response.writeHead(200, json).end('{}'));
    });
    const outDir = mkdtempSync(path.join(tmpdir(), 'flts-bench-target-'));
    try {
      const report = (await benchAgainst(url, { protocols: ['http', 'oip-http'], modelName: 'flts', outDir })) as BenchReport;
      expect(report.modelName).toBe('energy');
      for (const cell of report.cells) expect(cell.cpu).toMatchObject({ serversPercent: null, busiestServerPercent: null, loadGeneratorPercent: expect.any(Number) });
      const markdown = readFileSync(report.files!.markdown, 'utf8');
      // Before, the Served line named the run alone, and every CPU column of a --target was blank, the loadgen's too.
      expect(markdown).toContain(`- Served: existing service ${url}; run r1 (NAIVE), served to the Open Inference Protocol as model 'energy'.\n`);
      const header = markdown.split('\n').find((line) => line.startsWith('| engine'))!.split('|').map((c) => c.trim());
      const rows = markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| engine')).map((line) => line.split('|').map((c) => c.trim()));
      expect(rows).toHaveLength(report.cells.length);
      for (const row of rows) {
        expect(row[header.indexOf('loadgen CPU %')]).toMatch(/^\d+$/);
        expect([row[header.indexOf('server CPU %')], row[header.indexOf('busiest %')]]).toEqual(['', '']);
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('refuses an --out it cannot write into before sending any request, not after the whole load', async () => {
    const { url, answered } = await tokenTarget('tok');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'flts-bench-out-')), 'a-file');
    writeFileSync(file, 'not a directory');
    try {
      await expect(benchAgainst(url, { apiToken: 'tok', outDir: file })).rejects.toMatchObject({ code: 'FLTS_PATH_UNUSABLE', details: { path: file } });
      await expect(benchAgainst(url, { apiToken: 'tok', outDir: path.join(file, 'results') })).rejects.toMatchObject({ code: 'FLTS_PATH_UNUSABLE' });
      expect(answered.paths.size).toBe(0);
      // Made up front, the directories of a run that then fails are removed again (a kept one is left as it was).
      const fresh = path.join(path.dirname(file), 'bench-results', 'run-1');
      await expect(benchAgainst(url, { apiToken: 'wrong', outDir: fresh })).rejects.toMatchObject({ code: 'FLTS_BENCH_AUTH_FAILED' });
      expect(existsSync(path.join(path.dirname(file), 'bench-results'))).toBe(false);
      await expect(benchAgainst(url, { apiToken: 'wrong', outDir: path.dirname(file) })).rejects.toMatchObject({ code: 'FLTS_BENCH_AUTH_FAILED' });
      expect(existsSync(file)).toBe(true);
    } finally {
      rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

describe('core > bench > runBench and the report of an earlier run in its output directory', () => {
  it('refuses an outDir holding one before sending any request, naming its files and leaving them as they were', async () => {
    const { url, answered } = await tokenTarget('tok');
    const outDir = mkdtempSync(path.join(tmpdir(), 'flts-bench-earlier-'));
    try {
      const first = (await benchAgainst(url, { apiToken: 'tok', outDir })) as BenchReport;
      const earlier = readFileSync(first.files!.json, 'utf8');
      const sent = answered.paths.size;
      answered.paths.clear();
      // Before, the second run measured again and replaced the first one's files without a word.
      await expect(benchAgainst(url, { apiToken: 'tok', outDir })).rejects.toMatchObject({
        code: 'FLTS_BENCH_REPORT_EXISTS',
        kind: 'conflict',
        details: { path: outDir, files: ['bench.csv', 'bench.md', 'bench.json', 'bench.svg'].map((name) => path.join(outDir, name)) },
      });
      expect(sent).toBeGreaterThan(0);
      expect(answered.paths.size).toBe(0);
      expect(readFileSync(first.files!.json, 'utf8')).toBe(earlier);
      // One file of a report is one too: a bench.md left alone is as much a measurement as the four.
      rmSync(first.files!.csv);
      rmSync(first.files!.json);
      rmSync(first.files!.svg);
      await expect(benchAgainst(url, { apiToken: 'tok', outDir })).rejects.toMatchObject({ code: 'FLTS_BENCH_REPORT_EXISTS', details: { files: [first.files!.markdown] } });
      // Asked to, it replaces them.
      const second = (await benchAgainst(url, { apiToken: 'tok', outDir, replaceReport: true })) as BenchReport;
      expect(JSON.parse(readFileSync(second.files!.json, 'utf8')).started_at).toBe(second.startedAt);
      expect(second.startedAt).not.toBe(first.startedAt);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('core > bench > runBench refused by the target', () => {
  /** The error runBench ends with, and all it says (message, hint, details), to look for a token in. */
  async function refusal(run: Promise<unknown>): Promise<{ error: any; said: string }> {
    const error = await run.then(() => undefined, (caught: unknown) => caught);
    return { error, said: `${(error as Error)?.message} ${JSON.stringify(error)}` };
  }

  it('ends with a coded authentication failure when the probe is refused, without or with a wrong token, never showing it', async () => {
    const { url, answered } = await tokenTarget('tok');
    // Before, FLTS_BENCH_FAILED (an internal error, exit 1), "POST /predict answered HTTP 401".
    const none = await refusal(benchAgainst(url, {}));
    expect(none.error).toMatchObject({ code: 'FLTS_BENCH_AUTH_FAILED', kind: 'usage', details: { url, call: 'POST /predict', answer: 'HTTP 401', token_sent: false } });
    expect(none.error.message).toMatch(/^Authentication failed: POST \/predict at .+ answered HTTP 401; bench sends no bearer token/);
    const wrong = await refusal(benchAgainst(url, { apiToken: 'hunter2-wrong' }));
    expect(wrong.error).toMatchObject({ code: 'FLTS_BENCH_AUTH_FAILED', details: { token_sent: true } });
    expect(wrong.error.message).toContain('the bearer token bench sends (serve.apiToken, FLTS_SERVE_API_TOKEN) was refused');
    expect(wrong.said).not.toContain('hunter2');
    // The probe alone was sent each time: no load went out with credentials known to be refused.
    expect(answered.refused).toBe(2);
  });

  it('ends at once with a coded authentication failure when the readiness check is refused, not after a minute of retries', async () => {
    const url = await serve((_request, response) => response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"auth"}'));
    // Before, /readyz was asked again for the whole readiness timeout, then reported as FLTS_BENCH_TARGET_UNAVAILABLE.
    const { error } = await refusal(benchAgainst(url, { apiToken: 'tok', readyTimeoutMs: 600_000 }));
    expect(error).toMatchObject({ code: 'FLTS_BENCH_AUTH_FAILED', details: { call: 'GET /readyz', answer: 'HTTP 401', token_sent: false } });
  }, 20_000);

  it('stops the load at the first 401 or 403 and ends with a coded authentication failure, not a cell of failed requests', async () => {
    for (const status of [401, 403]) {
      let posts = 0;
      const url = await serve((request, response) => {
        if (request.method === 'GET') return void response.writeHead(200, { 'content-type': 'application/json' }).end(request.url === '/readyz' ? '{"run_id":"r1"}' : '{}');
        // The probe and the first requests of the load are let in, then the token is no longer taken (rotated).
        request.resume().on('end', () => response.writeHead(++posts <= 3 ? 200 : status, { 'content-type': 'application/json' }).end('{}'));
      });
      // Ten minutes of load: before, every refused request was counted as a failure until the cell's end.
      const { error, said } = await refusal(runBench({ replicas: [1], connections: [1], durationSec: 600, baselineDurationSec: 0.1, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, payloadRows: 20, apiToken: 'tok-secret' }));
      expect(error, String(status)).toMatchObject({ code: 'FLTS_BENCH_AUTH_FAILED', kind: 'usage', details: { call: 'POST /predict', answer: `HTTP ${status}`, token_sent: true, answered_requests: 2 } });
      expect(error.message).toContain(`answered HTTP ${status} during the load, after 2 answered requests`);
      expect(said).not.toContain('tok-secret');
    }
  }, 30_000);
});

describe('core > bench > runBench interrupted', () => {
  it('reports an interrupt while waiting for readiness as interrupted, not as a target that never became ready', async () => {
    const abort = new AbortController();
    const url = await serve((_request, response) => {
      abort.abort();
      response.writeHead(503, { 'content-type': 'application/json' }).end('{"reason":"loading"}');
    });
    const run = runBench({ replicas: [1], connections: [1], durationSec: 0.1, baselineDurationSec: 0.1, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, payloadRows: 20 }, { signal: abort.signal });
    await expect(run).rejects.toMatchObject({ code: 'FLTS_BENCH_ABORTED', kind: 'conflict' });
  });

  it('stops at once on an interrupt that comes as a cell starts, and reports it as interrupted, not as an internal failure', async () => {
    const abort = new AbortController();
    const { url } = await tokenTarget('tok');
    const started: string[] = [];
    const onEvent = (event: { type: string; phase?: string }): void => {
      if (event.type !== 'bench.cell_start') return;
      started.push(event.phase ?? '');
      abort.abort();
    };
    const run = runBench({ replicas: [1], connections: [1], durationSec: 600, baselineDurationSec: 600, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, payloadRows: 20, apiToken: 'tok' }, { signal: abort.signal, onEvent });
    // A cell that ignored the interrupt would load for its whole 10 minutes, past this test's timeout; one that let
    // the run go on would start the next cell. Whether the first cell's load sent a request before it stopped is a race.
    await expect(run).rejects.toMatchObject({ code: 'FLTS_BENCH_ABORTED' });
    expect(started).toEqual(['baseline']);
  });

  it('leaves the cell a stop cuts short out of the results, said as interrupted with what it sent, never as a measured rate', async () => {
    const abort = new AbortController();
    const { url } = await tokenTarget('tok');
    const events: Array<{ type: string; phase?: string; requests?: number }> = [];
    const onEvent = (event: { type: string; phase?: string; requests?: number }): void => {
      events.push(event);
      if (event.type === 'bench.cell_progress' && event.phase === 'predict' && (event.requests ?? 0) > 0) abort.abort();
    };
    const run = runBench({ replicas: [1], connections: [1, 2], durationSec: 600, baselineDurationSec: 0.1, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, payloadRows: 20, apiToken: 'tok' }, { signal: abort.signal, onEvent });
    const stopped = await run.then(() => undefined, (error: unknown) => error);
    // Before, the cut cell came as bench.cell_done with the rate of its partial load (0 req/s when cut at its start).
    expect(events.filter((event) => event.type === 'bench.cell_done').map((event) => event.phase)).toEqual(['baseline']);
    const interrupted = events.filter((event) => event.type === 'bench.cell_interrupted');
    expect(interrupted).toEqual([expect.objectContaining({ phase: 'predict', connections: 1, durationSec: 600, requests: expect.any(Number) })]);
    expect(interrupted[0].requests).toBeGreaterThan(0);
    expect(stopped).toMatchObject({
      code: 'FLTS_BENCH_ABORTED',
      details: { measured_cells: 1, interrupted_cell: { phase: 'predict', protocol: 'http', replicas: null, connections: 1, durationSec: 600, elapsedSec: expect.any(Number), requests: interrupted[0].requests } },
    });
    expect(events.some((event) => event.type === 'bench.cell_start' && event.phase === 'baseline' && events.indexOf(event) > events.indexOf(interrupted[0]))).toBe(false);
  });

  it('stops waiting for the probe answer at once on an interrupt, not after the probe time limit', async () => {
    const abort = new AbortController();
    const url = await serve((request, response) => {
      if (request.method === 'GET') return void response.writeHead(200, { 'content-type': 'application/json' }).end(request.url === '/readyz' ? '{"run_id":"r1"}' : '{}');
      // POST /predict, the probe: read, never answered, and the run stopped meanwhile.
      request.resume().on('end', () => abort.abort());
    });
    const run = runBench({ replicas: [1], connections: [1], durationSec: 0.1, baselineDurationSec: 0.1, warmupSec: 0, target: url, protocols: ['http'], modelName: 'flts', payloadFile: PAYLOAD_FILE, payloadRows: 20, probeTimeoutMs: 600_000 }, { signal: abort.signal });
    // Before, the run waited out the probe's 10 minutes, past this test's timeout.
    await expect(run).rejects.toMatchObject({ code: 'FLTS_BENCH_ABORTED' });
  });
});

describe("core > bench > runBench keeps the synthetic load out of the home's scope", () => {
  /** A stand-in serve replica that leaves a file behind when a replica is started at all, then exits. */
  function replicaProbe(): { dir: string; started: string; exec: string } {
    const dir = mkdtempSync(path.join(tmpdir(), 'flts-bench-scope-'));
    const started = path.join(dir, 'started');
    const exec = path.join(dir, 'replica.mjs');
    writeFileSync(exec, `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(started)}, JSON.stringify({ live: process.env.FLTS_LIVE_SCORING, log: process.env.FLTS_SERVE_PREDICTION_LOG }) + '\\n');\nprocess.exit(1);\n`);
    return { dir, started, exec };
  }

  it('refuses a --compare (or any replica environment) that turns live scoring or prediction records back on, before any replica starts', async () => {
    const { dir, started, exec } = replicaProbe();
    // The data is found by `source`, as the command finds it (the registry): a refused environment reads none of it.
    let sourced = 0;
    const events: FltsEvent[] = [];
    const source = async () => {
      sourced++;
      return { payloadFile: PAYLOAD_FILE };
    };
    const bench = (server: BenchInput['server'], variants: BenchInput['variants']) =>
      runBench({ replicas: [1], connections: [1], durationSec: 0.1, baselineDurationSec: 0.1, warmupSec: 0, protocols: ['http'], modelName: 'flts', source, payloadRows: 20, server, variants }, { onEvent: (event) => events.push(event) });
    try {
      // Before, each group started its replicas with the value given: the "true" one scored the synthetic load into
      // the live probation of the home's promotion, or wrote it into the scope's prediction logs.
      for (const [name, values] of [['FLTS_LIVE_SCORING', ['false', 'true']], ['FLTS_SERVE_PREDICTION_LOG', ['off', 'yes']]] as const) {
        const variants = values.map((value) => ({ label: `${name}=${value}`, env: { [name]: value } }));
        await expect(bench({ exec, args: [] }, variants), name).rejects.toMatchObject({
          code: 'FLTS_USAGE_INVALID_FLAG',
          kind: 'usage',
          details: { flag: 'compare', value: `${name}=${values[1]}`, setting: name, bench_value: 'false' },
          message: expect.stringMatching(name === 'FLTS_LIVE_SCORING' ? /live probation of the scope's promotion/ : /prediction logs/),
        });
      }
      const refused = bench({ exec, args: [], env: { FLTS_LIVE_SCORING: '1' } }, undefined);
      await expect(refused).rejects.toMatchObject({ code: 'FLTS_USAGE_INVALID_FLAG', details: { value: 'FLTS_LIVE_SCORING=1', setting: 'FLTS_LIVE_SCORING' } });
      // Given by no flag, it is not named as one.
      await expect(refused).rejects.toMatchObject({ message: expect.stringMatching(/^The replicas' environment FLTS_LIVE_SCORING=1 is refused/), details: expect.not.objectContaining({ flag: expect.anything() }) });
      expect(existsSync(started)).toBe(false);
      expect(sourced).toBe(0);
      expect(events).toEqual([]);
      // A value that means bench's own (0, off) changes nothing and is let through to the replicas, which start with it.
      await expect(bench({ exec, args: [] }, [{ label: 'a', env: { FLTS_LIVE_SCORING: '0' } }, { label: 'b', env: { FLTS_SERVE_PREDICTION_LOG: 'off' } }])).rejects.toMatchObject({ code: 'FLTS_BENCH_FAILED' });
      expect(readFileSync(started, 'utf8').trim().split('\n').map((line) => JSON.parse(line))).toEqual([{ live: '0', log: 'false' }]);
      expect(sourced).toBe(1);
      // Each group's start names its configuration: two groups of one replica count were told apart by nothing.
      expect(events.filter((event) => event.type === 'bench.replicas_starting')).toEqual([{ type: 'bench.replicas_starting', replicas: 1, variant: 'a' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
