import protobuf from 'protobufjs';
const { inferenceService } = await import('./dist/core/serve/oip-grpc-service.js');
const { modelInferBoundsProblem } = await import('./dist/core/serve/oip-grpc-bounds.js');
const method = inferenceService().ModelInfer;
const LIMIT = 8 * 1024 * 1024;
const rowsFor = (perRow) => Math.floor((LIMIT - 1000) / perRow);
const ts = (n) => Array.from({ length: n }, (_, i) => new Date(Date.UTC(2018, 1, 6) + i * 120000).toISOString().slice(0, 19).replace('T', ' '));
const bytesTensor = (values) => Buffer.concat(values.flatMap((v) => [Buffer.from(Uint32Array.of(Buffer.byteLength(v)).buffer), Buffer.from(v)]));
const fp64 = (n) => Buffer.from(Float64Array.from({ length: n }, (_, i) => 20 + (i % 50)).buffer);
const shapes = {};
{ const n = rowsFor(39); shapes[`raw contents, ${n} rows`] = method.requestSerialize({ model_name: 'flts', inputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [n] }, { name: 'down', datatype: 'FP64', shape: [n] }, { name: 'up', datatype: 'FP64', shape: [n] }], raw_input_contents: [bytesTensor(ts(n)), fp64(n), fp64(n)] }); }
{ const n = rowsFor(37); const f = Array.from({ length: n }, (_, i) => 20 + (i % 50)); shapes[`typed contents, ${n} rows`] = method.requestSerialize({ model_name: 'flts', inputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [n], contents: { bytes_contents: ts(n).map((t) => Buffer.from(t)) } }, { name: 'down', datatype: 'FP64', shape: [n], contents: { fp64_contents: f } }, { name: 'up', datatype: 'FP64', shape: [n], contents: { fp64_contents: f } }] }); }
{ const n = Math.floor((LIMIT - 1000) / 2); shapes[`${n} empty bytes_contents`] = method.requestSerialize({ model_name: 'flts', inputs: [{ name: 'd', datatype: 'BYTES', shape: [n], contents: { bytes_contents: Array(n).fill(Buffer.alloc(0)) } }] }); }
{ const n = LIMIT - 1000; shapes[`${n} packed bool_contents`] = method.requestSerialize({ model_name: 'flts', inputs: [{ name: 'd', datatype: 'BOOL', shape: [n], contents: { bool_contents: Array(n).fill(true) } }] }); }
{ const n = LIMIT - 1000; shapes[`${n} packed int_contents`] = method.requestSerialize({ model_name: 'flts', inputs: [{ name: 'd', datatype: 'INT32', shape: [n], contents: { int_contents: Array(n).fill(1) } }] }); }
// unpacked: tag + value per element
{ const n = Math.floor((LIMIT - 1000) / 2); const w = protobuf.Writer.create(); w.uint32((5 << 3) | 2).fork(); w.uint32((1 << 3) | 2).string('d'); w.uint32((2 << 3) | 2).string('BOOL'); w.uint32((3 << 3) | 2).fork().int64(n).ldelim(); w.uint32((5 << 3) | 2).fork(); for (let i = 0; i < n; i++) w.uint32((1 << 3) | 0).bool(true); w.ldelim(); w.ldelim(); shapes[`${n} unpacked bool_contents`] = Buffer.from(w.finish()); }
for (const [name, bytes] of Object.entries(shapes)) {
  const times = [];
  for (let i = 0; i < 5; i++) { const t = performance.now(); modelInferBoundsProblem(bytes); method.requestDeserialize(bytes); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(name, (bytes.length / 1048576).toFixed(2), 'MiB', 'median ms', times[2].toFixed(1), 'max', times[4].toFixed(1));
}
// HTTP equivalents
const body = (data, dt='FP64') => JSON.stringify({ inputs: [{ name: 'd', datatype: dt, shape: [data.length], data }] });
const jbodies = { '4M zeros json': `{"inputs":[{"name":"d","datatype":"INT32","shape":[4194000],"data":[${Array(4194000).fill('0').join(',')}]}]}`, '2.6M empty strings json': `{"inputs":[{"name":"d","datatype":"BYTES","shape":[1],"data":[${Array(2.6e6).fill('""').join(',')}]}]}`, '1.6M true json': `{"inputs":[{"name":"d","datatype":"BOOL","shape":[1],"data":[${Array(1.6e6).fill('true').join(',')}]}]}` };
for (const [name, b] of Object.entries(jbodies)) { const times = []; for (let i = 0; i < 5; i++) { const t = performance.now(); JSON.parse(b); times.push(performance.now() - t); } times.sort((a, b) => a - b); console.log(name, (b.length/1048576).toFixed(2), 'MiB median ms', times[2].toFixed(1)); }
