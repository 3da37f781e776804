import * as grpc from '@grpc/grpc-js';
import type { ServerHttp2Stream } from 'node:http2';
import { clip, shownText } from '../clip-text.js';
import { FltsError, isFltsError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import { SERVE_GRPC_STOP_GRACE_MS } from '../stop-budget.js';
import { assertBearerToken, authRefusalOf, createAuthRefusalLog } from './access-control.js';
import type { BodyTicket } from './body-budget.js';
import { classifyError, grpcStoppingRefusal, isServerFailure } from './error-handler.js';
import { failureFields } from './failure-fields.js';
import { clientGone } from './forecast-admission.js';
import { checkingIntervalOf, DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
import { createGrpcConnections, isUnaryMessageRefusal } from './grpc-connections.js';
import { createGrpcMessageBudget, stopSending } from './grpc-message-budget.js';
import { createGrpcMessageHead } from './grpc-message-head.js';
import { watchGrpcMessageRate } from './grpc-message-rate.js';
import { explainListenFailure, GRPC_LISTENER } from './listen.js';
import type { HostLookup } from './listen-addresses.js';
import { modelInferBoundsProblem } from './oip-grpc-bounds.js';
import { contentsElements, decodeModelInferRequest, type ReceivedInputTensor, type ReceivedModelInferRequest } from './oip-grpc-contents.js';
import { modelMetadata, OIP_SERVER_METADATA, runOipInference, servedModelNamed, type OipContext, type OipInferRequest } from './oip-inference.js';
import {
  inferenceService,
  parameterValues,
  toInferParameter,
  type GrpcModelInferResponse,
  type InferTensorContents,
} from './oip-grpc-service.js';
import { checkDatatype, checkElements, decodeRawTensor, encodeRawTensor, shownName, type OipInput } from './oip-tensors.js';
import { readinessOf } from './readiness.js';
import { compileBodyCheck } from './request-validators.js';
import { inferParameters, requestId } from './schemas/kserve.js';

export interface GrpcServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Largest accepted request message, like the HTTP body limit. */
  maxMessageBytes: number;
  /** Longest time a call has to send its request message, like the HTTP request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** How long a connection without calls stays open, like an idle HTTP keep-alive connection (default 72 s). */
  keepAliveTimeoutMs?: number;
  /**
   * serve.minBodyBytesPerSec over each serve.minBodyRateWindowMs: the least rate a call's request message may arrive at,
   * as an HTTP body (defaults as those settings'; 0 = none, as a window not under the request timeout).
   */
  minBodyBytesPerSec?: number;
  minBodyRateWindowMs?: number;
  /**
   * serve.bodyIdleTimeoutMs: how long a call's request message may go without a byte arriving, as an HTTP body (default
   * as that setting's; 0 = none, as a time not under the request timeout).
   */
  bodyIdleTimeoutMs?: number;
  /** Longest time a new connection has to open its first call (HTTP/2's preface, then a call's HEADERS), like the HTTP headers timeout (default 10 s, at most the request timeout). */
  headersTimeoutMs?: number;
  /** Most connections open at once, like the HTTP port's cap (default 1024): an idle one makes room for a new one as there. */
  maxConnections?: number;
  /** Bearer token ModelInfer calls must carry in their `authorization` metadata, as POST /predict does ("" = open). */
  apiToken?: string;
  /** The HTTP API's port, named to an HTTP/1.x request sent here. */
  httpPort?: number;
  /** How the addresses of `host` the HTTP API binds are found (dns.lookup, every address): both loopbacks of `localhost`. */
  lookupHost?: HostLookup;
  logger: Logger;
}

export interface GrpcInferenceServer {
  port: number;
  /**
   * Notes the calls open as the server's stop begins (while it still takes calls), whose end close() then tells apart:
   * drained, or cut. Idempotent; close() begins it too.
   */
  beginStop(): void;
  /**
   * Stops accepting calls, lets running ones finish (for at most `graceMs`), then cancels the rest, and says how many it
   * cut and how many of those open as the stop began (beginStop, else close) ended before (answered, or left by their
   * client): drained. `cut` aborted cancels them at once, as at the end of the grace.
   */
  close(graceMs?: number, cut?: AbortSignal): Promise<{ callsCut: number; callsDrained: number }>;
}

/** The HTTP status a 4xx/5xx stands for, as the gRPC status code clients branch on. */
const GRPC_STATUS_BY_HTTP: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  405: grpc.status.UNIMPLEMENTED,
  // A request that stopped arriving (FLTS_REQUEST_BODY_STALLED), as the request timeout's answer.
  408: grpc.status.DEADLINE_EXCEEDED,
  409: grpc.status.FAILED_PRECONDITION,
  413: grpc.status.RESOURCE_EXHAUSTED,
  429: grpc.status.RESOURCE_EXHAUSTED,
  501: grpc.status.UNIMPLEMENTED,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.DEADLINE_EXCEEDED,
};

/** Codes whose gRPC status is not their HTTP status's: an overloaded server is RESOURCE_EXHAUSTED, as Triton answers it. */
const GRPC_STATUS_BY_CODE: Partial<Record<ErrorCode, grpc.status>> = {
  FLTS_SERVE_OVERLOADED: grpc.status.RESOURCE_EXHAUSTED,
  // Overloaded as the admission is, and answered alike: a client's retry policy for the one covers the other.
  FLTS_SERVE_BODIES_IN_FLIGHT: grpc.status.RESOURCE_EXHAUSTED,
  FLTS_REQUEST_CANCELLED: grpc.status.CANCELLED,
};

/** Aborted once the client cancels the call (or its deadline passes, or its connection closes). */
function cancelledCall(call: grpc.ServerUnaryCall<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  const gone = (): void => controller.abort(clientGone('The client cancelled the call before its answer was sent'));
  if (call.cancelled) gone();
  else call.once('cancelled', gone);
  return controller.signal;
}

const CONTENTS_FIELD: Record<string, keyof InferTensorContents> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** The parameters of the HTTP route's schema (`identifier` as on /predict), which a gRPC message does not pass through. */
const checkParameters = compileBodyCheck(inferParameters, 'parameters');
/** The id's bound (the response echoes it), as the HTTP route's schema words it. */
const checkRequestId = compileBodyCheck(requestId, 'id');

/**
 * Refuses a parameter flts reads that carries none of the values this protocol file has: one set as `double_param` or
 * `uint64_param` (the fields 4 and 5 Triton's protocol file adds, unknown to this one) or as an empty InferParameter
 * decodes to no value, and was dropped: `inference_length` sent so was answered 200 with the default length.
 * Parameters flts does not read are ignored as on HTTP, whatever they carry (a Triton client's `priority` is uint64).
 */
function refuseParametersWithoutValue(parameters: ReceivedModelInferRequest['parameters']): void {
  for (const [name, parameter] of Object.entries(parameters ?? {})) {
    if (parameter.parameter_choice || !Object.hasOwn(inferParameters.properties, name)) continue;
    throw invalid(`Parameter '${name}' carries no value this server reads: give it as int64_param, string_param or bool_param (a double_param or uint64_param is not read).`, { field: `parameters/${name}` });
  }
}

function invalid(message: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_REQUEST_INVALID', message, { details });
}

/** An input's typed contents: the elements of its datatype's field, and the first other field that has some too. */
async function typedContents(tensor: ReceivedInputTensor): Promise<{ elements: unknown[]; other: keyof InferTensorContents | undefined }> {
  try {
    return await contentsElements(tensor.contents ?? new Uint8Array(), CONTENTS_FIELD[tensor.datatype]);
  } catch (error) {
    // protobufjs's reason, as for a message it could not decode at all (tolerantService).
    throw invalid(`The request is not a valid ModelInferRequest protobuf message (${shownText(clip(error instanceof Error ? error.message : String(error), 200))}).`);
  }
}

async function decodeInput(tensor: ReceivedInputTensor, index: number, raw: Buffer | undefined): Promise<OipInput> {
  // As the HTTP route's schema refuses one (minLength 1): an input is told from the others, and named in messages, by its name.
  if (tensor.name === '') throw invalid(`Input ${index} has an empty name; give each input the name the model's metadata lists for it.`, { input: '', index });
  checkDatatype(tensor.name, tensor.datatype);
  const shape = tensor.shape.map(Number);
  if (raw && tensor.contents?.length) {
    const { elements, other } = await typedContents(tensor);
    // Which of the two the client meant is unknown: taking one would silently drop the other's data.
    if (elements.length > 0 || other !== undefined) throw invalid(`Input '${shownName(tensor.name)}' has both contents and raw_input_contents; give its data in one of them.`, { input: clip(tensor.name) });
  }
  if (raw) return { name: tensor.name, datatype: tensor.datatype, shape, values: await decodeRawTensor(tensor.name, tensor.datatype, shape, raw) };
  const { elements, other } = await typedContents(tensor);
  if (other !== undefined) {
    // Read from its datatype's field alone, the rest would be dropped unseen (an FP64 input's int64_contents), or the
    // input answered as one of no values (an FP32 input's values sent in fp64_contents).
    const field = CONTENTS_FIELD[tensor.datatype];
    throw invalid(
      `Input '${shownName(tensor.name)}' is ${tensor.datatype}, whose elements go in contents.${field}, but it has elements in ${other}${elements.length > 0 ? ` as well as in ${field}` : ''}; give them all in ${field}.`,
      { input: clip(tensor.name), expected: field, got: other },
    );
  }
  // The contents field is the datatype's, so only an integer's range can be off (300 in int_contents of an INT8).
  return { name: tensor.name, datatype: tensor.datatype, shape, values: await checkElements(tensor.name, tensor.datatype, elements) };
}

/**
 * ModelInferRequest to the transport-neutral request: raw_input_contents (one per input, as Triton's clients send) or
 * typed contents. An input a piece, as HTTP checks them: the inputs of a message of the size limit (210k rows) took
 * 30-60 ms to decode and check in one turn; typed contents are decoded here too, over turns (oip-grpc-contents.ts).
 */
export async function decodeGrpcInferRequest(message: ReceivedModelInferRequest): Promise<OipInferRequest> {
  const raw = message.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== message.inputs.length) {
    throw invalid(`raw_input_contents has ${raw.length} entries for ${message.inputs.length} inputs; give one per input or use contents.`);
  }
  if (message.inputs.length === 0) throw invalid('The request has no inputs.');
  if (message.id) checkRequestId(message.id);
  refuseParametersWithoutValue(message.parameters);
  const parameters = parameterValues(message.parameters);
  checkParameters(parameters);
  const inputs: OipInput[] = [];
  for (const [i, tensor] of message.inputs.entries()) {
    if (turnSpent()) await nextTurn();
    inputs.push(await decodeInput(tensor, i, raw.length > 0 ? raw[i] : undefined));
  }
  return {
    ...(message.model_version ? { modelVersion: message.model_version } : {}),
    ...(message.id ? { id: message.id } : {}),
    parameters,
    inputs,
    ...(message.outputs && message.outputs.length > 0 ? { outputs: message.outputs.map((output) => ({ name: output.name, parameters: parameterValues(output.parameters) })) } : {}),
  };
}

const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';

/**
 * Calls one connection may have open at once (HTTP/2 MAX_CONCURRENT_STREAMS): clients queue the ones beyond it; those a
 * client sends anyway are refused by Node's http2 below grpc-js, unseen by it, and counted by `connections` from the
 * stream ids its later calls carry (flts_grpc_http2_refusals_total, docs/security.md).
 */
const MAX_CONCURRENT_CALLS = 100;

/**
 * The statuses grpc-js sends itself for a call no handler ever sees, as the HTTP statuses they are counted under: a
 * message over the size limit, a malformed grpc-timeout or a message that does not decompress (INVALID_ARGUMENT as
 * `codedGrpcJsStatus` rewrites grpc-js's INTERNAL), a call that ends without a whole message or sends a second one
 * (INVALID_ARGUMENT for its UNIMPLEMENTED), a path outside the service (an unknown grpc-encoding is a 400 all the same,
 * `countedStatusOfGrpcJsRefusal`), and a deadline
 * that passed before the call reached its handler (FLTS_REQUEST_CANCELLED, 499 as a handler counts a cancelled call;
 * a handler already running sees the deadline as a cancel and counts the call itself, so `connections` leaves it out).
 */
const HTTP_STATUS_OF_GRPC_JS_REFUSAL: Partial<Record<number, number>> = {
  [grpc.status.RESOURCE_EXHAUSTED]: 413,
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.DEADLINE_EXCEEDED]: 499,
};

/**
 * The HTTP status a refusal of grpc-js is counted under. A grpc-encoding it does not know travels as UNIMPLEMENTED, as
 * the protocol has it, but is the client's mistake (FLTS_REQUEST_INVALID): a 400, as the HTTP port counts a
 * Content-Encoding it does not take. Counted 501, it was a 5xx of ModelInfer that any client, before its token is
 * checked, could add to the serve error ratio the alerts page on (FltsServeErrorRatioHigh).
 */
function countedStatusOfGrpcJsRefusal(code: number, fltsCode: string | undefined): number | undefined {
  if (code === grpc.status.UNIMPLEMENTED && fltsCode === 'FLTS_REQUEST_INVALID') return 400;
  return HTTP_STATUS_OF_GRPC_JS_REFUSAL[code];
}

/** Marks a request message protobuf could not decode, with protobuf's reason. */
const MALFORMED = Symbol('malformed request');
/** Marks a request message refused before decoding, with the coded error it is answered. */
const REFUSED = Symbol('refused request');

/** The size of each ModelInfer message as received, by its decoded message: the room its call takes in the body budget. */
const receivedBytes = new WeakMap<object, number>();

/** Checks of a method's message bytes before they are decoded, by method path. */
const PRE_DECODE_CHECKS: Record<string, (bytes: Buffer) => FltsError | undefined> = { [MODEL_INFER_PATH]: modelInferBoundsProblem };
/** Decoders of a method's message in place of the service's, by method path: ModelInfer's leaves its tensors' contents to its handler. */
const DECODERS: Record<string, (bytes: Buffer) => unknown> = { [MODEL_INFER_PATH]: decodeModelInferRequest };

/**
 * The service with decoding that never throws: grpc-js answers a request it cannot deserialize INTERNAL, as if
 * the server had failed, so an undecodable message reaches the handler as a marker and is answered INVALID_ARGUMENT.
 * A message over the bounds of its method's pre-decode check is never decoded: grpc-js decodes it on the event loop,
 * where a message of the size limit made of map entries held every other request for seconds.
 */
function tolerantService(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const methods = Object.entries(service).map(([name, method]) => {
    const check = PRE_DECODE_CHECKS[method.path];
    const decode = DECODERS[method.path] ?? method.requestDeserialize;
    const requestDeserialize = (bytes: Buffer): unknown => {
      const refused = check?.(bytes);
      if (refused) return { [REFUSED]: refused };
      try {
        const message = decode(bytes);
        if (method.path === MODEL_INFER_PATH && typeof message === 'object' && message !== null) receivedBytes.set(message, bytes.length);
        return message;
      } catch (error) {
        return { [MALFORMED]: error instanceof Error ? error.message : String(error) };
      }
    };
    return [name, { ...method, requestDeserialize }];
  });
  return Object.fromEntries(methods) as grpc.ServiceDefinition;
}

/**
 * Ends a call whose request message has not fully arrived (message and end of stream) within `timeoutMs` with
 * DEADLINE_EXCEEDED, as HTTP answers a body that stops arriving 408: grpc-js itself waits as long as the client sets
 * (no grpc-timeout = forever), so a client that sends headers and stalls would hold its call open.
 */
function receiveTimeout(timeoutMs: number, onTimeout: (path: string, seconds: number) => void): grpc.ServerInterceptor {
  return (method, call) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => clearTimeout(timer);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeout(() => {
          onTimeout(method.path, timeoutMs / 1000);
          const metadata = new grpc.Metadata();
          metadata.set('flts-code', 'FLTS_REQUEST_INVALID');
          call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `FLTS_REQUEST_INVALID: The request message did not arrive in time (a call is given ${timeoutMs} ms to send it).`, metadata });
        }, timeoutMs);
        next({
          onReceiveHalfClose: (nextHalfClose) => {
            stop();
            nextHalfClose();
          },
          onCancel: stop,
        });
      },
      sendStatus: (status, next) => {
        stop();
        next(status);
      },
    });
  };
}

/**
 * Counts the calls to the service's methods flts does not implement (RepositoryModelLoad, RepositoryModelUnload),
 * which grpc-js answers UNIMPLEMENTED itself, as 501s of their method. A path outside the service never reaches
 * an interceptor, and the calls grpc-js ends from below every interceptor (a message over the size limit, a
 * malformed grpc-timeout) are seen only as a cancel: `connections` counts those from the statuses on the wire.
 */
function countUnimplemented(implemented: ReadonlySet<string>, observe: (route: string, seconds: number) => void): grpc.ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    return new grpc.ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        if (status.code === grpc.status.UNIMPLEMENTED && !implemented.has(method.path) && !isUnaryMessageRefusal(status.details)) observe(method.path, (performance.now() - started) / 1000);
        next(status);
      },
    });
  };
}

type Handler = (call: grpc.ServerUnaryCall<any, any>) => Promise<unknown> | unknown;

/**
 * The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`), on the HTTP server's model
 * holder, batcher and metrics: the same forecasts, and the same coded errors as gRPC status codes (the
 * flts code leads the message and travels as `flts-code` trailing metadata).
 */
export async function startGrpcInferenceServer(context: OipContext, options: GrpcServerOptions): Promise<GrpcInferenceServer> {
  const logger = options.logger.child({ component: 'oip-grpc' });
  // grpc-js prints its own lines on stderr (its errors, GRPC_TRACE output); they join the JSON log instead.
  const grpcLog = (log: (obj: object, msg?: string) => void) => (...parts: unknown[]) => log({ detail: parts.map(String).join(' ') }, 'grpc_js');
  grpc.setLogger({ error: grpcLog(logger.warn.bind(logger)), info: grpcLog(logger.info.bind(logger)), debug: grpcLog(logger.debug.bind(logger)) });
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.requestTimeoutMs;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.headersTimeoutMs;
  const service = tolerantService(inferenceService());
  const servicePaths = new Set(Object.values(service).map((method) => method.path));
  // Any path a client sends is one label more: those outside the service share one, as HTTP's unmatched requests.
  const routeOf = (path: string): string => (servicePaths.has(path) ? path : 'unmatched');
  const connections = createGrpcConnections({
    maxConnections: options.maxConnections ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
    stallMs: requestTimeoutMs,
    firstCallTimeoutMs: Math.min(headersTimeoutMs, requestTimeoutMs),
    // Counted as HTTP counts a connection silent past its headers timeout: a 408 of no route.
    onFirstCallTimeout: () => context.metrics.countRefusedRequest('GRPC', 408),
    httpPort: options.httpPort,
    // As the HTTP port counts its 400 to a client speaking HTTP/2 there: no route was asked of gRPC.
    onHttp1Refused: () => context.metrics.countRefusedRequest('GRPC', 400),
    logger,
    onClosedAtCap: (what) => context.metrics.countGrpcConnectionCapClose(what),
    // As HTTP observes the answers fastify gives before a route's handler (404, 413, a body that does not parse): with
    // the time from the call's arrival, which a deadline's answer spends waiting for it to pass.
    onAnsweredByGrpcJs: (path, code, seconds, fltsCode) => {
      const status = countedStatusOfGrpcJsRefusal(code, fltsCode);
      if (status !== undefined) context.metrics.observeRequest(routeOf(path), 'GRPC', status, seconds);
    },
    // As HTTP counts a request whose client left before its answer: a 499 with no latency, for no answer finished.
    onAbandoned: (path) => context.metrics.countAbandonedRequest(routeOf(path), 'GRPC'),
    onRefusedByHttp2: (what, count) => context.metrics.countGrpcHttp2Refusals(what, count),
    lookupHost: options.lookupHost,
    refusalAtStop: (path, arrived) => failure(routeOf(path), arrived, grpcStoppingRefusal()),
    onListenerClosed: ({ accepted, waitedMs, queueEmpty }) => {
      if (!queueEmpty) logger.warn({ accepted_while_closing: accepted, waited_ms: waitedMs }, 'grpc_stop_listener_busy');
    },
  });

  /** The status a call that failed with `error` ends with: counted like an HTTP answer, logged with its stack when a 5xx. */
  const failure = (route: string, started: number, error: unknown): { code: grpc.status; details: string; metadata: grpc.Metadata } => {
    const { status, code, message } = classifyError(error, options.maxMessageBytes);
    if (isServerFailure(status, code)) {
      const failure = failureFields(error);
      logger.error({ route, ...failure.fields }, 'grpc_call_failed');
      if (failure.stack) logger.debug({ route, stack: failure.stack }, 'grpc_call_failed_stack');
    }
    context.metrics.observeRequest(route, 'GRPC', status, (performance.now() - started) / 1000);
    const metadata = new grpc.Metadata();
    metadata.set('flts-code', code);
    const details = isFltsError(error) ? error.details : {};
    // gRPC's form of Retry-After (gRFC A6), which a client's retry policy waits for: in milliseconds where the error
    // has them (the admission's estimate), not its whole seconds for HTTP.
    const retryAfterMs = typeof details.retryAfterMs === 'number' ? details.retryAfterMs : typeof details.retryAfterSec === 'number' ? details.retryAfterSec * 1000 : undefined;
    if (retryAfterMs !== undefined) metadata.set('grpc-retry-pushback-ms', String(retryAfterMs));
    return { code: GRPC_STATUS_BY_CODE[code] ?? GRPC_STATUS_BY_HTTP[status] ?? grpc.status.INTERNAL, details: `${code}: ${message}`, metadata };
  };

  // The paths of the methods given handlers below.
  const implemented = new Set<string>();

  const messageBudget = context.bodyBudget
    ? createGrpcMessageBudget({
        budget: context.bodyBudget,
        paths: new Set([MODEL_INFER_PATH]),
        maxMessageBytes: options.maxMessageBytes,
        streamOf: connections.streamOf,
        refuse: (path, call, error, started) => call.sendStatus(failure(path, started, error)),
      })
    : undefined;
  const messageHead = createGrpcMessageHead({
    path: MODEL_INFER_PATH,
    maxMessageBytes: options.maxMessageBytes,
    check: (name, version) => servedModelNamed(context, name, version),
    streamOf: messageBudget ? messageBudget.streamOf : connections.streamOf,
    refuse: (path, call, error, started) => call.sendStatus(failure(path, started, error)),
  });
  const messageRate = watchGrpcMessageRate({
    idleMs: options.bodyIdleTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.bodyIdleTimeoutMs,
    minBytesPerSec: options.minBodyBytesPerSec ?? DEFAULT_CONNECTION_LIMITS.minBodyBytesPerSec,
    rateWindowMs: options.minBodyRateWindowMs ?? DEFAULT_CONNECTION_LIMITS.minBodyRateWindowMs,
    requestTimeoutMs,
    checkEveryMs: checkingIntervalOf({ headersTimeoutMs, requestTimeoutMs }),
    streamOf: messageHead.streamOf,
    refuse: (path, call, error, started) => call.sendStatus(failure(path, started, error)),
  });

  /**
   * ModelInfer's bearer token, when one is set, checked on the call's metadata: before its message (up to the message
   * limit) is received and decoded, as HTTP checks a request's token before its body. Health and metadata stay open.
   * The stream of a call refused is reset behind its status, as one refused at its length prefix is, so that the client
   * stops sending a message the server would read only to drop.
   */
  const authRefusals = createAuthRefusalLog(logger);
  const requireApiToken: grpc.ServerInterceptor = (method, call) => {
    // The interceptor before this one: the message rate's where there is one, else the message head's.
    const stream = messageRate ? messageRate.streamOf(call) : messageHead.streamOf(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (!options.apiToken || method.path !== MODEL_INFER_PATH) return nextMetadata(metadata);
            try {
              // As over HTTP: which of several a proxy in front checked is not known.
              if (stream && connections.repeatsAuthorization(stream)) throw new FltsError('FLTS_REQUEST_INVALID', 'A call must have one authorization metadata entry, not several.');
              assertBearerToken(metadata.get('authorization')[0], options.apiToken, 'gRPC ModelInfer');
            } catch (error) {
              const refusal = authRefusalOf(error);
              if (refusal) authRefusals.record({ ...refusal, route: method.path, method: 'GRPC', remote: call.getPeer() });
              call.sendStatus(failure(method.path, performance.now(), error));
              if (stream) stopSending(stream);
              return;
            }
            nextMetadata(metadata);
          },
        }),
    });
  };

  // channelz (grpc-js's per-call introspection, on by default) costs time on every call and nothing here reads it.
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': -1,
    'grpc.enable_channelz': 0,
    // The connection's first, so it sees every status; then the token: a call refused for it is never waited on for its message.
    interceptors: [
      connections.interceptor,
      // Right after the connections', whose stream of each call it reads: a message takes its room as it arrives.
      ...(messageBudget ? [messageBudget.interceptor] : []),
      // Its listener runs before the budget's: a call for a model not served is refused before it takes any room.
      messageHead.interceptor,
      ...(messageRate ? [messageRate.interceptor] : []),
      requireApiToken,
      receiveTimeout(requestTimeoutMs, (route, seconds) => context.metrics.observeRequest(route, 'GRPC', 408, seconds)),
      countUnimplemented(implemented, (route, seconds) => context.metrics.observeRequest(route, 'GRPC', 501, seconds)),
    ],
    // grpc-js keeps every connection open for as long as its client likes, and runs as many calls on one as it
    // opens. A connection with no call open is closed after the keep-alive timeout (one that never opened a call, which
    // grpc-js closes late or never, after the headers timeout, by `connections`); one whose client stops reading the connection when it leaves a ping unanswered (one that reads it
    // but takes no answer, by `connections`); a call stays open after its status until the client ends it, so
    // at most 100 such calls per connection.
    'grpc.max_connection_idle_ms': options.keepAliveTimeoutMs ?? DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs,
    'grpc.keepalive_time_ms': requestTimeoutMs,
    'grpc.keepalive_timeout_ms': requestTimeoutMs,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_CALLS,
  });

  const tickets = new WeakMap<object, BodyTicket>();
  /**
   * A ModelInfer message takes its room in the body budget HTTP bodies take theirs in (serve.maxBodyBytesInFlight),
   * held until its answer is sent or its call is cancelled: as its length prefix arrives (grpc-message-budget.ts), or,
   * where its call's stream was not known, here once grpc-js has received it whole, which bounds only the messages held
   * with their decoded tensors and forecasts. One past the bound is refused RESOURCE_EXHAUSTED FLTS_SERVE_BODIES_IN_FLIGHT.
   */
  const takeRoom = (route: string, call: grpc.ServerUnaryCall<unknown, unknown>): void => {
    const bytes = receivedBytes.get(call.request as object);
    if (!context.bodyBudget || bytes === undefined || messageBudget?.metered(call.request)) return;
    tickets.set(call, context.bodyBudget.take(route, bytes));
    call.once('cancelled', () => releaseRoom(call));
  };
  const releaseRoom = (call: grpc.ServerUnaryCall<unknown, unknown>): void => tickets.get(call)?.release();

  const unary = (method: string, handle: Handler): grpc.handleUnaryCall<unknown, unknown> => {
    const route = `/inference.GRPCInferenceService/${method}`;
    return (call, callback) => {
      const started = performance.now();
      Promise.resolve()
        .then(() => {
          const malformed = (call.request as { [MALFORMED]?: string })[MALFORMED];
          if (malformed !== undefined) throw invalid(`The request is not a valid ${method}Request protobuf message (${shownText(clip(malformed, 200))}).`);
          const refused = (call.request as { [REFUSED]?: FltsError })[REFUSED];
          if (refused) throw refused;
          takeRoom(route, call);
          return handle(call);
        })
        .then(
          (response) => {
            context.metrics.observeRequest(route, 'GRPC', 200, (performance.now() - started) / 1000);
            callback(null, response);
          },
          (error: unknown) => callback(failure(route, started, error)),
        )
        .finally(() => releaseRoom(call));
    };
  };

  const handlers: grpc.UntypedServiceImplementation = {
    ServerLive: unary('ServerLive', () => ({ live: context.liveness?.().live ?? true })),
    ServerReady: unary('ServerReady', () => ({ ready: readinessOf(context.holder, context.isStopping?.() ?? false).ready })),
    ModelReady: unary('ModelReady', (call) => ({ ready: servedModelNamed(context, call.request.name, call.request.version || undefined) !== undefined })),
    ServerMetadata: unary('ServerMetadata', () => OIP_SERVER_METADATA),
    ModelMetadata: unary('ModelMetadata', (call) => {
      const { name, versions, platform, inputs, outputs } = modelMetadata(context, call.request.name, call.request.version || undefined);
      return { name, versions, platform, inputs, outputs };
    }),
    ModelInfer: unary('ModelInfer', async (call): Promise<GrpcModelInferResponse> => {
      const message = call.request as ReceivedModelInferRequest;
      // The model and version first, as the HTTP route resolves its path before it reads the body: most calls for one not
      // served were refused as their message began (grpc-message-head.ts), but not one compressed or not led by its name.
      servedModelNamed(context, message.model_name, message.model_version || undefined);
      const response = await runOipInference(context, message.model_name, await decodeGrpcInferRequest(message), { route: MODEL_INFER_PATH, signal: cancelledCall(call) });
      return {
        model_name: response.model_name,
        model_version: response.model_version,
        id: response.id ?? '',
        parameters: Object.fromEntries(Object.entries(response.parameters).map(([key, value]) => [key, toInferParameter(value)])),
        outputs: response.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
        raw_output_contents: response.outputs.map(encodeRawTensor),
      };
    }),
  };
  for (const name of Object.keys(handlers)) implemented.add(service[name].path);
  server.addService(service, handlers);

  const port = await connections.listen(server, options.host, options.port).catch((error: NodeJS.ErrnoException) => {
    throw explainListenFailure(options.host, options.port, error.code ?? '', error, GRPC_LISTENER) ?? error;
  });
  logger.info({ port }, 'grpc_listening');
  /** The calls open as the stop began, then those open at close(): the calls the stop drains or cuts. */
  let atStop: Set<ServerHttp2Stream> | undefined;
  const beginStop = (): void => {
    atStop ??= new Set(connections.openCalls());
  };
  const endedOf = (calls: ReadonlySet<ServerHttp2Stream>): number => [...calls].filter((call) => !connections.isOpen(call)).length;
  return {
    port,
    beginStop,
    close: (graceMs = SERVE_GRPC_STOP_GRACE_MS, cut?: AbortSignal) =>
      new Promise<{ callsCut: number; callsDrained: number }>((resolve) => {
        beginStop();
        const stopped = atStop!;
        for (const call of connections.openCalls()) stopped.add(call);
        let callsCut = 0;
        let callsDrained: number | undefined;
        // The calls refused at the stop are not cut: they are answered UNAVAILABLE FLTS_SERVE_STOPPING all the same.
        const cutCalls = (): void => {
          if (callsDrained !== undefined) return;
          callsDrained = endedOf(stopped);
          callsCut = connections.cut();
          server.forceShutdown();
        };
        // Set before the connections' close sets its own timer of the same grace, so it runs first: the calls still
        // open are counted before that close resets them.
        const timer = setTimeout(cutCalls, graceMs);
        // The connections' close ends those still open after the grace. forceShutdown alone would not: grpc-js lists
        // the connections it destroys for channelz only, so with channelz off a call that never ends held close() forever.
        connections.close(graceMs);
        const cutNow = (): void => {
          clearTimeout(timer);
          cutCalls();
        };
        if (cut?.aborted) cutNow();
        else cut?.addEventListener('abort', cutNow, { once: true });
        messageRate?.stop();
        authRefusals.stop();
        // grpc-js's shutdown may end before the calls it let run (those of the connections handed to it), and knows
        // nothing of the connections accepted while the listener closed: the stop waits for both, up to the grace.
        const shutDown = new Promise<void>((ended) => server.tryShutdown(() => ended()));
        void Promise.all([shutDown, connections.whenNoCallsOpen(), connections.whenClosed()]).then(() => {
          clearTimeout(timer);
          cut?.removeEventListener('abort', cutNow);
          resolve({ callsCut, callsDrained: callsDrained ?? endedOf(stopped) });
        });
      }),
  };
}
