import { clip, firstCodePoints } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import type { Logger } from '../logger.js';
import type { BodyBudget } from './body-budget.js';
import type { ForecastAdmission } from './forecast-admission.js';
import { levelKey } from '../models/prediction-intervals.js';
import { toolVersion } from '../preprocess/tool-version.js';
import type { LiveMonitor } from './live-monitor.js';
import type { ModelHolder } from './model-holder.js';
import { predictionRows, predictionWarnings } from './prediction-response.js';
import type { PredictionRecorder } from './prediction-recorder.js';
import { assertRequestIdentifier, requestSeries } from './request-frame.js';
import { requestedRows, runPrediction, type PredictionResult } from './run-prediction.js';
import type { ServedModel } from './served-model.js';
import type { ServeMetrics } from './serve-metrics.js';
import { inputsToColumns, shownName, type OipInput, type OipOutput } from './oip-tensors.js';
import { inferParameters, MAX_REQUEST_ID } from './schemas/kserve.js';
import { ignoredMessage, unreadNames } from './ignored-fields.js';

/** What both Open Inference Protocol transports (HTTP and gRPC) need from the server. */
export interface OipContext {
  readonly holder: ModelHolder;
  readonly metrics: ServeMetrics;
  /** Model name of the protocol's paths and messages. */
  readonly modelName: string;
  /** Forecast rows when a request does not say; 0 = the model horizon. */
  readonly inferenceLength: number;
  /** Live accuracy: the rows a request brings score earlier forecasts, its forecast is remembered. */
  readonly live?: LiveMonitor;
  /** Deployment identifier, unless a request names its series with the `identifier` parameter. */
  readonly identifier?: string;
  readonly logger?: Logger;
  /** What each prediction leaves behind (/stats, counts, live scoring, the prediction log), as on POST /predict. */
  readonly recorder: PredictionRecorder;
  /** The bound on forecast rows in flight, shared with POST /predict and the other transport. */
  readonly admission: ForecastAdmission;
  /** The bound on request bytes held (serve.maxBodyBytesInFlight), shared with the HTTP bodies; absent: none. */
  readonly bodyBudget?: BodyBudget;
  /** True from the moment the server's stop begins: ServerReady answers false from then, as /readyz answers 503. */
  readonly isStopping?: () => boolean;
  /** Whether the server can still forecast (liveness.ts): ServerLive answers false when not, as /livez answers 503. */
  readonly liveness?: () => { live: boolean };
}

/** The call an inference answers: its route (for metrics) and whether its client is still there. */
export interface OipCall {
  route: string;
  /** Aborted when the client left (HTTP connection closed, gRPC call cancelled). */
  signal?: AbortSignal;
}

export type OipParameterValue = string | number | boolean;

export interface OipRequestedOutput {
  name: string;
  parameters: Record<string, unknown>;
}

export interface OipInferRequest {
  /** The model version asked for (gRPC model_version; "" or absent = the served one). */
  modelVersion?: string;
  id?: string;
  parameters: Record<string, unknown>;
  inputs: OipInput[];
  /** Absent = every output. */
  outputs?: OipRequestedOutput[];
}

export interface OipInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters: Record<string, OipParameterValue>;
  outputs: OipOutput[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters: Record<string, OipParameterValue>;
}

/** The protocol extensions flts serves (announced in the server metadata). */
export const OIP_EXTENSIONS = ['binary_tensor_data'];

/** The protocol's server metadata carries the server's own version, the one `flts --version` prints. */
export const OIP_SERVER_METADATA = { name: 'flts', version: toolVersion(), extensions: OIP_EXTENSIONS };

const TIMESTAMP_NAMES = ['timestamp', 'ts', 'time', 'date'];
const MAX_INFERENCE_LENGTH = 10_000;

/**
 * A version a request names (undefined = any) that is not the served run: the model has no such version (any more).
 * gRPC's empty version fields ask for any; an empty version in a path names none.
 */
function assertServedVersion(name: string, version: string | undefined, runId: string): void {
  if (version === undefined || version === runId) return;
  throw new FltsError('FLTS_REQUEST_ROUTE_NOT_FOUND', `Model '${shownName(name)}' has no version '${shownName(version)}' here; it serves version '${runId}'.`, { details: { model: clip(name), version: clip(version) } });
}

/**
 * The served model when `name` (the configured model name or the served run id) names it, and `version` (gRPC's
 * version fields or an HTTP route's /versions/<version>, the run id the metadata lists) is absent or the served one.
 */
export function servedModelNamed(context: OipContext, name: string, version?: string): ServedModel | undefined {
  const served = context.holder.current();
  if (name !== context.modelName && name !== served?.run.runId) {
    throw new FltsError('FLTS_REQUEST_ROUTE_NOT_FOUND', `No model named '${shownName(name)}' is served here; this server serves '${context.modelName}'.`, { details: { model: clip(name) } });
  }
  if (served) assertServedVersion(name, version, served.run.runId);
  return served;
}

export function modelMetadata(context: OipContext, name: string, version?: string): OipModelMetadata {
  const served = servedModelNamed(context, name, version);
  if (!served) throw new FltsError('FLTS_SERVE_NO_MODEL', 'No model is loaded yet.');
  const { window, rawColumns } = served.plan;
  return {
    name: context.modelName,
    versions: [served.run.runId],
    platform: `flts-${served.run.modelType.toLowerCase()}`,
    inputs: [{ name: 'timestamp', datatype: 'BYTES', shape: [-1] }, ...rawColumns.map((column) => ({ name: column, datatype: 'FP64', shape: [-1] }))],
    outputs: [
      { name: 'timestamp', datatype: 'BYTES', shape: [-1] },
      ...window.targets.map((target) => ({ name: target, datatype: 'FP64', shape: [-1] })),
      ...intervalOutputNames(window.targets, (served.intervals?.levels ?? []).map(levelKey)).map(({ name }) => ({ name, datatype: 'FP64', shape: [-1] })),
    ],
    parameters: { run_id: served.run.runId, model_type: served.run.modelType, config_hash: served.run.configHash, input_seq_len: window.inputSeqLen, output_seq_len: window.outputSeqLen },
  };
}

function optionalString(parameters: Record<string, unknown>, key: string): string | undefined {
  const value = parameters[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new FltsError('FLTS_REQUEST_INVALID', `Parameter '${key}' must be a non-empty string.`, { details: { parameter: key } });
  return value;
}

function optionalLength(parameters: Record<string, unknown>): number | undefined {
  const value = parameters.inference_length;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_INFERENCE_LENGTH) {
    throw new FltsError('FLTS_REQUEST_INVALID', `Parameter 'inference_length' must be an integer from 1 to ${MAX_INFERENCE_LENGTH}.`, { details: { parameter: 'inference_length' } });
  }
  return value;
}

/**
 * The prediction intervals as extra outputs, named like the batch columns: `<target>_lower_<level>` and
 * `<target>_upper_<level>`; null (NaN in binary tensors) on rows past the steps the run calibrated.
 */
function intervalOutputNames(targets: readonly string[], levels: readonly string[]): Array<{ name: string; target: string; level: string; bound: 0 | 1 }> {
  return targets.flatMap((target) =>
    levels.flatMap((level) => [
      { name: `${target}_lower_${level}`, target, level, bound: 0 as const },
      { name: `${target}_upper_${level}`, target, level, bound: 1 as const },
    ]),
  );
}

/**
 * The served run's live accuracy so far, as response parameters: `live_matched_total`, and per target
 * `live_rmse_<target>`, `live_mae_<target>` and `live_coverage_<target>_<level>` once points were matched.
 */
function liveParameters(live: LiveMonitor, runId: string): Record<string, OipParameterValue> {
  const figures = live.scorer.figures().find((run) => run.run_id === runId);
  if (!figures) return {};
  const parameters: Record<string, OipParameterValue> = { live_matched_total: figures.matched_total };
  for (const [target, { rmse, mae, coverage }] of Object.entries(figures.targets)) {
    if (rmse !== null) parameters[`live_rmse_${target}`] = rmse;
    if (mae !== null) parameters[`live_mae_${target}`] = mae;
    for (const [level, share] of Object.entries(coverage)) parameters[`live_coverage_${target}_${level}`] = share;
  }
  return parameters;
}

/**
 * Each output asked for at most once, as each input is given once: a repeated name would repeat its data in
 * the answer, so a small request could ask for an answer of any size. Checked before the forecast is made.
 */
function assertDistinctOutputs(requested: readonly OipRequestedOutput[] | undefined): void {
  const seen = new Set<string>();
  for (const { name, parameters } of requested ?? []) {
    if (seen.has(name)) throw new FltsError('FLTS_REQUEST_INVALID', `Output '${shownName(name)}' is requested twice.`, { details: { output: clip(name) } });
    seen.add(name);
    assertNoClassification(name, parameters);
  }
}

/**
 * An output asked for with the classification extension's `classification` parameter (tritonclient's `class_count`):
 * the server metadata does not list that extension, and answering the FP64 forecast where the client reads top-k
 * "value:index" BYTES strings would pass the forecast off as classes. 0 asks for no classification, as in Triton.
 */
function assertNoClassification(name: string, parameters: Readonly<Record<string, unknown>> | undefined): void {
  const count = parameters?.classification;
  if (count === undefined || count === 0 || count === false) return;
  throw new FltsError(
    'FLTS_REQUEST_INVALID',
    `Output '${shownName(name)}' is requested with the classification parameter, but flts serves forecasts, not classes: it does not serve the classification extension (the server metadata lists ${OIP_EXTENSIONS.join(', ')}); request the output without it.`,
    { details: { output: clip(name), parameter: 'classification' } },
  );
}

/** Picks and orders the requested outputs; unknown names are a 400 naming the ones there are. */
function selectOutputs(all: OipOutput[], requested: OipRequestedOutput[] | undefined): OipOutput[] {
  if (!requested || requested.length === 0) return all;
  const byName = new Map(all.map((output) => [output.name, output]));
  return requested.map(({ name }) => {
    const output = byName.get(name);
    if (!output) throw new FltsError('FLTS_REQUEST_INVALID', `Unknown output '${shownName(name)}'; this model has outputs ${[...byName.keys()].join(', ')}.`, { details: { output: clip(name) } });
    return output;
  });
}

/**
 * A column the model reads sent as BYTES: its text would reach the /predict columns and be refused there as
 * non-numeric, which names neither the input's datatype nor the one to send. Inputs the model does not read are free.
 */
function assertNumericFeatures(inputs: readonly OipInput[], features: readonly string[], modelName: string): void {
  const text = inputs.find((input) => input.datatype === 'BYTES' && features.includes(input.name));
  if (text === undefined) return;
  throw new FltsError(
    'FLTS_REQUEST_INVALID',
    `Input '${shownName(text.name)}' is BYTES, but the model reads it as numbers: send it as FP64 (or FP32, an INT type, BOOL), the datatype the model's metadata lists for it (GET /v2/models/${shownName(modelName)}, ModelMetadata); only the timestamp input takes text.`,
    { details: { input: clip(text.name) } },
  );
}

/**
 * Times sent as FP32 are refused: FP32 is read as float32 on every path, and float32 holds today's epoch seconds to 128 s
 * and epoch milliseconds to 131 s, so the forecast would be dated up to a minute off, its steps made uneven, unsaid.
 */
function assertTimesNotFloat32(inputs: readonly OipInput[], indexCol: string | undefined): void {
  const times = inputs.find((input) => input.name === indexCol);
  if (times?.datatype !== 'FP32') return;
  throw new FltsError(
    'FLTS_REQUEST_INVALID',
    `Input '${shownName(times.name)}' holds the times, but is FP32, read as float32, which holds today's epoch seconds and milliseconds only to about 2 minutes: send the times as BYTES text, or as INT64 or FP64 epoch numbers.`,
    { details: { input: clip(times.name), datatype: 'FP32' } },
  );
}

/** The request parameters flts reads, as the schema names them. */
const READ_PARAMETERS = Object.keys(inferParameters.properties);

/** The parameters flts reads on a requested output: the binary extension's `binary_data`, and `classification` to refuse it. */
const READ_OUTPUT_PARAMETERS = ['binary_data', 'classification'];

/**
 * A requested output's parameters flts does not read, named by their place (`outputs[0].parameters.foo`) beside the
 * request's own, with the names read there to say what each most likely meant: they were dropped without a word, while a
 * request parameter of the same name was warned of.
 */
function outputParameterNames(outputs: readonly OipRequestedOutput[] | undefined): { given: string[]; read: string[]; unread: boolean } {
  const given: string[] = [];
  const read: string[] = [];
  let unread = false;
  outputs?.forEach(({ parameters }, index) => {
    const names = Object.keys(parameters);
    if (!names.some((name) => !READ_OUTPUT_PARAMETERS.includes(name))) return;
    unread = true;
    const at = `outputs[${index}].parameters.`;
    given.push(...names.map((name) => at + name));
    read.push(...READ_OUTPUT_PARAMETERS.map((name) => at + name));
  });
  return { given, read, unread };
}

/**
 * The request's parameters flts does not read and inputs the model does not take, as response parameters (scalars:
 * each a message under its code): Triton's own (`priority`, `sequence_id`) and a gateway's are answered as if absent,
 * as a misspelt `Identifier` or an input `Down` beside `down` was, where nothing said so. Warned, not refused: the
 * protocol's clients send parameters and inputs of their own.
 */
function ignoredParameters(request: OipInferRequest, indexCol: string | undefined, rawColumns: readonly string[]): Record<string, string> {
  const outputs = outputParameterNames(request.outputs);
  const parameters = unreadNames([...Object.keys(request.parameters), ...outputs.given], [...READ_PARAMETERS, ...outputs.read]);
  const taken = indexCol === undefined ? [...rawColumns] : [indexCol, ...rawColumns];
  const inputs = unreadNames(request.inputs.map((input) => input.name), taken);
  return {
    ...(parameters ? { ignored_parameters: ignoredMessage(['A parameter', 'Parameters'], 'flts does not read', parameters, `reads ${READ_PARAMETERS.join(', ')}${outputs.unread ? `, and ${READ_OUTPUT_PARAMETERS.join(', ')} on an output` : ''}`) } : {}),
    ...(inputs ? { ignored_inputs: ignoredMessage(['An input', 'Inputs'], 'the model does not take', inputs, `takes ${taken.join(', ')}`) } : {}),
  };
}

/**
 * One inference, the same for every transport: inputs to the /predict columns, one prediction on the
 * current model (held through a hot reload), the forecast as a timestamp output and one output per target.
 */
export async function runOipInference(context: OipContext, modelName: string, request: OipInferRequest, call: OipCall): Promise<OipInferResponse> {
  const served = servedModelNamed(context, modelName, request.modelVersion);
  assertDistinctOutputs(request.outputs);
  if (served) assertNumericFeatures(request.inputs, served.plan.rawColumns, context.modelName);
  const columns = inputsToColumns(request.inputs);
  // "" names no series, as on /predict: the deployment's (requestSeries).
  const seriesIdentifier = request.parameters.identifier === '' ? '' : optionalString(request.parameters, 'identifier');
  assertRequestIdentifier(seriesIdentifier, "Parameter 'identifier'", { parameter: 'identifier' }, context.identifier);
  const indexCol = optionalString(request.parameters, 'index_col') ?? TIMESTAMP_NAMES.find((name) => name in columns);
  assertTimesNotFloat32(request.inputs, indexCol);
  const input = { data: columns, indexCol, inferenceLength: optionalLength(request.parameters) };
  const rows = requestedRows(context.holder, input, context.inferenceLength);
  const ignored = ignoredParameters(request, indexCol, served?.plan.rawColumns ?? []);
  return context.admission.run(call.route, rows, call.signal, () =>
    context.recorder.measure(async () => {
      const result = await runPrediction(context.holder, input, context.inferenceLength, { signal: call.signal });
      // A reload while the request waited may have replaced the version it asked for.
      assertServedVersion(modelName, request.modelVersion, result.run.runId);
      const identifier = requestSeries(seriesIdentifier, context.identifier ?? '');
      if (turnSpent()) await nextTurn();
      // A client's id names its record too, as it was sent: both transports refuse one over MAX_REQUEST_ID characters,
      // and the cut only keeps a caller that skipped them from writing an unbounded log line.
      await context.recorder.record({ identifier, input, result, requestId: request.id === undefined ? undefined : firstCodePoints(request.id, MAX_REQUEST_ID) });
      // A long forecast's outputs are built and encoded in turns of their own (`turnSpent`).
      if (turnSpent()) await nextTurn();
      const answer = inferResponse(context, request, result, ignored);
      if (turnSpent()) await nextTurn();
      return { answer, modelMs: result.modelMs };
    }),
  );
}

function inferResponse(context: OipContext, request: OipInferRequest, result: PredictionResult, ignored: Record<string, string>): OipInferResponse {
  const { live } = context;
  const rows = predictionRows(result);
  const shape = [rows.length];
  const outputs: OipOutput[] = [
    { name: 'timestamp', datatype: 'BYTES', shape, data: rows.map((row) => row.ts) },
    ...result.targets.map((target): OipOutput => ({ name: target, datatype: 'FP64', shape, data: rows.map((row) => row[target] as number | null) })),
    ...intervalOutputNames(result.targets, Object.keys(rows.find((row) => row.intervals)?.intervals?.[result.targets[0]] ?? {})).map(
      ({ name, target, level, bound }): OipOutput => ({ name, datatype: 'FP64', shape, data: rows.map((row) => row.intervals?.[target]?.[level]?.[bound] ?? null) }),
    ),
  ];
  return {
    model_name: context.modelName,
    model_version: result.run.runId,
    // The protocol returns an id "if specified": "" is one a client gave (gRPC's proto3 field cannot tell it from none,
    // and answers "" either way).
    ...(request.id !== undefined ? { id: request.id } : {}),
    parameters: {
      run_id: result.run.runId,
      model_type: result.run.modelType,
      config_hash: result.run.configHash,
      horizon: result.horizon,
      recursive: result.forecast.recursive,
      // Parameters are scalars: a warning travels as its message under its code.
      ...ignored,
      ...Object.fromEntries(predictionWarnings(result).map((warning) => [warning.code, warning.message])),
      ...(live ? liveParameters(live, result.run.runId) : {}),
    },
    outputs: selectOutputs(outputs, request.outputs),
  };
}
