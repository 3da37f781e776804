import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forModel, hostileRequest, sendHostileRequest } from '../../bench/fuzz-requests.mjs';
import { modelPath, servedModelName } from '../../bench/served-model-name.mjs';
import { createTrainedHome, type TrainedHome } from '../helpers/poblesec-slice.js';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

const BENCH_DIR = path.join(REPO_ROOT, 'bench');

describe('bench > the served model name', () => {
  it('is FLTS_SERVE_MODEL_NAME as the server reads it, else the setting\'s default', async () => {
    expect(await servedModelName({})).toBe('flts');
    expect(await servedModelName({ FLTS_SERVE_MODEL_NAME: ' energy ' })).toBe('energy');
    // Only the name's own variable: a setting the bench does not use cannot fail it.
    expect(await servedModelName({ FLTS_SERVE_MODEL_NAME: 'energy', FLTS_SERVE_PORT: 'not a port' })).toBe('energy');
    expect(modelPath('a b')).toBe('/v2/models/a%20b');
  });

  it('is named by no bench script that calls the Open Inference Protocol routes', () => {
    const named: string[] = [];
    for (const file of readdirSync(BENCH_DIR).filter((name) => name.endsWith('.mjs'))) {
      readFileSync(path.join(BENCH_DIR, file), 'utf8').split('\n').forEach((line, index) => {
        // fuzz-requests.mjs generates its paths for "flts" in one constant, and sends them to the served name.
        if (/\/v2\/models\/flts\b|model_name: 'flts'/.test(line) && !line.startsWith('const MODEL_PATH =')) named.push(`${file}:${index + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(named).toEqual([]);
  });

  describe('fuzz-requests.mjs', () => {
    let server: http.Server;
    let baseUrl: string;
    const paths: string[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        paths.push(req.url ?? '');
        req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('sends the generated Open Inference Protocol requests to the served model', async () => {
      expect(forModel('/v2/models/flts/infer?x=1', 'energy')).toBe('/v2/models/energy/infer?x=1');
      expect(forModel('/v2/models/flts', 'en/ergy')).toBe('/v2/models/en%2Fergy');
      expect(forModel('/v2/models/fltsx/infer', 'energy')).toBe('/v2/models/fltsx/infer');
      expect(forModel('/predict', 'energy')).toBe('/predict');
      const generated = fc.sample(hostileRequest.filter((candidate) => candidate.path.startsWith('/v2/models/flts/')), { numRuns: 20, seed: 7 });
      for (const candidate of generated) await sendHostileRequest(candidate, baseUrl, request, 'energy');
      expect(paths).toHaveLength(20);
      for (const sent of paths) expect(sent).toMatch(/^\/v2\/models\/energy\//);
    });
  });

  describe('fuzz-grpc.mjs against a renamed model', () => {
    let trained: TrainedHome;
    let serve: ServeProcess;
    beforeAll(async () => {
      trained = await createTrainedHome('flts-bench-model-name-', ['NAIVE']);
      serve = await startServe(['--home', trained.home, '--run', trained.runs[0].run_id, '--host', '127.0.0.1', '--grpc-port', '0'], { FLTS_SERVE_MODEL_NAME: 'energy', FLTS_LOG_LEVEL: 'warn' }, { untilServing: true });
    }, 180_000);
    afterAll(async () => {
      await serve?.stop();
      trained?.remove();
    });

    it('benches it: every valid ModelInfer names the model the server answers for', async () => {
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [path.join(BENCH_DIR, 'fuzz-grpc.mjs'), serve.grpcAddress!, '10', '1'], { cwd: REPO_ROOT, env: { ...process.env, FLTS_SERVE_MODEL_NAME: 'energy' }, timeout: 120_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        });
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^10 generated ModelInfer calls answered/m);
    }, 150_000);
  });
});
