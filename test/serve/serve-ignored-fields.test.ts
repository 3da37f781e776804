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
    assertEarlyWithinShare: async () => {},
    observePrediction: async () => [],
    scorer: { figures: () => [] },
  } as unknown as LiveMonitor;
  return { live, series };
}

describe('serve > body fields a route does not read, and columns of its rows the model does not read: answered, with an ignored_fields or ignored_columns warning', () => {
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

  it('/v2/models/<name>/infer names a requested output\'s parameters flts does not read by their place, as it names the request\'s', async () => {
    const data = requestData(8);
    const tensor = (name: string, values: unknown[], datatype = 'FP64') => ({ name, datatype, shape: [values.length], data: values });
    const inputs = [tensor('timestamp', data.ts, 'BYTES'), tensor('down', data.down), tensor('up', data.up)];
    const infer = (body: unknown) => postJson(`${server.url}/v2/models/flts/infer`, body);
    // binary_data and classification (0: none) are read on an output: nothing to name.
    const plain = await infer({ inputs, outputs: [{ name: 'down', parameters: { binary_data: false, classification: 0 } }] });
    expect(plain.status).toBe(200);
    expect(plain.json.parameters).not.toHaveProperty('ignored_parameters');
    // Before, an output's `binary_dat` and `foo` were dropped without a word, while the request's `priority` was named.
    const typo = await infer({ inputs, parameters: { priority: 1 }, outputs: [{ name: 'timestamp', parameters: { binary_data: false } }, { name: 'down', parameters: { binary_dat: false, foo: 1 } }] });
    expect(typo.status).toBe(200);
    expect(typo.json.outputs).toEqual([expect.objectContaining({ name: 'timestamp', datatype: 'BYTES' }), plain.json.outputs[0]]);
    expect(typo.json.parameters.ignored_parameters).toBe(
      'Parameters the request gave that flts does not read were ignored: priority, outputs[1].parameters.binary_dat (did you mean outputs[1].parameters.binary_data?), outputs[1].parameters.foo. It reads inference_length, index_col, binary_data_output, identifier, and binary_data, classification on an output.',
    );
  });

  it('/predict forecasts as without columns the model does not read, and names each with the column it most likely meant', async () => {
    const data = requestData(8);
    const plain = await predict({ data });
    // Before, each was dropped unread and nothing said so: `upp` (meant `up`), a time feature the server computes itself.
    const extra = await predict({ data: { ...data, upp: data.up, min_of_day_sin: data.up } });
    expect(extra.status).toBe(200);
    expect(extra.json.predictions).toEqual(plain.json.predictions);
    expect(extra.json.warnings).toEqual([
      {
        code: 'ignored_columns',
        message: 'Columns the request gave that the model does not read were ignored: upp (did you mean up?), min_of_day_sin. It reads ts, down, up.',
        details: { columns: ['upp', 'min_of_day_sin'], count: 2 },
      },
    ]);
    // The timestamp column is the one the request names: `ts` beside index_col `when` is not read.
    const indexed = await predict({ data: { when: data.ts, ...data }, index_col: 'when', Identifier: 'x' });
    expect(indexed.status).toBe(200);
    expect(indexed.json.predictions).toEqual(plain.json.predictions);
    expect(indexed.json.warnings.map((warning: { code: string }) => warning.code)).toEqual(['ignored_fields', 'ignored_columns']);
    expect(indexed.json.warnings[1].message).toBe('A column the request gave that the model does not read was ignored: ts. It reads when, down, up.');
  });

  it("/predict shows a column's name escaped and cut, lists the first ten and counts the rest", async () => {
    const data = requestData(8);
    const own = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`client_${i}`, data.up]));
    const long = `x${'y'.repeat(200)}`;
    const { status, json } = await predict({ data: { ...data, 'note\u202eeton': data.up, [long]: data.up, ...own } });
    expect(status).toBe(200);
    const [warning] = json.warnings;
    expect(warning.code).toBe('ignored_columns');
    expect(warning.details.count).toBe(13);
    expect(warning.details.columns.slice(0, 2)).toEqual(['note\u202eeton', `${long.slice(0, 80)}...`]);
    expect(warning.details.columns).toHaveLength(10);
    expect(warning.message).toContain('ignored: note\\u202eeton, xyyy');
    expect(warning.message).not.toContain('\u202e');
    expect(warning.message).toContain('client_7 and 3 more. It reads ts, down, up.');
  });

  it('/predict still refuses rows that lack a column the model reads, whatever else they have', async () => {
    const { ts, down, up } = requestData(8);
    const lacking = await predict({ data: { ts, down } });
    const misspelt = await predict({ data: { ts, down, upp: up } });
    expect(lacking.status).toBe(400);
    expect(misspelt.status).toBe(400);
    expect(misspelt.json).toEqual(lacking.json);
    expect(misspelt.json.message).toBe('Missing required feature columns: up.');
  });

  it('/actuals scores as without columns the model does not read, and names them; a feature that is not a target is not one', async () => {
    const { ts, down, up } = requestData(3);
    const plain = await actuals({ data: { ts, down, up } });
    expect(plain.status).toBe(200);
    expect(plain.json).not.toHaveProperty('warnings');
    const typo = await actuals({ data: { ts, down, up, downn: down }, Identifier: 'x' });
    expect(typo.status).toBe(200);
    expect(typo.json).toEqual({
      ...plain.json,
      warnings: [
        expect.objectContaining({ code: 'ignored_fields', details: { fields: ['Identifier'], count: 1 } }),
        {
          code: 'ignored_columns',
          message: 'A column the request gave that the model does not read was ignored: downn (did you mean down?). It reads ts, down, up.',
          details: { columns: ['downn'], count: 1 },
        },
      ],
    });
  });
});
