// The gRPC inference server of a built checkout with no model loaded, as the benches of what the gRPC port of
// `flts serve` holds or answers before a forecast start it, and the ModelInfer messages they send it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout whose dist/ runs: `--root <checkout>`, taken out of `args`, else this one. */
export function takeRoot(args) {
  const at = args.indexOf('--root');
  return path.resolve(at >= 0 ? args.splice(at, 2)[1] : path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
}

/**
 * Starts `root`'s gRPC server on a loopback port the system gives, with the serve defaults of the body limit and
 * budget (8 MiB, 64 MiB) and the model name "flts", none loaded; `options` go to the server as they are. `stop()`
 * closes it (a second for the calls still open).
 */
export async function startEmptyGrpcServer(root, options = {}) {
  const { startGrpcInferenceServer } = await import(`${root}/dist/core/serve/oip-grpc-server.js`);
  const { createModelHolder } = await import(`${root}/dist/core/serve/model-holder.js`);
  const { createServeMetrics } = await import(`${root}/dist/core/serve/serve-metrics.js`);
  const { createPredictionRecorder } = await import(`${root}/dist/core/serve/prediction-recorder.js`);
  const { createForecastAdmission } = await import(`${root}/dist/core/serve/forecast-admission.js`);
  const { createMeteredBodyBudget } = await import(`${root}/dist/core/serve/body-budget.js`);
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const source = { readPointer: async () => undefined, loadRun: async () => { throw new Error('none'); } };
  const holder = createModelHolder({ source, pollIntervalMs: 0, batching: { maxBatch: 1, maxWaitMs: 0 }, logger: silent });
  const metrics = createServeMetrics({ processMetrics: false });
  const bodyLimit = 8 * 1024 * 1024;
  const bodyBudget = createMeteredBodyBudget(null, bodyLimit, metrics);
  const context = { holder, metrics, bodyBudget, modelName: 'flts', inferenceLength: 0, recorder: createPredictionRecorder({ metrics, logger: silent, identifier: '' }), admission: createForecastAdmission({ maxRows: 0 }) };
  const server = await startGrpcInferenceServer(context, { host: '127.0.0.1', port: 0, maxMessageBytes: bodyLimit, logger: silent, ...options });
  const stop = async () => {
    await server.close(1000);
    await holder.stop();
  };
  return { metrics, bodyBudget, url: `http://127.0.0.1:${server.port}`, stop };
}

/** varint of a protobuf length. */
function varint(value) {
  const bytes = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/** An id (field 3) and a parameter (field 4: `priority`, int64_param 1), as protobuf writes them. */
const ID_AND_PARAMETER = Buffer.from('1a027231220e0a087072696f7269747912021001', 'hex');

/**
 * A framed ModelInferRequest of about `size` bytes: model_name `name` (field 1) and one raw_input_contents (field 7) of
 * zeros; `idFirst`, an id and a parameter before the name, as some clients order the fields.
 */
export function modelInferMessage(name, size, { idFirst = false } = {}) {
  const leading = idFirst ? ID_AND_PARAMETER : Buffer.alloc(0);
  const nameField = Buffer.concat([leading, Buffer.from([0x0a, name.length]), Buffer.from(name)]);
  const rawLength = Math.max(0, size - nameField.length - 1 - 4);
  const message = Buffer.concat([nameField, Buffer.from([0x3a]), varint(rawLength), Buffer.alloc(rawLength)]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}
