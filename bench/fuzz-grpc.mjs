#!/usr/bin/env node
// The gRPC side of bench/fuzz.mjs: generated ModelInfer requests that are almost right (shapes negative, past the safe
// integers or overflowing in product, datatypes unknown or not matching their contents, raw contents of the wrong
// length, parameters of every kind, extreme numbers) against a running `flts serve --grpc-port`. Fails (exit 1) on a
// status other than OK that is not a client's (INTERNAL, UNKNOWN, DATA_LOSS) or lacks the flts-code trailer, a call
// with no answer within 30 s, or a valid ModelInfer that is not served afterwards. Prints counts by status.
// Usage: flts serve --grpc-port 8001 &   node bench/fuzz-grpc.mjs 127.0.0.1:8001 [runs=3000] [seed=random]
// The served run must take the raw PobleSec columns (a model trained on PobleSec), for the valid requests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { servedModelName } from './served-model-name.mjs';

const [address = '127.0.0.1:8001', runsText = '3000', seedText] = process.argv.slice(2);
const runs = Number(runsText);
const seed = seedText === undefined ? Date.now() % 2 ** 31 : Number(seedText);
const here = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
const { createInferenceClient } = await import(path.resolve(here, '../dist/core/serve/oip-grpc-service.js'));
const [header, ...lines] = readFileSync(path.resolve(here, '../../shared/datasets/PobleSec_test.csv'), 'utf8').trim().split('\n');
const names = header.split(',');
const ROWS = 16;
const columns = names.map((_, c) => lines.slice(0, ROWS).map((line) => line.split(',')[c]));
const validInputs = names.map((name, c) =>
  c === 0
    ? { name, datatype: 'BYTES', shape: [ROWS], contents: { bytes_contents: columns[c].map((text) => Buffer.from(text)) } }
    : { name, datatype: 'FP64', shape: [ROWS], contents: { fp64_contents: columns[c].map(Number) } },
);
// The model the server answers for (FLTS_SERVE_MODEL_NAME here as for the server, else the setting's default).
const modelName = await servedModelName();
const valid = { model_name: modelName, inputs: validInputs };

const client = createInferenceClient(address);
const CLIENT_CODES = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNIMPLEMENTED, grpc.status.FAILED_PRECONDITION, grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.UNAVAILABLE]);

function modelInfer(request) {
  return new Promise((resolve) => {
    client.ModelInfer(request, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (error) => resolve(error ?? { code: grpc.status.OK }));
  });
}

const extreme = fc.constantFrom(1e308, -1e308, 5e-324, -0, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 2 ** 64, 0.5, 1e20);
const dimension = fc.oneof({ weight: 6, arbitrary: fc.constant(ROWS) }, { weight: 2, arbitrary: fc.constantFrom(0, 1, -1, -ROWS, 2 ** 31, 2 ** 32, 2 ** 53, '9223372036854775807', '-9223372036854775808', '18446744073709551615') }, { weight: 1, arbitrary: fc.integer() });
const numbers = (min, max) => fc.array(fc.oneof({ weight: 4, arbitrary: fc.double({ min, max, noNaN: true }) }, { weight: 1, arbitrary: extreme }), { minLength: 0, maxLength: ROWS + 2 });
const contents = fc.oneof(
  fc.record({ fp64_contents: fc.array(fc.oneof(fc.double(), extreme), { maxLength: ROWS + 2 }) }),
  fc.record({ fp32_contents: numbers(-1e39, 1e39) }),
  fc.record({ int64_contents: fc.array(fc.oneof(fc.integer(), fc.constantFrom('9223372036854775807', '-9223372036854775808', 1e15)), { maxLength: ROWS + 2 }) }),
  fc.record({ uint64_contents: fc.array(fc.oneof(fc.nat(), fc.constantFrom('18446744073709551615', 1e15)), { maxLength: ROWS + 2 }) }),
  fc.record({ int_contents: fc.array(fc.integer(), { maxLength: ROWS + 2 }) }),
  fc.record({ uint_contents: fc.array(fc.nat(), { maxLength: ROWS + 2 }) }),
  fc.record({ bool_contents: fc.array(fc.boolean(), { maxLength: ROWS + 2 }) }),
  fc.record({ bytes_contents: fc.array(fc.oneof(fc.string({ maxLength: 30 }).map((text) => Buffer.from(text)), fc.uint8Array({ maxLength: 30 }).map((bytes) => Buffer.from(bytes))), { maxLength: ROWS + 2 }) }),
  fc.record({ fp64_contents: fc.constant([]), bytes_contents: fc.constant([Buffer.from('2018-01-01 00:00:00')]) }),
);
const parameter = fc.oneof(fc.boolean().map((bool_param) => ({ bool_param })), fc.oneof(fc.integer(), extreme.filter(Number.isInteger)).map((int64_param) => ({ int64_param })), fc.string({ maxLength: 20 }).map((string_param) => ({ string_param })));
const parameters = fc.dictionary(fc.oneof(fc.constantFrom('inference_length', 'index_col', 'identifier', 'binary_data_output', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), parameter, { maxKeys: 4 });
const tensor = fc.record({
  name: fc.oneof(fc.constantFrom(...names, '__proto__', 'constructor'), fc.string({ maxLength: 8 })),
  datatype: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('FP64', 'BYTES') }, { weight: 2, arbitrary: fc.constantFrom('BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'BF16', 'FP32', '', 'fp64') }),
  shape: fc.oneof({ weight: 5, arbitrary: fc.constant([ROWS]) }, { weight: 3, arbitrary: fc.array(dimension, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(dimension, { minLength: 9, maxLength: 12 }) }),
  parameters,
  contents: fc.option(contents, { nil: null }),
});
/** A request close to valid: the valid inputs with some replaced by generated ones, raw contents or not. */
const inferRequest = fc
  .record({
    model_name: fc.oneof({ weight: 8, arbitrary: fc.constant(modelName) }, { weight: 1, arbitrary: fc.constantFrom('', '__proto__', 'x'.repeat(300)) }),
    model_version: fc.constantFrom('', '1', 'x'),
    id: fc.string({ maxLength: 12 }),
    parameters,
    replaced: fc.array(fc.tuple(fc.nat(names.length - 1), tensor), { maxLength: 3 }),
    extra: fc.array(tensor, { maxLength: 2 }),
    raw: fc.option(fc.array(fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)), { maxLength: names.length + 1 }), { nil: undefined }),
    outputs: fc.array(fc.record({ name: fc.constantFrom('timestamp', 'down', 'nope', '__proto__'), parameters }), { maxLength: 2 }),
  })
  .map(({ replaced, extra, raw, ...rest }) => {
    const inputs = validInputs.map((input) => ({ ...input }));
    for (const [at, generated] of replaced) inputs[at] = generated;
    inputs.push(...extra);
    // Raw contents replace every input's typed contents (the protocol allows one or the other).
    return { ...rest, inputs: raw ? inputs.map(({ contents: _unused, ...input }) => input) : inputs, ...(raw ? { raw_input_contents: raw } : {}) };
  });

const statuses = new Map();
let served = 0;
const started = Date.now();
const first = await modelInfer(valid);
if (first.code !== grpc.status.OK) {
  console.error(`ModelInfer at ${address} does not answer a valid PobleSec request: ${first.details}; serve a run trained on PobleSec with --grpc-port.`);
  process.exit(2);
}
await fc
  .assert(
    fc.asyncProperty(inferRequest, async (request) => {
      const answer = await modelInfer(request);
      const name = grpc.status[answer.code];
      statuses.set(name, (statuses.get(name) ?? 0) + 1);
      if (answer.code !== grpc.status.OK) {
        const code = answer.metadata?.get('flts-code')[0];
        if (!CLIENT_CODES.has(answer.code) || typeof code !== 'string' || !String(answer.details).startsWith(`${code}: `)) {
          throw new Error(`${name} (flts-code ${code}) for ModelInfer: ${String(answer.details).slice(0, 300)}`);
        }
      }
      if ((await modelInfer(valid)).code !== grpc.status.OK) throw new Error('a valid ModelInfer was not served after the generated one');
      served++;
    }),
    { seed, numRuns: runs, endOnFailure: true },
  )
  .catch((error) => {
    console.error(String(error.message ?? error).slice(0, 4000));
    console.error(`seed ${seed}: rerun with node bench/fuzz-grpc.mjs ${address} ${runs} ${seed}`);
    process.exitCode = 1;
  });
client.close();
const byStatus = [...statuses].map(([status, count]) => `${status}: ${count}`).join(', ');
console.log(`${served} generated ModelInfer calls answered OK or as a client's mistake in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed}); by status: ${byStatus}`);
