import type { ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { stopSending } from './grpc-message-budget.js';

/** A message's model name and version as it leads with them; `version` undefined when its next field is another. */
export interface MessageHead {
  name: string;
  version: string | undefined;
}

/** Bytes of the gRPC message prefix: a compression flag and the message's length (4 bytes, big-endian). */
const PREFIX_BYTES = 5;

/**
 * The most message bytes awaited for its name and version: far past any model name or run id, and a longer one is left
 * to the handler (which reads it whole, as before) rather than buffered here.
 */
const MOST_HEAD_BYTES = 1024;

/** ModelInferRequest's model_name (field 1) and model_version (field 2), length-delimited: their tags. */
const MODEL_NAME_TAG = 0x0a;
const MODEL_VERSION_TAG = 0x12;

/** A varint of at most 4 bytes (lengths under 2^28) at `at`: its value and end; 'more' when cut off; undefined past 4. */
function lengthAt(bytes: Uint8Array, at: number, end: number): { value: number; next: number } | 'more' | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (at + i >= end) return 'more';
    const byte = bytes[at + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return { value, next: at + i + 1 };
  }
  return undefined;
}

/** A length-delimited string field at `at` (past its tag): its text and end, 'more', or undefined when it cannot be read here. */
function stringAt(bytes: Uint8Array, at: number, end: number, messageEnd: number): { text: string; next: number } | 'more' | undefined {
  const length = lengthAt(bytes, at, end);
  if (length === 'more' || length === undefined) return length;
  const next = length.next + length.value;
  if (next > messageEnd) return undefined;
  if (next > end) return 'more';
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset + length.next, length.value).toString('utf8'), next };
}

/**
 * The model name and version a ModelInferRequest's bytes lead with (`bytes`, the first of a message of `messageBytes`):
 * 'more' while they are cut off, undefined when the message does not lead with its name (a field order no encoder
 * writes: protobuf writes fields in their numbers' order, and every client library does) or it is longer than is read
 * here. Then the decoded message alone tells, as before.
 */
export function leadingModelName(bytes: Uint8Array, messageBytes: number): MessageHead | 'more' | undefined {
  const end = Math.min(bytes.length, messageBytes);
  if (end === 0) return messageBytes === 0 ? undefined : 'more';
  if (bytes[0] !== MODEL_NAME_TAG) return undefined;
  const name = stringAt(bytes, 1, end, messageBytes);
  if (name === 'more' || name === undefined) return name;
  if (name.next === messageBytes) return { name: name.text, version: '' };
  if (name.next === end) return 'more';
  if (bytes[name.next] !== MODEL_VERSION_TAG) return { name: name.text, version: undefined };
  const version = stringAt(bytes, name.next + 1, end, messageBytes);
  if (version === 'more' || version === undefined) return version;
  return { name: name.text, version: version.text };
}

export interface GrpcMessageHeadOptions {
  /** The method whose message leads with a model name (ModelInfer's). */
  path: string;
  /** grpc.max_receive_message_length: a message announced past it is grpc-js's to refuse (FLTS_REQUEST_TOO_LARGE). */
  maxMessageBytes: number;
  /** Throws the coded refusal of a name and version not served (`version` undefined: not known yet). */
  check(name: string, version: string | undefined): void;
  /** The HTTP/2 stream of a call, as the interceptor before this one returned it. */
  streamOf(call: object): ServerHttp2Stream | undefined;
  /** Ends a call refused, coded and counted as its handler's refusals are; `started` is when it arrived. */
  refuse(path: string, call: grpc.ServerInterceptingCallInterface, error: unknown, started: number): void;
}

export interface GrpcMessageHead {
  readonly interceptor: grpc.ServerInterceptor;
  /** The HTTP/2 stream of a call, as `interceptor` returned it to the interceptor after it (undefined where unknown). */
  streamOf(call: object): ServerHttp2Stream | undefined;
}

/**
 * Refuses a ModelInfer for a model or version not served as the first bytes of its message name them, as the HTTP route
 * refuses one from its path before reading the body: the name is inside the message, which grpc-js reads whole (up to
 * the message limit) before any handler sees it, so a client calling a model not served sent all of it to be told so.
 * The bytes are read off the call's HTTP/2 stream by a listener put before grpc-js's, which lets go of the stream once
 * they tell; a call refused is answered at once (NOT_FOUND FLTS_REQUEST_ROUTE_NOT_FOUND, as its handler answers it)
 * and its stream reset behind the answer, so that its client stops sending. A compressed message, or one that does not
 * lead with its name, is checked by its handler once decoded, as before; so is a call whose stream is not known.
 */
export function createGrpcMessageHead(options: GrpcMessageHeadOptions): GrpcMessageHead {
  // The call is handed on as it came, its stream known as it was: this reads the stream, none of the call's events (a
  // layer of ServerInterceptingCall costs each of them a pass). The interceptors before this one return
  // ServerInterceptingCalls, which grpc-js's type asks for.
  const interceptor: grpc.ServerInterceptor = (method, incoming) => {
    const call = incoming as grpc.ServerInterceptingCall;
    const stream = method.path === options.path ? options.streamOf(call) : undefined;
    if (!stream) return call;
    const started = performance.now();
    let head: Buffer | undefined;
    const onData = (chunk: Buffer): void => {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      // Answered already (its token refused, its room in the body budget): nothing is left to tell.
      if (stream.headersSent) return void stream.off('data', onData);
      if (head.length < PREFIX_BYTES) return;
      const messageBytes = head.readUInt32BE(1);
      const read = head[0] === 0 && messageBytes <= options.maxMessageBytes ? leadingModelName(head.subarray(PREFIX_BYTES), messageBytes) : undefined;
      if (read === 'more' && head.length < PREFIX_BYTES + MOST_HEAD_BYTES) return;
      stream.off('data', onData);
      head = undefined;
      if (read === 'more' || read === undefined) return;
      try {
        options.check(read.name, read.version === '' ? undefined : read.version);
      } catch (error) {
        // Sent before grpc-js's own listener reads this chunk: the call is over for grpc-js, which reads no more of it.
        options.refuse(method.path, call, error, started);
        stopSending(stream);
      }
    };
    stream.prependListener('data', onData);
    return call;
  };
  return { interceptor, streamOf: options.streamOf };
}
