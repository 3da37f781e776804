import { describe, expect, it } from 'vitest';
import type { LiveMonitor } from '../../src/core/serve/live-monitor.js';
import { postJson, requestData, useTestServer } from './serve-fixtures.js';

/** Live scoring that scores nothing and keeps the series each set of actuals was filed under. */
function seriesRecorder(): { live: LiveMonitor; series: string[] } {
  const series: string[] = [];
  const live = {
    observeActualsInTurns: async (actuals: { identifier: string }) => {
      series.push(actuals.identifier);
      return { runs: [], ignored: 0, unmatched: 0, kept: 0 };
    },
    observePrediction: async () => [],
    scorer: { figures: () => [] },
  } as unknown as LiveMonitor;
  return { live, series };
}

describe('serve > body fields a route does not read: answered, with an ignored_fields warning', () => {
  const scoring = seriesRecorder();
  const server = useTestServer({ server: { live: scoring.live } });
  const predict = (body: unknown) => postJson(`${server.url}/predict?inference_length=3`, body);
  const actuals = (body: unknown) => postJson(`${server.url}/actuals`, body);

  it('/predict forecasts as without a misspelt field, and names it with the field it most likely meant', async () => {
    const data = requestData(8);
    const plain = await predict({ data });
    expect(plain.status).toBe(200);
    expect(plain.json).not.toHaveProperty('warnings');
    // Before, `Identifier` was dropped unread: the forecast filed under the deployment's series, and nothing said so.
    const typo = await predict({ data, Identifier: 'x', inferenceLength: 5 });
    expect(typo.status).toBe(200);
    expect(typo.json.predictions).toEqual(plain.json.predictions);
    expect(typo.json.identifier).toBe('default');
    expect(typo.json.warnings).toEqual([
      {
        code: 'ignored_fields',
        message:
          'Fields the request gave that /predict does not read were ignored: Identifier (did you mean identifier?), inferenceLength (did you mean inference_length?). It reads data, index_col, identifier, inference_length.',
        details: { fields: ['Identifier', 'inferenceLength'], count: 2 },
      },
    ]);
    // The same without rows: the forecast from the stored test data.
    const stored = await predict({ Data: null });
    expect(stored.status).toBe(200);
    expect(stored.json.warnings).toEqual([expect.objectContaining({ code: 'ignored_fields', details: { fields: ['Data'], count: 1 } })]);
    expect(stored.json.warnings[0].message).toMatch(/^A field the request gave that \/predict does not read was ignored: Data \(did you mean data\?\)\./);
  });

  it("/predict shows a field's name escaped and cut, lists the first ten and counts the rest", async () => {
    const data = requestData(8);
    const own = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`client_${i}`, i]));
    const long = `x${'y'.repeat(200)}`;
    const { status, json } = await predict({ data, 'note\u202eeton': 1, [long]: true, ...own });
    expect(status).toBe(200);
    const [warning] = json.warnings;
    expect(warning.details.count).toBe(13);
    expect(warning.details.fields).toHaveLength(10);
    expect(warning.details.fields.slice(0, 2)).toEqual(['note\u202eeton', `${long.slice(0, 80)}...`]);
    expect(warning.message).toContain('ignored: note\\u202eeton, xyyy');
    expect(warning.message).not.toContain('\u202e');
    expect(warning.message).toContain('client_7 and 3 more. It reads');
  });

  it('/actuals scores as without a misspelt field, and names it with the field it most likely meant', async () => {
    const { ts, down } = requestData(3);
    const plain = await actuals({ data: { ts, down } });
    expect(plain.status).toBe(200);
    expect(plain.json).not.toHaveProperty('warnings');
    const typo = await actuals({ data: { ts, down }, Identifier: 'site-b', indexCol: 'ts' });
    expect(typo.status).toBe(200);
    expect(typo.json).toEqual({
      ...plain.json,
      warnings: [
        {
          code: 'ignored_fields',
          message: 'Fields the request gave that /actuals does not read were ignored: Identifier (did you mean identifier?), indexCol (did you mean index_col?). It reads data, index_col, identifier.',
          details: { fields: ['Identifier', 'indexCol'], count: 2 },
        },
      ],
    });
    // Both filed under the deployment's series (''), as the field spelt right is not.
    await actuals({ data: { ts, down }, identifier: 'site-b' });
    expect(scoring.series).toEqual(['', '', 'site-b']);
  });

  it('/v2/models/<name>/infer forecasts as without parameters flts does not read and inputs the model does not take, and names them as parameters', async () => {
    const data = requestData(8);
    const tensor = (name: string, values: unknown[], datatype = 'FP64') => ({ name, datatype, shape: [values.length], data: values });
    const inputs = [tensor('timestamp', data.ts, 'BYTES'), tensor('down', data.down), tensor('up', data.up)];
    const infer = (body: unknown) => postJson(`${server.url}/v2/models/flts/infer`, body);
    const plain = await infer({ inputs, parameters: { inference_length: 3 } });
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.json.parameters).filter((key) => key.startsWith('ignored'))).toEqual([]);
    // Before, both were dropped unread: the forecast filed under the deployment's series, the extra input unseen.
    const typo = await infer({ inputs: [...inputs, tensor('upp', data.up)], parameters: { inference_length: 3, Identifier: 'x', priority: 1 } });
    expect(typo.status).toBe(200);
    expect(typo.json.outputs).toEqual(plain.json.outputs);
    expect(typo.json.parameters).toMatchObject({
      ignored_parameters: 'Parameters the request gave that flts does not read were ignored: Identifier (did you mean identifier?), priority. It reads inference_length, index_col, binary_data_output, identifier.',
      ignored_inputs: 'An input the request gave that the model does not take was ignored: upp (did you mean up?). It takes timestamp, down, up.',
    });
  });
});
