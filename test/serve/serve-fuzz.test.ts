import fc from 'fast-check';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { hostileRequest, inferBody, predictBody, sendHostileRequest } from '../../bench/fuzz-requests.mjs';
import { postJson, requestData, useTestServer } from './serve-fixtures.js';

/** Fixed seed and a bounded number of cases: the same requests on every run, a few seconds of work. */
const SEED = 18_2026;

describe('serve > fuzz: generated hostile requests against a real server', () => {
  const server = useTestServer({ server: { bodyLimitBytes: 256 * 1024, reloadMinIntervalMs: 1000 } });
  const valid = { data: requestData(6) };

  /** The property: a hostile request gets an answer below 500, and the next valid request is still served. */
  async function answersWithout5xx(send: () => Promise<number>): Promise<void> {
    const status = await send();
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(500);
    expect((await postJson(`${server.url}/predict`, valid)).status).toBe(200);
  }

  it('answers every generated request below 500 and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest, (generated) => answersWithout5xx(() => sendHostileRequest(generated, server.url, request))),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
  });

  it('answers /predict bodies that are almost right with 200 or a coded 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(predictBody, async (body) =>
        answersWithout5xx(async () => {
          const { status, json } = await postJson(`${server.url}/predict`, body);
          if (status !== 200) expect(json.code).toMatch(/^FLTS_/);
          return status;
        }),
      ),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
  });

  it('answers Open Inference Protocol bodies that are almost right (shapes, datatypes, binary sizes) with 200 or a coded 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(inferBody, async (body) =>
        answersWithout5xx(async () => {
          const { status, json } = await postJson(`${server.url}/v2/models/flts/infer`, body);
          if (status !== 200) expect(json.code).toMatch(/^FLTS_/);
          return status;
        }),
      ),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    );
  });
});
