import { FltsError } from '../errors.js';
import { predictionRows } from './prediction-response.js';
import { runPrediction } from './run-prediction.js';
import { inferSchema, modelMetadataSchema, modelParams, type InferRequest, type InferTensor } from './schemas/kserve.js';
import type { ServeContext } from './serve-context.js';

const TIMESTAMP_NAMES = ['timestamp', 'ts', 'time', 'date'];

/** KServe tensors to the column-oriented `data` of /predict, checking each tensor's shape against its data. */
function tensorsToColumns(inputs: InferTensor[]): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  for (const tensor of inputs) {
    const data = tensor.data.flat(Infinity);
    const elements = tensor.shape.reduce((product, dim) => product * dim, 1);
    if (tensor.shape.some((dim) => dim < 0) || elements !== data.length) {
      throw new FltsError('FLTS_REQUEST_INVALID', `Input '${tensor.name}' has shape [${tensor.shape.join(', ')}] but ${data.length} values.`, { details: { input: tensor.name } });
    }
    if (tensor.shape.filter((dim) => dim !== 1).length > 1) {
      throw new FltsError('FLTS_REQUEST_INVALID', `Input '${tensor.name}' must be one-dimensional ([rows] or [rows, 1]), got [${tensor.shape.join(', ')}].`, { details: { input: tensor.name } });
    }
    if (tensor.name in columns) throw new FltsError('FLTS_REQUEST_INVALID', `Input '${tensor.name}' is given twice.`, { details: { input: tensor.name } });
    columns[tensor.name] = data;
  }
  return columns;
}

/** Open Inference Protocol (KServe v2) health, metadata and inference for the served model. */
export function registerKserveRoutes(context: ServeContext): void {
  const { holder, metrics, routes } = context;

  const servedModel = (name: string) => {
    const served = holder.current();
    if (name !== context.modelName && name !== served?.run.runId) {
      throw new FltsError('FLTS_REQUEST_ROUTE_NOT_FOUND', `No model named '${name}' is served here; this server serves '${context.modelName}'.`, { details: { model: name } });
    }
    return served;
  };

  routes.route({ method: 'GET', url: '/v2/health/live', schema: { summary: 'Open Inference Protocol liveness' }, handler: async () => ({ live: true }) });
  routes.route({
    method: 'GET',
    url: '/v2/health/ready',
    schema: { summary: 'Open Inference Protocol readiness (503 until a model is warm)' },
    handler: async (_request, reply) => {
      const ready = holder.status().ready;
      if (!ready) void reply.status(503);
      return { ready };
    },
  });
  routes.route({
    method: 'GET',
    url: '/v2',
    schema: { summary: 'Open Inference Protocol server metadata' },
    handler: async () => ({ name: 'flts', version: '1', extensions: [] }),
  });

  routes.route({
    method: 'GET',
    url: '/v2/models/:name',
    schema: modelMetadataSchema,
    handler: async (request) => {
      const served = servedModel((request.params as { name: string }).name);
      if (!served) throw new FltsError('FLTS_SERVE_NO_MODEL', 'No model is loaded yet.');
      const { window, rawColumns } = served.plan;
      return {
        name: context.modelName,
        versions: [served.run.runId],
        platform: `flts-${served.run.modelType.toLowerCase()}`,
        inputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [-1] }, ...rawColumns.map((name) => ({ name, datatype: 'FP64', shape: [-1] }))],
        outputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [-1] }, ...window.targets.map((name) => ({ name, datatype: 'FP64', shape: [-1] }))],
        parameters: { run_id: served.run.runId, model_type: served.run.modelType, config_hash: served.run.configHash, input_seq_len: window.inputSeqLen, output_seq_len: window.outputSeqLen },
      };
    },
  });

  routes.route({
    method: 'GET',
    url: '/v2/models/:name/ready',
    schema: { summary: 'Open Inference Protocol model readiness', params: modelParams },
    handler: async (request, reply) => {
      const name = (request.params as { name: string }).name;
      const ready = servedModel(name) !== undefined;
      if (!ready) void reply.status(503);
      return { name, ready };
    },
  });

  routes.route({
    method: 'POST',
    url: '/v2/models/:name/infer',
    schema: inferSchema,
    handler: async (request) => {
      servedModel((request.params as { name: string }).name);
      const body = request.body as InferRequest;
      const columns = tensorsToColumns(body.inputs);
      const indexCol = body.parameters?.index_col ?? TIMESTAMP_NAMES.find((name) => name in columns);
      const result = await runPrediction(holder, { data: columns, indexCol, inferenceLength: body.parameters?.inference_length }, context.inferenceLength);
      metrics.countPredictions(result.forecast.time.length);
      const rows = predictionRows(result);
      const length = rows.length;
      return {
        model_name: context.modelName,
        model_version: result.run.runId,
        ...(body.id !== undefined ? { id: body.id } : {}),
        parameters: { run_id: result.run.runId, model_type: result.run.modelType, config_hash: result.run.configHash, horizon: result.horizon, recursive: result.forecast.recursive },
        outputs: [
          { name: 'timestamp', datatype: 'BYTES', shape: [length], data: rows.map((row) => row.ts) },
          ...result.targets.map((target) => ({ name: target, datatype: 'FP64', shape: [length], data: rows.map((row) => row[target]) })),
        ],
      };
    },
  });
}
