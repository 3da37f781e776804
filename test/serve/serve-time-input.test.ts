import { describe, expect, it } from 'vitest';
import { postJson, requestData, START_MS, STEP_MS, useTestServer } from './serve-fixtures.js';

/** The same rows with their times as epoch numbers in a unit (`perMs` units per millisecond). */
function withEpochTimes(data: Record<string, unknown[]>, perMs: number): Record<string, unknown[]> {
  return { ...data, ts: (data.ts as string[]).map((ts) => Date.parse(`${ts.replace(' ', 'T')}Z`) * perMs) };
}

/** Rows 2 minutes apart, but for one gap of `gapSteps` steps before the row at `at`. */
function gappedData(rows: number, at: number, gapSteps: number): Record<string, unknown[]> {
  const data = requestData(rows);
  data.ts = Array.from({ length: rows }, (_, i) => new Date(START_MS + (i + (i >= at ? gapSteps - 1 : 0)) * STEP_MS).toISOString().slice(0, 19).replace('T', ' '));
  return data;
}

const oipInputs = (data: Record<string, unknown[]>, timestamp: { datatype: string; data: unknown[] }) => [
  { name: 'timestamp', shape: [data.down.length], ...timestamp },
  { name: 'down', shape: [data.down.length], datatype: 'FP64', data: data.down },
  { name: 'up', shape: [data.up.length], datatype: 'FP64', data: data.up },
];

describe('serve > time input: epoch units and uneven steps', () => {
  const server = useTestServer();
  const predict = (data: Record<string, unknown[]>) => postJson(`${server.url}/predict?inference_length=3`, { data });

  it('/predict reads epoch seconds, milliseconds, microseconds and nanoseconds as the times ISO text names', async () => {
    // Before, epoch seconds were read as milliseconds: forecasts dated 1970-01-18 from other calendar features.
    const data = requestData(8);
    const iso = await predict(data);
    expect(iso.status).toBe(200);
    expect(iso.json.predictions[0].ts).toBe('2018-02-06T00:16:00');
    for (const perMs of [1e-3, 1, 1e3, 1e6]) {
      const { status, json } = await predict(withEpochTimes(data, perMs));
      expect(status).toBe(200);
      expect(json.predictions).toEqual(iso.json.predictions);
    }
  });

  it('/predict refuses with a coded 400 a number too small to tell its unit, naming it and the accepted forms', async () => {
    const data = requestData(8);
    data.ts = data.ts.map((_, i) => i * 120);
    const { status, json } = await predict(data);
    expect(status).toBe(400);
    expect(json.code).toBe('FLTS_REQUEST_INVALID');
    expect(json.message).toMatch(/^Column 'ts' contains an invalid timestamp at row 0: 0, a number too small to tell its unit \(as epoch seconds 1970-01-01T00:00:00, as epoch milliseconds 1970-01-01T00:00:00\); send ISO 8601 text, or an epoch number of at least 100000000/);
  });

  it('/predict refuses with a coded 400 times with a UTC offset beside times without, naming one of each', async () => {
    // Before, the times without an offset were read as UTC: an hour after their neighbours here, and forecast all the same.
    const data = requestData(8);
    data.ts = (data.ts as string[]).map((ts, i) => (i < 4 ? `${ts.replace(' ', 'T')}+01:00` : ts));
    const { status, json } = await predict(data);
    expect(status).toBe(400);
    expect(json.code).toBe('FLTS_REQUEST_INVALID');
    expect(json.message).toBe('Column \'ts\' contains an invalid timestamp at row 4: "2018-02-06 00:08:00", text without a UTC offset, which would be read as UTC, but the column\'s first time, "2018-02-06T00:00:00+01:00" (position 0), has one; write every time with its offset (or Z), or none.');
  });

  it('/predict answers an input window with a gap, with a warning naming the gap, and a regular one without', async () => {
    // The model reads the last 4 rows; a gap of 5 steps opens before the last one.
    const gapped = await predict(gappedData(8, 7, 5));
    expect(gapped.status).toBe(200);
    expect(gapped.json.predictions).toHaveLength(3);
    expect(gapped.json.warnings).toEqual([
      {
        code: 'irregular_time_steps',
        message: expect.stringMatching(/^The rows the model reads .* are not evenly spaced: 1 gap \(steps longer than the usual 2 min\), the largest 10 min from 2018-02-06T00:12:00 to 2018-02-06T00:22:00 \(after row 6 in time order\)/),
        details: { step_ms: STEP_MS, gaps: 1, short_steps: 0, largest_gap: { after_row: 6, from: '2018-02-06T00:12:00', to: '2018-02-06T00:22:00', ms: 5 * STEP_MS } },
      },
    ]);
    // A gap in rows the model does not read is no concern of this forecast.
    expect((await predict(gappedData(8, 2, 5))).json).not.toHaveProperty('warnings');
    expect((await predict(requestData(8))).json).not.toHaveProperty('warnings');
  });

  it('the Open Inference Protocol reads INT64 epoch seconds as /predict does, and carries the warning as a parameter', async () => {
    const infer = `${server.url}/v2/models/flts/infer`;
    const data = requestData(8);
    const iso = await postJson(infer, { inputs: oipInputs(data, { datatype: 'BYTES', data: data.ts }) });
    const seconds = await postJson(infer, { inputs: oipInputs(data, { datatype: 'INT64', data: withEpochTimes(data, 1e-3).ts }) });
    expect(seconds.status).toBe(200);
    expect(seconds.json.outputs).toEqual(iso.json.outputs);
    expect(seconds.json.outputs[0].data[0]).toBe('2018-02-06T00:16:00');
    expect(iso.json.parameters).not.toHaveProperty('irregular_time_steps');

    const gapped = gappedData(8, 7, 5);
    const warned = await postJson(infer, { inputs: oipInputs(gapped, { datatype: 'BYTES', data: gapped.ts }) });
    expect(warned.status).toBe(200);
    expect(warned.json.parameters.irregular_time_steps).toMatch(/not evenly spaced: 1 gap .* the largest 10 min/);
  });
});
